// The WASM backend: loads the Emscripten module (the threaded SIMD build on a cross-origin isolated page when
// more than one thread is wanted, else a one-thread SIMD build where the browser validates WASM SIMD, else the
// scalar build; either SIMD build with relaxed SIMD's multiply-add where the browser validates relaxed SIMD),
// copies validated inputs into the heap, calls the Embind bindings, copies results out into fresh typed arrays
// and frees everything, whatever happens. See docs/CONTRACTS.md.

import { heapF32, heapU8 } from '../heap.js';
import { isHeapArray, heapArrayPointer } from '../heap_array.js';
import { SCORES, SCORE_PARAM_NAMES, MASKS, KERNELS } from '../spec.js';
import { lengthOf } from '../validate.js';
import { createWasmEncoder } from '../model/wasm_encoder.js';
import { attentionBackwardOnHeap, multiHeadAttentionBackwardOnHeap, bindingField } from './wasm_backward.js';

// A module whose one function returns i8x16.popcnt(i8x16.splat(0)): valid only where WASM SIMD is.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** True when this WebAssembly engine accepts SIMD (f32x4) instructions. */
export function wasmSimdSupported() {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

// A module whose one function returns f32x4.relaxed_madd of three f32x4.splat(1): valid only where relaxed SIMD is
// (and so WASM SIMD, whose v128 type and splats it uses).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 28, 1, 26, 0, 67, 0, 0, 128, 63, 253, 19, 67,
  0, 0, 128, 63, 253, 19, 67, 0, 0, 128, 63, 253, 19, 253, 133, 2, 11,
]);

/**
 * True when this WebAssembly engine accepts relaxed SIMD (f32x4.relaxed_madd): Chromium since 114, Firefox (ESR
 * 153 checked); not WebKitGTK 2.50, nor Node 20 without --experimental-wasm-relaxed-simd.
 */
export function relaxedSimdSupported() {
  return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
}

async function readBytes(url) {
  if (url.protocol === 'file:') {
    const fsName = 'node:fs/promises';
    const fs = await import(/* @vite-ignore */ fsName);
    return fs.readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`createEngine: could not load ${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The most threads createEngine accepts, and the default's cap on navigator.hardwareConcurrency. */
export const MAX_THREADS = 16;
export const DEFAULT_MAX_THREADS = 4;
/** How long dispose() waits for the pool's workers to fall asleep (ms): microseconds unless descheduled. */
const DISPOSE_PARK_MS = 1000;

/**
 * Why this context cannot run the threaded build, or null when it can: it needs a cross-origin isolated
 * page or worker (COOP/COEP), SharedArrayBuffer, WASM SIMD and a browser (the build targets web and worker).
 */
export function threadsUnavailableReason() {
  if (typeof process === 'object' && process.versions?.node && typeof window === 'undefined' && typeof self === 'undefined') {
    return 'Node runs the one-thread build';
  }
  if (globalThis.crossOriginIsolated !== true) return 'the page is not cross-origin isolated (COOP/COEP headers)';
  if (typeof SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is not available';
  if (!wasmSimdSupported()) return 'WASM SIMD is not supported';
  return null;
}

/** The default thread count: navigator.hardwareConcurrency, at most DEFAULT_MAX_THREADS. */
export function defaultThreads() {
  const cores = typeof navigator === 'object' ? Number(navigator.hardwareConcurrency) : 1;
  return Number.isInteger(cores) && cores > 1 ? Math.min(cores, DEFAULT_MAX_THREADS) : 1;
}

async function instantiate(simd, relaxed) {
  // Literal imports so that bundlers see (and emit) every build; the glue and the wasm load side by side.
  const [gluePending, wasmUrl] = relaxed
    ? [import('../wasm/attn_simd_relaxed.mjs'), new URL('../wasm/attn_simd_relaxed.wasm', import.meta.url)]
    : simd
      ? [import('../wasm/attn_simd.mjs'), new URL('../wasm/attn_simd.wasm', import.meta.url)]
      : [import('../wasm/attn_scalar.mjs'), new URL('../wasm/attn_scalar.wasm', import.meta.url)];
  const [glue, wasmBinary] = await Promise.all([gluePending, readBytes(wasmUrl)]);
  return glue.default({ wasmBinary });
}

/**
 * The threaded build (attn_simd_mt_relaxed when `relaxed`, else attn_simd_mt) with `threads - 1` Web Workers,
 * started before the module resolves. The glue and the pthread worker script are loaded by URL, not bundled:
 * each worker imports the same glue file (mainScriptUrlOrBlob), so the glue must stay one file at a known URL
 * (a bundler emits the three files as assets; literal URLs, so that it sees both builds). locateFile hands
 * Emscripten the worker's URL.
 */
async function instantiateThreaded(threads, relaxed) {
  const [glueUrl, workerUrl, wasmUrl] = relaxed
    ? [new URL('../wasm/attn_simd_mt_relaxed.mjs', import.meta.url),
      new URL('../wasm/attn_simd_mt_relaxed.worker.js', import.meta.url),
      new URL('../wasm/attn_simd_mt_relaxed.wasm', import.meta.url)]
    : [new URL('../wasm/attn_simd_mt.mjs', import.meta.url),
      new URL('../wasm/attn_simd_mt.worker.js', import.meta.url),
      new URL('../wasm/attn_simd_mt.wasm', import.meta.url)];
  const [glue, wasmBinary] = await Promise.all([import(/* @vite-ignore */ glueUrl.href), readBytes(wasmUrl)]);
  return glue.default({
    wasmBinary,
    attnPoolSize: threads - 1,
    mainScriptUrlOrBlob: glueUrl.href,
    locateFile: (name) => (name.endsWith('.worker.js') ? workerUrl.href : new URL(name, wasmUrl).href),
  });
}

/**
 * A scope of heap allocations that are all freed together. Views of WASM memory are re-created at each
 * access because they go stale when memory grows.
 */
class HeapScope {
  // staging (optional): the call's inputs already copied in by its finite check (createStaging), taken as they are.
  constructor(module, staging = null) {
    this.module = module;
    this.staging = staging;
    this.pointers = [];
  }

  u8() {
    return heapU8(this.module);
  }

  f32() {
    return heapF32(this.module);
  }

  alloc(bytes, what) {
    if (bytes === 0) return 0;
    const ptr = this.module._malloc(bytes);
    if (!ptr) {
      throw new RangeError(`${what}: could not allocate ${bytes} bytes in the WASM heap ` +
        `(${(this.u8().length / 2 ** 20).toFixed(0)} MiB in use at most 2048 MiB)`);
    }
    this.pointers.push(ptr);
    return ptr;
  }

  // Inputs were validated (validate.js): plain views whose size is read once, from the internal slot
  // (lengthOf), and the block is exactly that size; set() copies that many values. An input the staging holds
  // is not copied again (its block belongs to the staging, which frees it), nor is a heap array of this engine's
  // (read where it lies).
  floats(array, what) {
    if (array === null || array === undefined) return 0;
    if (isHeapArray(array)) return heapArrayPointer(array, what);
    const staged = this.staging?.copyOf(array);
    if (staged) return staged;
    const ptr = this.alloc(4 * lengthOf(array), what);
    this.f32().set(array, ptr >> 2);
    return ptr;
  }

  bytes(array, what) {
    if (array === null || array === undefined) return 0;
    const ptr = this.alloc(lengthOf(array), what);
    this.u8().set(array, ptr);
    return ptr;
  }

  /** A result's block: the caller's heap array (into, validated: the kernels write into it) or a new one. */
  output(count, what, into = null) {
    return isHeapArray(into) ? heapArrayPointer(into, what) : this.alloc(4 * count, what);
  }

  /**
   * The score parameters ({ W, Wq, Wk, v }, absent ones undefined) as the bindings' fields: the spec's
   * parameter names, each copied in (0 when absent); v is 'va' there (dv is the value dims).
   */
  scoreParams(params, what) {
    return Object.fromEntries(SCORE_PARAM_NAMES.map((name) => [bindingField(name), this.floats(params[name], what)]));
  }

  /**
   * A fresh Float32Array copy of `count` floats at `ptr`, or `into` (a plain view: filled; a heap array: returned
   * as it is, the kernels wrote it). new + set(subarray) rather than slice(): slice of a view of the growable
   * WASM memory copies element by element in V8 (16 MiB: 37 ms vs 2.3 ms in Node 20).
   */
  read(ptr, count, into = null) {
    if (isHeapArray(into)) return into;  // written in place (output())
    const out = into ?? new Float32Array(count);
    out.set(this.f32().subarray(ptr >> 2, (ptr >> 2) + count));
    return out;
  }

  free() {
    for (const ptr of this.pointers) this.module._free(ptr);
    this.pointers.length = 0;
  }
}

/**
 * One call's staging area on the heap, so that a large float input is copied in once, not twice:
 * firstNonFinite(array) (validate.js checkFloats calls it for inputs of 4096 values or more) copies the array
 * into the heap, scans it there (one f32x4 pass, wasm/src/finite.cpp) and keeps the copy; the call's HeapScope
 * takes it (copyOf) instead of copying the array again; release() frees every copy, taken or not (index.js
 * calls it when the call ends, or before another backend computes). Validation and the call's copies run in one
 * synchronous stretch (index.js op), so no code of the caller runs between the copy and its use.
 */
function createStaging(module) {
  const copies = new Map();  // validated plain view -> its copy in the heap
  return {
    /** The index of the first NaN or +-Infinity, -1 when none, or null when the heap has no room (then JS checks). */
    firstNonFinite(array) {
      const n = lengthOf(array);
      if (n === 0) return -1;
      let ptr = copies.get(array);
      if (ptr === undefined) {
        ptr = module._malloc(4 * n);
        if (!ptr) return null;
        copies.set(array, ptr);
        heapF32(module).set(array, ptr >> 2);
      }
      const i = module.firstNonFinite(ptr, n);
      return i === n ? -1 : i >= 0 ? i : null;
    },
    copyOf: (array) => copies.get(array) ?? 0,
    /** True for a heap array of this module's (validate.js takes it as an input or a result buffer). */
    owns: (array) => array.belongsTo(module),
    release() {
      for (const ptr of copies.values()) module._free(ptr);
      copies.clear();
    },
  };
}

// Status -2 (wasm/bindings/bindings.cpp kOutOfMemory): the call's scratch, counted before it started, does not
// fit in the heap or could not be allocated; the engine freed it all and stays usable.
function check(status, fn, sizes, scratchBytes) {
  if (status === -2) {
    throw new RangeError(`${fn}: ${sizes} need ${(scratchBytes() / 2 ** 20).toFixed(0)} MiB of scratch ` +
      'beyond the arguments, more than the WASM heap (at most 2048 MiB) can give');
  }
  if (status !== 0) throw new Error(`${fn}: the WASM engine returned status ${status}`);
}

/**
 * @param {{ simd?: boolean, relaxedSimd?: boolean, threads?: number }} [options] simd: false forces the scalar
 *   build (the default picks SIMD where supported). relaxedSimd: false keeps the plain SIMD build, threaded or
 *   not, where the relaxed one would run (the default picks it, one thread or more, where relaxedSimdSupported();
 *   its multiply-adds may round once instead of twice). threads (validated by createEngine): how many threads to
 *   ask for; the default is defaultThreads(). More than 1 loads the threaded build where threadsUnavailableReason() is
 *   null, else the one-thread build runs and `threadsFallback` says why.
 */
export async function createWasmBackend(options = {}) {
  const simd = options.simd === undefined ? wasmSimdSupported() : options.simd && wasmSimdSupported();
  // One choice for the threaded and the one-thread build alike: relaxed SIMD's multiply-add where the browser has it.
  const relaxed = simd && options.relaxedSimd !== false && relaxedSimdSupported();
  const wanted = options.threads ?? defaultThreads();
  let module = null;
  let threadsFallback = null;
  if (wanted > 1) {
    threadsFallback = simd ? threadsUnavailableReason() : 'the threaded build needs SIMD (simd: false was asked)';
    if (!threadsFallback) {
      module = await instantiateThreaded(wanted, relaxed);
      module.setThreads(wanted);
    }
  }
  module ??= await instantiate(simd, relaxed);

  function withHeap(body, staging = null) {
    const heap = new HeapScope(module, staging);
    try {
      return body(heap);
    } finally {
      heap.free();
    }
  }

  return {
    name: 'wasm',
    simd: module.simd(),
    /** True when the module's micro-kernels use relaxed SIMD's multiply-add (attn_simd_relaxed, attn_simd_mt_relaxed). */
    relaxedSimd: relaxed,
    /** The thread count in effect (1 in the one-thread builds). */
    threads: module.threads(),
    /** Why more than one thread was asked for and one runs, else null. */
    threadsFallback,
    module,

    /**
     * A staging area for one call (createStaging): its firstNonFinite is validate.js's finder, and the call
     * (attention(a, staging), ...) takes the copies it made. The caller releases it.
     */
    stage: () => createStaging(module),

    /**
     * The index of the first NaN or +-Infinity in `array` (a checked plain Float32Array), -1 when all are finite,
     * or null when the heap has no room for a copy (validate.js then checks in JS): a copy and one f32x4 pass
     * (wasm/src/finite.cpp) instead of a JS loop over every value; docs/CPU.md, eighth pass.
     */
    firstNonFinite(array) {
      const staging = createStaging(module);
      try {
        return staging.firstNonFinite(array);
      } finally {
        staging.release();
      }
    },

    // Each call takes an optional staging (stage()): inputs its finite check already copied into the heap.
    async attention(a, staging = null) {
      const fn = 'attention';
      return withHeap((heap) => {
        const outCount = a.heads * a.nq * a.dv;
        const weightCount = a.returnWeights ? a.heads * a.nq * a.nk : 0;
        const scoreCount = a.returnScores ? a.heads * a.nq * a.nk : 0;
        const args = {
          q: heap.floats(a.query, fn), k: heap.floats(a.key, fn), v: heap.floats(a.value, fn),
          ...heap.scoreParams(a, fn),
          allowed: heap.bytes(a.mask.allowed, fn),
          out: heap.output(outCount, fn, a.out), weights: heap.output(weightCount, fn, a.weightsOut),
          scores: heap.output(scoreCount, fn),
          score: SCORES[a.score].code, mask: MASKS[a.mask.kind].code, variant: KERNELS[a.kernel].code,
          heads: a.heads, nq: a.nq, nk: a.nk, dk: a.dk, dv: a.dv, da: a.da,
        };
        check(module.attention(args), fn, `heads ${a.heads}, nq ${a.nq}, nk ${a.nk}, dk ${a.dk}, dv ${a.dv}`,
          () => module.attentionScratchBytes(args));
        return {
          output: heap.read(args.out, outCount, a.out),
          weights: a.returnWeights ? heap.read(args.weights, weightCount, a.weightsOut) : null,
          ...(a.returnScores ? { scores: heap.read(args.scores, scoreCount) } : {}),
        };
      }, staging);
    },

    async multiHeadAttention(a, staging = null) {
      const fn = 'multiHeadAttention';
      return withHeap((heap) => {
        const outCount = a.nq * a.dModel;
        const weightCount = a.returnWeights ? a.heads * a.nq * a.nk : 0;
        const x = heap.floats(a.x, fn);
        const p = a.scoreParams;
        const args = {
          x, context: a.self ? x : heap.floats(a.context, fn),
          wq: heap.floats(a.Wq, fn), wk: heap.floats(a.Wk, fn), wv: heap.floats(a.Wv, fn), wo: heap.floats(a.Wo, fn),
          bq: heap.floats(a.bq, fn), bk: heap.floats(a.bk, fn), bv: heap.floats(a.bv, fn), bo: heap.floats(a.bo, fn),
          ...heap.scoreParams(p, fn),
          allowed: heap.bytes(a.mask.allowed, fn),
          out: heap.output(outCount, fn, a.out), weights: heap.output(weightCount, fn, a.weightsOut),
          score: SCORES[a.score].code, mask: MASKS[a.mask.kind].code, variant: KERNELS[a.kernel].code,
          nq: a.nq, nk: a.nk, dModel: a.dModel, heads: a.heads, da: p.da,
        };
        check(module.multiHeadAttention(args), fn, `nq ${a.nq}, nk ${a.nk}, dModel ${a.dModel}, heads ${a.heads}`,
          () => module.multiHeadScratchBytes(args));
        return {
          output: heap.read(args.out, outCount, a.out),
          weights: a.returnWeights ? heap.read(args.weights, weightCount, a.weightsOut) : null,
        };
      }, staging);
    },

    /** The model of an open model file (model/tensors.js) on this backend: the C++ encoder. */
    createEncoder: (tensors) => createWasmEncoder(module, tensors),

    // The backward calls (wasm_backward.js): gradients of attention and of the multi-head layer.
    async attentionBackward(a, staging = null) {
      return withHeap((heap) => attentionBackwardOnHeap(module, heap, a), staging);
    },
    async multiHeadAttentionBackward(a, staging = null) {
      return withHeap((heap) => multiHeadAttentionBackwardOnHeap(module, heap, a), staging);
    },

    /** Heap figures for leak checks and the bench: total heap size and bytes malloc'd now. */
    memory() {
      return { heapBytes: (module.wasmMemory?.buffer ?? module.HEAPU8).byteLength, bytesInUse: module.heapBytesInUse() };
    },

    /**
     * The threaded build's Web Workers end here; the engine must not be used after. The pool's workers are put
     * to sleep first (parkThreads): terminateAllThreads frees a thread's memory before its Worker stops, and a
     * worker still finishing its share of the last call would run on it ("memory access out of bounds").
     */
    dispose() {
      if (!module.PThread) return;  // a one-thread build
      module.parkThreads(DISPOSE_PARK_MS);
      module.PThread.terminateAllThreads();
    },
  };
}
