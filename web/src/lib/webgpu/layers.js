// R rows, I input dims, O output dims, D dims, N values.
//
// Encoders of the dense-layer programs the model's forward pass runs on WebGPU (model/gpu_encoder.js), each
// writing a new scratch buffer of the run: dense (matmul.wgsl with an activation), layer norm
// (layer_norm.wgsl), residual add (add.wgsl) and mean pooling over rows (mean_pool.wgsl).
import { encodeMatmul, grid2d, SOFTMAX_WG } from './attention.js';

/** matmul.wgsl's ACT override: the activation applied after the bias. */
export const ACTIVATIONS = Object.freeze({ none: 0, relu: 1, tanh: 2 });

const rows2d = (buffer, cols) => ({ buffer, offset: 0, head: 0, row: cols });

/** y [R][O] = act(x [R][I] . W [I][O] + b [O]) (b may be null); returns y. */
export function encodeDense(run, name, { x, rows, inDim, outDim, W, b = null, activation = 'none' }) {
  const y = run.scratch(name, rows * outDim);
  encodeMatmul(run, name, { a: rows2d(x, inDim), b: rows2d(W, outDim), bias: b, c: rows2d(y, outDim),
    M: rows, N: outDim, K: inDim, act: ACTIVATIONS[activation] });
  return y;
}

/** y [R][D] = (x - mean) / sqrt(var + eps) * scale + bias, per row of x [R][D]; returns y. */
export function encodeLayerNorm(run, name, { x, rows, d, scale, bias, eps }) {
  const y = run.scratch(name, rows * d);
  run.dispatch('layer_norm', { WG: SOFTMAX_WG }, name, { rows, d, eps }, [x, scale, bias, y], grid2d(run, rows));
  return y;
}

/** y [N] += a [N], in place. */
export function encodeAdd(run, name, { y, a, n }) {
  run.dispatch('add', { WG: SOFTMAX_WG }, name, { n }, [a, y], grid2d(run, Math.ceil(n / SOFTMAX_WG)));
}

/** mean [D] = the mean over the rows of x [R][D]; returns mean. */
export function encodeMeanPool(run, name, { x, rows, d }) {
  const mean = run.scratch(name, d);
  run.dispatch('mean_pool', { WG: SOFTMAX_WG }, name, { rows, d }, [x, mean], [Math.ceil(d / SOFTMAX_WG), 1, 1]);
  return mean;
}
