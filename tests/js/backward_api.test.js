// engine.attentionBackward and engine.multiHeadAttentionBackward at the boundary: bad arguments are a
// TypeError or RangeError naming the argument (and the numbers), the engine stays usable, the WASM heap stays
// flat over many calls, good and bad; the reference kernel and the optimized one agree.
import { describe, it, expect, beforeAll } from 'vitest';
import { createEngine } from '../../web/src/lib/index.js';

const fill = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));
const attentionArgs = () => ({
  query: fill(2 * 5 * 4, (i) => Math.sin(i)), key: fill(2 * 6 * 4, (i) => Math.cos(i)),
  value: fill(2 * 6 * 3, (i) => Math.sin(0.3 * i)), dOutput: fill(2 * 5 * 3, (i) => Math.cos(0.7 * i)),
  heads: 2, nq: 5, nk: 6, dk: 4, dv: 3,
});
const mhaArgs = () => ({
  x: fill(5 * 8, (i) => Math.sin(i)), nq: 5, dModel: 8, heads: 2,
  Wq: fill(64, (i) => Math.sin(0.1 * i)), Wk: fill(64, (i) => Math.cos(0.1 * i)), Wv: fill(64, (i) => Math.sin(0.2 * i)),
  Wo: fill(64, (i) => Math.cos(0.2 * i)), bq: fill(8, (i) => 0.1 * i), dOutput: fill(5 * 8, (i) => Math.cos(i)),
});

describe('backward calls at the boundary', () => {
  let engine;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm' });
  });

  it('returns the gradients with null for what the call does not have', async () => {
    const g = await engine.attentionBackward(attentionArgs());
    expect(g.dQuery).toHaveLength(40);
    expect(g.dKey).toHaveLength(48);
    expect(g.dValue).toHaveLength(36);
    expect([g.dW, g.dWq, g.dWk, g.dv]).toEqual([null, null, null, null]);
    const m = await engine.multiHeadAttentionBackward(mhaArgs());
    expect(m.dx).toHaveLength(40);
    expect(m.dContext).toBeNull();  // self-attention: all of x's gradient is in dx
    expect(m.dbq).toHaveLength(8);
    expect([m.dbk, m.dbv, m.dbo]).toEqual([null, null, null]);
    expect(m.scoreParams).toEqual({ dW: null, dWq: null, dWk: null, dv: null });
  });

  it('agrees with the reference kernel', async () => {
    for (const mask of ['none', 'causal']) {
      const a = { ...attentionArgs(), score: 'general', W: fill(16, (i) => 0.1 * Math.cos(i)), mask };
      const opt = await engine.attentionBackward(a);
      const ref = await engine.attentionBackward({ ...a, kernel: 'reference' });
      for (const name of ['dQuery', 'dKey', 'dValue', 'dW']) {
        const scale = Math.max(...ref[name].map(Math.abs));
        const err = Math.max(...opt[name].map((x, i) => Math.abs(x - ref[name][i])));
        expect(err, `${mask} ${name}`).toBeLessThanOrEqual(1e-5 * scale);
      }
    }
  });

  it('refuses bad arguments with errors naming them, and stays usable', async () => {
    const a = attentionArgs();
    await expect(engine.attentionBackward({ ...a, dOutput: new Float32Array(7) }))
      .rejects.toThrow(new RangeError('attentionBackward: dOutput has 7 values but heads*nq*dv = 30'));
    await expect(engine.attentionBackward({ ...a, dOutput: [1, 2] })).rejects.toThrow(TypeError);
    await expect(engine.attentionBackward({ ...a, dOutput: undefined })).rejects.toThrow(/dOutput must be a Float32Array/);
    await expect(engine.attentionBackward({ ...a, query: new Float32Array(3) })).rejects.toThrow(/attentionBackward: query has 3 values/);
    await expect(engine.attentionBackward({ ...a, returnWeights: true })).rejects.toThrow(/attentionBackward: unknown option 'returnWeights'/);
    await expect(engine.attentionBackward({ ...a, score: 'general' })).rejects.toThrow(/needs W/);
    const nan = a.dOutput.slice();
    nan[4] = NaN;
    await expect(engine.attentionBackward({ ...a, dOutput: nan })).rejects.toThrow(/dOutput\[4\] is NaN/);
    const m = mhaArgs();
    await expect(engine.multiHeadAttentionBackward({ ...m, dOutput: new Float32Array(39) }))
      .rejects.toThrow(new RangeError('multiHeadAttentionBackward: dOutput has 39 values but nq*dModel = 40'));
    await expect(engine.multiHeadAttentionBackward({ ...m, heads: 3 })).rejects.toThrow(/multiHeadAttentionBackward: dModel = 8 is not divisible by heads = 3/);
    const g = await engine.attentionBackward(a);
    expect(g.dQuery.every(Number.isFinite)).toBe(true);
  });

  it('keeps the WASM heap flat over 2,000 calls, including failing ones', async () => {
    const a = { ...attentionArgs(), mask: 'causal' };
    const m = mhaArgs();
    await engine.attentionBackward(a);
    await engine.multiHeadAttentionBackward(m);
    const before = engine.memory();
    for (let i = 0; i < 2000; i++) {
      const kind = i % 3;
      if (kind === 0) await engine.attentionBackward(a);
      else if (kind === 1) await engine.multiHeadAttentionBackward(m);
      else await expect(engine.attentionBackward({ ...a, dv: 2 })).rejects.toThrow(RangeError);
    }
    const after = engine.memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.heapBytes).toBe(before.heapBytes);
  });
});
