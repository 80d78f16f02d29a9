// Typed arrays that lie about their size, arrays from another realm, calls after dispose, and the GPU
// object's lifetime in Node. After every hostile call the same engine returns the good call's exact
// numbers and the WASM heap's bytesInUse is back to its baseline.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { create, globals } from 'webgpu';
import { createEngine } from '../../web/src/lib/index.js';

Object.assign(globalThis, globals);
const GPU = create([]);

const f32 = (n, fill) => new Float32Array(n).map((_, i) => fill + Math.sin(i) / 10);
const good = () => ({
  query: f32(2 * 3 * 4, 0.1), key: f32(2 * 5 * 4, 0.2), value: f32(2 * 5 * 3, 0.3), heads: 2, nq: 3, nk: 5, dk: 4, dv: 3,
  mask: new Uint8Array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1]), returnWeights: true,
});
const goodMha = () => ({
  x: f32(3 * 8, 0.1), context: f32(4 * 8, 0.2), nq: 3, nk: 4, dModel: 8, heads: 2,
  Wq: f32(64, 0.01), Wk: f32(64, 0.02), Wv: f32(64, 0.03), Wo: f32(64, 0.04),
});

// Float32Array subclasses whose getters lie (the internal slots tell the truth).
const liar = (overrides, Base = Float32Array) => {
  class Liar extends Base {}
  for (const [name, value] of Object.entries(overrides)) {
    Object.defineProperty(Liar.prototype, name, { get: () => value });
  }
  return (array) => { const out = new Liar(array.length); out.set(array); return out; };
};
const LIARS = [
  ['byteLength 4', liar({ byteLength: 4 })],
  ['byteLength 0', liar({ byteLength: 0 })],
  ['length 1', liar({ length: 1 })],
  ['byteOffset 4096 and buffer of 4 bytes', liar({ byteOffset: 4096, buffer: new ArrayBuffer(4) })],
];
const otherRealm = vm.createContext({});
const crossRealm = (array) => {
  const out = vm.runInContext(`new Float32Array(${array.length})`, otherRealm);
  out.set(array);
  return out;
};

describe.each([['wasm'], ['webgpu']])('typed arrays on %s', (backend) => {
  let engine, expected, expectedMha, baseline;
  beforeAll(async () => {
    engine = await createEngine({ backend, gpu: GPU });
    expected = await engine.attention(good());
    expectedMha = await engine.multiHeadAttention(goodMha());
    baseline = engine.memory().bytesInUse;
  });
  afterAll(() => engine.dispose());

  async function stillGood() {
    const again = await engine.attention(good());
    expect(Array.from(again.output)).toEqual(Array.from(expected.output));
    expect(Array.from(again.weights)).toEqual(Array.from(expected.weights));
    expect(engine.memory().bytesInUse).toBe(baseline);
  }

  it.each([...LIARS, ['from another realm (node:vm)', crossRealm]])('%s: the true size is used', async (_, make) => {
    for (const name of ['query', 'key', 'value']) {
      const args = good();
      args[name] = make(args[name]);
      const r = await engine.attention(args);
      expect(Array.from(r.output)).toEqual(Array.from(expected.output));
      await stillGood();
    }
    const mha = goodMha();
    mha.Wq = make(mha.Wq);
    mha.x = make(mha.x);
    expect(Array.from((await engine.multiHeadAttention(mha)).output)).toEqual(Array.from(expectedMha.output));
    // a caller's output buffer of that kind is written in full and returned as given
    const out = make(new Float32Array(expected.output.length));
    const r = await engine.attention({ ...good(), out });
    expect(r.output).toBe(out);
    expect(Array.from(new Float32Array(out))).toEqual(Array.from(expected.output));
    await stillGood();
  });

  it('a lying mask is read at its true size; a wrong true size is refused naming the numbers', async () => {
    const mask = good().mask;
    const lying = liar({ length: 4000, byteLength: 4000 }, Uint8Array)(mask);
    const r = await engine.attention({ ...good(), mask: lying });
    expect(Array.from(r.weights)).toEqual(Array.from(expected.weights));
    const short = liar({ length: 15 })(f32(5, 0.1));
    await expect(engine.attention({ ...good(), query: short })).rejects.toThrow(/query has 5 values but heads\*nq\*dk = 24/);
    await stillGood();
  });

  it('a Float32Array of another realm is accepted, an Int32Array of any realm is refused naming its type', async () => {
    const ints = vm.runInContext('new Int32Array(24)', otherRealm);
    await expect(engine.attention({ ...good(), query: ints })).rejects.toThrow(/query must be a Float32Array, got a Int32Array of length 24/);
    await stillGood();
  });
});

describe('after dispose', () => {
  it('every call rejects with an Error saying the engine was disposed', async () => {
    const engine = await createEngine({ backend: 'wasm' });
    const model = await engine.loadModel();
    expect((await model.run('Still here.')).n).toBeGreaterThan(0);
    engine.dispose();
    await expect(engine.attention(good())).rejects.toThrow(/^attention: the engine was disposed/);
    await expect(engine.multiHeadAttention(goodMha())).rejects.toThrow(/^multiHeadAttention: the engine was disposed/);
    await expect(engine.loadModel()).rejects.toThrow(/^loadModel: the engine was disposed/);
    await expect(model.run('Still here.')).rejects.toThrow(/^run: the engine was disposed/);
    await expect(model.runIds([1, 2])).rejects.toThrow(/^runIds: the engine was disposed/);
    expect(() => model.tokenize('Still here.')).toThrow(/^tokenize: the engine was disposed/);
    expect(() => engine.memory()).toThrow(/^memory: the engine was disposed/);
    engine.dispose();  // twice is harmless
    model.dispose();
  });

  it('on WebGPU too', async () => {
    const engine = await createEngine({ backend: 'webgpu', gpu: GPU });
    engine.dispose();
    await expect(engine.attention(good())).rejects.toThrow(/^attention: the engine was disposed/);
  });
});

describe('runIds arguments', () => {
  it('names the bad entry and its type', async () => {
    const engine = await createEngine({ backend: 'wasm' });
    const model = await engine.loadModel();
    await expect(model.runIds(['5'])).rejects.toThrow(/^runIds: ids must be an array of integers \(numbers\); ids\[0\] is the string '5'$/);
    await expect(model.runIds([1, null])).rejects.toThrow(/ids\[1\] is null/);
    await expect(model.runIds([1.5])).rejects.toThrow(/^runIds: ids\[0\] = 1.5 is not an integer in \[0, /);
    const crossIds = vm.runInContext('new Int32Array([5, 6, 7])', otherRealm);
    const r = await model.runIds(crossIds);
    expect(Array.from(r.ids)).toEqual([5, 6, 7]);
    model.dispose();
    engine.dispose();
  });
});

describe('the GPU object passed inline (npm webgpu create([])) lives as long as the engine', () => {
  it('survives garbage collection between calls (node --expose-gc, a child process)', () => {
    const script = fileURLToPath(new URL('./gpu_lifetime_child.mjs', import.meta.url));
    const output = execFileSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 300000 });
    expect(output.trim().split('\n').at(-1)).toBe('calls 30 webgpu 30 equal 30');
  });
});
