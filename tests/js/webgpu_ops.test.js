// The model ops of the WebGPU backend (web/src/lib/webgpu/ops.js) against double-precision JS.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { create } from 'webgpu';
import { createWebGPUBackend } from '../../web/src/lib/webgpu/backend.js';
import { createGpuOps } from '../../web/src/lib/webgpu/ops.js';
import { mulberry32 } from './case_inputs.js';
import { relativeError } from './webgpu_reference.js';

const TOLERANCE = 1e-4;
const gpu = create([]);
const adapter = await gpu.requestAdapter();

function floats(n, seed, scale = 1) {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
}

describe.skipIf(!adapter)('WebGPU model ops', () => {
  let backend;
  let ops;
  beforeAll(async () => {
    backend = await createWebGPUBackend({ gpu });
    ops = createGpuOps(backend);
  });
  afterAll(() => backend.dispose());

  for (const [rows, inDim, outDim] of [[1, 1, 1], [5, 7, 3], [33, 64, 65], [70, 130, 17]]) {
    for (const activation of ['none', 'relu', 'tanh']) {
      it(`dense ${rows}x${inDim} -> ${outDim}, ${activation}`, async () => {
        const x = floats(rows * inDim, rows + inDim, 2);
        const W = floats(inDim * outDim, outDim, 0.5);
        const b = floats(outDim, 99, 0.5);
        const ref = new Float64Array(rows * outDim);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < outDim; c++) {
            let s = b[c];
            for (let k = 0; k < inDim; k++) s += x[r * inDim + k] * W[k * outDim + c];
            ref[r * outDim + c] = activation === 'relu' ? Math.max(s, 0) : activation === 'tanh' ? Math.tanh(s) : s;
          }
        }
        const y = await ops.dense({ x, rows, inDim, outDim, W, b, activation });
        expect(relativeError(y, ref)).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  for (const [rows, d] of [[1, 1], [3, 8], [17, 64], [5, 300]]) {
    it(`layerNorm ${rows}x${d}`, async () => {
      const x = floats(rows * d, d, 3);
      const gamma = floats(d, 5, 1);
      const beta = floats(d, 6, 1);
      const ref = new Float64Array(rows * d);
      for (let r = 0; r < rows; r++) {
        let mean = 0;
        for (let j = 0; j < d; j++) mean += x[r * d + j] / d;
        let v = 0;
        for (let j = 0; j < d; j++) v += (x[r * d + j] - mean) ** 2 / d;
        for (let j = 0; j < d; j++) ref[r * d + j] = (x[r * d + j] - mean) / Math.sqrt(v + 1e-5) * gamma[j] + beta[j];
      }
      const y = await ops.layerNorm({ x, rows, d, gamma, beta });
      expect(relativeError(y, ref)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('bad arguments name themselves', async () => {
    await expect(ops.dense({ x: new Float32Array(3), rows: 2, inDim: 2, outDim: 1, W: new Float32Array(2) }))
      .rejects.toThrow('dense: x has 3 values but rows*inDim = 4');
    await expect(ops.dense({ x: new Float32Array(2), rows: 1, inDim: 2, outDim: 1, W: new Float32Array(2), activation: 'gelu' }))
      .rejects.toThrow(/activation/);
  });
});
