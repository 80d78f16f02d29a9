// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive dims, M model dims.
//
// A double-precision JS reference of attention and multi-head attention for the WebGPU tests, written
// for reading but fast enough for the long cases (n = 4096): score parameters are applied once per row
// (general: q' = q W; additive: Qa = Wq q, Ka = Wk k), all in double, so a case costs
// H*Tq*Tk*(D + Dv) (additive: H*Tq*Tk*(A + Dv)) operations. Independent of tests/js/reference.js and of
// every backend. Layouts as in wasm/include/attn/attention.h.

function allows(mask, i, j, nq, nk) {
  if (mask === undefined || mask === 'none') return true;
  if (mask === 'causal') return j <= i + (nk - nq);
  return mask[i * nk + j] === 1;
}

// rows [R][n] . W^T where W [m][n]  ->  [R][m], in double
function timesTransposed(x, rows, n, W, m) {
  const y = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    for (let a = 0; a < m; a++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += x[r * n + c] * W[a * n + c];
      y[r * m + a] = s;
    }
  }
  return y;
}

// rows [R][n] . W where W [n][m]  (+ b [m])  ->  [R][m], in double
function times(x, rows, n, W, m, b = null) {
  const y = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    const yr = r * m;
    if (b) for (let c = 0; c < m; c++) y[yr + c] = b[c];
    for (let k = 0; k < n; k++) {
      const xv = x[r * n + k];
      for (let c = 0; c < m; c++) y[yr + c] += xv * W[k * m + c];
    }
  }
  return y;
}

/**
 * out [H][Tq][Dv] and weights [H][Tq][Tk] as Float64Arrays, for the options of engine.attention().
 */
export function attentionDouble(o) {
  const { heads = 1, nq, nk, dk, dv, score = 'scaled_dot', mask } = o;
  const out = new Float64Array(heads * nq * dv);
  const weights = new Float64Array(heads * nq * nk);
  // Score parameters applied once: general q' = q W; additive Qa = q Wq^T, Ka = k Wk^T.
  let q = o.query;
  let qa = null;
  let ka = null;
  const da = score === 'additive' ? o.v.length : 0;
  if (score === 'general') q = times(o.query, heads * nq, dk, o.W, dk);
  if (score === 'additive') {
    qa = timesTransposed(o.query, heads * nq, dk, o.Wq, da);
    ka = timesTransposed(o.key, heads * nk, dk, o.Wk, da);
  }
  const scale = score === 'scaled_dot' ? 1 / Math.sqrt(dk) : 1;
  const s = new Float64Array(nk);
  const ok = new Uint8Array(nk);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nq; i++) {
      const row = h * nq + i;
      // pass 1: masked scores and their maximum
      let max = -Infinity;
      for (let j = 0; j < nk; j++) {
        ok[j] = allows(mask, i, j, nq, nk) ? 1 : 0;
        if (!ok[j]) continue;
        const col = h * nk + j;
        let x = 0;
        if (score === 'additive') {
          for (let a = 0; a < da; a++) x += o.v[a] * Math.tanh(qa[row * da + a] + ka[col * da + a]);
        } else {
          for (let c = 0; c < dk; c++) x += q[row * dk + c] * o.key[col * dk + c];
          x *= scale;
        }
        s[j] = x;
        if (x > max) max = x;
      }
      if (max === -Infinity) continue;  // no allowed key: zero weights, zero output
      // pass 2: exponentials and their sum
      let sum = 0;
      for (let j = 0; j < nk; j++) {
        s[j] = ok[j] ? Math.exp(s[j] - max) : 0;
        sum += s[j];
      }
      // pass 3: weights and the weighted sum of values
      for (let j = 0; j < nk; j++) {
        if (!ok[j]) continue;
        const w = s[j] / sum;
        weights[row * nk + j] = w;
        const vj = (h * nk + j) * dv;
        for (let c = 0; c < dv; c++) out[row * dv + c] += w * o.value[vj + c];
      }
    }
  }
  return { output: out, weights };
}

/** Multi-head attention in double: out [Tq][M], weights [H][Tq][Tk], for engine.multiHeadAttention() options. */
export function multiHeadDouble(o) {
  const { nq, dModel: m, heads } = o;
  const context = o.context ?? o.x;
  const nk = o.context ? o.nk : nq;
  const dh = m / heads;
  const split = (y, rows) => {
    const out = new Float64Array(rows * m);
    for (let h = 0; h < heads; h++) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < dh; c++) out[(h * rows + r) * dh + c] = y[r * m + h * dh + c];
      }
    }
    return out;
  };
  const r = attentionDouble({
    query: split(times(o.x, nq, m, o.Wq, m, o.bq), nq), key: split(times(context, nk, m, o.Wk, m, o.bk), nk),
    value: split(times(context, nk, m, o.Wv, m, o.bv), nk), heads, nq, nk, dk: dh, dv: dh, score: o.score,
    mask: o.mask, ...(o.scoreParams ?? {}),
  });
  const merged = new Float64Array(nq * m);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nq; i++) {
      for (let c = 0; c < dh; c++) merged[i * m + h * dh + c] = r.output[(h * nq + i) * dh + c];
    }
  }
  return { output: times(merged, nq, m, o.Wo, m, o.bo), weights: r.weights };
}

/** max |a - b| / max |b|: the error relative to the magnitude of the values (0 when both are all zero). */
export { relativeError } from './reference.js';
