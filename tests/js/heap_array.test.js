// engine.heapArray(length): float32 blocks in the engine's WASM heap, taken as inputs (read where they lie) and as
// out / weightsOut (written in place). The same bits as plain arrays on every op, no block of an input's or a
// result's size allocated by the call, the errors name the argument, and the engine stays usable after them.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { create, globals } from 'webgpu';
import { createEngine, HeapArray } from '../../web/src/lib/index.js';
import { attentionInputs, multiHeadInputs } from './case_inputs.js';
import { relativeError, maxAbsError } from './reference.js';

Object.assign(globalThis, globals);

const ATTENTION = { heads: 3, nq: 37, nk: 70, dk: 16, dv: 24, score: 'general', mask: 'causal', seed: 5, scale: 1, paramScale: 0.3 };
const ADDITIVE = { ...ATTENTION, score: 'additive', da: 12, mask: 'explicit', seed: 6 };
const MHA = { nq: 11, nk: 19, dModel: 32, heads: 4, score: 'scaled_dot', mask: 'none', cross: true, bias: true, seed: 7, scale: 1, paramScale: 0.2 };
const FLOAT_INPUTS = ['query', 'key', 'value', 'W', 'Wq', 'Wk', 'v', 'x', 'context', 'bq', 'bk', 'bv', 'bo', 'dOutput'];

const sameBits = (a, b) => {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) expect.fail(`value ${i}: ${a[i]} vs ${b[i]}`);
};

/** args with every Float32Array input (and scoreParams' arrays) copied into heap arrays of `engine`. */
function onHeap(engine, args, held) {
  const copy = (value) => {
    const h = engine.heapArray(value.length);
    h.set(value);
    held.push(h);
    return h;
  };
  const out = { ...args };
  for (const name of FLOAT_INPUTS) if (args[name] instanceof Float32Array) out[name] = copy(args[name]);
  if (args.scoreParams) out.scoreParams = Object.fromEntries(Object.entries(args.scoreParams).map(([k, v]) => [k, copy(v)]));
  return out;
}

describe('heap arrays on WASM', () => {
  let engine;
  const held = [];
  beforeAll(async () => { engine = await createEngine({ backend: 'wasm', threads: 1 }); });
  afterAll(() => { for (const h of held) h.dispose(); });

  it('are zeros at first, read and written through view(), set() and toArray(), and freed by dispose()', () => {
    const before = engine.memory().bytesInUse;
    const h = engine.heapArray(1000);
    expect(h).toBeInstanceOf(HeapArray);
    expect(h.length).toBe(1000);
    expect(engine.memory().bytesInUse).toBeGreaterThanOrEqual(before + 4000);
    expect(h.view().every((x) => x === 0)).toBe(true);
    h.set([1, 2, 3], 10);
    expect(Array.from(h.view().subarray(9, 14))).toEqual([0, 1, 2, 3, 0]);
    const copy = h.toArray();
    h.view()[10] = 7;
    expect(copy[10]).toBe(1);  // a copy, not a view
    expect(copy.buffer).not.toBe(h.view().buffer);
    const other = engine.heapArray(3);
    expect(() => other.set(h)).toThrow(RangeError);  // 1000 values do not fit in 3
    other.set([4, 5]);
    h.set(other, 100);
    expect(Array.from(h.view().subarray(100, 103))).toEqual([4, 5, 0]);
    other.dispose();
    h.dispose();
    h.dispose();  // a second dispose does nothing
    expect(h.disposed).toBe(true);
    expect(() => h.view()).toThrow(/HeapArray.view: the heap array was disposed/);
    expect(() => h.toArray()).toThrow(/HeapArray.toArray: the heap array was disposed/);
    expect(() => h.set([1])).toThrow(/HeapArray.set: the heap array was disposed/);
    expect(engine.memory().bytesInUse).toBe(before);
    expect(() => new HeapArray()).toThrow(/create one with engine.heapArray/);
  });

  for (const [name, c] of [['general, causal', ATTENTION], ['additive, explicit mask', ADDITIVE]]) {
    it(`attention (${name}): inputs and results on the heap give the plain arrays' bits, written in place`, async () => {
      const args = { ...attentionInputs(c), returnWeights: true };
      const plain = await engine.attention(args);
      const h = onHeap(engine, args, held);
      const out = engine.heapArray(plain.output.length);
      const weightsOut = engine.heapArray(plain.weights.length);
      held.push(out, weightsOut);
      const r = await engine.attention({ ...h, out, weightsOut });
      sameBits(r.output, plain.output);
      sameBits(r.weights, plain.weights);
      // the results are views of the caller's blocks
      expect(r.output.buffer).toBe(out.view().buffer);
      expect(r.output.byteOffset).toBe(out.view().byteOffset);
      expect(r.weights.byteOffset).toBe(weightsOut.view().byteOffset);
      // plain inputs into heap results, and heap inputs into fresh arrays: the same bits again
      sameBits((await engine.attention({ ...args, out, weightsOut })).output, plain.output);
      const fresh = await engine.attention({ ...h, returnWeights: false });
      sameBits(fresh.output, (await engine.attention({ ...args, returnWeights: false })).output);
      expect(fresh.output.buffer).not.toBe(out.view().buffer);
    });
  }

  it('multiHeadAttention and both backward calls take heap arrays with the same bits', async () => {
    const mha = { ...multiHeadInputs(MHA), returnWeights: true };
    const plain = await engine.multiHeadAttention(mha);
    const out = engine.heapArray(plain.output.length);
    const weightsOut = engine.heapArray(plain.weights.length);
    held.push(out, weightsOut);
    const r = await engine.multiHeadAttention({ ...onHeap(engine, mha, held), out, weightsOut });
    sameBits(r.output, plain.output);
    sameBits(r.weights, plain.weights);

    const { returnWeights, ...mhaArgs } = mha;
    const dOutput = new Float32Array(plain.output.length).map((_, i) => Math.cos(i));
    const gm = await engine.multiHeadAttentionBackward({ ...mhaArgs, dOutput });
    const gmHeap = await engine.multiHeadAttentionBackward(onHeap(engine, { ...mhaArgs, dOutput }, held));
    for (const k of ['dx', 'dContext', 'dWq', 'dWk', 'dWv', 'dWo', 'dbq', 'dbo']) sameBits(gmHeap[k], gm[k]);

    const att = attentionInputs(ATTENTION);
    const dOut = new Float32Array(ATTENTION.heads * ATTENTION.nq * ATTENTION.dv).map((_, i) => Math.sin(i));
    const g = await engine.attentionBackward({ ...att, dOutput: dOut });
    const gHeap = await engine.attentionBackward(onHeap(engine, { ...att, dOutput: dOut }, held));
    for (const k of ['dQuery', 'dKey', 'dValue', 'dW']) sameBits(gHeap[k], g[k]);
  });

  it('the call allocates no block of an input\'s or a result\'s size, and frees what it allocated', async () => {
    // The WASM backend as the engine drives it (index.js op): validation with a staging area, then the call.
    const { createWasmBackend } = await import('../../web/src/lib/backends/wasm.js');
    const { createHeapArray } = await import('../../web/src/lib/heap_array.js');
    const { normalizeAttention } = await import('../../web/src/lib/validate.js');
    const wasm = await createWasmBackend({ threads: 1 });
    // Distinct sizes: query 6400 floats, key 6144, value 4608, output 4800, weights 9600.
    const shape = { heads: 1, nq: 100, nk: 96, dk: 64, dv: 48 };
    const sizes = { query: 6400, key: 6144, value: 4608, out: 4800, weightsOut: 9600 };
    const args = { ...shape, returnWeights: true };
    for (const [name, n] of Object.entries(sizes)) {
      args[name] = createHeapArray(wasm.module, n);
      if (!name.endsWith('ut')) args[name].set(new Float32Array(n).map((_, i) => Math.sin(i * name.length)));
    }
    const plain = { ...shape, returnWeights: true, query: args.query.toArray(), key: args.key.toArray(), value: args.value.toArray() };
    const want = await wasm.attention(normalizeAttention(plain));
    const baseline = wasm.memory().bytesInUse;
    const allocated = [];
    const malloc = wasm.module._malloc;
    wasm.module._malloc = (bytes) => { allocated.push(bytes); return malloc(bytes); };
    const staging = wasm.stage();
    try {
      await wasm.attention(normalizeAttention(args, { heap: staging }), staging);
    } finally {
      wasm.module._malloc = malloc;
      staging.release();
    }
    for (const n of Object.values(sizes)) expect(allocated).not.toContain(4 * n);
    expect(wasm.memory().bytesInUse).toBe(baseline);
    sameBits(args.out.view(), want.output);
    sameBits(args.weightsOut.view(), want.weights);
    // the check that fails: plain arrays are copied in and results allocated
    const plainSizes = [];
    wasm.module._malloc = (bytes) => { plainSizes.push(bytes); return malloc(bytes); };
    try {
      await wasm.attention(normalizeAttention(plain));
    } finally {
      wasm.module._malloc = malloc;
    }
    for (const n of Object.values(sizes)) expect(plainSizes).toContain(4 * n);
    // a heap array disposed between validation and a WASM run (a call that fell back after awaiting another
    // backend) is refused, not read at address 0
    const late = normalizeAttention(args, { heap: wasm.stage() });
    const base = wasm.memory().bytesInUse;
    args.key.dispose();
    await expect(wasm.attention(late)).rejects.toThrow(/^attention: a heap array of the call was disposed before the call ended$/);
    expect(wasm.memory().bytesInUse).toBeLessThanOrEqual(base - 4 * sizes.key);  // the failed call left nothing behind
    args.key = createHeapArray(wasm.module, sizes.key);
    for (const name of Object.keys(sizes)) args[name].dispose();
    // disposing frees the blocks (and their malloc headers)
    expect(wasm.memory().bytesInUse).toBeLessThanOrEqual(baseline - 4 * Object.values(sizes).reduce((x, y) => x + y, 0));
  });

  it('bad heap arrays are refused with the argument named, and the engine stays usable', async () => {
    const args = attentionInputs(ATTENTION);
    const want = (await engine.attention(args)).output;
    const h = onHeap(engine, args, held);
    const other = await createEngine({ backend: 'wasm', threads: 1 });
    const foreign = other.heapArray(args.query.length);
    const disposed = engine.heapArray(args.key.length);
    disposed.dispose();
    const short = engine.heapArray(args.value.length - 1);
    const nan = engine.heapArray(args.value.length);
    nan.set(args.value);
    nan.view()[17] = NaN;
    const outCount = ATTENTION.heads * ATTENTION.nq * ATTENTION.dv;
    const out = engine.heapArray(outCount);
    held.push(short, nan, out);
    const cases = [
      [{ query: foreign }, TypeError, /^attention: query is a heap array of another engine/],
      [{ key: disposed }, TypeError, /^attention: key is a heap array that was disposed$/],
      [{ value: short }, RangeError, /^attention: value has 5039 values but heads\*nk\*dv = 5040$/],
      [{ value: nan }, RangeError, /^attention: value\[17\] is NaN; inputs must be finite$/],
      [{ W: nan }, RangeError, /^attention: W has 5040 values but dk\*dk = 256$/],
      [{ out: h.query }, RangeError, /^attention: out is the heap array passed as query; a result needs a block of its own$/],
      [{ out: h.W }, RangeError, /^attention: out is the heap array passed as W/],
      [{ out: engine.heapArray(5) }, RangeError, /^attention: out has 5 values but heads\*nq\*dv = 2664$/],
      [{ out, weightsOut: out, returnWeights: true }, RangeError, /^attention: out and weightsOut overlap$/],
      [{ weightsOut: out }, TypeError, /weightsOut is given but returnWeights is not true/],
    ];
    for (const [change, type, message] of cases) {
      const call = engine.attention({ ...h, ...change });
      await expect(call).rejects.toThrow(type);
      await expect(engine.attention({ ...h, ...change })).rejects.toThrow(message);
      sameBits((await engine.attention({ ...h, out })).output, want);  // still right after the error
    }
    held.push(cases[7][0].out);
    // a disposed 1-D score parameter (additive v, whose length sets da)
    const additive = onHeap(engine, attentionInputs(ADDITIVE), held);
    additive.v.dispose();
    await expect(engine.attention(additive)).rejects.toThrow(/^attention: v is a heap array that was disposed$/);
    // another engine's heap array as a result, and a heap array given to the other engine
    await expect(other.attention({ ...args, out: out })).rejects.toThrow(/^attention: out is a heap array of another engine/);
    await expect(engine.multiHeadAttention({ ...multiHeadInputs(MHA), bq: foreign }))
      .rejects.toThrow(/^multiHeadAttention: bq is a heap array of another engine/);
    foreign.dispose();
    other.dispose();
  });

  it('heapArray(length) refuses what is not a positive integer or does not fit the heap', () => {
    expect(() => engine.heapArray(0)).toThrow(/^heapArray: length must be a positive integer, got 0$/);
    expect(() => engine.heapArray(-3)).toThrow(RangeError);
    expect(() => engine.heapArray(2.5)).toThrow(/got 2.5/);
    expect(() => engine.heapArray('8')).toThrow(TypeError);
    expect(() => engine.heapArray()).toThrow(/got undefined/);
    expect(() => engine.heapArray(2 ** 30)).toThrow(/^heapArray: length=1073741824 floats need 4096 MiB but the WASM heap holds at most 2048 MiB$/);
    const small = engine.heapArray(3);
    held.push(small);
    expect(small.length).toBe(3);
  });

  it('views made after the heap grows read the same values', async () => {
    const h = engine.heapArray(4096);
    held.push(h);
    h.set(new Float32Array(4096).map((_, i) => i));
    const before = h.view();
    const heapBytes = engine.memory().heapBytes;
    const big = engine.heapArray(64 * 2 ** 20 / 4 + heapBytes / 4);  // more than the heap had: it grows
    expect(engine.memory().heapBytes).toBeGreaterThan(heapBytes);
    big.dispose();
    expect(before.length).toBe(0);  // the old view went stale (its buffer was detached)
    expect(h.view()[4095]).toBe(4095);
    const args = attentionInputs(ATTENTION);
    const out = engine.heapArray(ATTENTION.heads * ATTENTION.nq * ATTENTION.dv);
    held.push(out);
    const r = await engine.attention({ ...args, out });
    sameBits(r.output, (await engine.attention(args)).output);
  });
});

describe('heap arrays on WebGPU', () => {
  it('are copied for the GPU and its results copied into them: the same results as plain arrays', async () => {
    const engine = await createEngine({ backend: 'webgpu', gpu: create([]) });
    expect(engine.backend).toBe('webgpu');
    const args = { ...attentionInputs(ATTENTION), returnWeights: true };
    const plain = await engine.attention(args);
    const held = [];
    const out = engine.heapArray(plain.output.length);
    const weightsOut = engine.heapArray(plain.weights.length);
    const r = await engine.attention({ ...onHeap(engine, args, held), out, weightsOut });
    expect(r.backend).toBe('webgpu');
    expect(maxAbsError(r.output, plain.output)).toBe(0);
    expect(maxAbsError(r.weights, plain.weights)).toBe(0);
    expect(r.output.byteOffset).toBe(out.view().byteOffset);
    expect(relativeError(out.toArray(), plain.output)).toBe(0);
    const mha = multiHeadInputs(MHA);
    const m = await engine.multiHeadAttention(onHeap(engine, mha, held));
    expect(maxAbsError(m.output, (await engine.multiHeadAttention(mha)).output)).toBe(0);
    // the caller disposes the result's block while the GPU computes: the call rejects, saying so, and the
    // engine stays on WebGPU (the caller's error is not the GPU's fault) and computes the next call
    const gone = engine.heapArray(plain.output.length);
    const pending = engine.attention({ ...args, out: gone });
    gone.dispose();
    await expect(pending).rejects.toThrow(/^HeapArray.set: the heap array was disposed$/);
    expect(engine.backend).toBe('webgpu');
    expect(engine.fallback).toBeNull();
    expect(maxAbsError((await engine.attention({ ...args, out })).output, plain.output)).toBe(0);
    for (const h of [...held, out, weightsOut]) h.dispose();
    engine.dispose();
  });
});
