// R rows, I input dims, O output dims, D dims.
//
// GPU ops for the model's forward pass, on the WebGPU backend's device and pipelines (compiled when the
// backend is created): dense layers with an optional activation and layer normalisation. Each call
// uploads its inputs, runs and returns a fresh Float32Array; see docs/WEBGPU.md.
import { withRun } from './runtime.js';
import { encodeMatmul, grid2d, SOFTMAX_WG } from './attention.js';

const ACTIVATIONS = { none: 0, relu: 1, tanh: 2 };

function checkFloats(fn, name, value, expected, formula) {
  if (!(value instanceof Float32Array)) throw new TypeError(`${fn}: ${name} must be a Float32Array`);
  if (value.length !== expected) throw new RangeError(`${fn}: ${name} has ${value.length} values but ${formula} = ${expected}`);
}

function checkSizes(fn, sizes) {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${value}`);
  }
}

/** The model ops of a backend made by createWebGPUBackend(). */
export function createGpuOps(backend) {
  const rt = backend.runtime;
  return {
    /**
     * y [R][O] = act(x [R][I] . W [I][O] + b [O]); activation 'none' | 'relu' | 'tanh'; b may be null.
     */
    async dense({ x, rows, inDim, outDim, W, b = null, activation = 'none' }) {
      const fn = 'dense';
      checkSizes(fn, { rows, inDim, outDim });
      checkFloats(fn, 'x', x, rows * inDim, 'rows*inDim');
      checkFloats(fn, 'W', W, inDim * outDim, 'inDim*outDim');
      if (b !== null) checkFloats(fn, 'b', b, outDim, 'outDim');
      if (!(activation in ACTIVATIONS)) throw new RangeError(`${fn}: activation must be none, relu or tanh, got '${activation}'`);
      rt.checkAlive(fn);
      rt.checkBuffer(fn, 'x', rows * inDim, 'rows*inDim');
      rt.checkBuffer(fn, 'W', inDim * outDim, 'inDim*outDim');
      rt.checkBuffer(fn, 'y', rows * outDim, 'rows*outDim');
      const [y] = await withRun(rt, fn, (run) => {
        const out = run.scratch('y', rows * outDim);
        encodeMatmul(run, 'dense', {
          a: { buffer: run.upload('x', x), offset: 0, head: 0, row: inDim },
          b: { buffer: run.upload('W', W), offset: 0, head: 0, row: outDim },
          bias: b ? run.upload('b', b) : null, c: { buffer: out, offset: 0, head: 0, row: outDim },
          M: rows, N: outDim, K: inDim, act: ACTIVATIONS[activation],
        });
        run.read('y', out, rows * outDim);
      });
      return y;
    },

    /** y [R][D] = (x - mean) / sqrt(var + eps) * gamma + beta per row of x [R][D]. */
    async layerNorm({ x, rows, d, gamma, beta, eps = 1e-5 }) {
      const fn = 'layerNorm';
      checkSizes(fn, { rows, d });
      checkFloats(fn, 'x', x, rows * d, 'rows*d');
      checkFloats(fn, 'gamma', gamma, d, 'd');
      checkFloats(fn, 'beta', beta, d, 'd');
      if (!(eps > 0)) throw new RangeError(`${fn}: eps must be positive, got ${eps}`);
      rt.checkAlive(fn);
      rt.checkBuffer(fn, 'x', rows * d, 'rows*d');
      const [y] = await withRun(rt, fn, (run) => {
        const out = run.scratch('y', rows * d);
        run.dispatch('layer_norm', { WG: SOFTMAX_WG }, 'layer_norm', [[rows, 'u'], [d, 'u'], [eps, 'f'], [0, 'u']],
          [run.upload('x', x), run.upload('gamma', gamma), run.upload('beta', beta), out], grid2d(run, rows));
        run.read('y', out, rows * d);
      });
      return y;
    },
  };
}
