// H heads, N tokens (queries = keys), D = 64 head dims.
//
// The bench rows of engine.attentionBackward (scaled-dot, no mask): one call runs the forward that saves the
// row max and sum, then the backward (wasm/bindings/backward_bindings.cpp). GFLOP/s counts that whole call as
// 14*H*N^2*d: 4 for the forward (Q K^T and P V), 8 for the backward's four products (dP = dO V^T, dV, dQ, dK)
// and 2 for recomputing S = Q K^T from the saved statistics. Each round also times engine.attention on the same
// arguments right after the call (the same optimized forward kernel, without the row statistics), so the rows
// also give the backward alone: (call - forward) ms, counted as 10*H*N^2*d (8 + the recomputed 2). Then the
// memory row: N = 8192 in a fresh engine, heap before and after (no [H][N][N] buffer exists anywhere). Nothing
// here asserts a time.
import { attentionInputs, makeStream, maxAbsDiff, median } from './inputs.js';

const D = 64;
export const backwardFlops = (heads, n, d) => 14 * heads * n * n * d;
export const BACKWARD_SHAPES = [[1, 512], [12, 512], [1, 2048]];

function argsOf(heads, n) {
  const { q, k, v } = attentionInputs(heads, n, D);
  const dOutput = makeStream(77 + n)(heads * n * D);
  return { query: q, key: k, value: v, dOutput, heads, nq: n, nk: n, dk: D, dv: D, score: 'scaled_dot' };
}

/**
 * Adds results.backward = { rows, memory, check }. engines: [{ engine, label, threads }] (one thread, then the
 * threaded engine when there is one); rows interleave the engines per shape over `rounds` rounds.
 */
export async function benchBackward({ lib, engines, rounds, minSampleMs, results, log, note, memory = true }) {
  results.backward = { flopsPerCall: '14*H*N^2*d (forward 4 + backward 8 + recomputed probabilities 2)', rows: [], memory: null, check: null };
  const first = engines[0]?.engine;
  if (!first || typeof first.attentionBackward !== 'function') {
    note('engine.attentionBackward does not exist: no backward rows');
    return;
  }
  // The kernel against the double reference once, on the smallest shape.
  try {
    const args = argsOf(1, 512);
    const opt = await first.attentionBackward(args);
    const ref = await first.attentionBackward({ ...args, kernel: 'reference' });
    const scale = Math.max(...['dQuery', 'dKey', 'dValue'].map((n) => ref[n].reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
    const err = Math.max(...['dQuery', 'dKey', 'dValue'].map((n) => maxAbsDiff(opt[n], ref[n])));
    results.backward.check = { heads: 1, n: 512, maxAbsErr: err, maxAbsGradient: scale };
    log(`attention backward H=1 N=512: max abs err vs reference ${err.toExponential(2)} (largest |gradient| ${scale.toExponential(2)})`);
  } catch (e) {
    note(`attention backward check failed: ${e.message}`);
  }
  for (const [heads, n] of BACKWARD_SHAPES) {
    const args = argsOf(heads, n);
    const forwardArgs = { ...args };  // attention takes the same arguments but dOutput
    delete forwardArgs.dOutput;
    const entries = [];
    for (const { engine, label, threads } of engines) {
      try {
        await engine.attentionBackward(args);
        await engine.attention(forwardArgs);
        const t0 = performance.now();
        await engine.attentionBackward(args);
        const ms = performance.now() - t0;
        entries.push({ engine, label, threads, reps: Math.min(200, Math.max(1, Math.ceil(minSampleMs / Math.max(ms, 1e-3)))), samples: [], forward: [] });
      } catch (e) {
        note(`attention backward H=${heads} N=${n} ${label}: failed: ${e.message}`);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const e of entries.map((_, i) => entries[(i + r) % entries.length])) {
        const t0 = performance.now();
        for (let i = 0; i < e.reps; i++) await e.engine.attentionBackward(args);
        const t1 = performance.now();
        for (let i = 0; i < e.reps; i++) await e.engine.attention(forwardArgs);
        e.samples.push((t1 - t0) / e.reps);
        e.forward.push((performance.now() - t1) / e.reps);
      }
    }
    for (const e of entries) {
      const ms = median(e.samples);
      const forwardMs = median(e.forward), backwardMs = ms - forwardMs;
      const row = { heads, n, d: D, label: e.label, threads: e.threads, ms, min: Math.min(...e.samples), max: Math.max(...e.samples),
        samples: e.samples.length, reps: e.reps, gflops: backwardFlops(heads, n, D) / (ms * 1e6),
        forwardMs, backwardMs, backwardGflops: backwardMs > 0 ? (10 * heads * n * n * D) / (backwardMs * 1e6) : null };
      results.backward.rows.push(row);
      log(`attention backward H=${heads} N=${n} ${e.label}: ${ms.toFixed(2)} ms, ${row.gflops.toFixed(1)} GFLOP/s; ` +
        `forward alone ${forwardMs.toFixed(2)} ms, backward alone ${backwardMs.toFixed(2)} ms`);
    }
  }
  if (memory && lib) {
    try {
      const n = 8192;
      const fresh = await lib.createEngine({ backend: 'wasm', threads: 1 });
      const args = argsOf(1, n);
      const before = fresh.memory();
      const t0 = performance.now();
      await fresh.attentionBackward(args);
      const ms = performance.now() - t0;
      const after = fresh.memory();
      results.backward.memory = { n, d: D, heads: 1, ms, heapBytesBefore: before.heapBytes, heapBytesAfter: after.heapBytes,
        bytesInUseAfter: after.bytesInUse, ioBytes: 7 * n * D * 4, scoresBytes: n * n * 4 };
      log(`attention backward memory N=${n}: ${ms.toFixed(0)} ms, heap ${(before.heapBytes / 2 ** 20).toFixed(1)} -> ${(after.heapBytes / 2 ** 20).toFixed(1)} MiB`);
      fresh.dispose?.();
    } catch (e) {
      note(`attention backward memory row failed: ${e.message}`);
    }
  }
}

/** The report lines of results.backward (report.js prints them). */
export function formatBackward(results, { fmt, fms, table }) {
  const b = results.backward;
  if (!b) return [];
  const out = ['', `attention backward (engine.attentionBackward), scaled-dot, no mask, d = 64: one call = forward that saves the row max and sum + backward; ` +
    `GFLOP/s = ${b.flopsPerCall} / t; % of the measured one-core peak (for the threaded rows, of one core's peak times the threads)`];
  if (b.check) out.push(`check H=1 N=512: max abs err vs the double reference ${b.check.maxAbsErr.toExponential(2)} (largest |gradient| ${b.check.maxAbsGradient.toExponential(2)})`);
  const peak = results.peak?.gflops;
  const pct = (gflops, threads) => (peak && gflops ? `${fmt((100 * gflops) / (peak * threads), 0)}%` : '-');
  out.push('backward alone = call - engine.attention on the same arguments (median of each, same rounds), counted as ' +
    '10*H*N^2*d (backward 8 + recomputed probabilities 2)');
  out.push(table(['H', 'N', 'engine', 'ms', 'spread', 'samples', 'GFLOP/s', '%peak', 'fwd ms', 'bwd ms', 'bwd GFLOP/s', 'bwd %peak'],
    b.rows.map((r) => [r.heads, r.n, r.label, fms(r.ms), `${fms(r.min)}-${fms(r.max)}`, `${r.samples}${r.reps > 1 ? `x${r.reps}` : ''}`,
      fmt(r.gflops, 1), pct(r.gflops, r.threads), fms(r.forwardMs), fms(r.backwardMs), fmt(r.backwardGflops, 1),
      pct(r.backwardGflops, r.threads)]),
    ['r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  const m = b.memory;
  if (m) {
    const mib = (x) => `${(x / 2 ** 20).toFixed(1)} MiB`;
    out.push(`memory: attention backward N = ${m.n}, d = ${m.d}, H = 1: ${fms(m.ms)} ms; WASM heap ${mib(m.heapBytesBefore)} before, ` +
      `${mib(m.heapBytesAfter)} after = peak (inputs, dOutput and gradients ${mib(m.ioBytes)}; one [N][N] float buffer would be ${mib(m.scoresBytes)})`);
  }
  return out;
}
