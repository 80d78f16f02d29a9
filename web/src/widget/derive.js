// Pure functions from a computed result to the matrix a view shows: one head, the mean over heads,
// attention rollout across layers, and pieces merged into words. Size letters: H heads, nq, nk tokens.

/** Display text of a SentencePiece piece: '▁word' -> 'word', a continuation 'ing' -> '##ing'. */
export function displayPiece(piece) {
  const p = String(piece);
  if (p === '▁') return '▁';
  if (p.startsWith('▁')) return p.slice(1);
  return `##${p}`;
}

/** Weights [nq][nk] of head h of a layer { heads, nq, nk, weights [H][nq][nk] } (a copy). */
export function headMatrix(layer, h) {
  const size = layer.nq * layer.nk;
  return layer.weights.slice(h * size, (h + 1) * size);
}

/** Mean over heads: [nq][nk] = (1/H) sum_h W_h. */
export function meanHeads(layer) {
  const size = layer.nq * layer.nk;
  const out = new Float32Array(size);
  for (let h = 0; h < layer.heads; h++) {
    for (let i = 0; i < size; i++) out[i] += layer.weights[h * size + i];
  }
  for (let i = 0; i < size; i++) out[i] /= layer.heads;
  return out;
}

/**
 * Attention rollout (Abnar & Zuidema 2020) through layers 0..upTo of square layers:
 * A_l = 0.5 * mean_h(W_l) + 0.5 * I, rows renormalised; R = A_upTo · ... · A_0.
 * Returns null when the layers are not square and of one size.
 */
export function rollout(layers, upTo) {
  const n = layers[0].nq;
  if (layers.slice(0, upTo + 1).some((l) => l.nq !== n || l.nk !== n)) return null;
  let R = null;
  for (let l = 0; l <= upTo; l++) {
    const M = meanHeads(layers[l]);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        A[i * n + j] = 0.5 * M[i * n + j] + (i === j ? 0.5 : 0);
        sum += A[i * n + j];
      }
      if (sum > 0) for (let j = 0; j < n; j++) A[i * n + j] /= sum;
    }
    if (!R) {
      R = A;
      continue;
    }
    const next = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const a = A[i * n + k];
        if (a === 0) continue;
        for (let j = 0; j < n; j++) next[i * n + j] += a * R[k * n + j];
      }
    }
    R = next;
  }
  return Float32Array.from(R);
}

/** Groups of piece indices, one per word: a word starts at a piece beginning with '▁'. */
export function wordGroups(pieces) {
  const groups = [];
  pieces.forEach((piece, i) => {
    if (groups.length === 0 || String(piece).startsWith('▁')) groups.push([i]);
    else groups[groups.length - 1].push(i);
  });
  return groups;
}

/**
 * Merges pieces into words (Clark et al. 2019): attention *to* a word is the sum over its pieces,
 * attention *from* a word is the mean over its pieces, so rows still sum to one.
 */
export function mergeWords(matrix, nq, nk, queryPieces, keyPieces) {
  const qg = wordGroups(queryPieces);
  const kg = wordGroups(keyPieces);
  const out = new Float32Array(qg.length * kg.length);
  qg.forEach((rows, a) => {
    kg.forEach((cols, b) => {
      let s = 0;
      for (const i of rows) for (const j of cols) s += matrix[i * nk + j];
      out[a * kg.length + b] = s / rows.length;
    });
  });
  const join = (pieces) => (g) => g.map((i) => String(pieces[i]).replace(/^▁/, '')).join('');
  return { matrix: out, rows: qg.length, cols: kg.length, queryLabels: qg.map(join(queryPieces)), keyLabels: kg.map(join(keyPieces)) };
}

/**
 * The matrix on screen for a result and a view state { layer, head, aggregate: 'head'|'mean'|'rollout',
 * merge: boolean }: { layer, head, aggregate, merged, rows, cols, queryLabels, keyLabels, matrix }.
 */
export function selectShown(result, state) {
  const layers = result.layers;
  const layer = Math.min(Math.max(0, state.layer | 0), layers.length - 1);
  const L = layers[layer];
  const head = Math.min(Math.max(0, state.head | 0), L.heads - 1);
  let aggregate = state.aggregate === 'mean' || state.aggregate === 'rollout' ? state.aggregate : 'head';
  let matrix;
  if (aggregate === 'rollout') {
    matrix = rollout(layers, layer);
    if (!matrix) aggregate = 'mean';
  }
  if (aggregate === 'mean') matrix = meanHeads(L);
  if (aggregate === 'head') matrix = headMatrix(L, head);
  let shown = {
    layer, head, aggregate, merged: false, rows: L.nq, cols: L.nk,
    queryLabels: L.queryPieces.map(displayPiece), keyLabels: L.keyPieces.map(displayPiece), matrix,
  };
  if (state.merge) {
    const m = mergeWords(matrix, L.nq, L.nk, L.queryPieces, L.keyPieces);
    shown = { ...shown, merged: true, ...m };
  }
  return shown;
}
