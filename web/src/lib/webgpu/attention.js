// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive dims, M model dims, Dh = M/H.
//
// Encoders of attention and multi-head attention on WebGPU, over the programs in this folder:
//   matmul.wgsl          C = alpha A.op(B) + bias   (QK^T, weights.V, q.W, projections, dense layers)
//   additive_scores.wgsl S = v^T tanh(Qa_i + Ka_j)
//   softmax.wgsl         masked, stable softmax of S in place
//   flash_attention.wgsl fused scores + online softmax + weighted sum, no [Tq][Tk] buffer
// Operands are "views" { buffer, offset, head, row } (floats): a [H][T][D] tensor has head = T*D, row = D;
// head h of a [T][M] projection has offset 0, head = Dh, row = M (read and written in place).

export const TILE = 16;               // workgroup side of every tiled program (override TILE)
const MATMUL_BLOCK = TILE * 4;        // matmul.wgsl: TILE x TILE invocations, 4 x 4 outputs each (WPT)
export const SOFTMAX_WG = 64;         // invocations per softmax row (override WG)
export const FLASH_MAX_DV = TILE * 16; // flash_attention keeps Dv / TILE accumulators per invocation
/** Fused kernel from this many keys on (flash: 'auto'), or whenever the scores would not fit a buffer. */
export const FLASH_MIN_KEYS = 256;

/** Every pipeline variant the encoders use: compiled once, when the backend is created. */
export const VARIANTS = [
  ['matmul', { TILE, TRANS_B: false }],
  ['matmul', { TILE, TRANS_B: true }],
  ['softmax', { WG: SOFTMAX_WG }],
  ['additive_scores', { TILE }],
  ['flash_attention', { TILE }],
  // dense layers and layer norm of the model (layers.js)
  ['matmul', { TILE, TRANS_B: false, ACT: 1 }],
  ['matmul', { TILE, TRANS_B: false, ACT: 2 }],
  ['layer_norm', { WG: SOFTMAX_WG }],
  // the model's forward pass (model/gpu_encoder.js)
  ['add', { WG: SOFTMAX_WG }],
  ['mean_pool', { WG: SOFTMAX_WG }],
];

import { SCORES, MASKS, maskAllows, scoreScale } from '../spec.js';

const ceil = (a, b) => Math.ceil(a / b);
const contiguous = (buffer, rows, cols) => ({ buffer, offset: 0, head: rows * cols, row: cols });

/**
 * Encodes C = alpha * A . op(B) + bias for `batch` matrices; a, b, c are views (head = batch stride).
 * M rows, N columns, K inner; transB reads B as [N][K].
 */
export function encodeMatmul(run, name, { a, b, c, bias = null, batch = 1, M, N, K, transB = false, alpha = 1, act = 0 }) {
  const fn = run.name;
  run.rt.checkGroups(fn, `${name} (${M} rows)`, ceil(M, MATMUL_BLOCK));
  run.rt.checkGroups(fn, `${name} (${N} columns)`, ceil(N, MATMUL_BLOCK));
  run.rt.checkGroups(fn, `${name} (${batch} batches)`, batch);
  run.dispatch('matmul', act ? { TILE, TRANS_B: transB, ACT: act } : { TILE, TRANS_B: transB }, name, {
    M, N, K, has_bias: bias ? 1 : 0, alpha,
    a_offset: a.offset, a_batch: a.head, a_row: a.row,
    b_offset: b.offset, b_batch: b.head, b_row: b.row,
    c_offset: c.offset, c_batch: c.head, c_row: c.row,
  }, [a.buffer, b.buffer, bias ?? run.none(), c.buffer], [ceil(N, MATMUL_BLOCK), ceil(M, MATMUL_BLOCK), batch]);
}

/** Spreads `count` workgroups over a 2-D grid within the per-dimension limit. */
export function grid2d(run, count) {
  const max = run.rt.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [count, 1, 1];
  const y = ceil(count, max);
  run.rt.checkGroups(run.name, 'rows', y);
  return [ceil(count, y), y, 1];
}

/** Whether a call runs the fused kernel. */
export function useFlash(rt, { score, returnWeights, returnScores, dv, heads, nq, nk, kernel }, mode) {
  if (returnWeights || returnScores || score === 'additive' || dv > FLASH_MAX_DV || kernel === 'reference' || mode === 'never') {
    return false;
  }
  if (mode === 'always' || nk >= FLASH_MIN_KEYS) return true;
  return 4 * heads * nq * nk > Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
}

/**
 * Checks every buffer the core needs, before anything is allocated (RangeError naming it).
 * `prefix` names the scores in messages.
 */
export function checkCore(rt, fn, { heads, nq, nk, dk, score, da, returnWeights, returnScores }, flash) {
  if (returnScores) rt.checkBuffer(fn, 'scores', heads * nq * nk, 'heads*nq*nk');
  if (score === 'general') rt.checkBuffer(fn, "q' = q.W (score 'general')", heads * nq * dk, 'heads*nq*dk');
  if (!flash) {
    const why = returnWeights ? 'weights' : 'the scores (weights not requested, but the fused kernel does not apply)';
    rt.checkBuffer(fn, why, heads * nq * nk, 'heads*nq*nk');
    if (score === 'additive') {
      rt.checkBuffer(fn, "Qa = q.Wq^T (score 'additive')", heads * nq * da, 'heads*nq*da');
      rt.checkBuffer(fn, "Ka = k.Wk^T (score 'additive')", heads * nk * da, 'heads*nk*da');
    }
  }
}

/**
 * Encodes attention for views q [H][Tq][D], k [H][Tk][D], v [H][Tk][Dv] into view out [H][Tq][Dv].
 * params: { W, Wq, Wk, va } GPU buffers (or null), mask: GPU buffer of the explicit mask (or null).
 * Returns { weights, scores }: the buffers [H][Tq][Tk] of the weights when returnWeights and of the scores
 * before the softmax (unmasked) when returnScores, else null.
 */
export function encodeAttentionCore(run, { q, k, v, out, heads, nq, nk, dk, dv, da, score, maskKind, mask,
  params, returnWeights, returnScores = false, flash }) {
  // general: q' = q . W, then a dot product with k.
  if (score === 'general') {
    const qp = run.scratch('qW', heads * nq * dk);
    encodeMatmul(run, 'qW', { a: q, b: { buffer: params.W, offset: 0, head: 0, row: dk },
      c: contiguous(qp, nq, dk), batch: heads, M: nq, N: dk, K: dk });
    q = contiguous(qp, nq, dk);
  }
  const scale = scoreScale(score, dk);
  const maskBuffer = mask ?? run.none();

  if (flash) {
    run.rt.checkGroups(run.name, 'flash_attention (query tiles)', ceil(nq, TILE));
    run.rt.checkGroups(run.name, 'flash_attention (heads)', heads);
    run.dispatch('flash_attention', { TILE }, 'flash_attention', {
      nq, nk, dk, dv, mask_kind: MASKS[maskKind].code, scale,
      q_offset: q.offset, q_head: q.head, q_row: q.row,
      k_offset: k.offset, k_head: k.head, k_row: k.row,
      v_offset: v.offset, v_head: v.head, v_row: v.row,
      o_offset: out.offset, o_head: out.head, o_row: out.row,
    }, [maskBuffer, q.buffer, k.buffer, v.buffer, out.buffer], [ceil(nq, TILE), heads, 1]);
    return { weights: null, scores: null };
  }

  // pass 1: scores S [H][Tq][Tk]
  const S = run.scratch(returnWeights ? 'weights' : 'scores', heads * nq * nk);
  if (score === 'additive') {
    const Qa = run.scratch('Qa', heads * nq * da);
    const Ka = run.scratch('Ka', heads * nk * da);
    encodeMatmul(run, 'Qa', { a: q, b: { buffer: params.Wq, offset: 0, head: 0, row: dk },
      c: contiguous(Qa, nq, da), batch: heads, M: nq, N: da, K: dk, transB: true });
    encodeMatmul(run, 'Ka', { a: k, b: { buffer: params.Wk, offset: 0, head: 0, row: dk },
      c: contiguous(Ka, nk, da), batch: heads, M: nk, N: da, K: dk, transB: true });
    run.rt.checkGroups(run.name, 'additive_scores', Math.max(ceil(nq, TILE), ceil(nk, TILE), heads));
    run.dispatch('additive_scores', { TILE }, 'additive_scores', { nq, nk, da },
      [Qa, Ka, params.va, S], [ceil(nk, TILE), ceil(nq, TILE), heads]);
  } else {
    encodeMatmul(run, 'QK^T', { a: q, b: k, c: contiguous(S, nq, nk), batch: heads, M: nq, N: nk, K: dk,
      transB: true, alpha: scale });
  }
  let scores = null;
  if (returnScores) {  // the scores before the softmax overwrites them (masked by the caller, maskScores)
    scores = run.scratch('scores', heads * nq * nk);
    run.copy(S, scores, heads * nq * nk);
  }
  // pass 2: masked softmax, in place
  run.dispatch('softmax', { WG: SOFTMAX_WG }, 'softmax',
    { nq, nk, rows: heads * nq, mask_kind: MASKS[maskKind].code }, [maskBuffer, S], grid2d(run, heads * nq));
  // pass 3: out = weights . V
  encodeMatmul(run, 'weights.V', { a: contiguous(S, nq, nk), b: v, c: out, batch: heads, M: nq, N: dv, K: nk });
  return { weights: returnWeights ? S : null, scores };
}

/**
 * Scores [H][Tq][Tk] read back from the score pass, with -Infinity where the mask forbids the key (WGSL has
 * no infinity, so the programs carry "allowed" beside each score; see mask.wgsl).
 */
function maskScores(scores, mask, heads, nq, nk) {
  if (mask.kind === 'none') return scores;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < nq; i++) {
      const row = (h * nq + i) * nk;
      for (let j = 0; j < nk; j++) if (!maskAllows(mask, i, j, nq, nk)) scores[row + j] = -Infinity;
    }
  }
  return scores;
}

/** The score function's parameters (spec.js SCORES[score].params) as GPU buffers; null where unused. */
function uploadParams(run, a) {
  const used = SCORES[a.score].params;
  const upload = (name) => (Object.hasOwn(used, name) ? run.upload(name, a[name]) : null);
  return { W: upload('W'), Wq: upload('Wq'), Wk: upload('Wk'), va: upload('v') };
}

/** attention(norm) -> { output, weights } (normalized arguments of docs/CONTRACTS.md). */
export async function attention(rt, withRun, a, flashMode) {
  const fn = 'attention';
  rt.checkAlive(fn);
  const { heads, nq, nk, dk, dv } = a;
  const flash = useFlash(rt, a, flashMode);
  rt.checkBuffer(fn, 'query', heads * nq * dk, 'heads*nq*dk');
  rt.checkBuffer(fn, 'key', heads * nk * dk, 'heads*nk*dk');
  rt.checkBuffer(fn, 'value', heads * nk * dv, 'heads*nk*dv');
  rt.checkBuffer(fn, 'output', heads * nq * dv, 'heads*nq*dv');
  checkCore(rt, fn, a, flash);
  const results = await withRun(rt, fn, (run) => {
    const q = run.upload('query', a.query);
    const k = run.upload('key', a.key);
    const v = run.upload('value', a.value);
    const out = run.scratch('output', heads * nq * dv);
    const { weights, scores } = encodeAttentionCore(run, {
      q: contiguous(q, nq, dk), k: contiguous(k, nk, dk), v: contiguous(v, nk, dv), out: contiguous(out, nq, dv),
      heads, nq, nk, dk, dv, da: a.da, score: a.score, maskKind: a.mask.kind,
      mask: a.mask.kind === 'explicit' ? run.upload('mask', a.mask.allowed) : null,
      params: uploadParams(run, a), returnWeights: a.returnWeights, returnScores: a.returnScores, flash,
    });
    run.read('output', out, heads * nq * dv);
    if (weights) run.read('weights', weights, heads * nq * nk);
    if (scores) run.read('scores', scores, heads * nq * nk);
  });
  const [output, ...rest] = results;
  return {
    output,
    weights: a.returnWeights ? rest.shift() : null,
    ...(a.returnScores ? { scores: maskScores(rest.shift(), a.mask, heads, nq, nk) } : {}),
  };
}

/** multiHeadAttention(norm) -> { output, weights } (normalized arguments of docs/CONTRACTS.md). */
export async function multiHeadAttention(rt, withRun, a, flashMode) {
  const fn = 'multiHeadAttention';
  rt.checkAlive(fn);
  const { nq, nk, dModel: M, heads, dHead: dh } = a;
  const core = { heads, nq, nk, dk: dh, dv: dh, da: a.scoreParams.da, score: a.score,
    returnWeights: a.returnWeights, kernel: a.kernel };
  const flash = useFlash(rt, core, flashMode);
  rt.checkBuffer(fn, 'x', nq * M, 'nq*dModel');
  rt.checkBuffer(fn, 'context', nk * M, 'nk*dModel');
  rt.checkBuffer(fn, 'Wq', M * M, 'dModel*dModel');
  rt.checkBuffer(fn, 'Q = x.Wq + bq', nq * M, 'nq*dModel');
  rt.checkBuffer(fn, 'K = context.Wk + bk', nk * M, 'nk*dModel');
  checkCore(rt, fn, core, flash);
  const results = await withRun(rt, fn, (run) => {
    const x = run.upload('x', a.x);
    const context = a.self ? x : run.upload('context', a.context);
    const dense = (name, input, rows, W, b) => {
      const y = run.scratch(name, rows * M);
      encodeMatmul(run, name, { a: contiguous(input, rows, M), b: contiguous(run.upload(`W${name[0].toLowerCase()}`, W), M, M),
        bias: b ? run.upload(`b${name[0].toLowerCase()}`, b) : null, c: contiguous(y, rows, M), M: rows, N: M, K: M });
      return y;
    };
    const Q = dense('Q', x, nq, a.Wq, a.bq);
    const K = dense('K', context, nk, a.Wk, a.bk);
    const V = dense('V', context, nk, a.Wv, a.bv);
    const concat = run.scratch('heads', nq * M);
    // head h: columns h*Dh .. (h+1)*Dh - 1 of the [T][M] projections, in place
    const headView = (buffer) => ({ buffer, offset: 0, head: dh, row: M });
    const { weights } = encodeAttentionCore(run, {
      q: headView(Q), k: headView(K), v: headView(V), out: headView(concat),
      heads, nq, nk, dk: dh, dv: dh, da: a.scoreParams.da, score: a.score, maskKind: a.mask.kind,
      mask: a.mask.kind === 'explicit' ? run.upload('mask', a.mask.allowed) : null,
      params: uploadParams(run, { score: a.score, ...a.scoreParams }), returnWeights: a.returnWeights, flash,
    });
    const out = dense('O', concat, nq, a.Wo, a.bo);
    run.read('output', out, nq * M);
    if (weights) run.read('weights', weights, heads * nq * nk);
  });
  return { output: results[0], weights: a.returnWeights ? results[1] : null };
}
