// The one-core WASM f32x4 multiply-add peak, measured rather than quoted.
//
// A tiny module, assembled here byte by byte (no toolchain), runs C independent chains
//   vacc_c = f32x4.add(f32x4.mul(vacc_c, vm), vc)        c = 0 .. C-1
// U times per loop iteration. WASM SIMD has no fused multiply-add, so every chain step is one f32x4.mul
// and one f32x4.add: 8 flops. With enough chains the loop is bound by the FP ports, not by latency, which
// is the ceiling any f32x4 attention kernel (dot products: a mul and an add per lane) can reach.
// vm < 1 keeps every accumulator bounded (it converges to vc / (1 - vm)), so no infinities or denormals.

const SIMD = 0xfd;
const op = { f32x4_splat: 0x13, f32x4_extract_lane: 0x1f, f32x4_add: 0xe4, f32x4_mul: 0xe6 };
const T = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const simd = (code) => [SIMD, ...uleb(code)];
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items) => [...uleb(items.length), ...items.flat()];

/** Bytes of a module exporting `peak(iters: i32, m: f32, c: f32) -> f32` with `chains` chains, unrolled `unroll`x. */
export function peakModuleBytes(chains, unroll) {
  // locals: 0 iters, 1 m, 2 c (params); 3 vm, 4 vc, 5 .. 5+chains-1 vacc
  const VM = 3, VC = 4, ACC = 5;
  const body = [];
  body.push(0x20, 1, ...simd(op.f32x4_splat), 0x21, VM);
  body.push(0x20, 2, ...simd(op.f32x4_splat), 0x21, VC);
  for (let c = 0; c < chains; c++) body.push(0x20, 2, ...simd(op.f32x4_splat), 0x21, ...uleb(ACC + c));
  body.push(0x03, 0x40); // loop
  for (let u = 0; u < unroll; u++) {
    for (let c = 0; c < chains; c++) {
      body.push(0x20, ...uleb(ACC + c), 0x20, VM, ...simd(op.f32x4_mul), 0x20, VC, ...simd(op.f32x4_add));
      body.push(0x21, ...uleb(ACC + c));
    }
  }
  // iters = iters - 1; br_if 0 (iters != 0)
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b);
  // return lane 0 of the sum of all chains (keeps every chain live)
  body.push(0x20, ...uleb(ACC));
  for (let c = 1; c < chains; c++) body.push(0x20, ...uleb(ACC + c), ...simd(op.f32x4_add));
  body.push(...simd(op.f32x4_extract_lane), 0);
  body.push(0x0b); // end function

  const locals = [...uleb(1), ...uleb(2 + chains), T.v128];
  const func = [...locals, ...body];
  const type = section(1, vec([[0x60, ...vec([[T.i32], [T.f32], [T.f32]]), ...vec([[T.f32]])]]));
  const funcs = section(3, vec([[0]]));
  const name = [...'peak'].map((ch) => ch.charCodeAt(0));
  const exports = section(7, vec([[...uleb(name.length), ...name, 0x00, 0]]));
  const code = section(10, vec([[...uleb(func.length), ...func]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...funcs, ...exports, ...code]);
}

// Warms `peak` up (lets V8 tier it up to TurboFan) and returns the iteration count of a ~targetMs call.
function calibrate(peak, targetMs) {
  let iters = 1000;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    peak(iters, 0.999, 0.001);
    const dt = performance.now() - t0;
    if (dt > targetMs / 4 && i >= 3) return Math.max(1, Math.round((iters * targetMs) / dt));
    if (dt < targetMs / 4) iters *= 4;
  }
  return iters;
}

// One timed call: GFLOP/s.
function timedGflops(peak, iters, flopsPerIter) {
  const t0 = performance.now();
  const x = peak(iters, 0.999, 0.001);
  const dt = performance.now() - t0;
  if (!Number.isFinite(x)) throw new Error(`peak kernel produced ${x}`);
  return (flopsPerIter * iters) / (dt * 1e6);
}

/**
 * Measures the peak: for each [chains, unroll] config, calibrate to ~targetMs per call, keep the best of
 * `repeats`; the peak is the best config's figure (x86 has 16 xmm registers, so past ~14 chains V8 spills).
 * Returns { gflops, best: { chains, unroll }, runs: [{ chains, unroll, gflops }] }.
 */
export async function measurePeak({
  configs = [[8, 4], [12, 4], [12, 8], [14, 4], [16, 4], [20, 4]], targetMs = 80, repeats = 7,
} = {}) {
  const runs = [];
  for (const [chains, unroll] of configs) {
    const bytes = peakModuleBytes(chains, unroll);
    const { instance } = await WebAssembly.instantiate(bytes);
    const peak = instance.exports.peak;
    const flopsPerIter = chains * unroll * 8;
    const iters = calibrate(peak, targetMs);
    let best = 0;
    for (let r = 0; r < repeats; r++) {
      best = Math.max(best, timedGflops(peak, iters, flopsPerIter));
      await new Promise((r) => setTimeout(r, 0));
    }
    runs.push({ chains, unroll, gflops: best });
  }
  const top = runs.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { gflops: top.gflops, best: { chains: top.chains, unroll: top.unroll }, runs };
}

/**
 * A short probe of the peak for one [chains, unroll] config, calibrated once to about `targetMs` per call: the
 * bench runs it right before each timed sample, so every sample has a peak measured in the same machine state
 * (on a shared VM the one-core speed changes by up to half within a run). `measure()` returns GFLOP/s.
 */
export async function peakProbe({ chains = 12, unroll = 4, targetMs = 10 } = {}) {
  const { instance } = await WebAssembly.instantiate(peakModuleBytes(chains, unroll));
  const peak = instance.exports.peak;
  const flopsPerIter = chains * unroll * 8;
  const iters = calibrate(peak, targetMs);
  return {
    chains, unroll, iters,
    measure: () => timedGflops(peak, iters, flopsPerIter),
  };
}
