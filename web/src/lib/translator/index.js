// The trained encoder-decoder of the toy English -> German language (docs/TRANSLATOR.md), and its trainer, on the
// WASM engine (wasm/include/attn/seq2seq.h through wasm/bindings/train_bindings.cpp). One training step is one
// call into WASM (forward, backward, AdamW); the JS side only samples the batches (seeded) and measures.
//
//   const trainer = await engine.createTrainer({ score: 'general', seed: 1 });
//   await trainer.train({ steps: 500, onProgress: (p) => ..., signal });   // or trainer.step() one at a time
//   const { exact, pronoun, classic } = await trainer.evaluate();
//   const t = await engine.loadTranslator();        // the shipped weights (or a URL, Response or bytes)
//   const r = await t.translate("The animal didn't cross the street because it was too tired");

import { heapU8 } from '../heap.js';
import { SCORES, SCORE_NAMES, DEFAULT_SCORE, KERNELS, KERNEL_NAMES } from '../spec.js';
import {
  makeCorpus, tokenizeEnglish, joinGerman, TEMPLATES, CLASSIC_PAIR, mulberry32, PAD, BOS, EOS,
} from './language.js';

/** The shipped weights: beside this module (a bundler emits the file as an asset), written by
 * scripts/train-translator.mjs. */
export const DEFAULT_TRANSLATOR_URL = new URL('./translator.safetensors', import.meta.url);

/** The architecture and training settings of the shipped model (scripts/train-translator.mjs uses them). */
export const TRANSLATOR_DEFAULTS = Object.freeze({
  score: DEFAULT_SCORE, seed: 1, dModel: 32, heads: 4, dFF: 64, encoderLayers: 2, decoderLayers: 2, da: 0,
  batchSize: 32, lr: 3e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, clipNorm: 1,
  warmupSteps: 100, decaySteps: 600, minLrRatio: 0.1,
});
const TRAINER_OPTIONS = new Set([...Object.keys(TRANSLATOR_DEFAULTS), 'kernel']);
const INTEGER_RANGES = {
  seed: [0, 2 ** 32 - 1], dModel: [1, 1024], heads: [1, 1024], dFF: [1, 8192], encoderLayers: [1, 16],
  decoderLayers: [1, 16], da: [0, 1024], batchSize: [1, 4096], warmupSteps: [0, 1e9], decaySteps: [0, 1e9],
};
const NUMBER_RANGES = {
  lr: [0, 1], beta1: [0, 1], beta2: [0, 1], eps: [0, 1], weightDecay: [0, 10], clipNorm: [0, 1e9], minLrRatio: [0, 1],
};
const MAX_LEN = 16;  // the longest source (12) or decoder sequence (14 + 1) of the language fits

function describe(value) {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}

/** The trainer's options with the defaults filled in, or a TypeError/RangeError naming the option. */
export function normalizeTrainerOptions(options = {}, fn = 'createTrainer') {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${fn}: expected an options object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!TRAINER_OPTIONS.has(name)) {
      throw new TypeError(`${fn}: unknown option '${name}' (known: ${[...TRAINER_OPTIONS].join(', ')})`);
    }
  }
  const o = { ...TRANSLATOR_DEFAULTS, kernel: 'optimized', ...options };
  if (!SCORE_NAMES.includes(o.score)) {
    throw new RangeError(`${fn}: score must be one of ${SCORE_NAMES.join(', ')}, got ${describe(o.score)}`);
  }
  if (!KERNEL_NAMES.includes(o.kernel)) {
    throw new RangeError(`${fn}: kernel must be one of ${KERNEL_NAMES.join(', ')}, got ${describe(o.kernel)}`);
  }
  for (const [name, [lo, hi]] of Object.entries(INTEGER_RANGES)) {
    const v = o[name];
    if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} must be a number, got ${describe(v)}`);
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`${fn}: ${name} must be an integer from ${lo} to ${hi}, got ${v}`);
    }
  }
  for (const [name, [lo, hi]] of Object.entries(NUMBER_RANGES)) {
    const v = o[name];
    if (typeof v !== 'number') throw new TypeError(`${fn}: ${name} must be a number, got ${describe(v)}`);
    if (!(v >= lo && v <= hi)) throw new RangeError(`${fn}: ${name} must be from ${lo} to ${hi}, got ${v}`);
  }
  if (o.dModel % o.heads !== 0) {
    throw new RangeError(`${fn}: heads (${o.heads}) must divide dModel (${o.dModel})`);
  }
  return o;
}

function unwrap(result, fn) {
  if (result.error) throw new Error(`${fn}: ${result.error}`);
  return result;
}

// ---- the language's ids --------------------------------------------------------------------------------------

function vocabularies(sourceVocab, targetVocab) {
  const src = new Map(sourceVocab.map((w, i) => [w, i]));
  const tgt = new Map(targetVocab.map((w, i) => [w, i]));
  return { sourceVocab, targetVocab, src, tgt };
}

/** Packs sentences ({source, target} token arrays) into the engine's batch (no padding). */
function packBatch(sentences, vocab) {
  const srcLengths = new Int32Array(sentences.length);
  const tgtLengths = new Int32Array(sentences.length);
  const src = [], tgt = [];
  sentences.forEach((s, i) => {
    srcLengths[i] = s.source.length;
    tgtLengths[i] = s.target.length;
    for (const w of s.source) src.push(vocab.src.get(w));
    for (const w of s.target) tgt.push(vocab.tgt.get(w));
  });
  return { src: Int32Array.from(src), srcLengths, tgt: Int32Array.from(tgt), tgtLengths };
}

// ---- translating -------------------------------------------------------------------------------------------

/**
 * The translate() of a model handle: English text -> greedy German with every layer's attention.
 * targetTokens are the generated tokens, ending with '<eos>' when the model stopped by itself; attention rows
 * are the positions that generated them (decoder keys: '<bos>' then targetTokens but the last).
 */
function makeTranslate(module, handle, vocab, info, kernelCode) {
  return async function translate(text, options = {}) {
    if (typeof text !== 'string') throw new TypeError(`translate: text must be a string, got ${describe(text)}`);
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`translate: options must be an object, got ${describe(options)}`);
    }
    for (const name of Object.keys(options)) {
      if (name !== 'attention' && name !== 'steps') throw new TypeError(`translate: unknown option '${name}' (known: attention, steps)`);
    }
    for (const name of ['attention', 'steps']) {
      if (options[name] !== undefined && typeof options[name] !== 'boolean') {
        throw new TypeError(`translate: options.${name} must be a boolean, got ${describe(options[name])}`);
      }
    }
    if (options.steps === true && options.attention === false) {
      throw new TypeError('translate: options.steps needs the attention (options.attention is false)');
    }
    const sourceTokens = tokenizeEnglish(text);
    if (sourceTokens.length === 0) throw new RangeError('translate: text has no words; give an English sentence');
    const unknown = [...new Set(sourceTokens.filter((w) => !vocab.src.has(w) || vocab.sourceVocab.indexOf(w) < 3))];
    if (unknown.length > 0) {
      const error = new RangeError(`translate: unknown word${unknown.length > 1 ? 's' : ''} ${unknown.map((w) => `'${w}'`).join(', ')}: ` +
        `the toy language knows ${vocab.sourceVocab.length - 3} English words (see docs/TRANSLATOR.md)`);
      error.unknownWords = unknown;
      throw error;
    }
    if (sourceTokens.length > info.maxLen) {
      throw new RangeError(`translate: text has ${sourceTokens.length} words but the model reads at most ${info.maxLen}`);
    }
    const ids = Int32Array.from(sourceTokens, (w) => vocab.src.get(w));
    const withAttention = options.attention !== false;
    const withSteps = options.steps === true;
    const r = unwrap(module.seq2seqTranslate(handle(), ids, info.maxLen, withAttention, withSteps, kernelCode), 'translate');
    const targetTokens = Array.from(r.tokens, (id) => vocab.targetVocab[id]);
    const words = targetTokens.filter((w) => w !== EOS && w !== BOS && w !== PAD);
    return {
      output: joinGerman(words),
      sourceTokens,
      targetTokens,
      decoderInputTokens: [BOS, ...targetTokens.slice(0, -1)],
      attention: r.attention,
      ...(withSteps ? { steps: blockSteps(module, handle(), r.steps, info, sourceTokens.length, targetTokens.length) } : {}),
    };
  };
}

/**
 * The step-by-step numbers of every attention block in the final decoding pass, per layer:
 * { x [nq][M] (the block's input after its layer norm), context [nk][M] (cross: the encoder's output; self: x),
 *   q, k, v (x W_Q + b_Q, context W_K + b_K, context W_V + b_V; head h owns columns h*dh..), nq, nk, dModel,
 *   heads, dh, score, mask ('none', or 'causal' for the decoder's self-attention), scoreParams (the block's own
 *   score weights, shared by its heads: {} | { W } | { Wq, Wk, v }) }.
 * engine.attention({ query: q's head columns, key, value, score, mask, ...scoreParams }) gives attention[kind][l].
 */
function blockSteps(module, handle, steps, info, n, m) {
  const params = unwrap(module.seq2seqParameters(handle), 'translate').parameters;
  const { dModel, heads, score } = info;
  const scoreNames = Object.keys(SCORES[score].params);
  const kinds = { encoder: ['enc', 'self', n, n, 'none'], decoder: ['dec', 'self', m, m, 'causal'], cross: ['dec', 'cross', m, n, 'none'] };
  const out = {};
  for (const [kind, [prefix, block, nq, nk, mask]] of Object.entries(kinds)) {
    out[kind] = steps[kind].map((s, l) => ({
      x: s.x, context: s.context ?? s.x, q: s.q, k: s.k, v: s.v, nq, nk, dModel, heads, dh: dModel / heads, score, mask,
      scoreParams: Object.fromEntries(scoreNames.map((name) => [name, params[`${prefix}.${l}.${block}.score.${name}`]])),
    }));
  }
  return out;
}

function infoOf(module, handle, vocab) {
  const i = unwrap(module.seq2seqInfo(handle), 'translator');
  return {
    encoderLayers: i.encoderLayers, decoderLayers: i.decoderLayers, heads: i.heads, dModel: i.dModel, dFF: i.dFF,
    score: i.score, da: i.da, maxLen: i.maxLen, sourceVocabSize: i.srcVocab, targetVocabSize: i.tgtVocab,
    sourceVocab: vocab.sourceVocab.slice(3), targetVocab: vocab.targetVocab.slice(3),
    parameters: i.parameterCount, steps: i.steps, metadata: i.metadata,
  };
}

// ---- measuring ---------------------------------------------------------------------------------------------

/**
 * Greedy decoding over held-out sentences: exact (whole translation right), pronoun (the German pronoun right on
 * the held-out antecedent pairs), classic (both classic sentences right). limit: at most this many test
 * sentences, spread evenly over the set (the whole set by default).
 */
async function evaluateWith(translate, corpus, { limit } = {}) {
  const spread = (list) => {
    if (!limit || limit >= list.length) return list;
    const out = [];
    for (let i = 0; i < limit; i++) out.push(list[Math.floor((i * list.length) / limit)]);
    return out;
  };
  const test = spread(corpus.test);
  let exact = 0, pronoun = 0, pronounTotal = 0;
  for (const s of test) {
    const r = await translate(s.source.join(' '), { attention: false });
    const words = r.targetTokens.filter((w) => w !== EOS);
    if (words.length === s.target.length && words.every((w, i) => w === s.target[i])) exact++;
    if (s.pronoun) {
      pronounTotal++;
      if (words[s.pronoun.index] === s.target[s.pronoun.index]) pronoun++;
    }
  }
  let classic = 0;
  for (const c of CLASSIC_PAIR) if ((await translate(c.source, { attention: false })).output === c.target) classic++;
  return {
    exact: exact / test.length, pronoun: pronoun / pronounTotal, classic: classic / CLASSIC_PAIR.length,
    sentences: test.length, pronounSentences: pronounTotal,
  };
}

// ---- the trainer -------------------------------------------------------------------------------------------

/**
 * A trainer of the encoder-decoder on the toy language, from seeded random weights. Deterministic from `seed`
 * (the initial weights, the order of the training set and every batch). See index.d.ts.
 */
export function createTrainer(module, options = {}) {
  const o = normalizeTrainerOptions(options);
  const corpus = makeCorpus({ seed: o.seed });
  const vocab = vocabularies(corpus.sourceVocab, corpus.targetVocab);
  const config = {
    srcVocab: vocab.sourceVocab.length, tgtVocab: vocab.targetVocab.length, dModel: o.dModel, heads: o.heads,
    dFF: o.dFF, encoderLayers: o.encoderLayers, decoderLayers: o.decoderLayers, maxLen: MAX_LEN,
    score: SCORES[o.score].code, da: o.da, bos: vocab.tgt.get(BOS), eos: vocab.tgt.get(EOS), seed: o.seed,
  };
  let handle = unwrap(module.seq2seqCreate(config), 'createTrainer').handle;
  const live = () => {
    if (handle === 0) throw new Error('trainer: used after dispose()');
    return handle;
  };
  const optimizer = {
    lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clipNorm: o.clipNorm,
    warmupSteps: o.warmupSteps, decaySteps: o.decaySteps, minLrRatio: o.minLrRatio,
  };
  const kernelCode = KERNELS[o.kernel].code;
  // Batches: a template chosen uniformly, then one of its training sentences (so the 448 sentences of the classic
  // template weigh as much as the 4000 of the adjective one), from a stream seeded by `seed`.
  const byTemplate = TEMPLATES.map((t) => corpus.train.filter((s) => s.template === t.id));
  const random = mulberry32((o.seed ^ 0x5eed) >>> 0);
  const nextBatch = () => {
    const sentences = [];
    for (let i = 0; i < o.batchSize; i++) {
      const list = byTemplate[Math.floor(random() * byTemplate.length)];
      sentences.push(list[Math.floor(random() * list.length)]);
    }
    return packBatch(sentences, vocab);
  };
  const metadata = () => ({
    source_vocab: JSON.stringify(vocab.sourceVocab), target_vocab: JSON.stringify(vocab.targetVocab),
    training: JSON.stringify({ ...o, kernel: undefined }),
  });
  let info = null;
  const currentInfo = () => ({ ...(info ??= infoOf(module, live(), vocab)), steps: module.seq2seqInfo(live()).steps });
  const translate = makeTranslate(module, live, vocab, {
    maxLen: MAX_LEN, dModel: o.dModel, heads: o.heads, score: o.score,
  }, kernelCode);
  let tokens = 0;

  const trainer = {
    get info() { return currentInfo(); },
    /** The options in effect (defaults filled in). */
    options: Object.freeze({ ...o }),
    corpus,
    /** One training step (one WASM call): { step, loss, gradNorm, lr, tokens }. */
    async step() {
      const batch = nextBatch();
      const r = unwrap(module.seq2seqTrainStep(live(), batch, optimizer, kernelCode), 'trainer.step');
      tokens += batch.tgt.length + batch.tgtLengths.length;
      return { step: r.step, loss: r.loss, gradNorm: r.gradNorm, lr: r.lr, tokens };
    },
    /**
     * Many steps, yielding to the event loop every `chunk` steps (a page or worker stays responsive): calls
     * onProgress({ step, loss, gradNorm, lr, tokens, evaluation? }) after each chunk, evaluating held-out
     * accuracy every `evaluateEvery` steps (0: never; evaluateLimit test sentences). Stops early when `signal`
     * aborts (pause: call train() again to resume, the state lives in the model). Returns the last progress.
     */
    async train({ steps, chunk = 10, onProgress, evaluateEvery = 0, evaluateLimit = 200, signal } = {}) {
      if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`trainer.train: steps must be a positive integer, got ${describe(steps)}`);
      if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`trainer.train: chunk must be a positive integer, got ${describe(chunk)}`);
      if (!Number.isInteger(evaluateEvery) || evaluateEvery < 0) {
        throw new RangeError(`trainer.train: evaluateEvery must be a non-negative integer, got ${describe(evaluateEvery)}`);
      }
      if (onProgress !== undefined && typeof onProgress !== 'function') {
        throw new TypeError(`trainer.train: onProgress must be a function, got ${describe(onProgress)}`);
      }
      let last = null;
      for (let done = 0; done < steps && !signal?.aborted;) {
        const n = Math.min(chunk, steps - done);
        for (let i = 0; i < n; i++) last = await this.step();
        done += n;
        if (evaluateEvery > 0 && (last.step % evaluateEvery < n || done === steps)) {
          last = { ...last, evaluation: await this.evaluate({ limit: evaluateLimit }) };
        }
        onProgress?.(last);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return last;
    },
    /** The mean loss of `count` held-out test sentences (no update). */
    async testLoss(count = 256) {
      const list = corpus.test.filter((_, i) => i % Math.max(1, Math.floor(corpus.test.length / count)) === 0);
      return unwrap(module.seq2seqLoss(live(), packBatch(list, vocab), kernelCode), 'trainer.testLoss').loss;
    },
    /** Held-out accuracy by greedy decoding: { exact, pronoun, classic, sentences, pronounSentences }. */
    async evaluate(options = {}) { return evaluateWith(translate, corpus, options); },
    translate,
    /** The batch the next step() would train on is not exposed; this packs any sentences for an oracle. */
    packBatch: (sentences) => packBatch(sentences, vocab),
    /** { loss, gradients: { name: Float32Array } } of a batch, without an update. */
    gradients(batch) { return unwrap(module.seq2seqGradients(live(), batch, kernelCode), 'trainer.gradients'); },
    /** Copies of every weight: { name: Float32Array }. */
    parameters() { return unwrap(module.seq2seqParameters(live()), 'trainer.parameters').parameters; },
    /** The weights, configuration and vocabularies as a safetensors file (loadTranslator reads it). */
    exportWeights() { return unwrap(module.seq2seqSave(live(), metadata()), 'trainer.exportWeights').bytes; },
    dispose() {
      if (handle !== 0) module.seq2seqFree(handle);
      handle = 0;
    },
  };
  return trainer;
}

// ---- loading -----------------------------------------------------------------------------------------------

async function sourceBytes(source) {
  if (source === undefined || source === null) source = DEFAULT_TRANSLATOR_URL;
  if (typeof source === 'string') {
    const base = typeof location !== 'undefined' && location.href ? location.href : undefined;
    try {
      source = base ? new URL(source, base) : new URL(source);
    } catch {
      throw new TypeError(`loadTranslator: source '${source}' is not a URL (in Node pass a file: URL or the bytes)`);
    }
  }
  if (source instanceof URL) {
    if (source.protocol === 'file:') {
      const fsName = 'node:fs/promises';
      const fs = await import(/* @vite-ignore */ fsName);
      try {
        return new Uint8Array(await fs.readFile(source));
      } catch (error) {
        throw new Error(`loadTranslator: could not read ${source.href}: ${error.message} (run scripts/train-translator.mjs)`, { cause: error });
      }
    }
    let response;
    try {
      response = await fetch(source);
    } catch (error) {
      throw new Error(`loadTranslator: could not fetch ${source.href}: ${error.message}`, { cause: error });
    }
    source = response;
  }
  if (typeof Response === 'function' && source instanceof Response) {
    if (!source.ok) throw new Error(`loadTranslator: could not load ${source.url || 'the response'}: HTTP ${source.status}`);
    return new Uint8Array(await source.arrayBuffer());
  }
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError('loadTranslator: source must be a URL (string or URL), a Response, an ArrayBuffer, a Uint8Array ' +
    `or undefined for the shipped weights; got ${Object.prototype.toString.call(source)}`);
}

function vocabFromMetadata(metadata, info) {
  let sourceVocab, targetVocab;
  try {
    sourceVocab = JSON.parse(metadata.source_vocab);
    targetVocab = JSON.parse(metadata.target_vocab);
  } catch {
    throw new Error('loadTranslator: the file has no source_vocab and target_vocab (JSON arrays) in its __metadata__');
  }
  if (!Array.isArray(sourceVocab) || sourceVocab.length !== info.srcVocab ||
      !Array.isArray(targetVocab) || targetVocab.length !== info.tgtVocab) {
    throw new Error(`loadTranslator: the file's vocabularies (${sourceVocab?.length}, ${targetVocab?.length} words) do not ` +
      `match its embeddings (${info.srcVocab}, ${info.tgtVocab} rows)`);
  }
  return vocabularies(sourceVocab, targetVocab);
}

/** The translator of a weights file (the shipped one by default). See index.d.ts. */
export async function loadTranslator(module, source, { kernel = 'optimized' } = {}) {
  if (!KERNEL_NAMES.includes(kernel)) throw new RangeError(`loadTranslator: kernel must be one of ${KERNEL_NAMES.join(', ')}, got ${describe(kernel)}`);
  const bytes = await sourceBytes(source);
  const ptr = module._malloc(Math.max(1, bytes.byteLength));
  if (!ptr) throw new RangeError(`loadTranslator: could not allocate ${bytes.byteLength} bytes in the WASM heap`);
  let handle;
  try {
    heapU8(module).set(bytes, ptr);
    handle = unwrap(module.seq2seqLoad(ptr, bytes.byteLength), 'loadTranslator').handle;
  } finally {
    module._free(ptr);
  }
  let vocab, info;
  try {
    const raw = unwrap(module.seq2seqInfo(handle), 'loadTranslator');
    vocab = vocabFromMetadata(raw.metadata, raw);
    info = infoOf(module, handle, vocab);
  } catch (error) {
    module.seq2seqFree(handle);
    throw error;
  }
  const live = () => {
    if (handle === 0) throw new Error('translator: used after dispose()');
    return handle;
  };
  const translate = makeTranslate(module, live, vocab, info, KERNELS[kernel].code);
  return {
    info,
    translate,
    /** Held-out accuracy of these weights on the language's test set (see trainer.evaluate). */
    async evaluate(options = {}) { return evaluateWith(translate, makeCorpus({ seed: 1 }), options); },
    dispose() {
      if (handle !== 0) module.seq2seqFree(handle);
      handle = 0;
    },
  };
}
