// The widget's pure derivations (web/src/widget/derive.js) on small hand-worked matrices: one head, the mean
// over heads, attention rollout (its order of multiplication included) and pieces merged into words.
import { describe, it, expect } from 'vitest';
import {
  displayPiece, headMatrix, meanHeads, rollout, wordGroups, mergeWords, selectShown,
} from '../../../web/src/widget/derive.js';

/** A layer { heads, nq, nk, weights [H][nq][nk] } from nested arrays [h][i][j]. */
function layer(w, pieces) {
  const heads = w.length;
  const nq = w[0].length;
  const nk = w[0][0].length;
  return {
    name: 'L', heads, nq, nk, weights: Float32Array.from(w.flat(2)),
    queryPieces: pieces ?? Array.from({ length: nq }, (_, i) => `▁t${i}`),
    keyPieces: pieces ?? Array.from({ length: nk }, (_, j) => `▁t${j}`),
  };
}

function expectClose(actual, expected, digits = 6) {
  expect(actual.length).toBe(expected.length);
  Array.from(actual).forEach((v, i) => expect(v, `index ${i}`).toBeCloseTo(expected[i], digits));
}

describe('displayPiece', () => {
  it('drops the word mark, marks continuations, keeps a lone mark', () => {
    expect(displayPiece('▁word')).toBe('word');
    expect(displayPiece('ing')).toBe('##ing');
    expect(displayPiece('▁')).toBe('▁');
  });
});

describe('headMatrix and meanHeads', () => {
  const L = layer([[[1, 0], [0.25, 0.75]], [[0.5, 0.5], [0, 1]]]);
  it('headMatrix is one head, as a copy', () => {
    const m = headMatrix(L, 1);
    expectClose(m, [0.5, 0.5, 0, 1]);
    m[0] = 9;
    expect(L.weights[4]).toBe(0.5);
  });
  it('meanHeads is (1/H) sum_h W_h', () => {
    expectClose(meanHeads(L), [0.75, 0.25, 0.125, 0.875]);
  });
});

describe('rollout', () => {
  // A_l = 0.5 mean_h(W_l) + 0.5 I (rows renormalised); R = A_upTo ... A_0.
  const L0 = layer([[[1, 0], [1, 0]]]);  // A0 = [[1, 0], [0.5, 0.5]]
  const L1 = layer([[[0, 1], [0, 1]]]);  // A1 = [[0.5, 0.5], [0, 1]]
  it('through layer 0 is A_0', () => {
    expectClose(rollout([L0, L1], 0), [1, 0, 0.5, 0.5]);
  });
  it('through layer 1 is A_1 · A_0, not A_0 · A_1', () => {
    // A1·A0 = [[0.5 + 0.25, 0.25], [0.5, 0.5]]; A0·A1 would be [[0.5, 0.5], [0.25, 0.75]].
    expectClose(rollout([L0, L1], 1), [0.75, 0.25, 0.5, 0.5]);
  });
  it('averages heads first and keeps rows summing to one', () => {
    const two = layer([[[0.8, 0.2], [0.4, 0.6]], [[0.8, 0.2], [0.4, 0.6]]]);
    // A = [[0.9, 0.1], [0.2, 0.8]]; A·A = [[0.83, 0.17], [0.34, 0.66]].
    expectClose(rollout([two, two], 1), [0.83, 0.17, 0.34, 0.66]);
  });
  it('renormalises rows that do not sum to one (masked or rounded weights)', () => {
    const L = layer([[[0.5, 0], [0, 0.5]]]);  // 0.5 W + 0.5 I = [[0.75, 0], [0, 0.75]] -> identity
    expectClose(rollout([L], 0), [1, 0, 0, 1]);
  });
  it('is null for layers that are not square and of one size', () => {
    const cross = layer([[[0.5, 0.25, 0.25], [0, 0, 1]]]);
    expect(rollout([cross], 0)).toBeNull();
  });
});

describe('wordGroups and mergeWords', () => {
  const pieces = ['▁The', '▁un', 'believ', 'able', '▁end'];
  it('groups pieces into words at the word mark', () => {
    expect(wordGroups(pieces)).toEqual([[0], [1, 2, 3], [4]]);
    expect(wordGroups(['a', '▁b'])).toEqual([[0], [1]]);
  });
  it('sums attention to a word over its pieces and averages attention from a word', () => {
    // 5x5 rows: row i puts 1 on key (i + 1) mod 5.
    const n = 5;
    const m = new Float32Array(n * n);
    for (let i = 0; i < n; i++) m[i * n + ((i + 1) % n)] = 1;
    const merged = mergeWords(m, n, n, pieces, pieces);
    expect(merged.rows).toBe(3);
    expect(merged.cols).toBe(3);
    expect(merged.queryLabels).toEqual(['The', 'unbelievable', 'end']);
    // The -> un (word 1); un -> believ, believ -> able (word 1), able -> end (word 2); end -> The (word 0).
    expectClose(merged.matrix, [0, 1, 0, 0, 2 / 3, 1 / 3, 1, 0, 0]);
    for (let a = 0; a < 3; a++) {
      const sum = merged.matrix.slice(a * 3, a * 3 + 3).reduce((s, v) => s + v, 0);
      expect(sum).toBeCloseTo(1, 6);
    }
  });
});

describe('selectShown', () => {
  const L = layer([[[1, 0], [0.25, 0.75]], [[0.5, 0.5], [0, 1]]], ['▁a', 'b']);
  const result = { layers: [L, L] };
  it('clamps layer and head and shows the head', () => {
    const s = selectShown(result, { layer: 7, head: -2, aggregate: 'head' });
    expect([s.layer, s.head, s.aggregate, s.rows, s.cols]).toEqual([1, 0, 'head', 2, 2]);
    expectClose(s.matrix, [1, 0, 0.25, 0.75]);
    expect(s.queryLabels).toEqual(['a', '##b']);
  });
  it('mean, rollout, and merge', () => {
    expectClose(selectShown(result, { layer: 0, aggregate: 'mean' }).matrix, [0.75, 0.25, 0.125, 0.875]);
    const roll = selectShown(result, { layer: 1, aggregate: 'rollout' });
    expect(roll.aggregate).toBe('rollout');
    expectClose(roll.matrix, rollout([L, L], 1));
    const merged = selectShown(result, { layer: 0, head: 0, merge: true });
    expect(merged).toMatchObject({ merged: true, rows: 1, cols: 1, queryLabels: ['ab'] });
    expectClose(merged.matrix, [1]);
  });
  it('falls back to the mean when rollout is not defined (cross-attention)', () => {
    const cross = layer([[[0.5, 0.25, 0.25], [0, 0, 1]]]);
    const s = selectShown({ layers: [cross] }, { layer: 0, aggregate: 'rollout' });
    expect(s.aggregate).toBe('mean');
    expectClose(s.matrix, [0.5, 0.25, 0.25, 0, 0, 1]);
  });
});
