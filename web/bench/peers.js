// H heads, N tokens, D head dims.
// The peers, loaded from this origin only (the bench server maps /vendor/* onto node_modules):
// onnxruntime-web on its wasm backend (one thread, and a second instance on 2 threads for the threaded rows)
// and TF.js with tfjs-backend-wasm on one thread.
import { plainAttentionGraph, mhaGraph } from './onnx_graph.js';
import { headsToTokens, tokensToHeads } from './inputs.js';

// ---- onnxruntime-web ----
const ortPromises = new Map();
/**
 * onnxruntime-web's wasm-only ES build, no proxy worker, on `threads` threads. Its thread count is global
 * and fixed when its wasm starts, so each count gets its own module instance (the same file under another
 * URL); more than one thread needs a cross-origin isolated page.
 */
export function loadOrt(threads = 1) {
  if (!ortPromises.has(threads)) ortPromises.set(threads, (async () => {
    const url = `/vendor/ort/ort.wasm.min.mjs${threads > 1 ? `?threads=${threads}` : ''}`;
    const ort = await import(/* @vite-ignore */ url);
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = '/vendor/ort/';
    ort.env.logLevel = 'error';
    return ort;
  })());
  return ortPromises.get(threads);
}

/**
 * One onnxruntime session for one shape. kind 'graph': MatMul/Mul/Softmax/MatMul on [H][N][D];
 * kind 'mha': com.microsoft MultiHeadAttention on [1][N][H*D] (inputs re-laid out once, outside timing).
 * run() returns { output [H][N][D] in the peer's layout, weights [H][N][N] | null }; toHeads() maps the
 * output back to [H][N][D] for the error check.
 */
export async function ortAttention(ort, kind, { heads, n, d, returnWeights, q, k, v }) {
  const bytes = kind === 'mha' ? mhaGraph({ heads, n, d }) : plainAttentionGraph({ heads, n, d, returnWeights });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: ort.env.wasm.numThreads,
    interOpNumThreads: 1,
  });
  let names, dims, data;
  if (kind === 'mha') {
    names = ['q', 'k', 'v'];
    dims = [1, n, heads * d];
    data = [q, k, v].map((x) => headsToTokens(x, heads, n, d));
  } else {
    names = ['Q', 'K', 'V'];
    dims = [heads, n, d];
    data = [q, k, v];
  }
  const outName = kind === 'mha' ? 'o' : 'O';
  return {
    async run() {
      const feeds = {};
      names.forEach((name, i) => { feeds[name] = new ort.Tensor('float32', data[i], dims); });
      const result = await session.run(feeds);
      const output = result[outName].data;
      const weights = returnWeights ? result.P.data : null;
      for (const t of Object.values(result)) t.dispose?.();
      return { output, weights };
    },
    toHeads: (output) => (kind === 'mha' ? tokensToHeads(output, heads, n, d) : output),
    release: () => session.release(),
  };
}

// ---- TF.js + tfjs-backend-wasm ----
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

let tfPromise = null;
/** TF.js core + converter + the wasm backend (UMD builds), forced onto the one-thread SIMD binary. */
export function loadTfjs() {
  tfPromise ??= (async () => {
    await loadScript('/vendor/tfjs-core/tf-core.min.js');
    await loadScript('/vendor/tfjs-backend-wasm/tf-backend-wasm.min.js');
    await loadScript('/vendor/tfjs-converter/tf-converter.min.js');
    const tf = globalThis.tf;
    // One thread: the page is cross-origin isolated, so without this TF.js would pick its threaded binary.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.wasm.setWasmPaths('/vendor/tfjs-backend-wasm/');
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
    await tf.ready();
    return tf;
  })();
  return tfPromise;
}

/** TF.js scaled-dot attention: Q/sqrt(D) . K^T (BatchMatMul, transposeB), softmax, . V; data read back. */
export function tfjsAttention(tf, { heads, n, d, returnWeights, q, k, v }) {
  const scale = 1 / Math.sqrt(d);
  return {
    async run() {
      const ts = tf.tidy(() => {
        const Q = tf.mul(tf.tensor3d(q, [heads, n, d]), tf.scalar(scale));
        const K = tf.tensor3d(k, [heads, n, d]);
        const V = tf.tensor3d(v, [heads, n, d]);
        const P = tf.softmax(tf.matMul(Q, K, false, true));
        const O = tf.matMul(P, V);
        return returnWeights ? [O, P] : [O];
      });
      const output = ts[0].dataSync().slice();
      const weights = returnWeights ? ts[1].dataSync().slice() : null;
      tf.dispose(ts);
      return { output, weights };
    },
    toHeads: (output) => output,
    release() {},
  };
}

let useGraphPromise = null;
/** The original Universal Sentence Encoder lite graph (the model issue's oracle), on tfjs-backend-wasm. */
export function loadUseGraph(tf) {
  useGraphPromise ??= tf.loadGraphModel('/vendor/use/model.json');
  return useGraphPromise;
}

/** Runs the USE graph on token ids; returns the 512-d embedding. */
export async function runUseGraph(tf, graph, ids) {
  const n = ids.length;
  const indices = tf.tensor2d(Array.from({ length: n }, (_, i) => [0, i]).flat(), [n, 2], 'int32');
  const values = tf.tensor1d(Array.from(ids), 'int32');
  const out = await graph.executeAsync({ indices, values });
  const outputs = Array.isArray(out) ? out : [out];
  const embedding = outputs[0].dataSync().slice();
  tf.dispose([indices, values, ...outputs]);
  return embedding;
}
