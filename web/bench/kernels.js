// The kernels of the SIMD builds straight on the WASM heap (no JS copies), for scripts/bench/cpu-kernels.mjs,
// in Node or in a Chromium page: scaled-dot attention into preallocated buffers for every H x N x d asked, and
// the model's packed gemm on the encoder's shapes. Every listed kernel variant (module.setSimdVariant,
// attn/tuning.h, docs/CPU.md) of every given module (the SIMD build, the relaxed SIMD build where the engine has
// it, the threaded ones on a cross-origin isolated page) runs interleaved in the same rounds; the best (least
// disturbed) time of the rounds is kept, and each round's time too: compare them by their ratio within one run.
// With an engine (the library's createEngine), its attention() into reused result arrays on the same inputs runs
// among them too, and so does the same call on heap arrays (engine.heapArray: nothing copied in or out): the
// cost of the library's path (validation, copies in and out of the heap) against the kernel alone.
// Figures only; nothing asserted.
import { besidePct, warmUpOnce } from './inputs.js';

function fill(module, ptr, count, seed) {
  fillArray(new Float32Array(module.HEAPF32.buffer, ptr, count), seed);
}

function fillArray(a, seed) {
  const count = a.length;
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

// ms per call of fn (awaited: the library's calls return promises): repeated until one sample lasts >= 10 ms.
async function sample(fn) {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await fn();
    const dt = performance.now() - t0;
    if (dt >= 10) return dt / reps;
    reps = Math.max(reps * 2, Math.ceil((reps * 13) / Math.max(dt, 0.01)));
  }
}

// Per kind of kernel, the modules (or engines) already warmed up (inputs.js warmUpOnce: V8's tier-up).
const warmed = { attention: new Set(), gemmPacked: new Set() };

/**
 * Best ms per call of each candidate { module, variant, run }, over `rounds` interleaved rounds (order reversed
 * every other), after inputs.js's warmUpOnce (once per module and kind: V8's tier-up); the candidates' `best` and
 * `samples` (ms per call in each round) fields are set, and with a probe (peak.js peakProbe) `probes`: the peak
 * in GFLOP/s measured right before each sample.
 */
async function compare(candidates, rounds, kind, probe) {
  const set = (c) => { if (c.variant >= 0) c.module.setSimdVariant(c.variant); };
  for (const c of candidates) { set(c); await warmUpOnce(warmed[kind], c.module, c.run); await c.run(); await c.run(); c.best = Infinity; c.samples = []; c.probes = []; }
  for (let r = 0; r < rounds; r++) {
    for (const c of r % 2 ? [...candidates].reverse() : candidates) {
      set(c);
      if (probe) c.probes.push(probe.measure());
      c.samples.push(await sample(c.run));
      c.best = Math.min(c.best, c.samples[r]);
    }
  }
  for (const c of candidates) if (c.variant >= 0) c.module.setSimdVariant(0);
}

// Every (module, variant) pair: [{ build, module, variant }].
function pairs(modules, variants) {
  return modules.flatMap(({ name, module }) => variants.map((variant) => ({ build: name, module, variant })));
}

/**
 * @param modules the Emscripten module of the SIMD build, or [{ name, module }] of several builds
 * @param opts { ds, ns, headCounts, weights, rounds, variants, gemm, ms, log, engine, probe }: engine, a
 *   createEngine engine, adds its attention() into reused result arrays (build 'library') and on heap arrays for
 *   inputs and results (build 'library-heap', engine.heapArray) to the attention rows;
 *   probe, a peak.js peakProbe run before every sample (the rows' `beside`)
 * @returns rows [{ kind, ..., build, variant, ms (the best round's), samples (each round's), gflops, beside }]
 */
export async function runKernels(modules, { ds = [64], ns = [1024], headCounts = [1], weights = false, rounds = 5, variants = [-1],
  gemm = false, ms = [16, 128], log = console.log, engine = null, probe = null } = {}) {
  const builds = Array.isArray(modules) ? modules : [{ name: 'simd', module: modules }];
  for (const b of builds) {
    if (variants.some((v) => v >= 0) && typeof b.module.setSimdVariant !== 'function') throw new Error(`the ${b.name} build has no setSimdVariant`);
  }
  const rows = [];
  for (const heads of headCounts) for (const n of ns) for (const d of ds) {
    const candidates = pairs(builds, variants);
    const freed = [];
    for (const c of candidates) {  // the same inputs in each module's heap
      const m = c.module;
      const [q, k, v, o] = [0, 1, 2, 3].map(() => m._malloc(heads * n * d * 4));
      const w = weights ? m._malloc(heads * n * n * 4) : 0;
      fill(m, q, heads * n * d, 1); fill(m, k, heads * n * d, 2); fill(m, v, heads * n * d, 3);
      const call = { out: o, weights: w, scores: 0, q, k, v, W: 0, Wq: 0, Wk: 0, va: 0, allowed: 0, score: 1, mask: 0,
        variant: 1, heads, nq: n, nk: n, dk: d, dv: d, da: 0 };
      c.run = () => {
        const status = m.attention(call);
        if (status !== 0) throw new Error(`attention status ${status}`);
      };
      freed.push(() => { for (const p of [q, k, v, o, w]) if (p) m._free(p); });
    }
    if (engine) {  // the same inputs as JS arrays, results into arrays allocated once
      const [query, key, value] = [1, 2, 3].map((seed) => fillArray(new Float32Array(heads * n * d), seed));
      const args = { query, key, value, heads, nq: n, nk: n, dk: d, dv: d, score: 'scaled_dot', returnWeights: weights,
        kernel: 'optimized', out: new Float32Array(heads * n * d), weightsOut: weights ? new Float32Array(heads * n * n) : undefined };
      candidates.push({ build: 'library', module: engine, variant: -1, run: () => engine.attention(args) });
      // the same with heap arrays (engine.heapArray) for the inputs and the results: nothing copied in or out
      const onHeap = { ...args };
      const held = ['query', 'key', 'value', 'out', 'weightsOut'].filter((name) => args[name]);
      for (const name of held) {
        onHeap[name] = engine.heapArray(args[name].length);
        onHeap[name].set(args[name]);
      }
      candidates.push({ build: 'library-heap', module: engine, variant: -1, run: () => engine.attention(onHeap) });
      freed.push(() => { for (const name of held) onHeap[name].dispose(); });
    }
    await compare(candidates, rounds, 'attention', probe);  // with or without weights: the same function
    for (const { build, variant, best: t, samples, probes } of candidates) {
      const flops = 4 * heads * n * n * d;
      const row = { kind: weights ? 'attention+weights' : 'attention', heads, n, d, build, variant, ms: t, samples, gflops: flops / (t * 1e6),
        beside: besidePct(flops, samples, probes) };
      log(`${row.kind} H${heads} N${n} d${d} ${build} variant ${variant}: ${t.toFixed(2)} ms ${row.gflops.toFixed(1)} GFLOP/s`);
      rows.push(row);
    }
    for (const free of freed) free();
  }
  if (gemm) {
    for (const b of builds) if (typeof b.module.gemmPacked !== 'function') throw new Error(`the ${b.name} build has no gemmPacked binding`);
    // the encoder's dense layers: M = tokens, K x N as in the model
    for (const m of ms) for (const [kk, nn] of [[256, 768], [256, 512], [512, 1536], [1536, 512], [512, 512]]) {
      const candidates = pairs(builds, variants);
      const freed = [];
      for (const cand of candidates) {  // the same operands in each module's heap
        const mod = cand.module;
        const [a, b, c, bias] = [m * kk, kk * nn, m * nn, nn].map((floats) => mod._malloc(floats * 4));
        const packed = mod._malloc(Math.ceil(nn / 8) * 8 * kk * 4);
        fill(mod, a, m * kk, 4); fill(mod, b, kk * nn, 5); fill(mod, bias, nn, 6);
        mod.gemmPack(packed, b, kk, nn);
        cand.run = () => mod.gemmPacked(c, a, packed, bias, m, kk, nn);
        freed.push(() => { for (const p of [a, b, c, bias, packed]) mod._free(p); });
      }
      await compare(candidates, rounds, 'gemmPacked', probe);
      for (const { build, variant, best: t, samples, probes } of candidates) {
        const flops = 2 * m * kk * nn;
        const row = { kind: 'gemmPacked', m, k: kk, n: nn, build, variant, ms: t, samples, gflops: flops / (t * 1e6),
          beside: besidePct(flops, samples, probes) };
        log(`gemmPacked M${m} K${kk} N${nn} ${build} variant ${variant}: ${(t * 1000).toFixed(1)} us ${row.gflops.toFixed(1)} GFLOP/s`);
        rows.push(row);
      }
      for (const free of freed) free();
    }
  }
  return rows;
}
