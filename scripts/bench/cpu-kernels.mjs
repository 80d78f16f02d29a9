// node scripts/bench/cpu-kernels.mjs [--d 16,64,128,256] [--n 1024] [--heads 1] [--weights] [--rounds 5]
//                                   [--variants 0,1] [--gemm] [--no-peak]
// The one-thread kernels of the SIMD build straight on the WASM heap (no JS copies): the f32x4 peak
// (web/bench/peak.js), scaled-dot attention into preallocated buffers for every d x N x H asked, and with
// --gemm the model's packed gemm on the encoder's shapes. With --variants, every listed forward/gemm kernel
// variant (module.setSimdVariant, docs/CPU.md) runs interleaved in the same rounds (best of the rounds):
// compare variants by their ratio within one run. Figures only; nothing asserted.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measurePeak } from '../../web/bench/peak.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const list = (name, fallback) => value(name, fallback).split(',').map(Number);
const ds = list('--d', '64');
const ns = list('--n', '1024');
const headCounts = list('--heads', '1');
const rounds = Number(value('--rounds', 5));
const variants = list('--variants', '-1');
const weights = args.includes('--weights');

const glue = await import(resolve(root, 'web/src/lib/wasm/attn_simd.mjs'));
const module = await glue.default({ wasmBinary: readFileSync(resolve(root, 'web/src/lib/wasm/attn_simd.wasm')) });
const haveVariants = typeof module.setSimdVariant === 'function';
const setVariant = (v) => { if (v >= 0 && haveVariants) module.setSimdVariant(v); };
if (variants.some((v) => v >= 0) && !haveVariants) throw new Error('this build has no setSimdVariant');

function fill(ptr, count, seed) {
  const a = new Float32Array(module.HEAPF32.buffer, ptr, count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
}
const alloc = (floats) => module._malloc(floats * 4);

// Time fn: repeat until a sample lasts >= 10 ms; returns ms per call (the best of the rounds is kept: on a
// shared VM the minimum is the figure least disturbed by the neighbours).
function sample(fn) {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= 10) return dt / reps;
    reps = Math.max(reps * 2, Math.ceil(reps * 13 / Math.max(dt, 0.01)));
  }
}

const out = [];
let peak = null;
if (!args.includes('--no-peak')) {
  peak = (await measurePeak({ repeats: 5 })).gflops;
  console.log(`peak ${peak.toFixed(1)} GFLOP/s`);
}
const pct = (g) => (peak ? ` ${((100 * g) / peak).toFixed(0)}%` : '');

for (const heads of headCounts) for (const n of ns) for (const d of ds) {
  const q = alloc(heads * n * d), k = alloc(heads * n * d), v = alloc(heads * n * d), o = alloc(heads * n * d);
  const w = weights ? alloc(heads * n * n) : 0;
  fill(q, heads * n * d, 1); fill(k, heads * n * d, 2); fill(v, heads * n * d, 3);
  const call = { out: o, weights: w, scores: 0, q, k, v, W: 0, Wq: 0, Wk: 0, va: 0, allowed: 0, score: 1, mask: 0,
    variant: 1, heads, nq: n, nk: n, dk: d, dv: d, da: 0 };
  const run = () => { const s = module.attention(call); if (s !== 0) throw new Error(`attention status ${s}`); };
  const best = new Map(variants.map((x) => [x, Infinity]));
  for (const x of variants) { setVariant(x); run(); run(); }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const x of order) { setVariant(x); best.set(x, Math.min(best.get(x), sample(run))); }
  }
  for (const x of variants) {
    const ms = best.get(x), g = (4 * heads * n * n * d) / (ms * 1e6);
    const line = `attention${weights ? '+weights' : ''} H${heads} N${n} d${d} variant ${x}: ${ms.toFixed(2)} ms ${g.toFixed(1)} GFLOP/s${pct(g)}`;
    console.log(line);
    out.push({ kind: 'attention', weights, heads, n, d, variant: x, ms, gflops: g });
  }
  for (const p of [q, k, v, o, w]) if (p) module._free(p);
}

if (args.includes('--gemm')) {
  if (typeof module.gemmPacked !== 'function') throw new Error('this build has no gemmPacked binding');
  // the encoder's dense layers: M = tokens (16, 128), K x N as in the model
  for (const m of list('--m', '16,128')) for (const [kk, nn] of [[256, 768], [256, 512], [512, 1536], [1536, 512], [512, 512]]) {
    const a = alloc(m * kk), b = alloc(kk * nn), c = alloc(m * nn), bias = alloc(nn), packed = alloc(Math.ceil(nn / 8) * 8 * kk);
    fill(a, m * kk, 4); fill(b, kk * nn, 5); fill(bias, nn, 6);
    module.gemmPack(packed, b, kk, nn);
    const run = () => module.gemmPacked(c, a, packed, bias, m, kk, nn);
    const best = new Map(variants.map((x) => [x, Infinity]));
    for (const x of variants) { setVariant(x); run(); run(); }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...variants].reverse() : variants;
      for (const x of order) { setVariant(x); best.set(x, Math.min(best.get(x), sample(run))); }
    }
    for (const x of variants) {
      const ms = best.get(x), g = (2 * m * kk * nn) / (ms * 1e6);
      console.log(`gemmPacked M${m} K${kk} N${nn} variant ${x}: ${(ms * 1000).toFixed(1)} us ${g.toFixed(1)} GFLOP/s${pct(g)}`);
      out.push({ kind: 'gemmPacked', m, k: kk, n: nn, variant: x, ms, gflops: g });
    }
    for (const p of [a, b, c, bias, packed]) module._free(p);
  }
}
if (args.includes('--json')) console.log(JSON.stringify({ peak, rows: out }));
