// The attention engine's public JS API, in browsers and Node 20. Every call is validated here, once
// (validate.js); backends (WASM, WebGPU) receive normalized arguments. See README.md for the API.
import { normalizeAttention, normalizeMultiHead, checkPositionalEncoding } from './validate.js';
import { createWasmBackend, wasmSimdSupported, MAX_THREADS } from './backends/wasm.js';

export { wasmSimdSupported };

const BACKENDS = ['auto', 'wasm', 'webgpu'];
const ENGINE_OPTIONS = new Set(['backend', 'simd', 'gpu', 'threads']);

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

async function createGpuBackend(gpu) {
  const { createWebGPUBackend } = await import('./webgpu/backend.js');
  return createWebGPUBackend({ gpu });
}

function defaultGpu() {
  return typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu : undefined;
}

/**
 * Creates an engine. backend: 'auto' (WebGPU when an adapter and device are granted, else WASM), 'wasm'
 * or 'webgpu' (fails with a clear error when WebGPU is unavailable). simd: false forces the scalar WASM
 * build. gpu: a GPU object (navigator.gpu in browsers; the npm 'webgpu' package's create() in Node).
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
  if (options.simd !== undefined && typeof options.simd !== 'boolean') {
    throw new TypeError(`createEngine: simd must be a boolean, got ${typeof options.simd}`);
  }
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    const shown = typeof threads === 'number' ? String(threads) : typeof threads === 'string' ? `'${threads}'` : typeof threads;
    throw new RangeError(`createEngine: threads must be an integer from 1 to ${MAX_THREADS}, got ${shown}`);
  }
  // The WASM module is always loaded: it is the fallback, and it holds the model's tokenizer and reader.
  const wasm = await createWasmBackend({ simd: options.simd, threads });
  let active = wasm;
  let fallback = null;
  if (requested !== 'wasm') {
    const gpu = options.gpu ?? defaultGpu();
    try {
      if (!gpu) throw new Error('WebGPU is not available here (no navigator.gpu and no gpu option)');
      active = await createGpuBackend(gpu);
    } catch (error) {
      if (requested === 'webgpu') {
        throw new Error(`createEngine: backend 'webgpu' is unavailable: ${error.message}`, { cause: error });
      }
      fallback = { from: 'webgpu', reason: error.message };
    }
  }

  // For 'auto': a WebGPU failure that is not the caller's fault falls back to WASM. A call over the
  // device's buffer limits (error.gpuLimit) runs on WASM this once; a device lost or any other GPU fault
  // switches the engine, and every model loaded on it, to WASM for good. Returns what the result reports.
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

  // The options out and weightsOut: results land in the caller's buffers. The WASM backend copies straight into
  // them; a backend that returned arrays of its own (WebGPU's readback) is copied here.
  function intoCallerBuffers(result, { out, weightsOut }) {
    if (out && result.output !== out) out.set(result.output);
    if (weightsOut && result.weights !== weightsOut) weightsOut.set(result.weights);
    return { output: out ?? result.output, weights: weightsOut ?? result.weights };
  }

  // Runs one call on the active backend, falling back as above. Arguments were validated before, so the
  // WASM run sees the same good input.
  async function run(method, normalized) {
    const backend = active;
    try {
      const result = intoCallerBuffers(await backend[method](normalized), normalized);
      return { ...result, backend: backend.name, ...(fallback ? { fallback } : {}) };
    } catch (error) {
      if (backend === wasm || requested !== 'auto') throw error;
      const reason = fallBack(backend, error);
      const result = intoCallerBuffers(await wasm[method](normalized), normalized);
      return { ...result, backend: 'wasm', fallback: reason };
    }
  }

  return {
    /** 'wasm' or 'webgpu': the backend that computes now. */
    get backend() { return active.name; },
    /** True when the WASM SIMD build is loaded. */
    get simd() { return wasm.simd; },
    /** How many threads the WASM engine runs on (1 in the one-thread builds). */
    get threads() { return wasm.threads; },
    /** Why more than one thread was asked for (or the default) and one runs, else null. */
    get threadsFallback() { return wasm.threadsFallback; },
    /** Why 'auto' runs on WASM, or null. */
    get fallback() { return fallback; },
    /** The adapter WebGPU runs on, when it does. */
    get adapterInfo() { return active.adapterInfo ?? null; },
    // async, so that a validation error is a rejected promise like any other failure.
    attention: async (args) => run('attention', normalizeAttention(args)),
    multiHeadAttention: async (args) => run('multiHeadAttention', normalizeMultiHead(args)),
    async loadModel(source) {
      const { loadModel } = await import('./model/index.js');
      const gpu = active === wasm ? null : active;
      return loadModel(wasm.module, source, {
        backend: active,
        gpuActive: () => gpu !== null && active === gpu,
        gpuFallback: requested === 'auto' && gpu ? (error) => fallBack(gpu, error) : null,
        fallback: () => fallback,
      });
    },
    // The toy English -> German encoder-decoder (web/src/lib/translator/, docs/TRANSLATOR.md): trained and run on WASM.
    async createTrainer(options) {
      const { createTrainer } = await import('./translator/index.js');
      return createTrainer(wasm.module, options);
    },
    async loadTranslator(source) {
      const { loadTranslator } = await import('./translator/index.js');
      return loadTranslator(wasm.module, source);
    },
    /** WASM heap figures: { heapBytes, bytesInUse }. */
    memory: () => wasm.memory(),
    dispose() {
      if (active !== wasm) active.dispose();
      wasm.dispose();
    },
  };
}
