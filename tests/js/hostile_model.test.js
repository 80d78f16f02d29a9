// Hostile input to loadModel and the model object (issue 7): every bad call throws a named error, the next
// good call still gives the known-good answer, and load/dispose and run cycles leave the WASM heap flat.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createWasmBackend } from '../../web/src/lib/backends/wasm.js';
import { loadModel } from '../../web/src/lib/model/index.js';
import { maxAbsError } from './reference.js';

const F16 = new URL('../../web/public/models/use-lite.f16.safetensors', import.meta.url);
const GOOD = "The animal didn't cross the street because it was too tired";
const detach = (buffer) => { structuredClone(buffer, { transfer: [buffer] }); return buffer; };

describe('hostile model input', () => {
  let module, bytes, model, known, server, base;
  beforeAll(async () => {
    module = (await createWasmBackend()).module;
    bytes = new Uint8Array(readFileSync(F16));
    model = await loadModel(module, bytes);
    known = await model.run(GOOD);
    server = createServer((req, res) => { res.statusCode = 404; res.end('no'); });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${server.address().port}`;
  });
  afterAll(() => { model?.dispose(); server?.close(); });

  async function stillGood() {
    const r = await model.run(GOOD);
    expect(Array.from(r.embedding)).toEqual(Array.from(known.embedding));
  }
  const headerLen = () => Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const patchHeader = (from, to) => {
    const b = bytes.slice();
    const text = new TextDecoder().decode(b.subarray(8, 8 + headerLen()));
    const at = text.indexOf(from);
    b.set(new TextEncoder().encode(to), 8 + at);
    return b;
  };

  // [what, () => source, error class, message pattern]
  const SOURCES = [
    ['an object', () => ({}), TypeError, /loadModel: source must be a URL/],
    ['a number', () => 42, TypeError, /loadModel: source must be a URL/],
    ['a boolean', () => true, TypeError, /loadModel: source/],
    ['a non-URL string', () => 'not a url', TypeError, /loadModel: source 'not a url' is not a URL/],
    ['an empty ArrayBuffer', () => new ArrayBuffer(0), Error, /loadModel: .*(shorter|no bytes|empty)/],
    ['a truncated file', () => bytes.slice(0, bytes.length - 1000), Error, /loadModel: safetensors/],
    ['8 bytes only', () => bytes.slice(0, 8), Error, /loadModel: safetensors/],
    ['a bit-flipped header length', () => { const b = bytes.slice(); b[3] ^= 0x40; return b; }, Error, /loadModel: safetensors/],
    ['a bit-flipped JSON byte', () => { const b = bytes.slice(); b[8] ^= 0x01; return b; }, Error, /loadModel: safetensors/],
    ['a huge header length', () => { const b = bytes.slice(); b.set([255, 255, 255, 255, 255, 255, 255, 127], 0); return b; }, Error, /loadModel: safetensors/],
    ['a wrong dtype', () => patchHeader('"F32"', '"I64"'), Error, /loadModel: /],
    ['an offset past the end', () => patchHeader('"data_offsets":[0,', '"data_offsets":[9,'), Error, /loadModel: /],
    ['a URL that 404s', () => `${base}/missing.safetensors`, Error, /loadModel: could not load .*HTTP 404/],
    ['an unreachable URL', () => 'http://127.0.0.1:1/model.safetensors', Error, /loadModel: could not fetch http:\/\/127\.0\.0\.1:1\/model\.safetensors/],
    ['a detached ArrayBuffer', () => detach(bytes.slice().buffer), TypeError, /loadModel: source's buffer was detached/],
    ['a detached Uint8Array', () => { const b = bytes.slice(0, 64); detach(b.buffer); return b; }, TypeError, /loadModel: source's buffer was detached/],
  ];
  for (const [what, make, ErrorClass, pattern] of SOURCES) {
    it(`loadModel: ${what}`, async () => {
      const before = module.heapBytesInUse();
      const p = loadModel(module, make());
      await expect(p).rejects.toThrow(ErrorClass);
      await expect(loadModel(module, make())).rejects.toThrow(pattern);
      expect(module.heapBytesInUse()).toBe(before);
      await stillGood();
    });
  }

  const TEXTS = [
    ['undefined', undefined, TypeError, /text must be a string/],
    ['null', null, TypeError, /text must be a string/],
    ['a number', 5, TypeError, /text must be a string/],
    ['an object', { toString: () => 'hi' }, TypeError, /text must be a string/],
    ['an array', ['hi'], TypeError, /text must be a string/],
    ['empty', '', RangeError, /text is empty or whitespace only/],
    ['whitespace', ' \t\n\u3000', RangeError, /text is empty or whitespace only/],
  ];
  for (const [what, text, ErrorClass, pattern] of TEXTS) {
    it(`run/tokenize: text ${what}`, async () => {
      expect(() => model.tokenize(text)).toThrow(ErrorClass);
      expect(() => model.tokenize(text)).toThrow(new RegExp(`tokenize: ${pattern.source}`));
      await expect(model.run(text)).rejects.toThrow(ErrorClass);
      await expect(model.run(text)).rejects.toThrow(new RegExp(`run: ${pattern.source}`));
      await stillGood();
    });
  }

  it('run: bad options name the option', async () => {
    await expect(model.run(GOOD, { kernel: 'fast' })).rejects.toThrow(/run: kernel/);
    await expect(model.run(GOOD, { kernel: 'toString' })).rejects.toThrow(RangeError);
    await expect(model.run(GOOD, { kernal: 'reference' })).rejects.toThrow(/run: unknown option 'kernal'/);
    await expect(model.run(GOOD, 'reference')).rejects.toThrow(/run: options must be an object/);
    await expect(model.run(GOOD, null)).rejects.toThrow(TypeError);
    await expect(model.runIds([5, 6], { kernel: 'fast' })).rejects.toThrow(/runIds: kernel/);
    await stillGood();
  });

  it('run/runIds: bad outputs name the option and the known outputs', async () => {
    const BAD = [
      ['a string', 'embedding', TypeError, /outputs must be a non-empty array of names .* got 'embedding'/],
      ['null', null, TypeError, /outputs must be a non-empty array .* got null/],
      ['empty', [], TypeError, /outputs must be a non-empty array .* got an array of 0/],
      ['an unknown name', ['embeddings'], RangeError, /outputs: unknown output 'embeddings' \(known: embedding, attention, hidden, inputEmbeddings, layerInputs, qkv\)/],
      ['a number in it', ['embedding', 2], RangeError, /outputs: unknown output number/],
      ['an inherited name', ['toString'], RangeError, /outputs: unknown output 'toString'/],
    ];
    for (const [what, outputs, ErrorClass, pattern] of BAD) {
      await expect(model.run(GOOD, { outputs }), what).rejects.toThrow(ErrorClass);
      await expect(model.run(GOOD, { outputs }), what).rejects.toThrow(new RegExp(`run: ${pattern.source}`));
      await expect(model.runIds([5, 6], { outputs }), what).rejects.toThrow(new RegExp(`runIds: ${pattern.source}`));
    }
    await stillGood();
  });

  it('run/runIds: outputs returns what is asked for and null for the rest', async () => {
    const all = await model.run(GOOD);
    const lean = await model.run(GOOD, { outputs: ['embedding'] });
    expect([lean.attention, lean.hidden, lean.inputEmbeddings, lean.layerInputs, lean.qkv]).toEqual([null, null, null, null, null]);
    expect(lean.pieces).toEqual(all.pieces);
    expect(lean.embedding.length).toBe(all.embedding.length);
    // without 'attention' the layers run the no-weights kernel: the same embedding to rounding
    expect(maxAbsError(lean.embedding, all.embedding)).toBeLessThanOrEqual(1e-6);

    const some = await model.runIds(Array.from(all.ids), { outputs: ['attention', 'inputEmbeddings', 'attention'] });
    expect([some.embedding, some.hidden]).toEqual([null, null]);
    expect(some.attention.map((a) => a.length)).toEqual(all.attention.map((a) => a.length));
    some.attention.forEach((a, l) => expect(maxAbsError(a, all.attention[l])).toBe(0));
    expect(Array.from(some.inputEmbeddings)).toEqual(Array.from(all.inputEmbeddings));
    expect((await model.run(GOOD, { outputs: ['hidden'], kernel: 'reference' })).hidden).toHaveLength(2);

    // A layer's own numbers (the step-by-step view): its input LN(x) [n][Din] and Q | K | V [n][3 Da].
    const own = await model.run(GOOD, { outputs: ['layerInputs', 'qkv'] });
    const n = all.pieces.length;
    expect([own.attention, own.embedding]).toEqual([null, null]);
    expect(own.layerInputs.map((x) => x.length)).toEqual([n * model.info.inputDims, n * model.info.dims[0]]);
    expect(own.qkv.map((x) => x.length)).toEqual(model.info.heads.map((h, l) => n * 3 * h * model.info.headDims[l]));
    expect(model.info.attentionScales.map((s, l) => s * Math.sqrt(model.info.headDims[l]))).toEqual([1, 1].map(() => expect.closeTo(1, 6)));
    // They are the layer's Q and K: softmax(scale Q_h K_h^T), in double here, is the layer's attention.
    for (const [l, hd] of [[0, 1], [1, 3]]) {
      const dh = model.info.headDims[l];
      const da = model.info.heads[l] * dh;
      const qkv = own.qkv[l];
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const s = Array.from({ length: n }, (_, j) => {
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += qkv[i * 3 * da + hd * dh + c] * qkv[j * 3 * da + da + hd * dh + c];
          return dot * model.info.attentionScales[l];
        });
        const max = Math.max(...s);
        const e = s.map((v) => Math.exp(v - max));
        const sum = e.reduce((a, b) => a + b, 0);
        e.forEach((v, j) => { worst = Math.max(worst, Math.abs(v / sum - all.attention[l][(hd * n + i) * n + j])); });
      }
      expect(worst, `layer ${l} head ${hd}`).toBeLessThan(1e-5);
    }
    await stillGood();
  });

  it('runIds: the two embedding rows without a vocabulary piece run and are named, not read past the table', async () => {
    expect(model.info.vocabSize).toBe(8002);
    const r = await model.runIds([8000, 8001, 6]);
    expect(r.pieces.slice(0, 2)).toEqual(['<id 8000>', '<id 8001>']);
    expect(r.embedding.every(Number.isFinite)).toBe(true);
    await expect(model.runIds([8002])).rejects.toThrow(/runIds: ids\[0\] = 8002 is not an integer in \[0, 8002\)/);
    await expect(model.runIds([1.5])).rejects.toThrow(RangeError);
    await stillGood();
  });

  it('odd but valid text: 10,000 characters, lone surrogates, NUL, extra arguments', async () => {
    const long = await model.run('word '.repeat(2000));
    expect(long.truncated).toBe(true);
    expect(long.n).toBe(128);
    expect(long.tokensBeforeClip).toBeGreaterThan(128);
    for (const text of ['a\uD800b', '\uDC00x', 'x\uD83D', 'a\0b', '\0']) {
      const r = await model.run(text);
      expect(r.n).toBeGreaterThan(0);
      expect(model.tokenize(text).ids.length).toBeGreaterThan(0);
    }
    const extra = await model.run(GOOD, undefined, 'extra', 3);
    expect(Array.from(extra.embedding)).toEqual(Array.from(known.embedding));
    await stillGood();
  });

  it('after dispose every call throws', async () => {
    const m = await loadModel(module, bytes);
    m.dispose();
    expect(() => m.tokenize(GOOD)).toThrow(/tokenize: the model has been disposed/);
    await expect(m.run(GOOD)).rejects.toThrow(/run: the model has been disposed/);
    await expect(m.runIds([5])).rejects.toThrow(/runIds: the model has been disposed/);
    expect(() => m.dispose()).not.toThrow();
    await stillGood();
  });

  it('100 load/dispose cycles and 1,000 runs leave the heap flat', async () => {
    const m0 = await loadModel(module, bytes); m0.dispose(); // warm-up
    const before = module.heapBytesInUse();
    for (let i = 0; i < 100; i++) (await loadModel(module, bytes)).dispose();
    const afterLoads = module.heapBytesInUse();
    console.log(`load/dispose x100: bytesInUse before ${before}, after ${afterLoads}, heap ${module.HEAPU8.length}`);
    expect(afterLoads).toBe(before);
    const words = GOOD.split(' ');
    const runBefore = module.heapBytesInUse();
    for (let i = 0; i < 1000; i++) {
      const text = words.slice(i % 5, 3 + (i % 11)).join(' ') + ` ${i}`;
      await model.run(text);
    }
    const runAfter = module.heapBytesInUse();
    console.log(`run x1000: bytesInUse before ${runBefore}, after ${runAfter}, heap ${module.HEAPU8.length}`);
    expect(runAfter).toBe(runBefore);
  });
});
