// The op spec (web/src/lib/spec.js) against the WASM build, and attention's returnScores on both backends
// against the JS reference (tests/js/reference.js): the score function's value (scaled_dot divided by
// sqrt(dk)), -Infinity where the mask forbids the key.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { create, globals } from 'webgpu';
import { createEngine } from '../../web/src/lib/index.js';
import { SCORES, SCORE_NAMES, MASKS, KERNELS, scoreScale } from '../../web/src/lib/spec.js';
import { attentionReference } from './reference.js';
import { CASES, attentionInputs } from './case_inputs.js';

Object.assign(globalThis, globals);
const GPU = create([]);

// The cases small enough to compare entry by entry on every backend (the largest ones are for the kernels).
const SMALL = CASES.attention.filter((c) => c.heads * c.nq * c.nk <= 65536);

/** Largest |got - want| / max(1, |want|) over finite entries; Infinity when a -Infinity does not match. */
function scoreError(got, want) {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === -Infinity || got[i] === -Infinity) {
      if (want[i] !== got[i]) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  }
  return worst;
}

describe('the op spec', () => {
  it('lists codes 0..n-1 for score functions, masks and kernels, as many as the WASM build knows', async () => {
    const engine = await createEngine({ backend: 'wasm' });
    const codes = (table) => Object.values(table).map((e) => e.code).sort((a, b) => a - b);
    expect(codes(SCORES)).toEqual([...SCORE_NAMES.keys()]);
    expect(codes(MASKS)).toEqual([0, 1, 2]);
    expect(codes(KERNELS)).toEqual([0, 1]);
    const { createWasmBackend } = await import('../../web/src/lib/backends/wasm.js');
    const wasm = await createWasmBackend({ threads: 1 });
    expect(wasm.module.scoreCount()).toBe(SCORE_NAMES.length);
    expect(wasm.module.maskKindCount()).toBe(Object.keys(MASKS).length);
    expect(scoreScale('scaled_dot', 16)).toBe(0.25);
    expect(scoreScale('dot', 16)).toBe(1);
    engine.dispose();
  });
});

describe.each([['wasm'], ['webgpu']])('attention returnScores on %s', (backend) => {
  let engine;
  beforeAll(async () => {
    engine = await createEngine(backend === 'webgpu' ? { backend, gpu: GPU } : { backend });
  });
  afterAll(() => engine.dispose());

  it.each(SMALL.map((c) => [c.name, c]))('%s', async (name, c) => {
    const args = attentionInputs(c);
    const want = attentionReference(args);
    const r = await engine.attention({ ...args, returnScores: true, returnWeights: true });
    expect(r.backend).toBe(backend);
    expect(r.scores).toBeInstanceOf(Float32Array);
    expect(r.scores.length).toBe(c.heads * c.nq * c.nk);
    // float32 inputs, double (WASM reference) or float32 (WGSL) sums: a few float32 roundings apart.
    expect(scoreError(r.scores, want.scores)).toBeLessThanOrEqual(backend === 'wasm' ? 1e-6 : 1e-4);
  });

  it('returns no scores unless asked, and refuses a non-boolean returnScores', async () => {
    const args = attentionInputs(SMALL[0]);
    const r = await engine.attention(args);
    expect(r.scores).toBeUndefined();
    await expect(engine.attention({ ...args, returnScores: 1 })).rejects.toThrow(/returnScores must be a boolean/);
  });
});
