// The dense-layer programs of the model's WebGPU forward pass (web/src/lib/webgpu/layers.js, as
// model/gpu_encoder.js encodes them) against double-precision JS, and the uniforms-by-name rule of
// web/src/lib/webgpu/shaders.js: the WGSL struct and the packing come from one declaration, and a mismatch
// fails loudly.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { create } from 'webgpu';
import { createWebGPUBackend } from '../../web/src/lib/webgpu/backend.js';
import { withRun } from '../../web/src/lib/webgpu/runtime.js';
import { encodeDense, encodeLayerNorm, encodeAdd, encodeMeanPool } from '../../web/src/lib/webgpu/layers.js';
import { PROGRAMS, uniformStruct, uniformBytes, packUniforms, programSource } from '../../web/src/lib/webgpu/shaders.js';
import { mulberry32 } from './case_inputs.js';
import { relativeError } from './webgpu_reference.js';

const TOLERANCE = 1e-4;
const gpu = create([]);
const adapter = await gpu.requestAdapter();

function floats(n, seed, scale = 1) {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
}

describe('uniforms by name (shaders.js)', () => {
  it('generates each struct from the declaration, padded to 16 bytes, and packs by name in that order', async () => {
    expect(uniformStruct('layer_norm')).toBe('struct Params {\n  rows: u32,\n  d: u32,\n  eps: f32,\n  _pad0: u32,\n}\n');
    expect(uniformBytes('add')).toBe(16);
    for (const program of Object.keys(PROGRAMS)) {
      const fields = Object.keys(PROGRAMS[program].uniforms).length;
      expect(uniformBytes(program) % 16).toBe(0);
      expect(uniformBytes(program)).toBeGreaterThanOrEqual(4 * fields);
      const source = await programSource(program);
      expect(source.match(/struct Params/g)).toHaveLength(1);
    }
    const view = new DataView(packUniforms('layer_norm', { d: 7, eps: 0.5, rows: 3 }));
    expect([view.getUint32(0, true), view.getUint32(4, true), view.getFloat32(8, true)]).toEqual([3, 7, 0.5]);
  });

  it('a missing, unknown or mistyped field throws naming the program and the field', () => {
    expect(() => packUniforms('layer_norm', { rows: 3, d: 7 })).toThrow("program layer_norm: uniform 'eps' (f32) is missing");
    expect(() => packUniforms('layer_norm', { rows: 3, d: 7, eps: 1, epsilon: 1 }))
      .toThrow("program layer_norm has no uniform 'epsilon' (declared: rows, d, eps)");
    expect(() => packUniforms('softmax', { nq: 1, nk: 1, rows: -1, mask_kind: 0 })).toThrow("uniform 'rows' (u32) cannot hold -1");
    expect(() => packUniforms('softmax', { nq: 1.5, nk: 1, rows: 1, mask_kind: 0 })).toThrow("uniform 'nq' (u32) cannot hold 1.5");
  });
});

describe.skipIf(!adapter)('WebGPU model layers', () => {
  let backend;
  let rt;
  beforeAll(async () => {
    backend = await createWebGPUBackend({ gpu });
    rt = backend.runtime;
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
        const [y] = await withRun(rt, 'dense', (run) => {
          const out = encodeDense(run, 'dense', { x: run.upload('x', x), rows, inDim, outDim, W: run.upload('W', W),
            b: run.upload('b', b), activation });
          run.read('y', out, rows * outDim);
        });
        expect(relativeError(y, ref)).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  for (const [rows, d] of [[1, 1], [3, 8], [17, 64], [5, 300]]) {
    it(`layerNorm ${rows}x${d}, residual add and mean pool`, async () => {
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
      // y = LN(x) + x; pooled = mean over rows of y
      const sum = ref.map((value, i) => value + x[i]);
      const pooled = new Float64Array(d);
      for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) pooled[j] += sum[r * d + j] / rows;
      const [y, yx, mean] = await withRun(rt, 'layerNorm', (run) => {
        const xb = run.upload('x', x);
        const norm = encodeLayerNorm(run, 'layer_norm', { x: xb, rows, d, scale: run.upload('gamma', gamma),
          bias: run.upload('beta', beta), eps: 1e-5 });
        run.read('y', norm, rows * d);
        const added = encodeLayerNorm(run, 'layer_norm2', { x: xb, rows, d, scale: run.upload('gamma2', gamma),
          bias: run.upload('beta2', beta), eps: 1e-5 });
        encodeAdd(run, 'add', { y: added, a: xb, n: rows * d });
        run.read('y + x', added, rows * d);
        run.read('mean', encodeMeanPool(run, 'mean_pool', { x: added, rows, d }), d);
      });
      expect(relativeError(y, ref)).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(yx, sum)).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(mean, pooled)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('a dispatch whose uniforms do not match the declaration rejects the call and leaves the backend usable', async () => {
    await expect(withRun(rt, 'bad', (run) => {
      run.dispatch('add', { WG: 64 }, 'add', { n: 4, stride: 1 }, [run.none(), run.scratch('y', 4)], [1, 1, 1]);
    })).rejects.toThrow("program add has no uniform 'stride'");
    const [y] = await withRun(rt, 'good', (run) => {
      const out = encodeDense(run, 'dense', { x: run.upload('x', new Float32Array([2])), rows: 1, inDim: 1, outDim: 1,
        W: run.upload('W', new Float32Array([3])) });
      run.read('y', out, 1);
    });
    expect(y[0]).toBe(6);
  });
});
