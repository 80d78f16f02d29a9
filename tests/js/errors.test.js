// Bad calls: each throws a TypeError or RangeError whose message names the argument, and the engine gives
// the right answer on the next good call.
import { describe, it, expect, beforeAll } from 'vitest';
import { createEngine, positionalEncoding } from '../../web/src/lib/index.js';
import { attentionReference, relativeError } from './reference.js';

const f32 = (n, fill = 0.5) => new Float32Array(n).fill(fill);
const good = () => ({
  query: f32(2 * 3 * 4, 0.1), key: f32(2 * 5 * 4, 0.2), value: f32(2 * 5 * 3, 0.3).map((_, i) => i / 7),
  heads: 2, nq: 3, nk: 5, dk: 4, dv: 3,
});
const goodMha = () => ({
  x: f32(3 * 8, 0.1).map((_, i) => Math.sin(i)), nq: 3, dModel: 8, heads: 2,
  Wq: f32(64, 0.01), Wk: f32(64, 0.02), Wv: f32(64, 0.03), Wo: f32(64, 0.04),
});
const withNaN = (n) => { const a = f32(n); a[n - 1] = NaN; return a; };
const withInf = (n) => { const a = f32(n); a[0] = -Infinity; return a; };
const detached = (n) => { const a = f32(n); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; };

// [description, change to the good call, error class, pattern the message must match]
const ATTENTION_CASES = [
  ['options not an object', null, TypeError, /options object/],
  ['unknown option', { foo: 1 }, TypeError, /unknown option 'foo'/],
  ['query missing', { query: undefined }, TypeError, /query must be a Float32Array/],
  ['query a plain array', { query: [1, 2, 3] }, TypeError, /query must be a Float32Array, got an Array/],
  ['query a Float64Array', { query: new Float64Array(24) }, TypeError, /query must be a Float32Array/],
  ['query too short', { query: f32(23) }, RangeError, /query has 23 values but heads\*nq\*dk = 24/],
  ['key too long', { key: f32(41) }, RangeError, /key has 41 values but heads\*nk\*dk = 40/],
  ['value wrong length', { value: f32(10) }, RangeError, /value has 10 values but heads\*nk\*dv = 30/],
  ['query with NaN', { query: withNaN(24) }, RangeError, /query\[23\] is NaN/],
  ['key with -Infinity', { key: withInf(40) }, RangeError, /key\[0\] is -Infinity/],
  ['detached value', { value: detached(30) }, TypeError, /value is empty or its buffer was detached/],
  ['nq zero', { nq: 0 }, RangeError, /nq must be a positive integer, got 0/],
  ['nk negative', { nk: -5 }, RangeError, /nk must be a positive integer, got -5/],
  ['dk fractional', { dk: 2.5 }, RangeError, /dk must be a positive integer, got 2.5/],
  ['dv NaN', { dv: NaN }, RangeError, /dv must be a positive integer, got NaN/],
  ['dv Infinity', { dv: Infinity }, RangeError, /dv must be a positive integer, got Infinity/],
  ['heads a string', { heads: '2' }, TypeError, /heads must be a positive integer, got the string '2'/],
  ['nq missing', { nq: undefined }, TypeError, /^attention: nq is missing; it must be a positive integer$/],
  ['extra heads', { heads: 3 }, RangeError, /query has 24 values but heads\*nq\*dk = 36/],
  ['huge sizes', { nq: 1 << 20, nk: 1 << 20 }, RangeError, /nq=1048576, nk=1048576.*MiB but the WASM heap/],
  ['size over the limit', { dk: 2 ** 40 }, RangeError, /dk = 1099511627776 is larger/],
  ['unknown score', { score: 'cosine' }, RangeError, /unknown score 'cosine'/],
  ['score not a string', { score: 3 }, TypeError, /score must be one of/],
  ['general without W', { score: 'general' }, TypeError, /score 'general' needs W/],
  ['general with a mis-sized W', { score: 'general', W: f32(15) }, RangeError, /W has 15 values but dk\*dk = 16/],
  ['W given for dot', { score: 'dot', W: f32(16) }, TypeError, /W is a parameter of score 'general', not of 'dot'/],
  ['additive without v', { score: 'additive', Wq: f32(12), Wk: f32(12) }, TypeError, /score 'additive' needs v/],
  ['additive with a mis-sized Wk', { score: 'additive', Wq: f32(12), Wk: f32(11), v: f32(3) }, RangeError,
    /Wk has 11 values but da\*dk/],
  ['additive with an empty v', { score: 'additive', Wq: f32(0), Wk: f32(0), v: f32(0) }, RangeError,
    /v.length \(da\) must be a positive integer, got 0/],
  ['unknown mask', { mask: 'future' }, RangeError, /unknown mask 'future'/],
  ['mask of the wrong type', { mask: [1, 0] }, TypeError, /mask must be 'none', 'causal' or a Uint8Array/],
  ['mask of the wrong length', { mask: new Uint8Array(14) }, RangeError, /mask has 14 values but nq\*nk = 15/],
  ['mask with a 2', { mask: new Uint8Array(15).fill(2) }, RangeError, /mask\[0\] is 2/],
  ['returnWeights not a boolean', { returnWeights: 1 }, TypeError, /returnWeights must be a boolean/],
  ['unknown kernel', { kernel: 'fast' }, RangeError, /kernel must be one of/],
];

const MHA_CASES = [
  ['dModel not divisible by heads', { heads: 3 }, RangeError, /dModel = 8 is not divisible by heads = 3/],
  ['x wrong length', { x: f32(23) }, RangeError, /x has 23 values but nq\*dModel = 24/],
  ['Wo missing', { Wo: undefined }, TypeError, /Wo must be a Float32Array/],
  ['bq wrong length', { bq: f32(7) }, RangeError, /bq has 7 values but dModel = 8/],
  ['context without nk', { context: f32(16) }, TypeError, /^multiHeadAttention: nk is missing; it must be a positive integer$/],
  ['context of the wrong length', { context: f32(16), nk: 3 }, RangeError, /context has 16 values but nk\*dModel = 24/],
  ['self-attention with nk != nq', { nk: 4 }, RangeError, /self-attention \(no context\) needs nk = nq/],
  ['unknown scoreParams key', { scoreParams: { U: f32(4) } }, TypeError, /unknown option 'U'/],
  ['general without scoreParams.W', { score: 'general' }, TypeError, /needs scoreParams.W/],
  ['scoreParams.W mis-sized', { score: 'general', scoreParams: { W: f32(17) } }, RangeError,
    /scoreParams.W has 17 values but dk\*dk = 16/],
  ['Wv with Infinity', { Wv: withInf(64) }, RangeError, /Wv\[0\] is -Infinity/],
  ['causal mask of the wrong type', { mask: 7 }, TypeError, /mask must be/],
];

describe('bad calls throw named errors and leave the engine usable', () => {
  let engine;
  let expected;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm' });
    expected = attentionReference(good());
  });

  async function stillGood() {
    const r = await engine.attention(good());
    expect(relativeError(r.output, expected.output)).toBeLessThanOrEqual(1e-5);
  }

  for (const [what, change, ErrorClass, pattern] of ATTENTION_CASES) {
    it(`attention: ${what}`, async () => {
      const args = change === null ? null : { ...good(), ...change };
      await expect(async () => engine.attention(args)).rejects.toThrow(ErrorClass);
      await expect(async () => engine.attention(args)).rejects.toThrow(pattern);
      await stillGood();
    });
  }

  for (const [what, change, ErrorClass, pattern] of MHA_CASES) {
    it(`multiHeadAttention: ${what}`, async () => {
      const args = { ...goodMha(), ...change };
      await expect(async () => engine.multiHeadAttention(args)).rejects.toThrow(ErrorClass);
      await expect(async () => engine.multiHeadAttention(args)).rejects.toThrow(pattern);
      await stillGood();
    });
  }

  it('positionalEncoding: bad sizes', () => {
    expect(() => positionalEncoding(0, 4)).toThrow(/positionalEncoding: n must be a positive integer, got 0/);
    expect(() => positionalEncoding(4, 1.5)).toThrow(RangeError);
    expect(() => positionalEncoding('4', 4)).toThrow(TypeError);
    expect(() => positionalEncoding(2 ** 20, 2 ** 20)).toThrow(/WASM heap|larger/);
  });

  it('createEngine: bad options', async () => {
    await expect(createEngine({ backend: 'cuda' })).rejects.toThrow(/backend must be one of auto, wasm, webgpu, got 'cuda'/);
    await expect(createEngine({ simd: 'yes' })).rejects.toThrow(TypeError);
    await expect(createEngine({ relaxedSimd: 'yes' })).rejects.toThrow(/createEngine: relaxedSimd must be a boolean, got string/);
    await expect(createEngine({ workers: 4 })).rejects.toThrow(/unknown option 'workers'/);
    await expect(createEngine({ backend: 'webgpu' })).rejects.toThrow(/backend 'webgpu' is unavailable/);
  });

  it("'auto' without a GPU falls back to WASM and says why", async () => {
    const auto = await createEngine({ backend: 'auto' });
    expect(auto.backend).toBe('wasm');
    expect(auto.fallback.reason).toMatch(/WebGPU is not available/);
    const r = await auto.attention(good());
    expect(r.backend).toBe('wasm');
    expect(r.fallback.from).toBe('webgpu');
  });
});

// Inputs of 4096 values or more are checked on the WASM heap (wasm.firstNonFinite, one f32x4 pass): the same
// message, naming the first bad value wherever it stands (block edges of wasm/src/finite.cpp, the tail), and the
// engine's answer on the next good call.
describe('large inputs: the finite check on the WASM heap', () => {
  const [nq, nk, dk, dv] = [128, 128, 64, 64];
  const big = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
  const args = () => ({ query: big(nq * dk, 1), key: big(nk * dk, 2), value: big(nk * dv, 3), nq, nk, dk, dv });
  let engine;
  let expected;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm' });
    expected = attentionReference(args());
  });

  for (const name of ['query', 'key', 'value']) {
    for (const [at, bad] of [[0, NaN], [63, Infinity], [64, -Infinity], [5001, NaN], [nq * dk - 1, -Infinity]]) {
      it(`${name}[${at}] = ${bad}`, async () => {
        const a = args();
        a[name][at] = bad;
        if (at + 9 < a[name].length) a[name][at + 9] = NaN;  // a later bad value: the first is named
        const word = Number.isNaN(bad) ? 'NaN' : String(bad);
        await expect(engine.attention(a)).rejects.toThrow(new RangeError(`attention: ${name}[${at}] is ${word}; inputs must be finite`));
        const r = await engine.attention(args());
        expect(relativeError(r.output, expected.output)).toBeLessThanOrEqual(1e-5);
      });
    }
  }

  it('the WASM backend finds the index itself (the path these calls take)', async () => {
    const { createWasmBackend } = await import('../../web/src/lib/backends/wasm.js');
    const wasm = await createWasmBackend({ threads: 1 });
    const x = big(10_000, 9);
    expect(wasm.firstNonFinite(x)).toBe(-1);
    expect(wasm.firstNonFinite(new Float32Array(0))).toBe(-1);
    for (const at of [0, 3, 63, 64, 9_983, 9_999]) {
      const y = x.slice();
      y[at] = NaN;
      y[Math.min(at + 5, 9_999)] = Infinity;
      expect(wasm.firstNonFinite(y)).toBe(at);
    }
  });

  // The finite check's copies are the call's: each large input is copied into the heap once (wasm.stage()).
  it('the call takes the copies its finite check made, and every copy is freed', async () => {
    const { createWasmBackend } = await import('../../web/src/lib/backends/wasm.js');
    const { normalizeAttention } = await import('../../web/src/lib/validate.js');
    const wasm = await createWasmBackend({ threads: 1 });
    // Distinct sizes: query 6400 floats, key 6144, value 4608 (all >= 4096: staged), output 4800.
    const shape = { heads: 1, nq: 100, nk: 96, dk: 64, dv: 48 };
    const inputs = () => ({ ...shape, query: big(6400, 1), key: big(6144, 2), value: big(4608, 3) });
    const baseline = wasm.memory().bytesInUse;
    const staging = wasm.stage();
    const a = normalizeAttention(inputs(), { heap: staging });
    for (const name of ['query', 'key', 'value']) expect(staging.copyOf(a[name])).toBeGreaterThan(0);
    const sizes = [];
    const malloc = wasm.module._malloc;
    wasm.module._malloc = (bytes) => { sizes.push(bytes); return malloc(bytes); };
    let r;
    try {
      r = await wasm.attention(a, staging);
    } finally {
      wasm.module._malloc = malloc;
      staging.release();
    }
    expect(sizes).toContain(4 * 4800);  // the output
    for (const floats of [6400, 6144, 4608]) expect(sizes).not.toContain(4 * floats);
    expect(relativeError(r.output, attentionReference(inputs()).output)).toBeLessThanOrEqual(1e-5);
    expect(wasm.memory().bytesInUse).toBe(baseline);
  });

  it('copies staged before a bad input are freed: the heap is back to its baseline', async () => {
    await engine.attention(args());  // the engine's own first-call allocations, if any
    const baseline = engine.memory().bytesInUse;
    const a = args();
    a.value[4000] = NaN;  // query and key were staged when value fails
    await expect(engine.attention(a)).rejects.toThrow(/^attention: value\[4000\] is NaN/);
    expect(engine.memory().bytesInUse).toBe(baseline);
    const dOutput = big(nq * dv, 5);
    dOutput[nq * dv - 1] = Infinity;
    await expect(engine.attentionBackward({ ...args(), dOutput })).rejects.toThrow(
      new RangeError(`attentionBackward: dOutput[${nq * dv - 1}] is Infinity; inputs must be finite`));
    expect(engine.memory().bytesInUse).toBe(baseline);
    const r = await engine.attention(args());
    expect(relativeError(r.output, expected.output)).toBeLessThanOrEqual(1e-5);
    expect(engine.memory().bytesInUse).toBe(baseline);
  });

  it('the largest and the denormal floats are finite', async () => {
    const a = args();
    a.query[100] = 3.4e38;
    a.key[4000] = -1e-45;
    a.value[8191] = 1e-40;
    await expect(engine.attention(a)).resolves.toBeDefined();
  });

  it('multiHeadAttention: x and Wq of 8192 and 4096 values', async () => {
    const mha = { x: big(128 * 64, 4), nq: 128, dModel: 64, heads: 4, Wq: big(4096, 5), Wk: big(4096, 6), Wv: big(4096, 7), Wo: big(4096, 8) };
    mha.x[7777] = NaN;
    await expect(engine.multiHeadAttention(mha)).rejects.toThrow(/^multiHeadAttention: x\[7777\] is NaN; inputs must be finite$/);
    mha.x[7777] = 0;
    mha.Wq[4095] = Infinity;
    await expect(engine.multiHeadAttention(mha)).rejects.toThrow(/^multiHeadAttention: Wq\[4095\] is Infinity; inputs must be finite$/);
    mha.Wq[4095] = 0;
    await expect(engine.multiHeadAttention(mha)).resolves.toBeDefined();
  });
});
