#!/usr/bin/env node
// One training step of the toy English -> German encoder-decoder (docs/TRANSLATOR.md), ours vs TF.js, in Node on
// one thread: the same architecture (the shipped one unless --score), the same batch of 32 sentences, the same
// optimizer (AdamW with bias correction, decay on matrices, global-norm clipping, written in TF.js ops for TF.js).
//   ours:   engine.createTrainer().step() on the WASM SIMD build (one WASM call per step)
//   TF.js:  tfjs-core + tfjs-backend-wasm (its SIMD build), the graph of tests/js/translator_tf.js
// Prints a table of ms/step (median) and target tokens/s. Figures only: nothing here asserts a time.
// Usage: node scripts/bench/train-step.mjs [--steps N] [--tf-steps N] [--score NAME]
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { createEngine } from '../../web/src/lib/index.js';
import { seq2seqLoss } from '../../tests/js/translator_tf.js';

// tfjs-core's ESM build (with its gradients) and the wasm backend on top of the same tfjs-core instance.
register('./esm-extensions.mjs', import.meta.url);
globalThis.require ??= createRequire(import.meta.url);  // tfjs-core's ESM platform_node calls require('util')
const tf = await import('@tensorflow/tfjs-core/dist/index.js');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm/dist/index.js');

const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const steps = Number(value('--steps', 30));
const tfSteps = Number(value('--tf-steps', 5));
const score = value('--score', 'scaled_dot');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const engine = await createEngine({ backend: 'wasm', threads: 1 });
const trainer = await engine.createTrainer({ score, seed: 1 });
const o = trainer.options;
// ours
const oursMs = [];
let tokensPerStep = 0;
for (let i = 0; i < steps + 3; i++) {
  const t0 = performance.now();
  const r = await trainer.step();
  const ms = performance.now() - t0;
  if (i >= 3) oursMs.push(ms);
  tokensPerStep = r.tokens / r.step;
}

// TF.js on the same weights and one batch the same size (32 sentences sampled from the training set).
const wasmDir = fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));
setWasmPaths(wasmDir);
await tf.setBackend('wasm');
const params = trainer.parameters();
const info = { ...trainer.info, bos: trainer.corpus.targetVocab.indexOf('<bos>'), eos: trainer.corpus.targetVocab.indexOf('<eos>') };
const M = info.dModel, dh = M / info.heads;
const shapeOf = (name, n) => {
  if (name === 'src_embed' || name === 'tgt_embed') return [n / M, M];
  if (name.endsWith('.score.W')) return [dh, dh];
  if (name.endsWith('.score.Wq') || name.endsWith('.score.Wk')) return [n / dh, dh];
  if (name.endsWith('.W')) return name.includes('ffn1') || name === 'out.W' ? [M, n / M] : [n / M, M];
  return [n];
};
const vars = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, tf.variable(tf.tensor(v, shapeOf(name, v.length)), true, name)]));
const state = Object.fromEntries(Object.keys(vars).map((name) => [name, { m: tf.zerosLike(vars[name]), v: tf.zerosLike(vars[name]) }]));
const batch = trainer.packBatch(trainer.corpus.train.slice(0, o.batchSize));
let step = 0;
function tfStep() {
  step++;
  const lr = o.lr * Math.min(1, step / o.warmupSteps);
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(seq2seqLoss(tf, info, vars, batch), Object.values(vars));
    const norm = Math.sqrt(Object.values(grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0));
    const clip = norm > o.clipNorm ? o.clipNorm / norm : 1;
    for (const [name, v] of Object.entries(vars)) {
      const g = tf.mul(grads[v.name], clip);
      const s = state[name];
      const m = tf.keep(tf.add(tf.mul(s.m, o.beta1), tf.mul(g, 1 - o.beta1)));
      const vv = tf.keep(tf.add(tf.mul(s.v, o.beta2), tf.mul(tf.square(g), 1 - o.beta2)));
      s.m.dispose(); s.v.dispose();
      s.m = m; s.v = vv;
      const update = tf.div(tf.div(m, 1 - o.beta1 ** step), tf.add(tf.sqrt(tf.div(vv, 1 - o.beta2 ** step)), o.eps));
      const decay = v.shape.length === 2 ? tf.mul(v, o.weightDecay) : tf.zerosLike(v);
      v.assign(tf.sub(v, tf.mul(tf.add(update, decay), lr)));
    }
    return value.dataSync()[0];
  });
}
const tfMs = [];
for (let i = 0; i < tfSteps + 1; i++) {
  const t0 = performance.now();
  tfStep();
  if (i >= 1) tfMs.push(performance.now() - t0);
}
const tfTokens = batch.tgt.length + batch.tgtLengths.length;
const ours = median(oursMs), theirs = median(tfMs);
console.log(`one training step, encoder-decoder ${info.encoderLayers}+${info.decoderLayers} layers, dModel ${M}, ` +
  `${info.heads} heads, ${info.parameters} parameters, score ${score}, batch ${o.batchSize} sentences, AdamW; Node ` +
  `${process.version}, 1 thread, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
console.log('| engine | ms/step (median) | target tokens/s |');
console.log('|---|---|---|');
console.log(`| ours, WASM ${engine.simd ? 'SIMD' : 'scalar'} (${steps} steps) | ${ours.toFixed(1)} | ${Math.round(tokensPerStep / (ours / 1000))} |`);
console.log(`| TF.js ${tf.version_core}, tfjs-backend-wasm (${tfSteps} steps) | ${theirs.toFixed(1)} | ${Math.round(tfTokens / (theirs / 1000))} |`);
console.log(`ours / TF.js: ${(theirs / ours).toFixed(2)}x faster per step`);
trainer.dispose();
engine.dispose();
