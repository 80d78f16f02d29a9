// The real model: Universal Sentence Encoder lite (2-layer transformer encoder, docs/MODEL.md) run by the
// WASM engine. loadModel(module, source) reads a safetensors model file (scripts/convert-model.mjs) into the
// module; the model object tokenizes and runs sentences and returns every layer's and head's attention.
//
// Text goes through String.prototype.normalize('NFKC') here, as in the model's own tokenizer; the C++
// tokenizer does the rest (U+2581 prefix and spaces, Viterbi over the piece scores, unknown merging).

import { heapU8 } from '../heap.js';
import { outputBits } from './outputs.js';
import { KERNELS, KERNEL_NAMES, DEFAULT_KERNEL } from '../spec.js';

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
      bytes = source instanceof ArrayBuffer ? new Uint8Array(source)
        : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
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

function unwrap(result, fn) {
  if (result.error) throw new Error(`${fn}: ${result.error}`);
  delete result.error;
  return result;
}

/**
 * @param {object} module the Emscripten module of the engine (backend.module)
 * @param {string|URL|Response|ReadableStream|ArrayBuffer|Uint8Array} [source] the model file; default: the
 *   compact file on the page's own origin, DEFAULT_MODEL_PATH. A URL, a Response or a stream is read into the
 *   WASM heap chunk by chunk as it downloads.
 * @returns {Promise<import('./index.d.ts').Model>}
 */
export async function loadModel(module, source, options = {}) {
  if (!module || typeof module.modelLoad !== 'function') {
    throw new TypeError('loadModel: module must be the engine\'s WASM module (it has no modelLoad binding)');
  }
  const wantsGpu = options.backend?.name === 'webgpu' && (options.gpuActive?.() ?? true);
  const file = await sourceIntoHeap(module, source ?? options.defaultSource);
  let loaded;
  let bytes = file.bytes;
  try {
    loaded = module.modelLoad(file.ptr, file.size);
    // The WebGPU encoder reads the file in JS: a copy out of the heap when it came from a stream.
    if (wantsGpu && !bytes) bytes = heapU8(module).slice(file.ptr, file.ptr + file.size);
  } finally {
    module._free(file.ptr);
  }
  const handle = unwrap(loaded, 'loadModel').handle;
  const raw = unwrap(module.modelInfo(handle), 'loadModel');
  // --- WebGPU (model/gpu_encoder.js): with the WebGPU backend, run() and runIds() compute on the GPU.
  // Tokenizing stays in WASM; the weights are uploaded once, here. A GPU failure rejects the call, or
  // under 'auto' leaves the model on WASM.
  let gpu = null;
  if (wantsGpu && (options.gpuActive?.() ?? true)) {  // the device may have been lost while the file loaded
    try {
      const { createGpuEncoder } = await import('./gpu_encoder.js');
      gpu = createGpuEncoder(options.backend, bytes);
    } catch (error) {
      if (options.gpuFallback) {
        options.gpuFallback(error);
      } else {
        module.modelFree(handle);
        throw error;
      }
    }
  }
  // The GPU computes while the engine runs on it. Under 'auto' a GPU fault (options.gpuFallback, from
  // createEngine) reruns the call on WASM, and a device lost moves the engine and this model there for good.
  const onGpu = () => gpu !== null && (options.gpuActive?.() ?? true);
  const gpuRun = async (ids, pieces, tokensBeforeClip, outputs, fn, wasmRun) => {
    let r;
    try {
      r = await gpu.run(ids, outputs, fn);
    } catch (error) {
      if (!options.gpuFallback) throw error;
      return { ...wasmRun(), fallback: options.gpuFallback(error) };
    }
    return {
      pieces, ids, n: ids.length, truncated: tokensBeforeClip > ids.length, tokensBeforeClip,
      embedding: r.embedding, attention: r.attention, hidden: r.hidden, inputEmbeddings: r.inputEmbeddings,
      backend: 'webgpu',
    };
  };
  // --- end WebGPU
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
    if (disposed) throw new Error(`${fn}: the model has been disposed`);
  };
  // { kernel code, outputs bits } of run()/runIds() options { kernel, outputs }.
  const runOptions = (opts, fn) => {
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
  };
  const finish = (r) => {
    const n = r.ids.length;
    return {
      pieces: r.pieces, ids: r.ids, n, truncated: r.truncated, tokensBeforeClip: r.tokensBeforeClip,
      embedding: r.embedding, attention: r.attention, hidden: r.hidden, inputEmbeddings: r.inputEmbeddings,
      backend: 'wasm',
      ...(options.fallback?.() ? { fallback: options.fallback() } : {}),
    };
  };

  return {
    info,
    /** Every piece of the text (not clipped): { ids: Int32Array, pieces: string[] }. */
    tokenize(text) {
      live('tokenize');
      const normalized = checkText(text, 'tokenize');
      const r = unwrap(module.modelTokenize(handle, normalized), 'tokenize');
      return { ids: r.ids, pieces: r.pieces };
    },
    /**
     * Runs the encoder on the first info.maxTokens pieces of `text`.
     * opts: { kernel: 'optimized' | 'reference', outputs: names of the results to return, of 'embedding',
     *   'attention', 'hidden', 'inputEmbeddings' (default all; the others are null; without 'attention' the
     *   layers run the no-weights attention kernel and no [heads][n][n] arrays are made) }.
     * @returns {Promise<object>} { pieces, ids, n, truncated, tokensBeforeClip, embedding [E],
     *   attention[layer] [heads][n][n], hidden[layer] [n][dims[layer]], inputEmbeddings [n][inputDims] }
     */
    async run(text, opts) {
      live('run');
      const normalized = checkText(text, 'run');
      const { kernel, outputs } = runOptions(opts, 'run');
      const wasmRun = () => finish(unwrap(module.modelRun(handle, normalized, kernel, outputs), 'run'));
      if (onGpu()) {  // WebGPU (gpu_encoder.js): tokenize in WASM, clip, run on the GPU (one float32 path)
        const all = unwrap(module.modelTokenize(handle, normalized), 'run');
        const n = Math.min(all.ids.length, info.maxTokens);
        return gpuRun(all.ids.slice(0, n), all.pieces.slice(0, n), all.ids.length, outputs, 'run', wasmRun);
      }
      return wasmRun();
    },
    /** As run(), on piece ids (e.g. from another tokenizer); ids outside [0, vocabSize) are an error. */
    async runIds(ids, opts) {
      live('runIds');
      if (!Array.isArray(ids) && !(ids instanceof Int32Array)) {
        throw new TypeError('runIds: ids must be an array of integers or an Int32Array');
      }
      if (ids.length === 0) throw new RangeError('runIds: ids is empty');
      for (let i = 0; i < ids.length; i++) {
        if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= info.vocabSize) {
          throw new RangeError(`runIds: ids[${i}] = ${ids[i]} is not an integer in [0, ${info.vocabSize})`);
        }
      }
      const { kernel, outputs } = runOptions(opts, 'runIds');
      const wasmRun = () => finish(unwrap(module.modelRunIds(handle, Array.from(ids), kernel, outputs), 'runIds'));
      if (onGpu()) {  // WebGPU (gpu_encoder.js)
        const clipped = Int32Array.from(ids).slice(0, info.maxTokens);
        return gpuRun(clipped, gpu.pieces(clipped), ids.length, outputs, 'runIds', wasmRun);
      }
      return wasmRun();
    },
    dispose() {
      if (!disposed) module.modelFree(handle);
      if (!disposed) gpu?.dispose();  // WebGPU weights
      disposed = true;
    },
  };
}
