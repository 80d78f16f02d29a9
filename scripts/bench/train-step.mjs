#!/usr/bin/env node
// One training step of the toy English -> German encoder-decoder (docs/TRANSLATOR.md), ours vs TF.js, in Node on
// one thread: the same architecture (the shipped one unless --score), the same weights, the same batches of 32
// sentences, the same optimizer. The TF.js model is the Chromium bench's (web/bench/train.js: padded [B][len]
// tensors with padding and causal masks, batched matMuls, AdamW written in TF.js ops); the first steps' losses
// are checked against ours (1e-4) before timing.
//   ours:   engine.createTrainer().step() on the WASM SIMD build (one WASM call per step)
//   TF.js:  tfjs-core + tfjs-backend-wasm (its SIMD build, one thread)
// Prints a table of ms/step (median) and target tokens/s. Figures only: nothing here asserts a time.
// The same rows in headless Chromium: npm run bench -- --train-only.
// Usage: node scripts/bench/train-step.mjs [--steps N] [--tf-steps N] [--score NAME]
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { createEngine } from '../../web/src/lib/index.js';
import { createTfSeq2Seq, batchStream } from '../../web/bench/train.js';

// tfjs-core's ESM build (with its gradients) and the wasm backend on top of the same tfjs-core instance.
register('./esm-extensions.mjs', import.meta.url);
globalThis.require ??= createRequire(import.meta.url);  // tfjs-core's ESM platform_node calls require('util')
const tf = await import('@tensorflow/tfjs-core/dist/index.js');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm/dist/index.js');

const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const steps = Number(value('--steps', 30));
const tfSteps = Number(value('--tf-steps', 10));
const score = value('--score', 'scaled_dot');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

setWasmPaths(fileURLToPath(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)));
await tf.setBackend('wasm');
const engine = await createEngine({ backend: 'wasm', threads: 1 });
const trainer = await engine.createTrainer({ score, seed: 1 });
const o = trainer.options;
const info = { ...trainer.info, bos: trainer.corpus.targetVocab.indexOf('<bos>'), eos: trainer.corpus.targetVocab.indexOf('<eos>'),
  pad: trainer.corpus.sourceVocab.indexOf('<pad>') };
const model = createTfSeq2Seq(tf, info, trainer.parameters(), o);  // the weights before step 1
const next = batchStream(trainer);  // the trainer's batches, replayed

// The check (also the warm-up): 3 steps of each from the same weights on the same batches.
let before = 0, worst = 0;
for (let s = 1; s <= 3; s++) {
  const ours = await trainer.step();
  const theirs = model.step(next());
  worst = Math.max(worst, Math.abs(ours.loss - theirs.loss));
  console.log(`step ${s}: loss ours ${ours.loss.toFixed(6)}, TF.js ${theirs.loss.toFixed(6)}`);
  before = ours.tokens;
}
if (!(worst <= 1e-4)) {
  console.error(`the TF.js model's loss differs from ours by ${worst}: not the same computation, nothing timed`);
  process.exit(1);
}
// Timed, interleaved in chunks; each side keeps following the trainer's batch stream.
const oursMs = [], tfMs = [];
let oursTokens = 0, tfTokens = 0;
while (oursMs.length < steps || tfMs.length < tfSteps) {
  for (let i = 0; i < 3 && oursMs.length < steps; i++) {
    const t0 = performance.now();
    const r = await trainer.step();
    oursMs.push(performance.now() - t0);
    oursTokens += r.tokens - before;
    before = r.tokens;
  }
  if (tfMs.length < tfSteps) {
    const t0 = performance.now();
    const r = model.step(next());
    tfMs.push(performance.now() - t0);
    tfTokens += r.tokens;
  }
}
const ours = median(oursMs), theirs = median(tfMs);
console.log(`one training step, encoder-decoder ${info.encoderLayers}+${info.decoderLayers} layers, dModel ${info.dModel}, ` +
  `${info.heads} heads, ${info.parameters} parameters, score ${score}, batch ${o.batchSize} sentences, AdamW; losses of the ` +
  `first 3 steps agree within ${worst.toExponential(1)}; Node ${process.version}, 1 thread, ${os.cpus().length} cores, ` +
  `load average ${os.loadavg()[0].toFixed(1)}`);
console.log('| engine | ms/step (median) | target tokens/s |');
console.log('|---|---|---|');
console.log(`| ours, WASM ${engine.simd ? 'SIMD' : 'scalar'} (${steps} steps) | ${ours.toFixed(1)} | ${Math.round(oursTokens / steps / (ours / 1000))} |`);
console.log(`| TF.js ${tf.version_core}, tfjs-backend-wasm, padded batch (${tfSteps} steps) | ${theirs.toFixed(1)} | ${Math.round(tfTokens / tfSteps / (theirs / 1000))} |`);
console.log(`ours / TF.js: ${(theirs / ours).toFixed(2)}x faster per step`);
model.dispose();
trainer.dispose();
engine.dispose();
