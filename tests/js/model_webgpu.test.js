// The real model on WebGPU (web/src/lib/model/gpu_encoder.js) against the same model on WASM: with the
// engine's backend 'webgpu', model.run computes dense layers, layer norms and attention on the GPU. On a
// few oracle sentences (SwiftShader is slow: about 6 s a sentence, 13 s to compile the pipelines) the
// float32 file must give the same pieces, attention within 1e-4 (max abs) in every layer and head, and a
// sentence embedding with cosine >= 0.9999. A lost device makes run() reject with a clear error.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { createEngine } from '../../web/src/lib/index.js';

Object.assign(globalThis, globals);
const realGpu = create([]);
const adapter = await realGpu.requestAdapter();

const MODEL = new URL('../../web/public/models/use-lite.f32.safetensors', import.meta.url);
const { sentences } = JSON.parse(readFileSync(new URL('../model/sentences.json', import.meta.url), 'utf8'));
const CLASSIC = "The animal didn't cross the street because it was too tired";
// The classic sentence, the 198-piece text (clipped to 128), a one-piece text (T = 1), CJK (one merged
// unknown piece) and German accents.
const PICKED = [CLASSIC, sentences.find((s) => s.length > 500), 'x', '東京は日本の首都です。', 'Größe ändern: Straße, Übermaß.'];

const ATTENTION_TOLERANCE = 1e-4;
const COSINE_MIN = 0.9999;
// Hidden states relative to their largest magnitude: float32 on both sides, f32 vs double accumulation
// in layer norm and different summation orders in the dense layers.
const HIDDEN_TOLERANCE = 1e-4;

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

function maxAbs(a, b, from = 0, to = a.length) {
  let worst = 0;
  for (let i = from; i < to; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

// A gpu object that hands createEngine the real adapter and remembers the device it gets, so that the
// last test can destroy it.
let device = null;
const gpu = {
  async requestAdapter(options) {
    const a = await realGpu.requestAdapter(options);
    return a && {
      info: a.info, limits: a.limits, features: a.features,
      async requestDevice(descriptor) { device = await a.requestDevice(descriptor); return device; },
    };
  },
};

describe.skipIf(!adapter)('USE lite: model.run on WebGPU vs WASM', () => {
  let engines, models;
  const figures = { attention: 0, cosine: 1, hidden: 0, ms: { webgpu: [], wasm: [] } };

  beforeAll(async () => {
    engines = { webgpu: await createEngine({ backend: 'webgpu', gpu }), wasm: await createEngine({ backend: 'wasm' }) };
    models = { webgpu: await engines.webgpu.loadModel(MODEL), wasm: await engines.wasm.loadModel(MODEL) };
  }, 120_000);

  afterAll(() => {
    console.log(`model webgpu figures: ${JSON.stringify(figures)}`);
    for (const m of Object.values(models ?? {})) m.dispose();
    for (const e of Object.values(engines ?? {})) e.dispose();
  });

  it('picks the classic sentence and one over 128 pieces', () => {
    expect(engines.webgpu.backend).toBe('webgpu');
    expect(PICKED).toContain(CLASSIC);
    expect(models.wasm.tokenize(PICKED[1]).ids.length).toBeGreaterThan(128);
  });

  for (const text of PICKED) {
    const label = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
    it(`same pieces, attention within 1e-4, cosine >= 0.9999: ${label}`, async () => {
      let t0 = performance.now();
      const got = await models.webgpu.run(text);
      figures.ms.webgpu.push(Math.round(performance.now() - t0));
      t0 = performance.now();
      const want = await models.wasm.run(text);
      figures.ms.wasm.push(Math.round(performance.now() - t0));

      expect(got.backend).toBe('webgpu');
      expect(want.backend).toBe('wasm');
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      expect(got.pieces).toEqual(want.pieces);
      expect(Array.from(got.ids)).toEqual(Array.from(want.ids));
      expect([got.n, got.truncated, got.tokensBeforeClip]).toEqual([want.n, want.truncated, want.tokensBeforeClip]);
      const n = want.n;
      expect(maxAbs(got.inputEmbeddings, want.inputEmbeddings)).toBeLessThanOrEqual(1e-6);
      for (let l = 0; l < 2; l++) {
        const heads = models.wasm.info.heads[l];
        expect(got.attention[l]).toBeInstanceOf(Float32Array);
        expect(got.attention[l].length).toBe(heads * n * n);
        for (let h = 0; h < heads; h++) {
          const e = maxAbs(got.attention[l], want.attention[l], h * n * n, (h + 1) * n * n);
          expect(e, `layer ${l} head ${h}`).toBeLessThanOrEqual(ATTENTION_TOLERANCE);
          figures.attention = Math.max(figures.attention, e);
        }
        expect(got.hidden[l].length).toBe(want.hidden[l].length);
        const scale = want.hidden[l].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const rel = maxAbs(got.hidden[l], want.hidden[l]) / scale;
        expect(rel, `hidden ${l}`).toBeLessThanOrEqual(HIDDEN_TOLERANCE);
        figures.hidden = Math.max(figures.hidden, rel);
      }
      expect(got.embedding.length).toBe(want.embedding.length);
      const c = cosine(got.embedding, want.embedding);
      expect(c).toBeGreaterThanOrEqual(COSINE_MIN);
      figures.cosine = Math.min(figures.cosine, c);
    }, 60_000);
  }

  it('outputs: only what is asked for is read back, the rest is null, as on WASM', async () => {
    const all = await models.webgpu.run(CLASSIC);
    const lean = await models.webgpu.run(CLASSIC, { outputs: ['embedding'] });
    expect(lean.backend).toBe('webgpu');
    expect([lean.attention, lean.hidden, lean.inputEmbeddings]).toEqual([null, null, null]);
    expect(cosine(lean.embedding, all.embedding)).toBeGreaterThanOrEqual(0.999999);
    const some = await models.webgpu.run(CLASSIC, { outputs: ['hidden'] });
    expect([some.embedding, some.attention, some.inputEmbeddings]).toEqual([null, null, null]);
    expect(some.hidden.map((h) => h.length)).toEqual(all.hidden.map((h) => h.length));
    const wasm = await models.wasm.run(CLASSIC, { outputs: ['hidden'] });
    expect(Object.keys(some).sort()).toEqual(Object.keys(wasm).sort());
    expect([wasm.embedding, wasm.attention, wasm.inputEmbeddings]).toEqual([null, null, null]);
  }, 60_000);

  it('a lost device makes run() reject with a clear error', async () => {
    expect(device).not.toBeNull();
    device.destroy();
    await device.lost;
    await expect(models.webgpu.run(CLASSIC)).rejects.toThrow(/run: the WebGPU device was lost/);
    // The WASM model is untouched.
    expect((await models.wasm.run('Hello')).backend).toBe('wasm');
  });
});
