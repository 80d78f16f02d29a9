// The shared cases on the WASM backend, both builds: the optimized kernel against the reference variant
// inside the module, and the module's reference against an independent JS double-precision reference.
import { describe, it, expect, beforeAll } from 'vitest';
import { createEngine, positionalEncoding, wasmSimdSupported, relaxedSimdSupported } from '../../web/src/lib/index.js';
import { createWasmBackend } from '../../web/src/lib/backends/wasm.js';
import { CASES, attentionInputs, multiHeadInputs } from './case_inputs.js';
import { attentionReference, multiHeadReference, relativeError, maxAbsError } from './reference.js';

// The JS double reference costs nq*nk*dk*heads operations in plain JS: run it on the cases below this size.
const JS_REFERENCE_LIMIT = 2_000_000;

// float32 kernels against the double-accumulating reference: the output relative to the magnitude of the
// values, the weights (already in [0, 1]) absolute. Both are loosened by the float32 rounding of the largest
// possible score, 2^-24 * B: an error dS in a score moves its weight by about w * dS, and the long cases have
// logits near 100 on purpose.
const OUTPUT_TOLERANCE = 2e-5;
const WEIGHT_TOLERANCE = 2e-6;
const EPS32 = 2 ** -24;

/** An upper bound B on |score| from the case's sizes and input scales. */
function scoreBound(c) {
  const dk = c.dk ?? c.dModel / c.heads;
  if (c.score === 'additive') return c.da * c.paramScale;
  const qk = dk * c.scale * c.scale;
  if (c.score === 'general') return qk * dk * c.paramScale;
  return c.score === 'scaled_dot' ? qk / Math.sqrt(dk) : qk;
}

for (const simd of [true, false]) {
  describe(`WASM backend, ${simd ? 'SIMD' : 'scalar'} build`, () => {
    let engine;
    beforeAll(async () => {
      engine = await createEngine({ backend: 'wasm', simd });
    });

    it('reports its build', () => {
      expect(engine.backend).toBe('wasm');
      expect(engine.simd).toBe(simd && wasmSimdSupported());
      // Node 20 has relaxed SIMD only behind a flag: the plain build runs (tests/e2e/relaxed_simd.spec.js runs
      // the relaxed one in Chromium).
      expect(relaxedSimdSupported()).toBe(false);
      expect(engine.relaxedSimd).toBe(false);
    });

    for (const c of CASES.attention) {
      it(`attention ${c.name}`, async () => {
        const args = attentionInputs(c);
        const ref = await engine.attention({ ...args, returnWeights: true, kernel: 'reference' });
        const opt = await engine.attention({ ...args, returnWeights: true });
        const lean = await engine.attention(args);
        expect(opt.output.length).toBe(c.heads * c.nq * c.dv);
        expect(opt.weights.length).toBe(c.heads * c.nq * c.nk);
        expect(lean.weights).toBeNull();
        const rounding = EPS32 * scoreBound(c);
        expect(relativeError(opt.output, ref.output)).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
        expect(relativeError(lean.output, ref.output)).toBeLessThanOrEqual(OUTPUT_TOLERANCE + rounding);
        expect(maxAbsError(opt.weights, ref.weights)).toBeLessThanOrEqual(WEIGHT_TOLERANCE + rounding);
        for (const x of opt.output) expect(Number.isFinite(x)).toBe(true);
        if (c.heads * c.nq * c.nk * Math.max(c.dk, c.da || 0) <= JS_REFERENCE_LIMIT) {
          const js = attentionReference(args);
          expect(relativeError(ref.output, js.output)).toBeLessThanOrEqual(1e-6);
          expect(maxAbsError(ref.weights, js.weights)).toBeLessThanOrEqual(1e-7);
        }
      });
    }

    for (const c of CASES.multiHead) {
      it(`multiHeadAttention ${c.name}`, async () => {
        const args = multiHeadInputs(c);
        const ref = await engine.multiHeadAttention({ ...args, returnWeights: true, kernel: 'reference' });
        const opt = await engine.multiHeadAttention({ ...args, returnWeights: true });
        expect(opt.output.length).toBe(c.nq * c.dModel);
        expect(opt.weights.length).toBe(c.heads * c.nq * c.nk);
        expect(relativeError(opt.output, ref.output)).toBeLessThanOrEqual(OUTPUT_TOLERANCE);
        expect(maxAbsError(opt.weights, ref.weights)).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
        const js = multiHeadReference(args);
        expect(relativeError(ref.output, js.output)).toBeLessThanOrEqual(1e-6);
        expect(maxAbsError(ref.weights, js.weights)).toBeLessThanOrEqual(1e-7);
      });
    }
  });
}

describe('attention semantics', () => {
  let engine;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm' });
  });

  it('matches a hand-worked example: two keys, dot score', async () => {
    // q = [1, 0]; keys [1, 0] and [0, 1] score 1 and 0; weights e/(e+1), 1/(e+1).
    const r = await engine.attention({
      query: new Float32Array([1, 0]), key: new Float32Array([1, 0, 0, 1]), value: new Float32Array([10, 20]),
      nq: 1, nk: 2, dk: 2, dv: 1, score: 'dot', returnWeights: true,
    });
    const w0 = Math.E / (Math.E + 1);
    expect(r.weights[0]).toBeCloseTo(w0, 6);
    expect(r.weights[1]).toBeCloseTo(1 - w0, 6);
    expect(r.output[0]).toBeCloseTo(10 * w0 + 20 * (1 - w0), 4);
  });

  it('causal mask: the upper triangle is zero and rows sum to one', async () => {
    const n = 7;
    const args = attentionInputs({ heads: 2, nq: n, nk: n, dk: 5, dv: 3, score: 'scaled_dot', mask: 'causal', seed: 3, scale: 1, paramScale: 1 });
    const r = await engine.attention({ ...args, returnWeights: true });
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const w = r.weights[(h * n + i) * n + j];
          if (j > i) expect(w).toBe(0);
          sum += w;
        }
        expect(sum).toBeCloseTo(1, 6);
      }
    }
  });

  it('a query with no allowed key gets zero weights and a zero output', async () => {
    const mask = new Uint8Array([0, 0, 0, 1, 1, 0]);
    const args = attentionInputs({ heads: 1, nq: 2, nk: 3, dk: 4, dv: 2, score: 'dot', mask: 'none', seed: 9, scale: 1, paramScale: 1 });
    for (const kernel of ['reference', 'optimized']) {
      const r = await engine.attention({ ...args, mask, returnWeights: true, kernel });
      expect([...r.weights.slice(0, 3)]).toEqual([0, 0, 0]);
      expect([...r.output.slice(0, 2)]).toEqual([0, 0]);
      expect(r.weights[3] + r.weights[4]).toBeCloseTo(1, 6);
    }
  });

  it('large logits do not overflow: one key dominates', async () => {
    const r = await engine.attention({
      query: new Float32Array([100, 100]), key: new Float32Array([100, 100, 99, 99]), value: new Float32Array([1, 2]),
      nq: 1, nk: 2, dk: 2, dv: 1, score: 'dot', returnWeights: true,
    });
    // scores 20000 and 19800: exp without the max would be Infinity.
    expect(r.weights[0]).toBe(1);
    expect(r.output[0]).toBe(1);
  });
});

describe('positionalEncoding', () => {
  it('follows PE[p][2i] = sin(p/10000^(2i/d)), PE[p][2i+1] = cos(...)', () => {
    const pe = positionalEncoding(50, 8);
    expect(pe.length).toBe(400);
    expect(pe[0]).toBe(0);
    expect(pe[1]).toBe(1);
    expect(pe[8 * 1 + 0]).toBeCloseTo(Math.sin(1), 7);
    expect(pe[8 * 3 + 2]).toBeCloseTo(Math.sin(3 / 10000 ** (2 / 8)), 7);
    expect(pe[8 * 49 + 7]).toBeCloseTo(Math.cos(49 / 10000 ** (6 / 8)), 7);
  });

  it('agrees with the engine\'s C++ encoding', async () => {
    const { module } = await createWasmBackend();
    const n = 33;
    const d = 17;
    const ptr = module._malloc(4 * n * d);
    try {
      module.positionalEncoding(ptr, n, d);
      const cpp = module.HEAPF32.slice(ptr >> 2, (ptr >> 2) + n * d);
      expect(maxAbsError(cpp, positionalEncoding(n, d))).toBeLessThanOrEqual(1e-6);
    } finally {
      module._free(ptr);
    }
  });
});
