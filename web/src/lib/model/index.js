// The real model: Universal Sentence Encoder lite (2-layer transformer encoder, docs/MODEL.md). A safetensors
// model file (scripts/convert-model.mjs) is read into the WASM heap from any source (openModelFile) and opened
// by the one validated reader (tensors.js); each backend builds its encoder from it (createEncoder(tensors):
// wasm_encoder.js, gpu_encoder.js); createModel() makes the model object, which tokenizes (always in WASM)
// and runs sentences through the engine's call(), the one place that picks the backend and falls back.
//
// Text goes through String.prototype.normalize('NFKC') here, as in the model's own tokenizer; the C++
// tokenizer does the rest (U+2581 prefix and spaces, Viterbi over the piece scores, unknown merging).

import { heapU8 } from '../heap.js';
import { outputBits } from './outputs.js';
import { KERNELS, KERNEL_NAMES, DEFAULT_KERNEL } from '../spec.js';
import { typedArrayType, plainView, lengthOf, bytesOf } from '../validate.js';
import { openTensors } from './tensors.js';
import { createWasmEncoder } from './wasm_encoder.js';

/** Where the compact model file lives on the page's own origin (Vite serves web/public at /). */
export const DEFAULT_MODEL_PATH = '/models/use-lite.f16.safetensors';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function defaultModelUrl() {
  if (typeof location !== 'undefined' && location.origin && location.origin !== 'null') {
    return new URL(DEFAULT_MODEL_PATH, location.origin);
  }
  // Node: the file scripts/convert-model.mjs writes, beside this source tree. Not a bundler's asset (the
  // comment keeps Vite from copying the 13.5 MiB file into every build that bundles the library).
  return new URL(/* @vite-ignore */ '../../../public/models/use-lite.f16.safetensors', import.meta.url);
}

function allocate(module, size) {
  const ptr = module._malloc(Math.max(1, size));
  if (!ptr) throw new RangeError(`loadModel: could not allocate ${size} bytes in the WASM heap`);
  return ptr;
}

/** Copies bytes the caller holds into the heap: { ptr, size, bytes }. */
function bytesIntoHeap(module, bytes) {
  const ptr = allocate(module, bytes.byteLength);
  heapU8(module).set(bytes, ptr);
  return { ptr, size: bytes.byteLength, bytes };
}

/**
 * Reads a stream of byte chunks straight into the heap as they arrive (no whole-file copy in JS): one block of
 * `expected` bytes (the Content-Length) when it is known and right, else a block that doubles as needed.
 */
async function streamIntoHeap(module, stream, expected, what) {
  if (stream.locked) throw new TypeError(`loadModel: ${what} is already being read (its stream is locked)`);
  let capacity = Number.isSafeInteger(expected) && expected > 0 ? expected : 1 << 20;
  let ptr = allocate(module, capacity);
  let size = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      let next;
      try {
        next = await reader.read();
      } catch (error) {
        throw new Error(`loadModel: reading ${what} failed: ${error?.message ?? error}`, { cause: error });
      }
      if (next.done) break;
      const chunk = next.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError(`loadModel: ${what} gave a chunk that is not a Uint8Array (${Object.prototype.toString.call(chunk)})`);
      }
      if (size + chunk.byteLength > capacity) {
        const grown = Math.max(2 * capacity, size + chunk.byteLength);
        const moved = allocate(module, grown);
        heapU8(module).copyWithin(moved, ptr, ptr + size);
        module._free(ptr);
        ptr = moved;
        capacity = grown;
      }
      heapU8(module).set(chunk, ptr + size);
      size += chunk.byteLength;
    }
  } catch (error) {
    module._free(ptr);
    reader.cancel().catch(() => {});
    throw error;
  }
  return { ptr, size, bytes: null };
}

async function responseIntoHeap(module, response, what) {
  if (!response.ok) throw new Error(`loadModel: could not load ${what}: HTTP ${response.status}`);
  if (response.bodyUsed) throw new TypeError(`loadModel: the body of ${what} was already read`);
  if (!response.body) throw new Error(`loadModel: ${what} has no body`);
  // With Content-Encoding the header counts the compressed bytes: then the block grows as it must.
  const expected = Number(response.headers.get('Content-Length') ?? NaN);
  return streamIntoHeap(module, response.body, expected, what);
}

async function urlIntoHeap(module, url) {
  if (url.protocol === 'file:') {
    const fsName = 'node:fs/promises';
    const fs = await import(/* @vite-ignore */ fsName);
    let bytes;
    try {
      bytes = new Uint8Array(await fs.readFile(url));
    } catch (error) {
      throw new Error(`loadModel: could not read ${url.href}: ${error.message} (run scripts/build.sh)`, { cause: error });
    }
    return bytesIntoHeap(module, bytes);
  }
  let response;
  try {
    response = await fetch(url);
  } catch (error) {  // offline, refused, blocked by CSP or CORS: fetch's own message names neither
    throw new Error(`loadModel: could not fetch ${url.href}: ${error.message}`, { cause: error });
  }
  return responseIntoHeap(module, response, url.href);
}

/** The model file in the heap, { ptr, size, bytes }, from any source loadModel takes; bytes: the caller's, if given. */
async function sourceIntoHeap(module, source) {
  if (source === undefined || source === null) return urlIntoHeap(module, defaultModelUrl());
  if (source instanceof URL) return urlIntoHeap(module, source);
  if (typeof source === 'string') {
    const base = typeof location !== 'undefined' && location.href ? location.href : undefined;
    let url;
    try {
      url = base ? new URL(source, base) : new URL(source);
    } catch {
      throw new TypeError(`loadModel: source '${source}' is not a URL (in Node pass a file: URL or the bytes)`);
    }
    return urlIntoHeap(module, url);
  }
  if (typeof Response === 'function' && source instanceof Response) {
    return responseIntoHeap(module, source, source.url || 'the response');
  }
  if (typeof ReadableStream === 'function' && source instanceof ReadableStream) {
    return streamIntoHeap(module, source, NaN, 'the stream');
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    let bytes;
    try {
      // A view's size from its internal slots (a subclass may lie in its getters): plainView of any typed array.
      bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : bytesOf(source);
    } catch (error) {  // a detached (transferred) buffer: V8's message does not say which argument
      throw new TypeError(`loadModel: source's buffer was detached (transferred); ${error.message}`, { cause: error });
    }
    return bytesIntoHeap(module, bytes);
  }
  throw new TypeError('loadModel: source must be a URL (string or URL), a Response, a ReadableStream of bytes, an ' +
    `ArrayBuffer, a Uint8Array or undefined for ${DEFAULT_MODEL_PATH}; got ${Object.prototype.toString.call(source)}`);
}

function checkText(text, fn) {
  if (typeof text !== 'string') throw new TypeError(`${fn}: text must be a string, got ${typeof text}`);
  if (/^\s*$/.test(text)) {
    throw new RangeError(`${fn}: text is empty or whitespace only; give at least one non-space character`);
  }
  // Lone surrogates become U+FFFD: Emscripten's UTF-8 marshalling would pair a lone high surrogate with the
  // next code unit; the original sees one unknown symbol either way (U+FFFD is in no matchable piece).
  return text.normalize('NFKC').replace(LONE_SURROGATE, '\uFFFD');
}

function describe(value) {
  if (typeof value === 'string') return `the string '${value.length > 20 ? `${value.slice(0, 20)}…` : value}'`;
  if (value === null) return 'null';
  return typeof value === 'object' ? `an object (${Object.prototype.toString.call(value)})` : `${typeof value} ${String(value)}`;
}

/** ids for runIds: an array of integers or an Int32Array (any realm), each read once, in [0, vocabSize). */
function checkIds(ids, vocabSize, fn) {
  const isInt32 = typedArrayType(ids) === 'Int32Array';
  if (!Array.isArray(ids) && !isInt32) {
    throw new TypeError(`${fn}: ids must be an array of integers or an Int32Array, got ${describe(ids)}`);
  }
  const list = isInt32 ? plainView(ids) : ids;
  const n = isInt32 ? lengthOf(list) : list.length;
  if (n === 0) throw new RangeError(`${fn}: ids is empty`);
  const copy = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = list[i];
    if (typeof id !== 'number') {
      throw new TypeError(`${fn}: ids must be an array of integers (numbers); ids[${i}] is ${describe(id)}`);
    }
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`${fn}: ids[${i}] = ${id} is not an integer in [0, ${vocabSize})`);
    }
    copy[i] = id;
  }
  return copy;
}

/** { kernel code, outputs bits } of run()/runIds() options { kernel, outputs }. */
function runOptions(opts, fn) {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw new TypeError(`${fn}: options must be an object such as { kernel: 'reference' }, got ${opts === null ? 'null' : typeof opts}`);
  }
  for (const name of Object.keys(opts ?? {})) {
    if (name !== 'kernel' && name !== 'outputs') {
      throw new TypeError(`${fn}: unknown option '${name}' (known: kernel, outputs)`);
    }
  }
  const kernel = opts?.kernel ?? DEFAULT_KERNEL;
  if (!Object.hasOwn(KERNELS, kernel)) {  // not `in`: 'toString' is in every object
    throw new RangeError(`${fn}: kernel must be one of ${KERNEL_NAMES.map((k) => `'${k}'`).join(', ')}, got '${kernel}'`);
  }
  return { kernel: KERNELS[kernel].code, outputs: outputBits(opts?.outputs, fn) };
}

/**
 * The model file from any source loadModel takes, in the module's heap and open for reading (tensors.js);
 * the caller closes it once every backend has built its encoder.
 */
export async function openModelFile(module, source) {
  if (!module || typeof module.modelLoad !== 'function') {
    throw new TypeError('loadModel: module must be the engine\'s WASM module (it has no modelLoad binding)');
  }
  return openTensors(module, await sourceIntoHeap(module, source));
}

/**
 * The model object.
 *   wasm:    the WASM encoder (wasm_encoder.js): the model's info and tokenizer, and its runs on WASM
 *   call:    (fn, work) => Promise<result & { backend, fallback? }>: runs work(encoder) on the encoder of the
 *            backend the engine picks (createEngine owns the policy and the fallback)
 *   dispose: frees every backend's encoder
 *   alive:   (fn) => throws when the engine can no longer be used
 */
export function createModel(wasm, { call, dispose: disposeEncoders, alive = () => {} }) {
  const raw = wasm.info;
  const info = Object.freeze({
    name: 'universal-sentence-encoder-lite',
    layers: raw.layers,
    heads: Object.freeze(raw.heads),
    dims: Object.freeze(raw.dims),
    headDims: Object.freeze(raw.headDims),
    inputDims: raw.inputDims,
    embeddingDims: raw.embeddingDims,
    vocabSize: raw.vocabSize,
    maxTokens: raw.maxTokens,
    dtype: raw.dtype,
  });
  let disposed = false;
  const live = (fn) => {
    alive(fn);  // the engine's own check (disposed engine)
    if (disposed) throw new Error(`${fn}: the model has been disposed`);
  };
  // Runs clipped ids on the engine's pick of backend; pieces and the clip are the tokenizer's (WASM).
  const runClipped = async (ids, pieces, tokensBeforeClip, opts, fn) => {
    const r = await call(fn, (encoder) => encoder.run(ids, { ...opts, fn }));
    return {
      pieces, ids, n: ids.length, truncated: tokensBeforeClip > ids.length, tokensBeforeClip,
      embedding: r.embedding, attention: r.attention, hidden: r.hidden, inputEmbeddings: r.inputEmbeddings,
      backend: r.backend, ...(r.fallback ? { fallback: r.fallback } : {}),
    };
  };

  return {
    info,
    /** Every piece of the text (not clipped): { ids: Int32Array, pieces: string[] }. */
    tokenize(text) {
      live('tokenize');
      return wasm.tokenize(checkText(text, 'tokenize'));
    },
    /**
     * Runs the encoder on the first info.maxTokens pieces of `text`.
     * opts: { kernel: 'optimized' | 'reference', outputs: names of the results to return, of spec.js
     *   MODEL_OUTPUTS (default all; the others are null; without 'attention' the WASM layers run the
     *   no-weights attention kernel and no [heads][n][n] arrays are made) }.
     * @returns {Promise<object>} { pieces, ids, n, truncated, tokensBeforeClip, embedding [E],
     *   attention[layer] [heads][n][n], hidden[layer] [n][dims[layer]], inputEmbeddings [n][inputDims], backend }
     */
    async run(text, opts) {
      live('run');
      const normalized = checkText(text, 'run');
      const options = runOptions(opts, 'run');
      const all = wasm.tokenize(normalized, 'run');
      const n = Math.min(all.ids.length, info.maxTokens);
      return runClipped(all.ids.slice(0, n), all.pieces.slice(0, n), all.ids.length, options, 'run');
    },
    /** As run(), on piece ids (e.g. from another tokenizer); ids outside [0, vocabSize) are an error. */
    async runIds(ids, opts) {
      live('runIds');
      const all = checkIds(ids, info.vocabSize, 'runIds');
      const options = runOptions(opts, 'runIds');
      const clipped = all.slice(0, info.maxTokens);
      return runClipped(clipped, wasm.pieces(clipped), all.length, options, 'runIds');
    },
    dispose() {
      if (!disposed) disposeEncoders();
      disposed = true;
    },
  };
}

/**
 * The model on the WASM module alone (no engine): what createEngine's loadModel does with a WASM engine.
 * @param {object} module the Emscripten module of the engine (backend.module)
 * @param {string|URL|Response|ReadableStream|ArrayBuffer|Uint8Array} [source] the model file; default: the
 *   compact file on the page's own origin, DEFAULT_MODEL_PATH. A URL, a Response or a stream is read into the
 *   WASM heap chunk by chunk as it downloads.
 * @returns {Promise<import('./index.d.ts').Model>}
 */
export async function loadModel(module, source, options = {}) {
  const tensors = await openModelFile(module, source ?? options.defaultSource);
  let wasm;
  try {
    wasm = createWasmEncoder(module, tensors);
  } finally {
    tensors.close();
  }
  return createModel(wasm, {
    call: async (fn, work) => ({ ...(await work(wasm)), backend: 'wasm' }),
    dispose: () => wasm.dispose(),
  });
}
