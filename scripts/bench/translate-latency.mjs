#!/usr/bin/env node
// Translate latency in Node: the classic sentence with all attention returned (the default translate()), on the
// one-thread WASM SIMD build and the shipped weights; 5 warm-up calls, then the median, fastest and slowest of
// `--runs` calls (50). `--lib <path to web/src/lib/index.js>` measures another checkout's library (e.g. main's,
// for a before/after). Prints one line; no assertion (speed is a benchmark, not a test).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const lib = option('lib', new URL('../../web/src/lib/index.js', import.meta.url).pathname);
const runs = Number.parseInt(option('runs', '50'), 10);
const text = "The animal didn't cross the street because it was too tired";

const { createEngine } = await import(pathToFileURL(resolve(lib)).href);
const engine = await createEngine({ backend: 'wasm', threads: 1, simd: true });
const t = await engine.loadTranslator();
for (let i = 0; i < 5; i++) await t.translate(text);
const times = [];
let output = '';
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = await t.translate(text);
  times.push(performance.now() - t0);
  output = r.output;
}
times.sort((a, b) => a - b);
const median = runs % 2 ? times[(runs - 1) / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
console.log(`translate latency (${lib}, WASM SIMD, 1 thread, ${runs} runs): median ${median.toFixed(2)} ms, ` +
  `fastest ${times[0].toFixed(2)} ms, slowest ${times[runs - 1].toFixed(2)} ms; "${output}"`);
engine.dispose();
