// translate(text, { steps: true }): every attention block's own input and projections. For each block kind
// (encoder self, masked decoder self, cross), layer and head, softmax(score(Q, K)) with the block's mask, computed by
// engine.attention from the returned Q, K and score parameters, equals the returned attention weights; with a
// trainer's weights, X W + b of the returned inputs equals the returned Q, K, V.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../web/src/lib/index.js';

const CLASSIC = "The animal didn't cross the street because it was too tired";

/** Columns c0..c0+m of x [n][stride]. */
function columns(x, n, stride, c0, m) {
  const y = new Float32Array(n * m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) y[i * m + c] = x[i * stride + c0 + c];
  return y;
}

function maxDiff(a, b) {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Checks every block of r against r.attention; returns how many heads were compared. */
async function expectStepsReproduceAttention(engine, r, info) {
  const n = r.sourceTokens.length, m = r.targetTokens.length;
  const shapes = { encoder: [n, n, 'none'], decoder: [m, m, 'causal'], cross: [m, n, 'none'] };
  let compared = 0;
  for (const [kind, [nq, nk, mask]] of Object.entries(shapes)) {
    const layers = kind === 'encoder' ? info.encoderLayers : info.decoderLayers;
    expect(r.steps[kind]).toHaveLength(layers);
    for (let l = 0; l < layers; l++) {
      const s = r.steps[kind][l];
      const { dModel: M, heads: H, dh } = s;
      expect(s).toMatchObject({ nq, nk, mask, score: info.score, dModel: info.dModel, heads: info.heads });
      expect(s.x.length).toBe(nq * M);
      expect(s.context.length).toBe(nk * M);
      expect(s.q.length).toBe(nq * M);
      expect(s.k.length).toBe(nk * M);
      expect(s.v.length).toBe(nk * M);
      if (kind !== 'cross') expect(s.context).toBe(s.x);
      for (let h = 0; h < H; h++) {
        const a = await engine.attention({
          query: columns(s.q, nq, M, h * dh, dh), key: columns(s.k, nk, M, h * dh, dh),
          value: columns(s.v, nk, M, h * dh, dh), heads: 1, nq, nk, dk: dh, dv: dh, score: s.score, mask,
          ...s.scoreParams, returnWeights: true,
        });
        const expected = r.attention[kind][l].subarray(h * nq * nk, (h + 1) * nq * nk);
        expect(maxDiff(a.weights, expected)).toBeLessThan(1e-5);
        compared++;
      }
    }
  }
  return compared;
}

/** x [n][k] W [k][c] + b [c]. */
function dense(x, n, k, W, b, c) {
  const y = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      let acc = b[j];
      for (let t = 0; t < k; t++) acc += x[i * k + t] * W[t * c + j];
      y[i * c + j] = acc;
    }
  }
  return y;
}

describe.each([['WASM SIMD', true], ['WASM scalar', false]])('%s', (_, simd) => {
  let engine;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm', threads: 1, simd });
  });
  afterAll(() => engine?.dispose());

  it('the shipped translator\'s Q, K, V reproduce its attention in every block (scaled_dot)', async () => {
    const t = await engine.loadTranslator();
    expect(t.info.score).toBe('scaled_dot');
    const r = await t.translate(CLASSIC, { steps: true });
    expect(r.output).toBe('Das Tier überquerte die Straße nicht, weil es zu müde war.');
    const compared = await expectStepsReproduceAttention(engine, r, t.info);
    expect(compared).toBe((2 * t.info.decoderLayers + t.info.encoderLayers) * t.info.heads);
    for (const kind of ['encoder', 'decoder', 'cross']) expect(r.steps[kind][0].scoreParams).toEqual({});
    // the same translation and attention as without steps
    const plain = await t.translate(CLASSIC);
    expect(plain.steps).toBeUndefined();
    expect(Array.from(plain.attention.cross[1])).toEqual(Array.from(r.attention.cross[1]));
    t.dispose();
  });

  it('rejects bad options and stays usable', async () => {
    const t = await engine.loadTranslator();
    await expect(t.translate(CLASSIC, { steps: 1 })).rejects.toThrow(/options.steps must be a boolean, got 1/);
    await expect(t.translate(CLASSIC, { steps: true, attention: false })).rejects.toThrow(/steps needs the attention/);
    expect((await t.translate(CLASSIC, { steps: true })).steps.cross).toHaveLength(t.info.decoderLayers);
    t.dispose();
  });

  it.each(['general', 'additive', 'dot'])('a briefly trained %s model: Q, K, V reproduce its attention; Q, K, V = X W + b', async (score) => {
    const trainer = await engine.createTrainer({ score, seed: 2, batchSize: 8 });
    for (let i = 0; i < 5; i++) await trainer.step();
    const r = await trainer.translate(CLASSIC, { steps: true });
    const info = trainer.info;
    expect(await expectStepsReproduceAttention(engine, r, info)).toBe((2 * info.decoderLayers + info.encoderLayers) * info.heads);
    const names = Object.keys(r.steps.cross[0].scoreParams);
    expect(names.sort()).toEqual(score === 'general' ? ['W'] : score === 'additive' ? ['Wk', 'Wq', 'v'] : []);
    const P = trainer.parameters();
    const M = info.dModel;
    for (const [kind, prefix] of [['encoder', 'enc.%.self'], ['decoder', 'dec.%.self'], ['cross', 'dec.%.cross']]) {
      for (let l = 0; l < r.steps[kind].length; l++) {
        const s = r.steps[kind][l];
        const p = prefix.replace('%', l);
        expect(maxDiff(s.q, dense(s.x, s.nq, M, P[`${p}.q.W`], P[`${p}.q.b`], M))).toBeLessThan(1e-5);
        expect(maxDiff(s.k, dense(s.context, s.nk, M, P[`${p}.k.W`], P[`${p}.k.b`], M))).toBeLessThan(1e-5);
        expect(maxDiff(s.v, dense(s.context, s.nk, M, P[`${p}.v.W`], P[`${p}.v.b`], M))).toBeLessThan(1e-5);
        for (const name of names) expect(Array.from(s.scoreParams[name])).toEqual(Array.from(P[`${p}.score.${name}`]));
      }
    }
    trainer.dispose();
  });
});
