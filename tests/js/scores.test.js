// The op spec (web/src/lib/spec.js) against the WASM build, and attention's returnScores on both backends
// against the JS reference (tests/js/reference.js): the score function's value (scaled_dot divided by
// sqrt(dk)), -Infinity where the mask forbids the key.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { create, globals } from 'webgpu';
import { createEngine } from '../../web/src/lib/index.js';
import { readFileSync } from 'node:fs';
import { SCORES, SCORE_NAMES, MASKS, MASK_NAMES, KERNELS, KERNEL_NAMES, DEFAULT_KERNEL, MODEL_OUTPUTS, scoreScale } from '../../web/src/lib/spec.js';
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

  // TypeScript cannot read the spec's names from spec.js for a package's users, so index.d.ts spells them;
  // this keeps that copy equal to the spec (a name added to one and not the other fails here).
  it('is what index.d.ts types: score, mask and kernel names, model output bits', () => {
    const dts = readFileSync(new URL('../../web/src/lib/index.d.ts', import.meta.url), 'utf8');
    const union = (pattern) => {
      const m = dts.match(pattern);
      expect(m, `index.d.ts: ${pattern}`).not.toBeNull();
      return [...m[1].matchAll(/'([a-z_]+)'/g)].map((x) => x[1]);
    };
    expect(union(/export type Score = ([^;]+);/)).toEqual([...SCORE_NAMES]);
    expect(union(/export type Mask = ([^;]+);/)).toEqual([...MASK_NAMES]);
    expect(union(/export const MASKS: Readonly<Record<([^,]+),/)).toEqual(Object.keys(MASKS));
    expect(union(/export const MASK_NAMES: readonly \(([^)]+)\)/)).toEqual([...MASK_NAMES]);
    expect(union(/export const KERNELS: Readonly<Record<([^,]+),/)).toEqual([...KERNEL_NAMES].sort());
    expect(union(/export const KERNEL_NAMES: readonly \(([^)]+)\)/)).toEqual([...KERNEL_NAMES]);
    expect(union(/export const DEFAULT_KERNEL: ([^;]+);/)).toEqual([DEFAULT_KERNEL]);
    const bits = dts.match(/export const MODEL_OUTPUTS: Readonly<\{([^}]+)\}>/);
    expect(bits).not.toBeNull();
    const typed = Object.fromEntries([...bits[1].matchAll(/(\w+): (\d+)/g)].map((x) => [x[1], Number(x[2])]));
    expect(typed).toEqual({ ...MODEL_OUTPUTS });
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
