// The backward calls against an independent oracle: TF.js (tfjs-core + tfjs-backend-cpu, float32) builds the
// same graphs (attention per score function and mask, the multi-head layer, self and cross) and takes their
// gradients with tf.grads of L = sum(output * dOutput). Bound: for every gradient tensor, the max abs error
// <= 1e-4 of the largest |gradient| in it (issue 16). The worst ratio measured is printed at the end.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { createEngine } from '../../web/src/lib/index.js';

const BOUND = 1e-4;
const worst = { ratio: 0, where: '' };

/** A deterministic Float32Array of n values in [-scale, scale] (an LCG; the oracle sees the same floats). */
function values(n, seed, scale = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** allowed [Tq][Tk] as 0/1 for 'none', 'causal' (j <= i + nk - nq) and an explicit mask whose row 1 is empty. */
function allowedOf(mask, nq, nk) {
  const a = new Uint8Array(nq * nk);
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nk; j++) {
      if (mask === 'none') a[i * nk + j] = 1;
      else if (mask === 'causal') a[i * nk + j] = j <= i + (nk - nq) ? 1 : 0;
      else a[i * nk + j] = i === 1 ? 0 : (i * 7 + j * 3) % 4 !== 0 ? 1 : 0;
    }
  }
  return a;
}

/**
 * The oracle's attention for tensors q [H,Tq,D], k [H,Tk,D], v [H,Tk,Dv]: masked softmax over keys computed as
 * exp(s - m) * allowed / l, with l replaced by 1 where a row has no allowed key (its output is then 0, the
 * engine's definition; a softmax of -Infinity would be NaN there).
 */
function tfAttention(q, k, v, score, params, allowed, nq, nk) {
  const [heads, , dk] = q.shape;
  let s;
  if (score === 'additive') {
    const hq = tf.reshape(tf.matMul(tf.reshape(q, [heads * nq, dk]), params.Wq, false, true), [heads, nq, 1, -1]);
    const hk = tf.reshape(tf.matMul(tf.reshape(k, [heads * nk, dk]), params.Wk, false, true), [heads, 1, nk, -1]);
    s = tf.sum(tf.mul(tf.tanh(tf.add(hq, hk)), params.v), -1);
  } else {
    const qt = score === 'general' ? tf.reshape(tf.matMul(tf.reshape(q, [heads * nq, dk]), params.W), [heads, nq, dk]) : q;
    s = tf.matMul(qt, k, false, true);
    if (score === 'scaled_dot') s = tf.div(s, Math.sqrt(dk));
  }
  const allowedB = tf.tensor(allowed, [1, nq, nk], 'bool');
  const allowedF = tf.cast(allowedB, 'float32');
  const m = tf.max(tf.where(tf.broadcastTo(allowedB, s.shape), s, tf.fill(s.shape, -3e38)), -1, true);
  const e = tf.mul(tf.exp(tf.where(tf.broadcastTo(allowedB, s.shape), tf.sub(s, m), tf.zerosLike(s))), allowedF);
  const l = tf.sum(e, -1, true);
  const empty = new Float32Array(nq);  // 1 for a row with no allowed key
  for (let i = 0; i < nq; i++) empty[i] = allowed.subarray(i * nk, (i + 1) * nk).some((a) => a) ? 0 : 1;
  const p = tf.div(e, tf.add(l, tf.tensor(empty, [1, nq, 1])));
  return tf.matMul(p, v);
}

/** Checks every named gradient (engine's Float32Array vs the oracle's tensor) against the bound. */
function expectClose(got, want, where) {
  const maxAbs = (a) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const callScale = Math.max(...Object.values(want).map((t) => maxAbs(t.dataSync())));
  for (const [name, tensor] of Object.entries(want)) {
    const w = tensor.dataSync();
    const g = got[name];
    expect(g, `${where} ${name}`).toBeInstanceOf(Float32Array);
    expect(g.length, `${where} ${name}`).toBe(w.length);
    let err = 0, scale = 0;
    for (let i = 0; i < w.length; i++) {
      err = Math.max(err, Math.abs(g[i] - w[i]));
      scale = Math.max(scale, Math.abs(w[i]));
    }
    // A gradient that is 0 in exact arithmetic (dbk of the dot-product scores: a shift of every key adds the
    // same to each score of a row) is float noise on both sides, below 1e-6 of the call's largest gradient:
    // it is measured against that instead of its own.
    const ratio = err / (scale < 1e-6 * callScale ? callScale : scale);
    if (ratio > worst.ratio) Object.assign(worst, { ratio, where: `${where} ${name}` });
    expect(ratio, `${where} ${name}: max abs error ${err} of max |gradient| ${scale}`).toBeLessThanOrEqual(BOUND);
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterAll(() => {
  console.log(`backward oracle: worst max abs error / max |gradient| = ${worst.ratio.toExponential(2)} (${worst.where})`);
});

const SCORES = ['dot', 'scaled_dot', 'general', 'additive'];
const MASKS = ['none', 'causal', 'explicit'];

for (const simd of [true, false]) {
  describe(`gradients against TF.js, ${simd ? 'SIMD' : 'scalar'} build`, () => {
    let engine;
    beforeAll(async () => {
      engine = await createEngine({ backend: 'wasm', simd });
    });

    for (const score of SCORES) {
      for (const mask of MASKS) {
        // causal with nq > nk: the first rows see no key; 9 x 13 x 5 crosses the SIMD tiles' edges.
        for (const [nq, nk] of [[5, 3], [9, 13]]) {
          it(`attentionBackward ${score}, ${mask}, nq=${nq}, nk=${nk}`, async () => {
            const heads = 2, dk = 5, dv = 6, da = 4;
            const query = values(heads * nq * dk, 1), key = values(heads * nk * dk, 2);
            const value = values(heads * nk * dv, 3), dOutput = values(heads * nq * dv, 4);
            const params = {};
            if (score === 'general') params.W = values(dk * dk, 5, 0.7);
            if (score === 'additive') Object.assign(params, { Wq: values(da * dk, 6), Wk: values(da * dk, 7), v: values(da, 8) });
            const allowed = allowedOf(mask, nq, nk);
            const engineMask = mask === 'explicit' ? allowed : mask;
            const got = await engine.attentionBackward({
              query, key, value, heads, nq, nk, dk, dv, score, ...params, mask: engineMask, dOutput,
            });
            const names = ['q', 'k', 'v', ...Object.keys(params)];
            const tensors = [
              tf.tensor(query, [heads, nq, dk]), tf.tensor(key, [heads, nk, dk]), tf.tensor(value, [heads, nk, dv]),
              ...Object.keys(params).map((n) => tf.tensor(params[n], n === 'W' ? [dk, dk] : n === 'v' ? [da] : [da, dk])),
            ];
            const dOut = tf.tensor(dOutput, [heads, nq, dv]);
            const grads = tf.grads((...xs) => {
              const p = Object.fromEntries(names.slice(3).map((n, i) => [n, xs[3 + i]]));
              return tf.sum(tf.mul(tfAttention(xs[0], xs[1], xs[2], score, p, allowed, nq, nk), dOut));
            })(tensors);
            const rename = { q: 'dQuery', k: 'dKey', v: 'dValue', W: 'dW', Wq: 'dWq', Wk: 'dWk' };
            const want = Object.fromEntries(names.map((n, i) => [n === 'v' && i > 2 ? 'dv' : rename[n], grads[i]]));
            expectClose(got, want, `${simd ? 'simd' : 'scalar'} ${score} ${mask} ${nq}x${nk}`);
            for (const n of ['dW', 'dWq', 'dWk', 'dv']) if (!(n in want)) expect(got[n]).toBeNull();
            tf.dispose([...tensors, dOut, ...grads]);
          });
        }
      }
    }

    for (const score of SCORES) {
      for (const [self, mask] of [[true, 'causal'], [false, 'explicit'], [true, 'none']]) {
        it(`multiHeadAttentionBackward ${score}, ${self ? 'self' : 'cross'}, ${mask}`, async () => {
          const nq = 5, nk = self ? 5 : 7, dModel = 12, heads = 3, dh = 4, da = 3;
          const x = values(nq * dModel, 11), context = self ? undefined : values(nk * dModel, 12);
          const W = {};
          for (const [i, n] of ['Wq', 'Wk', 'Wv', 'Wo'].entries()) W[n] = values(dModel * dModel, 20 + i, 0.5);
          for (const [i, n] of ['bq', 'bk', 'bv', 'bo'].entries()) W[n] = values(dModel, 30 + i, 0.2);
          const scoreParams = {};
          if (score === 'general') scoreParams.W = values(dh * dh, 40, 0.7);
          if (score === 'additive') Object.assign(scoreParams, { Wq: values(da * dh, 41), Wk: values(da * dh, 42), v: values(da, 43) });
          const allowed = allowedOf(mask, nq, nk);
          const dOutput = values(nq * dModel, 50);
          const got = await engine.multiHeadAttentionBackward({
            x, ...(self ? {} : { context, nk }), nq, dModel, heads, ...W, score, scoreParams,
            mask: mask === 'explicit' ? allowed : mask, dOutput,
          });
          expect(got.dContext === null).toBe(self);
          const names = ['x', ...(self ? [] : ['context']), 'Wq', 'Wk', 'Wv', 'Wo', 'bq', 'bk', 'bv', 'bo', ...Object.keys(scoreParams).map((n) => `s.${n}`)];
          const data = { x, context, ...W, ...Object.fromEntries(Object.entries(scoreParams).map(([n, a]) => [`s.${n}`, a])) };
          const shapeOf = (n) => ({ x: [nq, dModel], context: [nk, dModel], 's.W': [dh, dh], 's.Wq': [da, dh], 's.Wk': [da, dh], 's.v': [da] }[n] ??
            (n.startsWith('W') ? [dModel, dModel] : [dModel]));
          const tensors = names.map((n) => tf.tensor(data[n], shapeOf(n)));
          const dOut = tf.tensor(dOutput, [nq, dModel]);
          const split = (t, n) => tf.transpose(tf.reshape(t, [n, heads, dh]), [1, 0, 2]);
          const grads = tf.grads((...xs) => {
            const t = Object.fromEntries(names.map((n, i) => [n, xs[i]]));
            const ctx = self ? t.x : t.context;
            const Q = tf.add(tf.matMul(t.x, t.Wq), t.bq), K = tf.add(tf.matMul(ctx, t.Wk), t.bk);
            const V = tf.add(tf.matMul(ctx, t.Wv), t.bv);
            const p = { W: t['s.W'], Wq: t['s.Wq'], Wk: t['s.Wk'], v: t['s.v'] };
            const O = tfAttention(split(Q, nq), split(K, nk), split(V, nk), score, p, allowed, nq, nk);
            const concat = tf.reshape(tf.transpose(O, [1, 0, 2]), [nq, dModel]);
            return tf.sum(tf.mul(tf.add(tf.matMul(concat, t.Wo), t.bo), dOut));
          })(tensors);
          const flat = { ...got, ...Object.fromEntries(Object.entries(got.scoreParams).map(([n, a]) => [`s.${n}`, a])) };
          const rename = { x: 'dx', context: 'dContext', Wq: 'dWq', Wk: 'dWk', Wv: 'dWv', Wo: 'dWo', bq: 'dbq', bk: 'dbk', bv: 'dbv', bo: 'dbo' };
          const want = Object.fromEntries(names.map((n, i) => [rename[n] ?? `s.d${n.slice(2)}`, grads[i]]));
          const gotNamed = Object.fromEntries(Object.keys(want).map((n) => [n, flat[n]]));
          expectClose(gotNamed, want, `${simd ? 'simd' : 'scalar'} MHA ${score} ${self ? 'self' : 'cross'} ${mask}`);
          tf.dispose([...tensors, dOut, ...grads]);
        });
      }
    }
  });
}
