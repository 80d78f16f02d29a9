// A plain JS reference of attention in double precision, written for reading; an oracle independent of
// the C++ reference (and of every backend). Layouts as in wasm/include/attn/attention.h.

function score(kind, q, qo, k, ko, dk, p) {
  if (kind === 'additive') {
    let s = 0;
    for (let a = 0; a < p.v.length; a++) {
      let h = 0;
      for (let i = 0; i < dk; i++) h += p.Wq[a * dk + i] * q[qo + i] + p.Wk[a * dk + i] * k[ko + i];
      s += p.v[a] * Math.tanh(h);
    }
    return s;
  }
  let s = 0;
  if (kind === 'general') {
    for (let i = 0; i < dk; i++) {
      let wk = 0;
      for (let j = 0; j < dk; j++) wk += p.W[i * dk + j] * k[ko + j];
      s += q[qo + i] * wk;
    }
    return s;
  }
  for (let i = 0; i < dk; i++) s += q[qo + i] * k[ko + i];
  return kind === 'scaled_dot' ? s / Math.sqrt(dk) : s;
}

function allows(mask, i, j, nq, nk) {
  if (mask === undefined || mask === 'none') return true;
  if (mask === 'causal') return j <= i + (nk - nq);
  return mask[i * nk + j] === 1;
}

/**
 * out [H][Tq][Dv], weights [H][Tq][Tk] and scores [H][Tq][Tk] (pass 1: the masked scores, -Infinity where
 * masked) as Float64Arrays.
 */
export function attentionReference(o) {
  const { heads = 1, nq, nk, dk, dv, score: kind = 'scaled_dot', mask } = o;
  const out = new Float64Array(heads * nq * dv);
  const weights = new Float64Array(heads * nq * nk);
  const scores = new Float64Array(heads * nq * nk);
  const s = new Float64Array(nk);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nq; i++) {
      // pass 1: masked scores and their maximum
      let max = -Infinity;
      for (let j = 0; j < nk; j++) {
        s[j] = allows(mask, i, j, nq, nk)
          ? score(kind, o.query, (h * nq + i) * dk, o.key, (h * nk + j) * dk, dk, o) : -Infinity;
        if (s[j] > max) max = s[j];
        scores[(h * nq + i) * nk + j] = s[j];
      }
      if (max === -Infinity) continue; // no allowed key: zero weights, zero output
      // pass 2: exponentials and their sum
      let sum = 0;
      for (let j = 0; j < nk; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
      // pass 3: weights and the weighted sum of values
      for (let j = 0; j < nk; j++) {
        const w = s[j] / sum;
        weights[(h * nq + i) * nk + j] = w;
        for (let c = 0; c < dv; c++) out[(h * nq + i) * dv + c] += w * o.value[(h * nk + j) * dv + c];
      }
    }
  }
  return { output: out, weights, scores };
}

function dense(x, rows, W, b, n) {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < n; c++) {
      let acc = b ? b[c] : 0;
      for (let i = 0; i < n; i++) acc += x[r * n + i] * W[i * n + c];
      y[r * n + c] = acc;
    }
  }
  return y;
}

function splitHeads(m, rows, heads, dh) {
  const out = new Float64Array(rows * heads * dh);
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < dh; c++) out[(h * rows + r) * dh + c] = m[r * heads * dh + h * dh + c];
    }
  }
  return out;
}

/** Multi-head attention in double: out [Tq][M], weights [H][Tq][Tk]. */
export function multiHeadReference(o) {
  const { nq, dModel: m, heads } = o;
  const context = o.context ?? o.x;
  const nk = o.context ? o.nk : nq;
  const dh = m / heads;
  const q = splitHeads(dense(o.x, nq, o.Wq, o.bq, m), nq, heads, dh);
  const k = splitHeads(dense(context, nk, o.Wk, o.bk, m), nk, heads, dh);
  const v = splitHeads(dense(context, nk, o.Wv, o.bv, m), nk, heads, dh);
  const r = attentionReference({
    query: q, key: k, value: v, heads, nq, nk, dk: dh, dv: dh, score: o.score, mask: o.mask, ...(o.scoreParams ?? {}),
  });
  const merged = new Float64Array(nq * m);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nq; i++) {
      for (let c = 0; c < dh; c++) merged[i * m + h * dh + c] = r.output[(h * nq + i) * dh + c];
    }
  }
  return { output: dense(merged, nq, o.Wo, o.bo, m), weights: r.weights };
}

/** max |a - b| / (max |b| + tiny): the error relative to the magnitude of the values. */
export function relativeError(a, b) {
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(b[i]));
  }
  return diff / Math.max(mag, 1e-30);
}

export function maxAbsError(a, b) {
  let diff = 0;
  for (let i = 0; i < b.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff;
}
