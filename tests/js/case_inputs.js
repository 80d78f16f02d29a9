// Inputs of the shared cases (tests/cases/attention_cases.json), generated exactly as tests/cases/README.md
// says, so every backend and tests/cpp/case_inputs.h see the same numbers.
import { readFileSync } from 'node:fs';
import { mulberry32 } from '../../web/src/lib/random.js';

export { mulberry32 };

export const CASES = JSON.parse(readFileSync(new URL('../cases/attention_cases.json', import.meta.url), 'utf8'));

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

function maskFor(s, c) {
  return c.mask === 'explicit' ? s.mask(c.nq * c.nk) : c.mask;
}

/** The options of engine.attention() for an attention case. */
export function attentionInputs(c) {
  const s = stream(c.seed);
  const { heads, nq, nk, dk, dv } = c;
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
    x, ...(context ? { context } : {}), nq, nk, dModel, heads, Wq, Wk, Wv, Wo, ...biases, score: c.score,
    ...(Object.keys(params).length ? { scoreParams: params } : {}), mask: maskFor(s, c),
  };
}
