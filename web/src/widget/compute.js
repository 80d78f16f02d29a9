// What the worker computes for one widget request. Runs wherever the engine lives (the widget's Web
// Worker); takes the engine and positionalEncoding as arguments, so it never imports the library itself.
// Size letters: n tokens (nq queries, nk keys), D model dims, H heads, dh = D / H dims per head.
import {
  SEEDED, simpleTokenize, seededEmbeddings, seededMatrix, seededScoreParams,
} from './seeded.js';
import { modeFor } from './modes.js';
import { SCORE_NAMES, DEFAULT_SCORE, scoreScale } from '../lib/spec.js';

/** y [n][m] = x [n][k] · w [k][m], columns c0..c0+m of a wider w with `stride` columns. */
export function matmul(x, n, k, w, stride, c0 = 0, m = stride) {
  const y = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += x[i * k + p] * w[p * stride + c0 + c];
      y[i * m + c] = acc;
    }
  }
  return y;
}

/** Row-wise layer norm without learned scale and shift: (x - mean) / sqrt(var + 1e-5). */
function layerNorm(x, n, d) {
  const y = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += x[i * d + c];
    mean /= d;
    let variance = 0;
    for (let c = 0; c < d; c++) variance += (x[i * d + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / d + 1e-5);
    for (let c = 0; c < d; c++) y[i * d + c] = (x[i * d + c] - mean) * inv;
  }
  return y;
}

function add(a, b) {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

/** The weights of one seeded layer: the matrices every head slices its columns from. */
function layerWeights(prefix, d) {
  return {
    Wq: seededMatrix(`${prefix}.Wq`, d, d),
    Wk: seededMatrix(`${prefix}.Wk`, d, d),
    Wv: seededMatrix(`${prefix}.Wv`, d, d),
    Wo: seededMatrix(`${prefix}.Wo`, d, d),
  };
}

/**
 * A stack of seeded multi-head attention layers on x [nq][D] (keys from `context` [nk][D] when given):
 * layer l sees layerNorm(x + attention output of layer l-1). Returns every layer's weights [H][nq][nk]
 * and input, for the step-by-step view.
 */
async function seededStack(engine, { x, context, nq, nk, d, heads, layers, score, mask, prefix }) {
  const attention = [];
  const inputs = [];
  const params = [];
  let input = x;
  for (let l = 0; l < layers; l++) {
    const name = `${prefix}.L${l}`;
    const w = layerWeights(name, d);
    const scoreParams = seededScoreParams(score, name, d / heads);
    const mha = await engine.multiHeadAttention({
      x: input, ...(context ? { context } : {}), nq, nk, dModel: d, heads, ...w, score,
      ...(Object.keys(scoreParams).length ? { scoreParams } : {}), mask, returnWeights: true,
    });
    attention.push(mha.weights);
    inputs.push(input);
    params.push({ ...w, scoreParams });
    if (!context) input = layerNorm(add(input, mha.output), nq, d);
  }
  return { attention, inputs, params };
}

/**
 * Step by step for one head: X -> Q, K, V -> scores -> mask -> softmax -> Z. Q, K, V are this head's columns of
 * the projections; the scores (before and after the mask), the weights and Z all come from engine.attention
 * (returnScores), so the widget never computes a score itself.
 */
async function steps(engine, { X, C, PE, nq, nk, d, heads, head, w, score, mask, label }) {
  const dh = d / heads;
  const Q = matmul(X, nq, d, w.Wq, d, head * dh, dh);
  const K = matmul(C ?? X, nk, d, w.Wk, d, head * dh, dh);
  const V = matmul(C ?? X, nk, d, w.Wv, d, head * dh, dh);
  const sp = w.scoreParams ?? {};
  const args = { query: Q, key: K, value: V, heads: 1, nq, nk, dk: dh, dv: dh, score, ...sp };
  const att = await engine.attention({ ...args, mask, returnWeights: true, returnScores: true });
  const unmasked = mask === 'none' ? att.scores : (await engine.attention({ ...args, mask: 'none', returnScores: true })).scores;
  return {
    head, nq, nk, d, dh, score, mask, scale: scoreScale(score, dh), label, X, C: C ?? null, PE: PE ?? null, Q, K, V,
    scores: unmasked, masked: att.scores, weights: att.weights, Z: att.output,
  };
}

function tokenizeWith(model, text, maxTokens) {
  if (model) {
    const { pieces } = model.tokenize(text);
    const list = Array.from(pieces);
    return { pieces: list.slice(0, maxTokens), truncated: list.length > maxTokens };
  }
  return simpleTokenize(text, maxTokens);
}

/** The model, or null with a note saying why it is not there (the seeded stand-in is used instead). */
async function tryModel(ctx, result) {
  try {
    const tm = performance.now();
    const model = await ctx.getModel();
    result.timings.modelWaitMs = performance.now() - tm;
    return model;
  } catch (error) {
    result.notes.push(`The pretrained model is not available (${error?.message ?? String(error)}); showing seeded, untrained weights.`);
    return null;
  }
}

/** One layer entry of a result: weights [H][nq][nk]. */
function layerEntry(name, heads, queryPieces, keyPieces, weights) {
  return { name, heads, nq: queryPieces.length, nk: keyPieces.length, queryPieces, keyPieces, weights };
}

// ---- one function per mode: (ctx, req, result) fills result.layers (and steps, reference, clips) --------

/** The pretrained model on the text; without it, the seeded stand-in. */
async function computeModel(ctx, req, result) {
  const model = await tryModel(ctx, result);
  if (!model) return computeSeeded(ctx, { ...req, score: DEFAULT_SCORE }, result, null);
  result.weightsFrom = 'model';
  result.score = DEFAULT_SCORE;
  const t = performance.now();
  // Only what the views read: no hidden states, and the input embeddings only for the step-by-step view.
  const run = await model.run(req.text, { outputs: ['attention', 'embedding', ...(req.steps ? ['inputEmbeddings'] : [])] });
  result.timings.modelRunMs = performance.now() - t;
  const pieces = Array.from(run.pieces);
  const n = pieces.length;
  if (run.truncated) result.clips.push({ input: 'text', unit: 'tokens', max: model.info.maxTokens, owner: 'model' });
  result.embedding = run.embedding ?? null;
  run.attention.forEach((weights, l) => {
    result.layers.push(layerEntry(`layer ${l}`, model.info.heads?.[l] ?? weights.length / (n * n), pieces, pieces, weights));
  });
  if (!req.steps) return;
  // The model's API gives its input embeddings but not its projection matrices, so the step-by-step and
  // neuron views project the model's own input X with seeded W_Q, W_K, W_V (labelled as such).
  const layer = clampInt(req.steps.layer, 0, result.layers.length - 1);
  const Hl = result.layers[layer].heads;
  let X = run.inputEmbeddings;
  let d = X ? X.length / n : 0;
  let label = "X: the model's input embeddings (with its timing signal); W_Q, W_K, W_V: seeded, not the model's own";
  if (!X || !Number.isInteger(d) || d % Hl !== 0) {
    d = SEEDED.dModel;
    X = seededEmbeddings(pieces, d);
    label = "X: seeded per-token embeddings of the model's pieces; W_Q, W_K, W_V: seeded, not the model's own";
  }
  const w = { ...layerWeights(`model.steps.L${layer}`, d), scoreParams: {} };
  result.steps = await steps(ctx.engine, {
    X, nq: n, nk: n, d, heads: Hl, head: clampInt(req.steps.head, 0, Hl - 1), w, score: DEFAULT_SCORE, mask: 'none', label,
  });
  result.steps.layer = layer;
}

/** Seeded layers over seeded embeddings (+ PE), self-attention; `causal` masks later keys. */
async function seededSelf(ctx, req, result, model, { layers, score, mask, prefix }) {
  const D = SEEDED.dModel;
  const H = SEEDED.heads;
  const maxTokens = model?.info?.maxTokens ?? SEEDED.maxTokens;
  const { pieces, truncated } = tokenizeWith(model, req.text, maxTokens);
  if (truncated) result.clips.push({ input: 'text', unit: 'tokens', max: maxTokens, owner: model ? 'model' : 'seeded' });
  const n = pieces.length;
  if (n === 0) throw new RangeError('the text is empty: type a sentence');
  result.score = score;
  let X = seededEmbeddings(pieces, D);
  const PE = req.pe ? ctx.positionalEncoding(n, D) : null;
  if (PE) X = add(X, PE);
  const stack = await seededStack(ctx.engine, { x: X, nq: n, nk: n, d: D, heads: H, layers, score, mask, prefix });
  stack.attention.forEach((weights, l) => result.layers.push(layerEntry(`layer ${l}`, H, pieces, pieces, weights)));
  if (req.steps) {
    const layer = clampInt(req.steps.layer, 0, layers - 1);
    result.steps = await steps(ctx.engine, {
      X: stack.inputs[layer], PE: layer === 0 ? PE : null, nq: n, nk: n, d: D, heads: H,
      head: clampInt(req.steps.head, 0, H - 1), w: stack.params[layer], score, mask,
      label: layer === 0
        ? `X: seeded per-token embeddings${PE ? ' + PE' : ''}; W_Q, W_K, W_V: seeded (untrained)`
        : 'X: layer norm of the previous layer\'s input plus its attention output; W_Q, W_K, W_V: seeded (untrained)',
    });
    result.steps.layer = layer;
  }
}

/** Seeded, untrained weights (also the stand-in when the model cannot load): scaled dot product. */
async function computeSeeded(ctx, req, result, model = null) {
  await seededSelf(ctx, req, result, model, { layers: SEEDED.layers, score: DEFAULT_SCORE, mask: 'none', prefix: 'seeded' });
}

/** Decoder self-attention: seeded layers with a causal mask and the chosen score function. */
async function computeCausal(ctx, req, result) {
  await seededSelf(ctx, req, result, null, { layers: SEEDED.layers, score: req.score, mask: 'causal', prefix: 'seeded' });
}

/** What-if: one seeded layer with the chosen score function on the model's pieces, the model's weights beside. */
async function computeWhatIf(ctx, req, result) {
  const model = await tryModel(ctx, result);
  await seededSelf(ctx, req, result, model, { layers: 1, score: req.score, mask: 'none', prefix: 'whatif' });
  if (!model) return;
  const run = await model.run(req.text, { outputs: ['attention'] });
  const pieces = Array.from(run.pieces);
  const m = pieces.length;
  result.reference = run.attention.map((weights, l) => layerEntry(`model layer ${l}`, model.info.heads?.[l] ?? weights.length / (m * m), pieces, pieces, weights));
}

/** Encoder-decoder attention: queries from the text (target), keys and values from the source sentence. */
async function computeEncDec(ctx, req, result) {
  const D = SEEDED.dModel;
  const H = SEEDED.heads;
  const max = SEEDED.maxTokens;
  const tgt = simpleTokenize(req.text, max);
  const src = simpleTokenize(String(req.source ?? ''), max);
  if (src.pieces.length === 0) throw new RangeError('encoder-decoder mode needs a source sentence (the source attribute)');
  result.source = String(req.source);
  if (tgt.truncated) result.clips.push({ input: 'text', unit: 'tokens', max, owner: 'encdec' });
  if (src.truncated) result.clips.push({ input: 'source', unit: 'tokens', max, owner: 'encdec' });
  const nq = tgt.pieces.length;
  const nk = src.pieces.length;
  if (nq === 0) throw new RangeError('the text is empty: type a sentence');
  let X = seededEmbeddings(tgt.pieces, D);
  let C = seededEmbeddings(src.pieces, D);
  let PE = null;
  if (req.pe) {
    X = add(X, ctx.positionalEncoding(nq, D));
    PE = ctx.positionalEncoding(Math.max(nq, nk), D);
    C = add(C, ctx.positionalEncoding(nk, D));
  }
  const stack = await seededStack(ctx.engine, {
    x: X, context: C, nq, nk, d: D, heads: H, layers: 1, score: req.score, mask: 'none', prefix: 'encdec',
  });
  result.layers.push(layerEntry('cross-attention', H, tgt.pieces, src.pieces, stack.attention[0]));
  if (req.steps) {
    result.steps = await steps(ctx.engine, {
      X, C, PE, nq, nk, d: D, heads: H, head: clampInt(req.steps.head, 0, H - 1), w: stack.params[0], score: req.score, mask: 'none',
      label: `X: seeded target embeddings, C: seeded source embeddings${PE ? ' (both + PE)' : ''}; W_Q, W_K, W_V: seeded`,
    });
    result.steps.layer = 0;
  }
}

/** What each mode computes (ids and labels: modes.js). */
export const COMPUTE = {
  model: computeModel, whatif: computeWhatIf, causal: computeCausal, encdec: computeEncDec, seeded: computeSeeded,
};

/**
 * Computes everything the views of one widget show.
 * ctx: { engine, positionalEncoding, getModel: () => Promise<model> }.
 * req: { mode, text, source, score, pe, backend, steps: { layer, head } | null }.
 */
export async function computeRequest(ctx, request) {
  const t0 = performance.now();
  const mode = modeFor(request.mode).id;
  const req = {
    ...request, mode, text: String(request.text ?? ''), pe: request.pe !== false,
    score: SCORE_NAMES.includes(request.score) ? request.score : DEFAULT_SCORE,
  };
  const { engine } = ctx;
  const result = {
    mode, score: req.score, pe: req.pe, text: req.text, source: null, weightsFrom: 'seeded',
    backend: engine.backend, simd: engine.simd, threads: engine.threads ?? 1, layers: [], steps: null, reference: null,
    clips: [], notes: [], timings: { modelWaitMs: 0 },
  };
  await COMPUTE[mode](ctx, req, result);
  result.truncated = result.clips.length > 0;
  if (result.weightsFrom !== 'model') {
    const n = Math.max(...result.layers.map((l) => Math.max(l.nq, l.nk)));
    result.peImage = { n, d: SEEDED.dModel, values: ctx.positionalEncoding(n, SEEDED.dModel), used: req.pe };
  }
  result.timings.totalMs = performance.now() - t0;
  return result;
}

export function clampInt(value, lo, hi) {
  const v = Number.parseInt(value, 10);
  if (!Number.isFinite(v)) return lo;
  return Math.min(hi, Math.max(lo, v));
}

/** Every typed array inside a result, for postMessage's transfer list (shared buffers listed once). */
export function transferables(value, out = new Set()) {
  if (ArrayBuffer.isView(value)) out.add(value.buffer);
  else if (Array.isArray(value)) value.forEach((v) => transferables(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => transferables(v, out));
  return [...out];
}
