// Hostile input that used to corrupt or abort the WASM instance (crafted model files, shapes whose scratch the
// heap cannot give, finite inputs whose float32 scores overflow, repeated keys in a safetensors header). Each
// case on the SIMD and the scalar build: the call gets a named error or the right numbers, and afterwards the
// same engine gives the good model's exact numbers with engine.memory().bytesInUse back to its baseline.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createEngine } from '../../web/src/lib/index.js';
import { attentionReference } from './reference.js';

const F16 = new URL('../../web/public/models/use-lite.f16.safetensors', import.meta.url);
const GOOD = "The animal didn't cross the street because it was too tired";
const bytes = new Uint8Array(readFileSync(F16));

// The file with its header text rewritten by edit(text) (the length prefix follows; the data is unchanged).
function withHeader(edit) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = new TextEncoder().encode(edit(new TextDecoder().decode(bytes.subarray(8, 8 + n))));
  const out = new Uint8Array(8 + header.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(bytes.subarray(8 + n), 8 + header.length);
  return out;
}
const replaceOnce = (from, to) => withHeader((text) => {
  if (!text.includes(from)) throw new Error(`test: the header has no ${from}`);
  return text.replace(from, to);
});

// The file with the tokenizer's piece offsets 7..last set to offsets[last + 1]: piece 6 spans all the bytes of
// pieces 6..last (a crafted long piece), the ones after it are empty.
function withLongPiece(last) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const [begin] = header['tokenizer.piece_offsets'].data_offsets;
  const out = bytes.slice();
  const view = new DataView(out.buffer, 8 + n + begin);
  const end = view.getInt32(4 * (last + 1), true);
  for (let i = 7; i <= last; i++) view.setInt32(4 * i, end, true);
  return { file: out, pieceBytes: end - view.getInt32(4 * 6, true) };
}

for (const simd of [true, false]) {
  describe(`hostile input vs the WASM heap (${simd ? 'SIMD' : 'scalar'} build)`, () => {
    let engine, model, known, baseline;
    const small = () => ({
      query: new Float32Array(2 * 3 * 4).map((_, i) => Math.sin(i)), key: new Float32Array(2 * 5 * 4).map((_, i) => Math.cos(i)),
      value: new Float32Array(2 * 5 * 3).map((_, i) => i / 7), heads: 2, nq: 3, nk: 5, dk: 4, dv: 3, returnWeights: true,
    });
    let knownAttention;
    beforeAll(async () => {
      engine = await createEngine({ backend: 'wasm', simd });
      model = await engine.loadModel(bytes);
      known = await model.run(GOOD);
      knownAttention = await engine.attention(small());
      baseline = engine.memory().bytesInUse;
    });
    afterAll(() => model?.dispose());

    async function stillGood() {
      const r = await model.run(GOOD);
      expect(Array.from(r.embedding)).toEqual(Array.from(known.embedding));
      expect(Array.from(r.attention[1])).toEqual(Array.from(known.attention[1]));
      const a = await engine.attention(small());
      expect(Array.from(a.output)).toEqual(Array.from(knownAttention.output));
      expect(engine.memory().bytesInUse).toBe(baseline);
    }

    it('a model file whose maxTokens wraps 32-bit sizes is refused at load', async () => {
      for (const maxTokens of [16385, 32768, 32769, 65536]) {
        const file = replaceOnce('\\"maxTokens\\":128', `\\"maxTokens\\":${maxTokens}`);
        await expect(engine.loadModel(file)).rejects.toThrow(new RegExp(`maxTokens ${maxTokens} is over the limit of 16384`));
      }
      await stillGood();
    });

    it('a model file with a crafted long tokenizer piece is refused at load', async () => {
      const { file, pieceBytes } = withLongPiece(400);
      expect(pieceBytes).toBeGreaterThan(64);
      await expect(engine.loadModel(file)).rejects.toThrow(new RegExp(`piece 6 is ${pieceBytes} bytes, over the limit of 64`));
      await stillGood();
    });

    it('a text too long for the tokenizer\'s working memory is a clear error, not Aborted()', async () => {
      // 140 M characters: the string itself fits the heap, 16 bytes of working memory per character do not.
      const text = 'a'.repeat(140_000_000);
      await expect((async () => model.tokenize(text))()).rejects.toThrow(/tokenizer: a text of 140000000 bytes needs \d+ bytes of working memory/);
      await stillGood();
    }, 60_000);

    it('safetensors headers with repeated keys or invalid UTF-8 are refused', async () => {
      const cases = [
        [replaceOnce('"dtype":"F16"', '"dtype":"F16","dtype":"F16"'), /duplicate key 'dtype'/],
        [replaceOnce('"__metadata__":{', '"__metadata__":{"format":"x",'), /duplicate key 'format'/],
        [replaceOnce('"__metadata__":{', '"__metadata__":{"k":"\\udc00",'), /lone surrogate/],
      ];
      for (const [file, pattern] of cases) await expect(engine.loadModel(file)).rejects.toThrow(pattern);
      // Raw invalid UTF-8 (a lone continuation byte) in a metadata value.
      const file = replaceOnce('"__metadata__":{', '"__metadata__":{"k":"#",');
      file[file.indexOf('#'.charCodeAt(0), 8)] = 0x80;
      await expect(engine.loadModel(file)).rejects.toThrow(/invalid UTF-8/);
      await stillGood();
    });

    it('attention nq 1, nk 2^22, dk 64, dv 1: runs where the scratch fits, else a RangeError naming the sizes', async () => {
      const nk = 2 ** 22;
      const args = { query: new Float32Array(64).fill(0.01), key: new Float32Array(nk * 64), value: new Float32Array(nk).fill(2), nq: 1, nk, dk: 64, dv: 1 };
      if (simd) {  // K packed into panels is another 1 GiB beside the 1 GiB key: over the 2 GiB heap
        await expect(engine.attention(args)).rejects.toThrow(RangeError);
        await expect(engine.attention(args)).rejects.toThrow(/attention: heads 1, nq 1, nk 4194304, dk 64, dv 1 need \d+ MiB of scratch/);
      } else {  // the scalar kernel reads K in place: it runs (every score 0, so the output is the mean of v)
        const r = await engine.attention(args);
        expect(r.output[0]).toBeCloseTo(2, 5);
      }
      await stillGood();
    }, 120_000);

    it('attentionBackward nq 1, nk 1, dk = dv = 2^24: runs where the scratch fits, else a RangeError naming the sizes', async () => {
      const d = 2 ** 24;
      const args = { query: new Float32Array(d).fill(0.01), key: new Float32Array(d), value: new Float32Array(d).fill(2),
        dOutput: new Float32Array(d).fill(0.5), nq: 1, nk: 1, dk: d, dv: d };
      if (simd) {  // Q' padded to 4 rows, K twice and V in panels of 8 keys: 2 GiB of scratch beside 448 MiB of arguments
        await expect(engine.attentionBackward(args)).rejects.toThrow(RangeError);
        await expect(engine.attentionBackward(args)).rejects.toThrow(/attentionBackward: heads 1, nq 1, nk 1, dk 16777216, dv 16777216 need \d+ MiB of scratch/);
      } else {  // the scalar kernel's scratch is 3 x 64 MiB: it runs (one key: P = 1, so dValue = dOutput and dQuery = dKey = 0)
        const g = await engine.attentionBackward(args);
        expect([g.dValue[0], g.dValue[d - 1], g.dQuery[0], g.dKey[d - 1]]).toEqual([0.5, 0.5, 0, 0]);
      }
      await stillGood();
    }, 120_000);

    it('multiHeadAttention nq 244,140, nk 1, dModel 512: a RangeError naming the sizes, nothing left allocated', async () => {
      const nq = 244_140, dModel = 512;
      const w = () => new Float32Array(dModel * dModel).fill(0.001);
      const args = { x: new Float32Array(nq * dModel).fill(0.5), context: new Float32Array(dModel).fill(0.5), nq, nk: 1, dModel, heads: 8, Wq: w(), Wk: w(), Wv: w(), Wo: w() };
      await expect(engine.multiHeadAttention(args)).rejects.toThrow(/multiHeadAttention: nq 244140, nk 1, dModel 512, heads 8 need \d+ MiB of scratch|multiHeadAttention: could not allocate/);
      await stillGood();
    }, 120_000);

    it('finite inputs whose float32 scores overflow give the reference\'s finite answer', async () => {
      const nk = 70;
      const key = new Float32Array(nk * 2).map((_, i) => (i % 2 ? 0.5 : (i / 2) % 3 === 0 ? 1e30 : -1e30));
      const value = new Float32Array(nk * 3).map((_, i) => Math.sin(i));
      const cases = [
        { query: new Float32Array([1e30, 0]), key, value, nq: 1, nk, dk: 2, dv: 3, score: 'dot' },  // scores +-1e60
        { query: new Float32Array([1e30, 0]), key: key.map((x) => -Math.abs(x)), value, nq: 1, nk, dk: 2, dv: 3, score: 'dot' },  // all -1e60
        { query: new Float32Array([1e20, 0]), key: key.map((x) => (Math.abs(x) > 1 ? Math.sign(x) * 1e20 : x)), value, nq: 1, nk, dk: 2, dv: 3,
          score: 'additive', Wq: new Float32Array([1e20, 0, 0, 1]), Wk: new Float32Array([1e20, 0, 0, 1]), v: new Float32Array([1, 0.5]) },
      ];
      for (const args of cases) {
        const want = attentionReference({ ...args, heads: 1 });
        for (const kernel of ['optimized', 'reference']) {
          const r = await engine.attention({ ...args, returnWeights: true, kernel });
          for (const x of [...r.output, ...r.weights]) expect(Number.isFinite(x)).toBe(true);
          expect(r.weights.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
          for (let i = 0; i < want.output.length; i++) expect(r.output[i]).toBeCloseTo(want.output[i], 4);
        }
      }
      await stillGood();
    });
  });
}
