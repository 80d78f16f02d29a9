// createEngine's choice of backend in Node: 'webgpu' and 'auto' through Dawn (SwiftShader), the same
// results as WASM, and 'auto' falling back to WASM, visibly, when the GPU device is lost.
import { describe, it, expect } from 'vitest';
import { create, globals } from 'webgpu';
import { createEngine } from '../../web/src/lib/index.js';
import { relativeError, maxAbsError } from './reference.js';
import { attentionInputs } from './case_inputs.js';

Object.assign(globalThis, globals);
// One Dawn instance for the whole file: several instances torn down together crash the worker at exit.
const GPU = create([]);

/** A GPU whose devices the test can reach (to destroy one, as a lost device). */
function trackedGpu() {
  const gpu = GPU;
  const devices = [];
  return {
    devices,
    async requestAdapter(options) {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) return adapter;
      const requestDevice = adapter.requestDevice.bind(adapter);
      adapter.requestDevice = async (descriptor) => {
        const device = await requestDevice(descriptor);
        devices.push(device);
        return device;
      };
      return adapter;
    },
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat?.(),
    /** Destroys every device handed out (a lost device) and lets the loss be reported. */
    async loseDevices() {
      for (const device of devices) device.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}

const CASE = { heads: 2, nq: 9, nk: 13, dk: 8, dv: 5, score: 'scaled_dot', mask: 'causal', seed: 77, scale: 1, paramScale: 1 };

describe('backend selection', () => {
  it("'webgpu' computes on the GPU and agrees with 'wasm'", async () => {
    const gpuEngine = await createEngine({ backend: 'webgpu', gpu: GPU });
    const wasmEngine = await createEngine({ backend: 'wasm' });
    expect(gpuEngine.backend).toBe('webgpu');
    expect(gpuEngine.fallback).toBeNull();
    const args = { ...attentionInputs(CASE), returnWeights: true };
    const g = await gpuEngine.attention(args);
    const w = await wasmEngine.attention(args);
    expect(g.backend).toBe('webgpu');
    expect(w.backend).toBe('wasm');
    expect(relativeError(g.output, w.output)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsError(g.weights, w.weights)).toBeLessThanOrEqual(1e-5);
    gpuEngine.dispose();
  });

  it("'auto' prefers WebGPU and falls back to WASM, saying so, when the device is lost", async () => {
    const gpu = trackedGpu();
    const engine = await createEngine({ backend: 'auto', gpu });
    expect(engine.backend).toBe('webgpu');
    const args = attentionInputs(CASE);
    const before = await engine.attention(args);
    expect(before.backend).toBe('webgpu');
    await gpu.loseDevices();
    const after = await engine.attention(args);
    expect(after.backend).toBe('wasm');
    expect(after.fallback.from).toBe('webgpu');
    expect(after.fallback.reason).toMatch(/lost|destroyed/i);
    expect(engine.backend).toBe('wasm');
    expect(relativeError(after.output, before.output)).toBeLessThanOrEqual(1e-4);
    // Bad input is still the caller's error, never a fallback.
    await expect(engine.attention({ ...args, nq: 0 })).rejects.toThrow(RangeError);
    engine.dispose();
  });

  it("'webgpu' after a lost device rejects with a clear error and validation still names arguments", async () => {
    const gpu = trackedGpu();
    const engine = await createEngine({ backend: 'webgpu', gpu });
    await gpu.loseDevices();
    await expect(engine.attention(attentionInputs(CASE))).rejects.toThrow(/lost|destroyed/i);
    await expect(engine.attention({ ...attentionInputs(CASE), dk: 3 })).rejects.toThrow(/query has/);
    engine.dispose();
  });

  it("'auto': model.run on a lost device reruns on WASM, says so, and stays there", async () => {
    const gpu = trackedGpu();
    const engine = await createEngine({ backend: 'auto', gpu });
    const model = await engine.loadModel();
    const text = "The animal didn't cross the street because it was too tired";
    const before = await model.run(text);
    expect(before.backend).toBe('webgpu');
    await gpu.loseDevices();
    const after = await model.run(text);
    expect(after.backend).toBe('wasm');
    expect(after.fallback.from).toBe('webgpu');
    expect(after.fallback.reason).toMatch(/lost|destroyed/i);
    expect(engine.backend).toBe('wasm');
    expect(after.pieces).toEqual(before.pieces);
    for (let layer = 0; layer < before.attention.length; layer++) {
      expect(maxAbsError(after.attention[layer], before.attention[layer])).toBeLessThanOrEqual(1e-4);
    }
    // Later runs, and models loaded afterwards, compute on WASM and report why.
    const again = await model.run('A second sentence.');
    expect(again.backend).toBe('wasm');
    expect(again.fallback.from).toBe('webgpu');
    const later = await engine.loadModel();
    expect((await later.run(text)).backend).toBe('wasm');
    model.dispose();
    later.dispose();
    engine.dispose();
  });

  it("'webgpu': model.run on a lost device rejects clearly; the WASM engine beside it is unaffected", async () => {
    const gpu = trackedGpu();
    const engine = await createEngine({ backend: 'webgpu', gpu });
    const model = await engine.loadModel();
    await gpu.loseDevices();
    await expect(model.run('It was tired.')).rejects.toThrow(/lost|destroyed/i);
    await expect(model.run('It was tired.', { kernal: 'reference' })).rejects.toThrow(/unknown option 'kernal'/);
    model.dispose();
    engine.dispose();
  });
});

describe('results into the caller\'s buffers (out, weightsOut)', () => {
  for (const backend of ['wasm', 'webgpu']) {
    it(`${backend}: attention and multiHeadAttention write into out/weightsOut, equal to fresh results, reusable`, async () => {
      const engine = await createEngine({ backend, gpu: GPU });
      const args = { ...attentionInputs(CASE), returnWeights: true };
      const fresh = await engine.attention(args);
      const out = new Float32Array(CASE.heads * CASE.nq * CASE.dv).fill(NaN);
      const weightsOut = new Float32Array(CASE.heads * CASE.nq * CASE.nk).fill(NaN);
      for (let round = 0; round < 2; round++) {
        const into = await engine.attention({ ...args, out, weightsOut });
        expect(into.output).toBe(out);
        expect(into.weights).toBe(weightsOut);
        expect(Array.from(out)).toEqual(Array.from(fresh.output));
        expect(Array.from(weightsOut)).toEqual(Array.from(fresh.weights));
      }
      // out alone, without weights (the flash-style path, so equal within rounding): weights stay null
      const onlyOut = await engine.attention({ ...args, returnWeights: false, out: new Float32Array(out.length) });
      expect(relativeError(onlyOut.output, fresh.output)).toBeLessThanOrEqual(1e-5);
      expect(onlyOut.weights).toBeNull();

      const M = 8;
      const f = (n, s) => new Float32Array(n).map((_, i) => Math.sin(i * s) / 4);
      const mha = { x: f(3 * M, 0.3), nq: 3, dModel: M, heads: 2, Wq: f(M * M, 0.7), Wk: f(M * M, 1.1), Wv: f(M * M, 1.3), Wo: f(M * M, 1.7), returnWeights: true };
      const freshMha = await engine.multiHeadAttention(mha);
      const mhaOut = new Float32Array(3 * M);
      const mhaWeights = new Float32Array(2 * 3 * 3);
      const intoMha = await engine.multiHeadAttention({ ...mha, out: mhaOut, weightsOut: mhaWeights });
      expect(intoMha.output).toBe(mhaOut);
      expect(Array.from(mhaOut)).toEqual(Array.from(freshMha.output));
      expect(Array.from(mhaWeights)).toEqual(Array.from(freshMha.weights));
      engine.dispose();
    });
  }
});
