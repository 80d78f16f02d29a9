#!/usr/bin/env node
// Trains the toy English -> German encoder-decoder (docs/TRANSLATOR.md) with a fixed seed in Node on the WASM
// engine (one WASM call per step) and writes its weights as safetensors, with the run's log beside them:
//   web/src/lib/translator/translator.safetensors   (the weights loadTranslator() reads by default)
//   web/src/lib/translator/translator.run.json      (settings, the loss of every step, evaluations, timings)
// tests/js/translator.test.js re-runs the first steps and checks they reproduce the committed losses.
//
// Usage: node scripts/train-translator.mjs [--steps N] [--score NAME] [--seed N] [--scalar] [--out DIR]
//        [--evaluate-every N] [--no-write]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../web/src/lib/index.js';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}
const steps = Number(option('steps', 600));
const score = option('score', 'scaled_dot');
const seed = Number(option('seed', 1));
const evaluateEvery = Number(option('evaluate-every', 100));
const outDir = new URL(option('out', '../web/src/lib/translator/') .replace(/\/?$/, '/'), import.meta.url);
const write = !args.includes('--no-write');

const engine = await createEngine({ backend: 'wasm', simd: !args.includes('--scalar'), threads: 1 });
const trainer = await engine.createTrainer({ score, seed, decaySteps: steps });
const info = trainer.info;
console.log(`train-translator: ${info.parameters} parameters, ${info.encoderLayers}+${info.decoderLayers} layers, ` +
  `${info.heads} heads, dModel ${info.dModel}, score ${score}, seed ${seed}, ${steps} steps, ` +
  `${engine.simd ? 'WASM SIMD' : 'WASM scalar'}, 1 thread`);

const losses = [];
const evaluations = [];
const started = performance.now();
let trainMs = 0;
let last = null;
for (let s = 1; s <= steps; s++) {
  const t0 = performance.now();
  last = await trainer.step();
  trainMs += performance.now() - t0;
  losses.push(last.loss);
  if (s % evaluateEvery === 0 || s === steps) {
    const e = await trainer.evaluate({ limit: s === steps ? undefined : 200 });
    evaluations.push({ step: s, ...e });
    console.log(`step ${s}: loss ${last.loss.toFixed(4)} lr ${last.lr.toExponential(2)} | held-out exact ` +
      `${(100 * e.exact).toFixed(1)}% pronoun ${(100 * e.pronoun).toFixed(1)}% classic ${e.classic * 2}/2 ` +
      `(${e.sentences} sentences) | ${(trainMs / s).toFixed(1)} ms/step, ${(last.tokens / (trainMs / 1000)).toFixed(0)} tokens/s`);
  }
}
const final = evaluations.at(-1);
const run = {
  options: trainer.options, build: engine.simd ? 'wasm-simd' : 'wasm-scalar', parameters: info.parameters,
  steps, trainSeconds: +(trainMs / 1000).toFixed(1), totalSeconds: +((performance.now() - started) / 1000).toFixed(1),
  tokensPerSecond: Math.round(last.tokens / (trainMs / 1000)), final, evaluations, losses,
};
if (write) {
  writeFileSync(new URL('translator.safetensors', outDir), trainer.exportWeights());
  writeFileSync(new URL('translator.run.json', outDir), `${JSON.stringify(run, null, 1)}\n`);
  console.log(`train-translator: wrote ${fileURLToPath(new URL('translator.safetensors', outDir))} and translator.run.json`);
}
trainer.dispose();
engine.dispose();
