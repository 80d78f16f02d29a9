// The shared cases for the WebGPU tests (Vitest and Playwright): tests/cases/attention_cases.json when it
// exists, else a fallback list in the same schema; inputs generated as tests/cases/README.md says
// (the same generator as tests/js/case_inputs.js, repeated here so this file loads without the JSON).
import { existsSync, readFileSync } from 'node:fs';

const CASE_FILE = new URL('../cases/attention_cases.json', import.meta.url);

const FALLBACK = {
  attention: [
    { name: 'dot_none_h1', heads: 1, nq: 3, nk: 5, dk: 4, dv: 3, da: 0, score: 'dot', mask: 'none', seed: 1, scale: 1, paramScale: 0.5 },
    { name: 'scaled_causal_h2', heads: 2, nq: 17, nk: 33, dk: 5, dv: 7, da: 0, score: 'scaled_dot', mask: 'causal', seed: 2, scale: 1, paramScale: 0.5 },
    { name: 'scaled_causal_nq_gt_nk', heads: 2, nq: 20, nk: 9, dk: 8, dv: 8, da: 0, score: 'scaled_dot', mask: 'causal', seed: 9, scale: 1, paramScale: 0.5 },
    { name: 'general_explicit_h3', heads: 3, nq: 16, nk: 16, dk: 16, dv: 16, da: 0, score: 'general', mask: 'explicit', seed: 3, scale: 1, paramScale: 0.5 },
    { name: 'additive_causal_h2', heads: 2, nq: 9, nk: 12, dk: 6, dv: 5, da: 7, score: 'additive', mask: 'causal', seed: 4, scale: 1, paramScale: 0.5 },
    { name: 'additive_explicit_h1', heads: 1, nq: 33, nk: 31, dk: 17, dv: 3, da: 20, score: 'additive', mask: 'explicit', seed: 5, scale: 2, paramScale: 0.5 },
    { name: 'dot_large_logits_n1024', heads: 1, nq: 64, nk: 1024, dk: 8, dv: 8, da: 0, score: 'dot', mask: 'none', seed: 6, scale: 20, paramScale: 0.5 },
    { name: 'scaled_long_n600', heads: 2, nq: 40, nk: 600, dk: 64, dv: 64, da: 0, score: 'scaled_dot', mask: 'causal', seed: 7, scale: 1, paramScale: 0.5 },
  ],
  multiHead: [
    { name: 'self_nobias_scaled', nq: 5, nk: 5, dModel: 8, heads: 2, cross: false, bias: false, score: 'scaled_dot', da: 0, mask: 'none', seed: 10, scale: 1, paramScale: 0.3 },
    { name: 'cross_bias_general_causal', nq: 4, nk: 6, dModel: 12, heads: 3, cross: true, bias: true, score: 'general', da: 0, mask: 'causal', seed: 11, scale: 1, paramScale: 0.3 },
    { name: 'cross_bias_additive_explicit', nq: 7, nk: 19, dModel: 16, heads: 4, cross: true, bias: true, score: 'additive', da: 5, mask: 'explicit', seed: 12, scale: 1, paramScale: 0.3 },
    { name: 'self_bias_dot_h1', nq: 18, nk: 18, dModel: 20, heads: 1, cross: false, bias: true, score: 'dot', da: 0, mask: 'causal', seed: 13, scale: 1, paramScale: 0.3 },
  ],
};

export const SHARED = existsSync(CASE_FILE);
export const CASES = SHARED ? JSON.parse(readFileSync(CASE_FILE, 'utf8')) : FALLBACK;

/** mulberry32: uniform floats in [0, 1) from a uint32 seed. */
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stream(seed) {
  const next = mulberry32(seed);
  return {
    floats(count, scale) {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = (2 * next() - 1) * scale;
      return out;
    },
    mask(count) {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = next() < 0.7 ? 1 : 0;
      return out;
    },
  };
}

function scoreParams(s, c, dk) {
  if (c.score === 'general') return { W: s.floats(dk * dk, c.paramScale) };
  if (c.score === 'additive') {
    return { Wq: s.floats(c.da * dk, c.paramScale), Wk: s.floats(c.da * dk, c.paramScale), v: s.floats(c.da, c.paramScale) };
  }
  return {};
}

const maskFor = (s, c) => (c.mask === 'explicit' ? s.mask(c.nq * c.nk) : c.mask);

/** The options of engine.attention() for an attention case. */
export function attentionInputs(c) {
  const s = stream(c.seed);
  const { heads = 1, nq, nk, dk, dv } = c;
  const query = s.floats(heads * nq * dk, c.scale);
  const key = s.floats(heads * nk * dk, c.scale);
  const value = s.floats(heads * nk * dv, c.scale);
  const params = scoreParams(s, c, dk);
  return { query, key, value, heads, nq, nk, dk, dv, score: c.score, ...params, mask: maskFor(s, c) };
}

/** The options of engine.multiHeadAttention() for a multiHead case. */
export function multiHeadInputs(c) {
  const s = stream(c.seed);
  const { nq, nk, dModel, heads } = c;
  const x = s.floats(nq * dModel, c.scale);
  const context = c.cross ? s.floats(nk * dModel, c.scale) : undefined;
  const mm = dModel * dModel;
  const [Wq, Wk, Wv, Wo] = [0, 1, 2, 3].map(() => s.floats(mm, c.paramScale));
  const biases = c.bias
    ? Object.fromEntries(['bq', 'bk', 'bv', 'bo'].map((name) => [name, s.floats(dModel, c.paramScale)]))
    : {};
  const params = scoreParams(s, c, dModel / heads);
  return {
    x, ...(context ? { context } : {}), nq, nk: c.cross ? nk : nq, dModel, heads, Wq, Wk, Wv, Wo, ...biases,
    score: c.score, ...(Object.keys(params).length ? { scoreParams: params } : {}), mask: maskFor(s, c),
  };
}
