// The threads option in Node: validated at the public boundary like every option; Node runs the one-thread
// build (the threaded build targets browsers: web and worker), and the engine says so. The threaded build
// itself is tested in Chromium (tests/e2e/threads.spec.js) and natively (tests/cpp, dispatch on 3 threads).
import { describe, it, expect } from 'vitest';
import { createEngine } from '../../web/src/lib/index.js';

describe('createEngine threads', () => {
  for (const threads of [0, -2, 1.5, '2', 17, NaN, Infinity, null, true]) {
    it(`refuses threads = ${String(threads)} with a RangeError naming it`, async () => {
      await expect(createEngine({ backend: 'wasm', threads })).rejects.toThrow(RangeError);
      await expect(createEngine({ backend: 'wasm', threads })).rejects.toThrow(/createEngine: threads must be an integer from 1 to 16/);
    });
  }

  it('runs one thread in Node, and says why when more were asked for', async () => {
    const one = await createEngine({ backend: 'wasm', threads: 1 });
    expect(one.threads).toBe(1);
    expect(one.threadsFallback).toBeNull();
    const asked = await createEngine({ backend: 'wasm', threads: 4 });
    expect(asked.threads).toBe(1);
    expect(asked.threadsFallback).toMatch(/Node runs the one-thread build/);
    const r = await asked.attention({ query: new Float32Array([1, 0]), key: new Float32Array([1, 0]),
      value: new Float32Array([3]), nq: 1, nk: 1, dk: 2, dv: 1 });
    expect(Array.from(r.output)).toEqual([3]);
  });
});
