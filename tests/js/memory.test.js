// The WASM heap stays flat over many calls, good and bad.
import { describe, it, expect } from 'vitest';
import { createEngine } from '../../web/src/lib/index.js';

describe('WASM heap', () => {
  it('stays flat over 10,000 calls, including failing ones', async () => {
    const engine = await createEngine({ backend: 'wasm' });
    const args = {
      query: new Float32Array(2 * 9 * 8).fill(0.25), key: new Float32Array(2 * 11 * 8).fill(0.5),
      value: new Float32Array(2 * 11 * 4).fill(1), heads: 2, nq: 9, nk: 11, dk: 8, dv: 4,
    };
    const mha = {
      x: new Float32Array(5 * 8).fill(0.1), nq: 5, dModel: 8, heads: 2, Wq: new Float32Array(64).fill(0.01),
      Wk: new Float32Array(64).fill(0.02), Wv: new Float32Array(64).fill(0.03), Wo: new Float32Array(64).fill(0.04),
    };
    // Warm up: the allocator's first requests may grow the heap once.
    await engine.attention({ ...args, returnWeights: true });
    await engine.multiHeadAttention(mha);
    const before = engine.memory();
    for (let i = 0; i < 10_000; i++) {
      const kind = i % 4;
      if (kind === 0) await engine.attention(args);
      else if (kind === 1) await engine.attention({ ...args, returnWeights: true, mask: 'causal', score: 'dot' });
      else if (kind === 2) await engine.multiHeadAttention(mha);
      else await expect(engine.attention({ ...args, dk: 7 })).rejects.toThrow(RangeError);
    }
    const after = engine.memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.heapBytes).toBe(before.heapBytes);
  });
});
