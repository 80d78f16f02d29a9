// The attention engine's public JS API, in browsers and Node 20. Every call is validated here, once
// (validate.js); backends (WASM, WebGPU) receive normalized arguments. See README.md for the API.
import { normalizeAttention, normalizeMultiHead, checkPositionalEncoding, checkHeapArrayLength } from './validate.js';
import { createWasmBackend, wasmSimdSupported, relaxedSimdSupported, MAX_THREADS } from './backends/wasm.js';
import { normalizeAttentionBackward, normalizeMultiHeadBackward } from './validate_backward.js';
import { HeapArray, createHeapArray, isHeapArray } from './heap_array.js';

export { wasmSimdSupported, relaxedSimdSupported, HeapArray };
// The op spec: names, codes, parameters, labels and formulas of score functions, masks, kernels, model outputs.
export {
  SCORES, SCORE_NAMES, DEFAULT_SCORE, SCORE_PARAM_NAMES, scoreScale, MASKS, MASK_NAMES, maskAllows, KERNELS,
  KERNEL_NAMES, DEFAULT_KERNEL, MODEL_OUTPUTS, ALL_MODEL_OUTPUTS,
} from './spec.js';

const BACKENDS = ['auto', 'wasm', 'webgpu'];
const ENGINE_OPTIONS = new Set(['backend', 'simd', 'relaxedSimd', 'gpu', 'threads']);

/**
 * Sinusoidal positional encoding, Float32Array [n][d]:
 * PE[p][2i] = sin(p / 10000^(2i/d)), PE[p][2i+1] = cos(p / 10000^(2i/d)), computed in double.
 */
export function positionalEncoding(n, d) {
  checkPositionalEncoding(n, d);
  const pe = new Float32Array(n * d);
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < d; j++) {
      const angle = p / 10000 ** ((j - (j % 2)) / d);
      pe[p * d + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return pe;
}

function defaultGpu() {
  return typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu : undefined;
}

/**
 * Creates an engine. backend: 'auto' (WebGPU when an adapter and device are granted, else WASM), 'wasm'
 * or 'webgpu' (fails with a clear error when WebGPU is unavailable). simd: false forces the scalar WASM
 * build. relaxedSimd: false keeps the plain SIMD build where the browser has relaxed SIMD (by default the
 * engine, one-thread or threaded, then runs the build whose micro-kernels use f32x4.relaxed_madd;
 * engine.relaxedSimd says which runs). gpu: a GPU object (navigator.gpu in browsers; the npm 'webgpu' package's create() in Node).
 * threads: how many threads the WASM engine asks for, an integer from 1 to MAX_THREADS (default
 * navigator.hardwareConcurrency, at most 4); more than 1 runs the threaded build on a cross-origin isolated
 * page and one thread elsewhere (engine.threads, engine.threadsFallback say which and why).
 */
export async function createEngine(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`createEngine: expected an options object, got ${options === null ? 'null' : typeof options}`);
  }
  for (const name of Object.keys(options)) {
    if (!ENGINE_OPTIONS.has(name)) {
      throw new TypeError(`createEngine: unknown option '${name}' (known: ${[...ENGINE_OPTIONS].join(', ')})`);
    }
  }
  const requested = options.backend ?? 'auto';
  if (!BACKENDS.includes(requested)) {
    throw new RangeError(`createEngine: backend must be one of ${BACKENDS.join(', ')}, got '${requested}'`);
  }
  for (const name of ['simd', 'relaxedSimd']) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new TypeError(`createEngine: ${name} must be a boolean, got ${typeof options[name]}`);
    }
  }
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    const shown = typeof threads === 'number' ? String(threads) : typeof threads === 'string' ? `'${threads}'` : typeof threads;
    throw new RangeError(`createEngine: threads must be an integer from 1 to ${MAX_THREADS}, got ${shown}`);
  }
  // The WASM module is always loaded: it is the fallback, and it holds the model's tokenizer and reader.
  const wasm = await createWasmBackend({ simd: options.simd, relaxedSimd: options.relaxedSimd, threads });
  let active = wasm;
  let fallback = null;
  // The GPU object (navigator.gpu, or the npm 'webgpu' package's create([]) passed inline): held for as long
  // as the engine lives, since Dawn's Node binding frees the instance under the device when it is collected.
  let gpu = null;
  if (requested !== 'wasm') {
    gpu = options.gpu ?? defaultGpu();
    try {
      if (!gpu) throw new Error('WebGPU is not available here (no navigator.gpu and no gpu option)');
      const { createWebGPUBackend } = await import('./webgpu/backend.js');
      active = await createWebGPUBackend({ gpu });
    } catch (error) {
      if (requested === 'webgpu') {
        wasm.dispose();
        throw new Error(`createEngine: backend 'webgpu' is unavailable: ${error.message}`, { cause: error });
      }
      fallback = { from: 'webgpu', reason: error.message };
    }
  }
  let disposed = false;
  const live = (fn) => {
    if (disposed) throw new Error(`${fn}: the engine was disposed; create a new engine`);
  };

  // The one fallback policy, for ops and models alike. For 'auto': a WebGPU failure that is not the caller's
  // fault falls back to WASM. A call over the device's buffer limits (error.gpuLimit) runs on WASM this once;
  // a device lost or any other GPU fault switches the engine, and every model loaded on it, to WASM for good.
  // Returns what the result reports.
  function fallBack(backend, error) {
    const reason = { from: backend.name, reason: error.message };
    if (!error.gpuLimit) {
      fallback = reason;
      if (active === backend) {
        try { backend.dispose(); } catch { /* the device may already be gone */ }
        active = wasm;
      }
    }
    return reason;
  }

  /**
   * Runs work(backend) on the active backend (or on WASM when `has(active)` is false, e.g. a model whose
   * GPU encoder could not be built), falling back as above. Arguments were validated before, so the WASM
   * run sees the same good input. Returns { ...result, backend, fallback? }.
   */
  async function call(fn, work, has = () => true) {
    live(fn);
    const backend = has(active) ? active : wasm;
    try {
      const result = await work(backend);
      return { ...result, backend: backend.name, ...(fallback ? { fallback } : {}) };
    } catch (error) {
      if (backend === wasm || requested !== 'auto' || disposed) throw error;
      const reason = fallBack(backend, error);
      return { ...(await work(wasm)), backend: 'wasm', fallback: reason };
    }
  }

  // The options out and weightsOut: results land in the caller's buffers. The WASM backend copies straight into
  // them (or computes into them: heap arrays); a backend that returned arrays of its own (WebGPU's readback) is
  // copied here, after call(): a caller's buffer that cannot take them (detached, disposed during the call) is
  // the caller's error, not the backend's. A heap array's result is returned as a view of it.
  const viewOf = (buffer) => (isHeapArray(buffer) ? buffer.view() : buffer);
  function intoCallerBuffers(result, { out, weightsOut, callerOut, callerWeightsOut }) {
    if (out && result.output !== out) out.set(result.output);
    if (weightsOut && result.weights !== weightsOut) weightsOut.set(result.weights);
    return { ...result, output: viewOf(callerOut ?? result.output), weights: viewOf(callerWeightsOut ?? result.weights) };
  }

  // A backend other than WASM reads plain arrays: the call's heap-array inputs (top level and one object down,
  // e.g. scoreParams) as copies. The results' heap arrays stay (intoCallerBuffers fills them).
  const RESULT_KEYS = new Set(['out', 'weightsOut', 'callerOut', 'callerWeightsOut']);
  const copyHeapArray = (value) => (isHeapArray(value) ? value.toArray() : value);
  function withPlainInputs(normalized) {
    const plain = {};
    for (const [key, value] of Object.entries(normalized)) {
      if (RESULT_KEYS.has(key)) plain[key] = value;
      else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
        plain[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyHeapArray(v)]));
      } else plain[key] = copyHeapArray(value);
    }
    return plain;
  }

  // The float inputs' finite check runs on the WASM heap, whichever backend computes: a staging area
  // (wasm.stage()) copies each large input in and scans it there, and the WASM call takes those copies instead of
  // copying the inputs again (heap arrays are scanned and read where they lie). Validation and the WASM call's
  // copies run with no await between them. normalize(args, staging) validates.
  const op = (method, normalize) => async (args) => {
    live(method);
    const staging = wasm.stage();
    try {
      const normalized = normalize(args, staging);
      if (active !== wasm) staging.release();  // another backend computes: free the copies now (a fallback copies again)
      const result = await call(method, (backend) => (backend === wasm
        ? wasm[method](normalized, staging) : backend[method](withPlainInputs(normalized), null)));
      return intoCallerBuffers(result, normalized);
    } finally {
      staging.release();
    }
  };

  // A call that always runs on WASM (the gradients), with op's staging.
  const wasmOp = (method, normalize) => async (args) => {
    live(method);
    const staging = wasm.stage();
    try {
      return await wasm[method](normalize(args, staging), staging);
    } finally {
      staging.release();
    }
  };

  /**
   * A model on this engine: the file is read once into the WASM heap and opened by the one safetensors reader;
   * every backend the engine may run on builds its encoder from it (createEncoder); runs go through call().
   */
  async function loadModel(source) {
    live('loadModel');
    const { openModelFile, createModel } = await import('./model/index.js');
    const tensors = await openModelFile(wasm.module, source);
    const encoders = new Map();
    try {
      live('loadModel');  // the engine may have been disposed while the file downloaded
      encoders.set(wasm, wasm.createEncoder(tensors));
      const other = active;  // the device may have been lost while the file loaded
      if (other !== wasm) {
        try {
          encoders.set(other, await other.createEncoder(tensors));
        } catch (error) {
          if (requested !== 'auto') throw error;
          fallBack(other, error);
        }
      }
    } catch (error) {
      for (const encoder of encoders.values()) encoder.dispose();
      throw error;
    } finally {
      tensors.close();
    }
    return createModel(encoders.get(wasm), {
      call: (fn, work) => call(fn, (backend) => work(encoders.get(backend)), (backend) => encoders.has(backend)),
      alive: live,
      dispose: () => {
        for (const encoder of encoders.values()) encoder.dispose();
      },
    });
  }

  return {
    /** 'wasm' or 'webgpu': the backend that computes now. */
    get backend() { return active.name; },
    /** True when the WASM SIMD build is loaded. */
    get simd() { return wasm.simd; },
    get relaxedSimd() { return wasm.relaxedSimd; },
    /** How many threads the WASM engine runs on (1 in the one-thread builds). */
    get threads() { return wasm.threads; },
    /** Why more than one thread was asked for (or the default) and one runs, else null. */
    get threadsFallback() { return wasm.threadsFallback; },
    /** Why 'auto' runs on WASM, or null. */
    get fallback() { return fallback; },
    /** The adapter WebGPU runs on, when it does. */
    get adapterInfo() { return active.adapterInfo ?? null; },
    // async, so that a validation error is a rejected promise like any other failure.
    attention: op('attention', (args, heap) => normalizeAttention(args, { heap })),
    multiHeadAttention: op('multiHeadAttention', (args, heap) => normalizeMultiHead(args, { heap })),
    // Gradients (docs/TRAINING.md): always on WASM, whichever backend runs the forward calls.
    attentionBackward: wasmOp('attentionBackward', normalizeAttentionBackward),
    multiHeadAttentionBackward: wasmOp('multiHeadAttentionBackward', normalizeMultiHeadBackward),
    loadModel,
    // The toy English -> German encoder-decoder (web/src/lib/translator/, docs/TRANSLATOR.md): trained and run on WASM.
    async createTrainer(options) {
      live('createTrainer');
      const { createTrainer } = await import('./translator/index.js');
      return createTrainer(wasm.module, options);
    },
    async loadTranslator(source) {
      live('loadTranslator');
      const { loadTranslator } = await import('./translator/index.js');
      return loadTranslator(wasm.module, source);
    },
    /**
     * A HeapArray (heap_array.js) of `length` float32 values (zeros) in the engine's WASM heap: an input
     * (query, key, value, W, x, dOutput, ...) the kernels read where it lies, or an out / weightsOut they write
     * into, so repeated calls copy nothing in or out. view() reads it; dispose() frees it.
     */
    heapArray(length) {
      live('heapArray');
      checkHeapArrayLength(length);
      return createHeapArray(wasm.module, length);
    },
    /** WASM heap figures: { heapBytes, bytesInUse }. */
    memory() {
      live('memory');
      return wasm.memory();
    },
    /** Frees the GPU device and the WASM threads; every later call rejects with an Error saying so. */
    dispose() {
      if (disposed) return;
      disposed = true;
      if (active !== wasm) active.dispose();
      wasm.dispose();
      gpu = null;
    },
  };
}
