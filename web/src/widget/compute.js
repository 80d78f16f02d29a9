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
 * A stack of seeded multi-head self-attention layers on x [n][D]: layer l sees layerNorm(x + attention output
 * of layer l-1). Returns every layer's weights [H][n][n] and input, for the step-by-step view.
 */
async function seededStack(engine, { x, nq, nk, d, heads, layers, score, mask, prefix }) {
  const attention = [];
  const inputs = [];
  const params = [];
  let input = x;
  for (let l = 0; l < layers; l++) {
    const name = `${prefix}.L${l}`;
    const w = layerWeights(name, d);
    const scoreParams = seededScoreParams(score, name, d / heads);
    const mha = await engine.multiHeadAttention({
      x: input, nq, nk, dModel: d, heads, ...w, score,
      ...(Object.keys(scoreParams).length ? { scoreParams } : {}), mask, returnWeights: true,
    });
    attention.push(mha.weights);
    inputs.push(input);
    params.push({ ...w, scoreParams });
    input = layerNorm(add(input, mha.output), nq, d);
  }
  return { attention, inputs, params };
}

/**
 * Step by step for one head: X -> Q, K, V -> scores -> mask -> softmax -> Z. Q, K, V are this head's columns of
 * the projections; the scores (before and after the mask), the weights and Z all come from engine.attention
 * (returnScores), so the widget never computes a score itself.
 */
async function steps(engine, { X, C, nq, nk, d, heads, head, w, ...rest }) {
  const dh = d / heads;
  const Q = matmul(X, nq, d, w.Wq, d, head * dh, dh);
  const K = matmul(C ?? X, nk, d, w.Wk, d, head * dh, dh);
  const V = matmul(C ?? X, nk, d, w.Wv, d, head * dh, dh);
  return stepsFrom(engine, { X, C, nq, nk, d, dh, head, Q, K, V, scoreParams: w.scoreParams, ...rest });
}

/** The steps from one head's Q [nq][dh], K, V [nk][dh] (made by the caller from X, or by the model itself). */
async function stepsFrom(engine, { X, C, PE, nq, nk, d, dh, head, Q, K, V, scoreParams, score, mask, label, qLabel }) {
  const args = { query: Q, key: K, value: V, heads: 1, nq, nk, dk: dh, dv: dh, score, ...(scoreParams ?? {}) };
  const att = await engine.attention({ ...args, mask, returnWeights: true, returnScores: true });
  const unmasked = mask === 'none' ? att.scores : (await engine.attention({ ...args, mask: 'none', returnScores: true })).scores;
  return {
    head, nq, nk, d, dh, score, mask, scale: scoreScale(score, dh), label, qLabel: qLabel ?? null, X, C: C ?? null,
    PE: PE ?? null, Q, K, V, scores: unmasked, masked: att.scores, weights: att.weights, Z: att.output,
  };
}

/** Columns c0..c0+m of x [n][stride], each times `scale`. */
function columns(x, n, stride, c0, m, scale = 1) {
  const y = new Float32Array(n * m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) y[i * m + c] = x[i * stride + c0 + c] * scale;
  return y;
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
  // Only what the views read: no hidden states, and the layers' inputs and projections only for the
  // step-by-step view.
  const run = await model.run(req.text, { outputs: ['attention', 'embedding', ...(req.steps ? ['layerInputs', 'qkv'] : [])] });
  result.timings.modelRunMs = performance.now() - t;
  const pieces = Array.from(run.pieces);
  const n = pieces.length;
  if (run.truncated) result.clips.push({ input: 'text', unit: 'tokens', max: model.info.maxTokens, owner: 'model' });
  result.embedding = run.embedding ?? null;
  run.attention.forEach((weights, l) => {
    result.layers.push(layerEntry(`layer ${l}`, model.info.heads?.[l] ?? weights.length / (n * n), pieces, pieces, weights));
  });
  if (!req.steps) return;
  // The layer's own numbers: its input LN(x) and its projections Q | K | V = LN(x) [W_Q | W_K | W_V] + b, so
  // the scores, the weights and Z below are the ones the heatmap shows for this layer and head. The layer
  // scores dot products of queries pre-multiplied by its attentionScale: that is the scaled dot product when
  // the scale is 1/√d_k (both of this model's layers), else 'dot' on the scaled queries.
  const layer = clampInt(req.steps.layer, 0, result.layers.length - 1);
  const Hl = result.layers[layer].heads;
  const head = clampInt(req.steps.head, 0, Hl - 1);
  const X = run.layerInputs[layer];
  const d = X.length / n;
  const dh = model.info.headDims[layer];
  const da = Hl * dh;
  const scale = model.info.attentionScales[layer];
  const standard = Math.abs(scale * Math.sqrt(dh) - 1) < 1e-6;
  const qkv = run.qkv[layer];
  const cols = `head ${head}: columns ${head * dh}…${head * dh + dh - 1}`;
  result.steps = await stepsFrom(ctx.engine, {
    X, nq: n, nk: n, d, dh, head, score: standard ? 'scaled_dot' : 'dot', mask: 'none',
    Q: columns(qkv, n, 3 * da, head * dh, dh, standard ? 1 : scale),
    K: columns(qkv, n, 3 * da, da + head * dh, dh),
    V: columns(qkv, n, 3 * da, 2 * da + head * dh, dh),
    label: `X: layer ${layer}'s attention input, LN(x) of ${layer === 0 ? 'the input embeddings (with the timing signal)' : `layer ${layer - 1}'s output`}; W_Q, W_K, W_V: the model's own`,
    qLabel: standard ? `Q = X W_Q + b_Q  (${cols})` : `Q = s (X W_Q + b_Q), s = ${scale.toPrecision(4)} (the layer's attention scale; ${cols})`,
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

// ---- the trained encoder-decoder (engine.loadTranslator: the shipped weights, or those trained in the page) ----

/**
 * Translates req.text and fills result.translation { output, sourceTokens, targetTokens, inputTokens, info,
 * trainedIn } and the layers `which` asks for, each [H][rows][cols]:
 *   encoder l  [H][n][n]  source over source (where "it" looks at its antecedent),
 *   decoder l  [H][m][m]  row i produced targetTokens[i], over the decoder's inputs <bos>, y_1 .. y_i (causal),
 *   cross l    [H][m][n]  row i produced targetTokens[i], over the source.
 */
async function translateInto(ctx, req, result, which) {
  const tr = await ctx.getTranslator();
  const t = tr.translator;
  const text = req.text.trim();
  if (!text) throw new RangeError('the text is empty: type an English sentence from the toy language');
  const r = await t.translate(text, req.steps ? { steps: true } : {});
  result.weightsFrom = 'translator';
  result.score = t.info.score ?? result.score;
  const src = Array.from(r.sourceTokens);
  const tgt = Array.from(r.targetTokens);
  const H = t.info.heads;
  // Labels: the generated token of each decoder row, the decoder's inputs as the keys of its self-attention.
  const rows = tgt;
  const inputs = Array.from(r.decoderInputTokens);
  result.translation = {
    output: r.output, sourceTokens: src, targetTokens: tgt, inputTokens: inputs, rows,
    info: { ...t.info }, trainedIn: tr.trainedIn ?? null,
  };
  // The layer list (the layer selector's order), each with its block in r.steps.
  const blocks = [];
  // The translator's tokens are whole words: marked as word starts ('▁'), as SentencePiece marks them, so the
  // views label them as words (not as '##' continuation pieces) and the word merge keeps them as they are.
  const words = (tokens) => tokens.map((t) => `▁${t}`);
  const push = (kind, name, queries, keys) => r.attention[kind].forEach((w, l) => {
    result.layers.push(layerEntry(`${name(l)}`, H, words(queries), words(keys), w));
    blocks.push({ kind, l });
  });
  if (which.includes('encoder')) push('encoder', (l) => `encoder ${l}`, src, src);
  if (which.includes('decoder')) push('decoder', (l) => `decoder ${l} (masked)`, rows, inputs);
  if (which.includes('cross')) push('cross', (l) => `cross ${l}`, rows, src);
  if (!req.steps) return;
  // The block's own numbers from the final decoding pass: X = its input after its layer norm, Q, K, V = X (or the
  // encoder's output C) times its own W_Q, W_K, W_V plus the biases, its score weights and mask: engine.attention
  // then gives the weights the heatmap shows for this layer and head.
  const layer = clampInt(req.steps.layer, 0, result.layers.length - 1);
  const { kind, l } = blocks[layer];
  const b = r.steps[kind][l];
  const head = clampInt(req.steps.head, 0, b.heads - 1);
  const { nq, nk, dModel: d, dh } = b;
  const cols = `head ${head}: columns ${head * dh}…${head * dh + dh - 1}`;
  const what = { encoder: 'the encoder\'s self-attention', decoder: 'the decoder\'s masked self-attention', cross: 'the cross-attention' }[kind];
  const cross = kind === 'cross';
  result.steps = await stepsFrom(ctx.engine, {
    X: b.x, C: cross ? b.context : null, nq, nk, d, dh, head, score: b.score, mask: b.mask, scoreParams: b.scoreParams,
    Q: columns(b.q, nq, d, head * dh, dh), K: columns(b.k, nk, d, head * dh, dh), V: columns(b.v, nk, d, head * dh, dh),
    label: `X: the input of ${what} of ${kind === 'encoder' ? 'encoder' : 'decoder'} layer ${l} after its layer norm${cross ? '; C: the encoder\'s output' : ''}; W_Q, W_K, W_V: the trained translator's own`,
    qLabel: `Q = X W_Q + b_Q  (${cols})`,
  });
  result.steps.layer = layer;
}

/** Translate: the output token by token with its cross-attention, the encoder's and the masked decoder's. */
async function computeTranslate(ctx, req, result) {
  await translateInto(ctx, req, result, ['cross', 'decoder', 'encoder']);
}

/** Decoder self-attention (causal mask) of the trained model as it writes the translation of the text. */
async function computeCausal(ctx, req, result) {
  await translateInto(ctx, req, result, ['decoder']);
}

/** Encoder-decoder (cross) attention of the trained model: each German word over the English source. */
async function computeEncDec(ctx, req, result) {
  await translateInto(ctx, req, result, ['cross']);
}

/** What each mode computes (ids and labels: modes.js). */
export const COMPUTE = {
  model: computeModel, whatif: computeWhatIf, translate: computeTranslate, causal: computeCausal, encdec: computeEncDec,
  seeded: computeSeeded,
};

/**
 * Computes everything the views of one widget show.
 * ctx: { engine, positionalEncoding, getModel: () => Promise<model>,
 *   getTranslator: () => Promise<{ translator, trainedIn }> }.
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
    backend: engine.backend, simd: engine.simd, relaxedSimd: engine.relaxedSimd === true, threads: engine.threads ?? 1, layers: [], steps: null, reference: null,
    clips: [], notes: [], timings: { modelWaitMs: 0 },
  };
  await COMPUTE[mode](ctx, req, result);
  result.truncated = result.clips.length > 0;
  if (result.weightsFrom === 'seeded') {
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
