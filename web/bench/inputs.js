// H heads, N tokens, D head dims.
// Inputs and small helpers for the bench: the shared cases' generator (tests/cases/README.md), layout
// changes for the peers, error and order statistics.

/** mulberry32 stream of floats in [-s, s), as tests/cases/README.md defines it. */
export function makeStream(seed) {
  let state = seed >>> 0;
  return (count, s = 1) => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
      out[i] = (2 * u - 1) * s;
    }
    return out;
  };
}

/** q, k, v [H][N][D] for one bench shape, from a seed fixed per shape. */
export function attentionInputs(heads, n, d) {
  const next = makeStream(1000 + heads * 7919 + n);
  return { q: next(heads * n * d), k: next(heads * n * d), v: next(heads * n * d) };
}

/** [H][N][D] -> [N][H*D] (heads interleaved per token, the layout of MultiHeadAttention). */
export function headsToTokens(x, heads, n, d) {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < n; t++) out.set(x.subarray((h * n + t) * d, (h * n + t + 1) * d), (t * heads + h) * d);
  }
  return out;
}

/** [N][H*D] -> [H][N][D]. */
export function tokensToHeads(x, heads, n, d) {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < n; t++) out.set(x.subarray((t * heads + h) * d, (t * heads + h + 1) * d), (h * n + t) * d);
  }
  return out;
}

/** max |a - b|; NaN when the lengths differ or either holds a NaN. */
export function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= m)) m = e; // NaN propagates
  }
  return m;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Percent of the peak "beside" (peak.js peakProbe): the median over samples of each sample's GFLOP/s (flops over
 * its ms) over the peak probed right before it; null without probes.
 */
export function besidePct(flops, samples, probes) {
  return probes.length ? 100 * median(samples.map((ms, i) => flops / (ms * 1e6) / probes[i])) : null;
}

// V8 runs a wasm function as Liftoff (baseline) code first and swaps in TurboFan code, compiled in the background,
// once the function is hot: in Chromium 156 on Zen 3 the attention kernel's first ~0.3 s of calls ran 4-5x slower
// (docs/CPU.md). The benches call each competitor for WARM_UP_MS, once per page, before any sample counts.
export const WARM_UP_MS = 1000;

/** Calls (and awaits) fn until `ms` have passed; returns the number of calls. */
export async function warmUp(fn, ms = WARM_UP_MS) {
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < ms) {
    await fn();
    calls++;
  }
  return calls;
}

/** warmUp(fn) the first time `key` is seen in `done` (a Set): once per competitor and page. */
export async function warmUpOnce(done, key, fn) {
  if (done.has(key)) return;
  done.add(key);
  await warmUp(fn);
}
