// loadModel and the model object: every kind of source, the errors (bad source, corrupt file, empty text,
// disposed model), clipping at 128 tokens, the reference kernel, and a flat WASM heap over load/dispose.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createEngine } from '../../web/src/lib/index.js';
import { createWasmBackend } from '../../web/src/lib/backends/wasm.js';
import { loadModel, DEFAULT_MODEL_PATH } from '../../web/src/lib/model/index.js';

const F32 = new URL('../../web/public/models/use-lite.f32.safetensors', import.meta.url);
const F16 = new URL('../../web/public/models/use-lite.f16.safetensors', import.meta.url);
const CLASSIC = "The animal didn't cross the street because it was too tired";

describe('loadModel', () => {
  let engine, module, model, bytes;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm' });
    module = (await createWasmBackend()).module; // loadModel's own argument: the Emscripten module
    bytes = new Uint8Array(readFileSync(F32));
    model = await loadModel(module, bytes);
  });
  afterAll(() => model?.dispose());

  it('describes the model', () => {
    expect(model.info).toMatchObject({
      layers: 2, heads: [4, 4], dims: [512, 512], headDims: [64, 128], inputDims: 256, embeddingDims: 512,
      vocabSize: 8002, maxTokens: 128, dtype: 'float32',
    });
  });

  it('loads from a URL, a string URL, an ArrayBuffer, a Uint8Array and by default (the compact file)', async () => {
    const sources = [F32, F32.href, bytes.buffer.slice(0), bytes];
    const reference = await model.run(CLASSIC);
    for (const source of sources) {
      const m = await loadModel(module, source);
      const r = await m.run(CLASSIC);
      expect(Array.from(r.embedding)).toEqual(Array.from(reference.embedding));
      m.dispose();
    }
    expect(DEFAULT_MODEL_PATH).toBe('/models/use-lite.f16.safetensors');
    const compact = await engine.loadModel();
    expect(compact.info.dtype).toBe('float16');
    expect(compact.tokenize(CLASSIC).pieces).toEqual(model.tokenize(CLASSIC).pieces);
    compact.dispose();
  });

  /** The file as a stream of `size`-byte chunks. */
  const chunked = (size) => new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += size) controller.enqueue(bytes.slice(at, at + size));
      controller.close();
    },
  });

  it('streams a Response or a ReadableStream into the heap, whatever its Content-Length says', async () => {
    const reference = await model.run(CLASSIC);
    const before = module.heapBytesInUse();
    // Right, missing, too small (the block grows) and too large (the block is larger than the file).
    const lengths = [String(bytes.length), null, '1000', String(3 * bytes.length)];
    const sources = [
      chunked(65_536), chunked(1_000_003),
      ...lengths.map((length) => new Response(chunked(65_536), { headers: length ? { 'Content-Length': length } : {} })),
    ];
    for (const source of sources) {
      const m = await loadModel(module, source);
      expect(Array.from((await m.run(CLASSIC)).embedding)).toEqual(Array.from(reference.embedding));
      m.dispose();
    }
    expect(module.heapBytesInUse()).toBe(before);
  });

  it('refuses a broken, used or failed stream or response with a message, and frees what it read', async () => {
    const before = module.heapBytesInUse();
    const reset = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.slice(0, 100_000));
        controller.error(new Error('connection reset'));
      },
    });
    await expect(loadModel(module, reset)).rejects.toThrow(/^loadModel: reading the stream failed: connection reset/);
    const text = new ReadableStream({ start(controller) { controller.enqueue('not bytes'); controller.close(); } });
    await expect(loadModel(module, text)).rejects.toThrow(/chunk that is not a Uint8Array \(\[object String\]\)/);
    const locked = chunked(65_536);
    locked.getReader();
    await expect(loadModel(module, locked)).rejects.toThrow(/already being read \(its stream is locked\)/);
    const used = new Response(bytes.slice(0, 10));
    await used.arrayBuffer();
    await expect(loadModel(module, used)).rejects.toThrow(/body of the response was already read/);
    await expect(loadModel(module, new Response('missing', { status: 404 }))).rejects.toThrow(/could not load the response: HTTP 404/);
    const firstChunkOnly = () => {
      let seen = 0;
      return new TransformStream({ transform(chunk, controller) { if (seen++ === 0) controller.enqueue(chunk); } });
    };
    await expect(loadModel(module, new Response(chunked(4096).pipeThrough(firstChunkOnly()))))
      .rejects.toThrow(/^loadModel: .*(past the end|truncated|exceeds)/);  // a truncated file
    expect(module.heapBytesInUse()).toBe(before);
    expect((await model.run('still works')).n).toBeGreaterThan(0);
  });

  it('rejects a source that is not a URL or bytes, and says what it takes', async () => {
    await expect(loadModel(module, 42)).rejects.toThrow(TypeError);
    await expect(loadModel(module, { url: 'x' })).rejects.toThrow(/source must be a URL/);
    await expect(loadModel({}, bytes)).rejects.toThrow(/modelLoad/);
    await expect(loadModel(module, new URL('file:///nonexistent/model.safetensors'))).rejects.toThrow(/could not read/);
  });

  it('refuses corrupt files with a clear message and stays usable', async () => {
    const cases = [
      [bytes.subarray(0, 5), /shorter than its 8-byte header length/],
      [bytes.subarray(0, bytes.length - 100), /past the end of the data|truncated/],
      [(() => { const b = bytes.slice(0, 4096); return b; })(), /exceeds|past the end/],
      [(() => { const b = bytes.slice(); b[7] = 0x7f; return b; })(), /over the limit/],
      [(() => { const b = bytes.slice(); b[8] = 0x5b; return b; })(), /not valid JSON|not a JSON object/],
      [(() => { const b = bytes.slice(); const t = new TextDecoder().decode(b.subarray(8, 3000)); const at = t.indexOf('"F32"'); b.set(new TextEncoder().encode('"F33"'), 8 + at); return b; })(), /unknown dtype 'F33'/],
    ];
    for (const [file, message] of cases) await expect(loadModel(module, file)).rejects.toThrow(message);
    expect((await model.run('still works')).n).toBeGreaterThan(0);
  });

  it('gives the same RangeError for empty or whitespace-only text, and a TypeError for non-strings', async () => {
    for (const text of ['', ' ', '   ', '\t\n', '\u00A0\u3000']) {
      expect(() => model.tokenize(text)).toThrow(RangeError);
      expect(() => model.tokenize(text)).toThrow(/text is empty or whitespace only/);
      await expect(model.run(text)).rejects.toThrow(RangeError);
      await expect(model.run(text)).rejects.toThrow(/run: text is empty or whitespace only/);
    }
    expect(() => model.tokenize(undefined)).toThrow(TypeError);
    await expect(model.run(12)).rejects.toThrow(TypeError);
  });

  it('returns pieces, ids, embedding, attention, hidden states and input embeddings of the right sizes', async () => {
    const r = await model.run(CLASSIC);
    const n = r.n;
    expect(r.pieces.length).toBe(n);
    expect(r.ids).toBeInstanceOf(Int32Array);
    expect(r.embedding).toBeInstanceOf(Float32Array);
    expect(r.embedding.length).toBe(512);
    expect(Math.hypot(...r.embedding)).toBeCloseTo(1, 5);
    expect(r.attention.map((a) => a.length)).toEqual([4 * n * n, 4 * n * n]);
    expect(r.hidden.map((h) => h.length)).toEqual([n * 512, n * 512]);
    expect(r.inputEmbeddings.length).toBe(n * 256);
    for (const a of r.attention) {
      for (let row = 0; row < 4 * n; row++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += a[row * n + j];
        expect(sum).toBeCloseTo(1, 5);
      }
    }
    expect(r.truncated).toBe(false);
    // Fresh arrays each call: not views of WASM memory.
    const again = await model.run(CLASSIC);
    expect(again.attention[0].buffer).not.toBe(r.attention[0].buffer);
    expect(r.attention[0].buffer).not.toBe(module.HEAPU8.buffer);
  });

  it('clips at 128 tokens like the graph and says so', async () => {
    const text = 'one two three four five six seven eight nine ten '.repeat(20);
    const all = model.tokenize(text);
    expect(all.ids.length).toBeGreaterThan(128);
    const r = await model.run(text);
    expect(r.truncated).toBe(true);
    expect(r.n).toBe(128);
    expect(r.tokensBeforeClip).toBe(all.ids.length);
    expect(Array.from(r.ids)).toEqual(Array.from(all.ids.subarray(0, 128)));
  });

  it('runs the reference kernels too, to within float32 rounding of the optimized ones', async () => {
    const fast = await model.run(CLASSIC);
    const slow = await model.run(CLASSIC, { kernel: 'reference' });
    for (let l = 0; l < 2; l++) {
      let worst = 0;
      for (let i = 0; i < fast.attention[l].length; i++) worst = Math.max(worst, Math.abs(fast.attention[l][i] - slow.attention[l][i]));
      expect(worst).toBeLessThan(1e-5);
    }
    await expect(model.run(CLASSIC, { kernel: 'fast' })).rejects.toThrow(RangeError);
  });

  it('runs piece ids and refuses ids outside the vocabulary', async () => {
    const { ids } = model.tokenize(CLASSIC);
    const byText = await model.run(CLASSIC);
    const byIds = await model.runIds(Array.from(ids));
    expect(Array.from(byIds.embedding)).toEqual(Array.from(byText.embedding));
    await expect(model.runIds([1, 8002])).rejects.toThrow(/ids\[1\] = 8002/);
    // rows 8000 and 8001 have embeddings but no piece: named by id (not bytes read past the piece table)
    expect((await model.runIds([5, 8000, 8001])).pieces).toEqual(['extra_token_id_3', '<id 8000>', '<id 8001>']);
    await expect(model.runIds([])).rejects.toThrow(RangeError);
  });

  it('refuses calls after dispose, and load/dispose leaves the heap flat', async () => {
    const m = await loadModel(module, bytes);
    m.dispose();
    m.dispose();
    expect(() => m.tokenize('x')).toThrow(/disposed/);
    await expect(m.run('x')).rejects.toThrow(/disposed/);
    const inUse = () => module.heapBytesInUse();
    const before = inUse();
    for (let i = 0; i < 3; i++) {
      const again = await loadModel(module, bytes);
      await again.run(CLASSIC);
      again.dispose();
      await expect(loadModel(module, bytes.subarray(0, 1000))).rejects.toThrow();
    }
    expect(inUse()).toBe(before);
  });
});
