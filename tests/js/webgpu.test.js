// The shared cases on the WebGPU backend in Node (Dawn; SwiftShader here), against an independent JS
// double-precision reference and, when the WASM module is built, against the WASM backend; plus the
// backend's own behaviour: fused and three-pass paths, overflow, fully masked rows, errors, device loss,
// pipeline caching and buffer clean-up.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { create } from 'webgpu';
import { createWebGPUBackend } from '../../web/src/lib/webgpu/backend.js';
import { VARIANTS } from '../../web/src/lib/webgpu/attention.js';
import { normalizeAttention, normalizeMultiHead } from '../../web/src/lib/validate.js';
import { CASES, attentionInputs, multiHeadInputs } from './case_inputs.js';
import { attentionDouble, multiHeadDouble, relativeError } from './webgpu_reference.js';

// Float32 on the GPU against double: errors relative to the magnitude of the values (issue 4).
const TOLERANCE = 1e-4;
// On a software adapter (SwiftShader) the three-pass path over millions of weights takes minutes; such
// cases run fused (no weights) unless WEBGPU_FULL=1.
const SOFTWARE_WEIGHTS_LIMIT = 4_000_000;
const FULL = process.env.WEBGPU_FULL === '1';
const LONG_TIMEOUT = 900_000;
const WASM_BUILT = existsSync(new URL('../../web/src/lib/wasm/attn_simd.wasm', import.meta.url));

const gpu = create([]);
const adapter = await gpu.requestAdapter();
const SOFTWARE = Boolean(adapter?.info?.isFallbackAdapter || adapter?.info?.architecture === 'swiftshader');
const LIMIT = adapter ? Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize) : 0;

// The largest error measured per check, printed at the end.
const worst = {};
function record(what, name, error) {
  if (!(worst[what]?.error >= error)) worst[what] = { error, name };
  return error;
}

// Largest buffer (bytes) a case needs on the GPU when weights are returned.
function largestAttentionBuffer(c) {
  const { heads, nq, nk, dk, dv, da = 0 } = c;
  return 4 * Math.max(heads * nq * nk, heads * nq * dk, heads * nk * dk, heads * nk * dv, heads * nq * dv,
    heads * nk * da, heads * nq * da);
}
function largestMultiHeadBuffer(c) {
  const { nq, nk, dModel, heads, da = 0 } = c;
  return 4 * Math.max(heads * nq * nk, dModel * dModel, Math.max(nq, nk) * dModel, heads * nk * da);
}

// A case's inputs cut to its last `rows` queries of every head (keys, values, parameters unchanged; an explicit
// mask keeps its last rows). A causal mask allows key j for query i iff j <= i + (nk - nq), so the cut rows keep
// exactly the keys they had.
const LAST_ROWS = 64;
function lastQueries(inputs, rows) {
  const { heads, nq, nk, dk } = inputs;
  const query = new Float32Array(heads * rows * dk);
  for (let h = 0; h < heads; h++) query.set(inputs.query.subarray((h * nq + nq - rows) * dk, (h + 1) * nq * dk), h * rows * dk);
  const mask = inputs.mask instanceof Uint8Array ? inputs.mask.slice((nq - rows) * nk) : inputs.mask;
  return { ...inputs, query, nq: rows, mask };
}

// GPU results of a case, kept for the comparison with WASM.
const gpuResults = new Map();

// The double reference of a case, computed once for the tests that share it.
const references = new Map();
function reference(kind, c, inputs) {
  const key = `${kind}:${c.name}`;
  if (!references.has(key)) references.set(key, kind === 'attention' ? attentionDouble(inputs) : multiHeadDouble(inputs));
  return references.get(key);
}

describe.skipIf(!adapter)('WebGPU backend on the shared cases', () => {
  const backends = {};
  let wasm = null;
  let wasmError = null;
  // Loaded by the first comparison that needs it, so that a WASM module that fails to load (or is being
  // rebuilt) fails only the comparisons with WASM, not the WebGPU checks.
  async function needWasm() {
    if (!wasm && !wasmError) {
      try {
        const { createWasmBackend } = await import('../../web/src/lib/backends/wasm.js');
        wasm = await createWasmBackend({});
      } catch (error) {
        wasmError = error;
      }
    }
    if (!wasm) throw new Error(`the WASM backend did not load: ${wasmError?.message}`);
  }
  beforeAll(async () => {
    backends.threePass = await createWebGPUBackend({ gpu, flash: 'never' });
    backends.fused = await createWebGPUBackend({ gpu, flash: 'always' });
  });
  afterAll(() => {
    for (const backend of Object.values(backends)) backend.dispose();
    wasm?.dispose();
    console.log('WebGPU largest relative errors:', JSON.stringify(worst, null, 1));
  });

  it('reports its adapter', () => {
    expect(backends.fused.name).toBe('webgpu');
    expect(backends.fused.simd).toBe(false);
    expect(typeof backends.fused.adapterInfo.vendor).toBe('string');
  });

  for (const c of CASES.attention) {
    const bytes = largestAttentionBuffer(c);
    if (bytes > LIMIT) {
      it.skip(`attention ${c.name} (skipped: a buffer of ${bytes} bytes exceeds the adapter's limit of ${LIMIT})`, () => {});
      continue;
    }
    const slow = SOFTWARE && !FULL && c.heads * c.nq * c.nk > SOFTWARE_WEIGHTS_LIMIT;
    const fusedName = c.score === 'additive' ? 'three-pass (additive is not fused)' : 'fused';
    // On a software adapter a case with millions of weights runs the three-pass path on its last LAST_ROWS
    // queries (every key, the same mask: a causal row keeps its offset nk - nq), not on all of them.
    const rows = slow ? LAST_ROWS : c.nq;
    it(`attention ${c.name}: output and weights, three-pass${slow ? ` (the last ${rows} queries on a software adapter; WEBGPU_FULL=1 runs all ${c.nq})` : ''}`, async () => {
      const inputs = slow ? lastQueries(attentionInputs(c), rows) : attentionInputs(c);
      const ref = slow ? attentionDouble(inputs) : reference('attention', c, inputs);
      const got = await backends.threePass.attention(normalizeAttention({ ...inputs, returnWeights: true }));
      if (!slow) gpuResults.set(`attention:${c.name}:threePass`, got);
      expect(got.output).toBeInstanceOf(Float32Array);
      expect(got.output.length).toBe(c.heads * rows * c.dv);
      expect(got.weights.length).toBe(c.heads * rows * c.nk);
      expect(record('attention output (three-pass)', c.name, relativeError(got.output, ref.output))).toBeLessThanOrEqual(TOLERANCE);
      expect(record('attention weights', c.name, relativeError(got.weights, ref.weights))).toBeLessThanOrEqual(TOLERANCE);
    }, LONG_TIMEOUT);
    it(`attention ${c.name}: output without weights, ${fusedName}`, async () => {
      const inputs = attentionInputs(c);
      const ref = reference('attention', c, inputs);
      const got = await backends.fused.attention(normalizeAttention(inputs));
      gpuResults.set(`attention:${c.name}:fused`, got);
      expect(got.weights).toBeNull();
      expect(record('attention output (fused)', c.name, relativeError(got.output, ref.output))).toBeLessThanOrEqual(TOLERANCE);
    }, LONG_TIMEOUT);
    it.skipIf(!WASM_BUILT)(`attention ${c.name}: agrees with the WASM backend${WASM_BUILT ? '' : ' (skipped: WASM module not built)'}`, async () => {
      const args = normalizeAttention({ ...attentionInputs(c), returnWeights: true });
      await needWasm();
      const wasmResult = await wasm.attention(args);
      const three = gpuResults.get(`attention:${c.name}:threePass`);
      const lean = gpuResults.get(`attention:${c.name}:fused`);
      expect(lean).toBeDefined();
      expect(record('attention output (fused) vs WASM', c.name, relativeError(lean.output, wasmResult.output))).toBeLessThanOrEqual(TOLERANCE);
      if (three) {
        expect(record('attention output vs WASM', c.name, relativeError(three.output, wasmResult.output))).toBeLessThanOrEqual(TOLERANCE);
        expect(record('attention weights vs WASM', c.name, relativeError(three.weights, wasmResult.weights))).toBeLessThanOrEqual(TOLERANCE);
      }
    }, LONG_TIMEOUT);
  }

  for (const c of CASES.multiHead) {
    const bytes = largestMultiHeadBuffer(c);
    if (bytes > LIMIT) {
      it.skip(`multiHead ${c.name} (skipped: a buffer of ${bytes} bytes exceeds the adapter's limit of ${LIMIT})`, () => {});
      continue;
    }
    it(`multiHead ${c.name}: output and weights, three-pass; output fused`, async () => {
      const inputs = multiHeadInputs(c);
      const ref = reference('multiHead', c, inputs);
      const got = await backends.threePass.multiHeadAttention(normalizeMultiHead({ ...inputs, returnWeights: true }));
      expect(got.output.length).toBe(c.nq * c.dModel);
      expect(got.weights.length).toBe(c.heads * c.nq * (c.cross ? c.nk : c.nq));
      expect(record('multiHead output (three-pass)', c.name, relativeError(got.output, ref.output))).toBeLessThanOrEqual(TOLERANCE);
      expect(record('multiHead weights', c.name, relativeError(got.weights, ref.weights))).toBeLessThanOrEqual(TOLERANCE);
      const lean = await backends.fused.multiHeadAttention(normalizeMultiHead(inputs));
      expect(lean.weights).toBeNull();
      expect(record('multiHead output (fused)', c.name, relativeError(lean.output, ref.output))).toBeLessThanOrEqual(TOLERANCE);
    });
    it.skipIf(!WASM_BUILT)(`multiHead ${c.name}: agrees with the WASM backend${WASM_BUILT ? '' : ' (skipped: WASM module not built)'}`, async () => {
      const args = normalizeMultiHead({ ...multiHeadInputs(c), returnWeights: true });
      await needWasm();
      const [gpuResult, wasmResult] = [await backends.threePass.multiHeadAttention(args), await wasm.multiHeadAttention(args)];
      expect(record('multiHead output vs WASM', c.name, relativeError(gpuResult.output, wasmResult.output))).toBeLessThanOrEqual(TOLERANCE);
      expect(record('multiHead weights vs WASM', c.name, relativeError(gpuResult.weights, wasmResult.weights))).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe.skipIf(!adapter)('WebGPU backend behaviour', () => {
  let backend;
  let fused;
  beforeAll(async () => {
    backend = await createWebGPUBackend({ gpu, flash: 'never' });
    fused = await createWebGPUBackend({ gpu, flash: 'always' });
  });
  afterAll(() => {
    backend.dispose();
    fused.dispose();
  });

  it('softmax subtracts the row maximum: scores up to 1e5 give exact weights (no overflow)', async () => {
    // dk = 1, q = 1000, k_j = j - 50: scores 1000 * (j - 50) are exact in float32; exp(1e5) would overflow.
    const nq = 3;
    const nk = 101;
    const query = new Float32Array(nq).fill(1000);
    query[1] = -1000;
    query[2] = 0.001;  // small differences: a near-uniform row
    const key = Float32Array.from({ length: nk }, (_, j) => j - 50);
    const value = Float32Array.from({ length: nk }, (_, j) => j);
    const args = { query, key, value, nq, nk, dk: 1, dv: 1, score: 'dot', returnWeights: true };
    const ref = attentionDouble(args);
    for (const b of [backend, fused]) {
      const got = await b.attention(normalizeAttention({ ...args, returnWeights: b === backend }));
      expect(Array.from(got.output).every(Number.isFinite)).toBe(true);
      expect(relativeError(got.output, ref.output)).toBeLessThanOrEqual(TOLERANCE);
      expect(got.output[0]).toBe(100);
      expect(got.output[1]).toBe(0);
    }
  });

  it('a row with no allowed key gets zero weights and a zero output, on both paths', async () => {
    const nq = 20;
    const nk = 37;
    const allowed = new Uint8Array(nq * nk).fill(1);
    for (const i of [0, 7, 19]) allowed.fill(0, i * nk, (i + 1) * nk);
    const args = {
      query: Float32Array.from({ length: nq * 4 }, (_, n) => Math.sin(n)),
      key: Float32Array.from({ length: nk * 4 }, (_, n) => Math.cos(n)),
      value: Float32Array.from({ length: nk * 3 }, (_, n) => 1 + (n % 5)),
      nq, nk, dk: 4, dv: 3, score: 'scaled_dot', mask: allowed,
    };
    const ref = attentionDouble(args);
    const three = await backend.attention(normalizeAttention({ ...args, returnWeights: true }));
    const lean = await fused.attention(normalizeAttention(args));
    for (const i of [0, 7, 19]) {
      expect(Array.from(three.weights.subarray(i * nk, (i + 1) * nk)).every((w) => w === 0)).toBe(true);
      expect(Array.from(three.output.subarray(i * 3, i * 3 + 3))).toEqual([0, 0, 0]);
      expect(Array.from(lean.output.subarray(i * 3, i * 3 + 3))).toEqual([0, 0, 0]);
    }
    expect(relativeError(three.output, ref.output)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(lean.output, ref.output)).toBeLessThanOrEqual(TOLERANCE);
    // causal with nq > nk: the first nq - nk rows see no key
    const causal = { ...args, mask: 'causal', nq: 40, nk: 30, query: new Float32Array(160).fill(0.5),
      key: new Float32Array(120).fill(0.25), value: new Float32Array(90).fill(2) };
    const c3 = await backend.attention(normalizeAttention({ ...causal, returnWeights: true }));
    const cf = await fused.attention(normalizeAttention(causal));
    expect(Array.from(c3.output.subarray(0, 30)).every((x) => x === 0)).toBe(true);
    expect(Array.from(cf.output.subarray(0, 30)).every((x) => x === 0)).toBe(true);
    expect(relativeError(c3.output, attentionDouble(causal).output)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(cf.output, attentionDouble(causal).output)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('concurrent calls do not mix their buffers', async () => {
    const cases = CASES.attention.filter((c) => c.nq * c.nk * c.heads <= 4096).slice(0, 6);
    const inputs = cases.map(attentionInputs);
    const results = await Promise.all(inputs.map((o, n) =>
      (n % 2 ? fused : backend).attention(normalizeAttention({ ...o, returnWeights: n % 2 === 0 }))));
    results.forEach((r, n) => expect(relativeError(r.output, attentionDouble(inputs[n]).output)).toBeLessThanOrEqual(TOLERANCE));
  });

  it('compiles no shader per call and destroys every buffer it creates', async () => {
    const device = await (await gpu.requestAdapter()).requestDevice();
    const counts = { modules: 0, pipelines: 0, created: 0, destroyed: 0 };
    const createShaderModule = device.createShaderModule.bind(device);
    const createComputePipelineAsync = device.createComputePipelineAsync.bind(device);
    const createBuffer = device.createBuffer.bind(device);
    device.createShaderModule = (d) => { counts.modules++; return createShaderModule(d); };
    device.createComputePipelineAsync = (d) => { counts.pipelines++; return createComputePipelineAsync(d); };
    device.createBuffer = (d) => {
      counts.created++;
      expect(d.label).toMatch(/^attn\.(attention|multiHeadAttention)\./);
      const buffer = createBuffer(d);
      const destroy = buffer.destroy.bind(buffer);
      buffer.destroy = () => { counts.destroyed++; destroy(); };
      return buffer;
    };
    const b = await createWebGPUBackend({ device, flash: 'auto' });
    const afterWarmUp = { ...counts };
    expect(afterWarmUp.pipelines).toBe(VARIANTS.length);
    for (const c of CASES.attention.filter((x) => x.nq * x.nk * x.heads <= 4096).slice(0, 4)) {
      await b.attention(normalizeAttention({ ...attentionInputs(c), returnWeights: true }));
      await b.attention(normalizeAttention(attentionInputs(c)));
    }
    const mh = CASES.multiHead[0];
    await b.multiHeadAttention(normalizeMultiHead({ ...multiHeadInputs(mh), returnWeights: true }));
    expect(counts.modules).toBe(afterWarmUp.modules);
    expect(counts.pipelines).toBe(afterWarmUp.pipelines);
    expect(counts.created).toBeGreaterThan(0);
    expect(counts.destroyed).toBe(counts.created);
    b.dispose();
    device.destroy();
  });

  it('a buffer over the device limits is a RangeError naming it and the numbers; the backend stays usable', async () => {
    const device = await (await gpu.requestAdapter()).requestDevice();  // default limits: 128 MiB storage bindings
    const b = await createWebGPUBackend({ device });
    const max = device.limits.maxStorageBufferBindingSize;
    const n = Math.ceil(Math.sqrt(max / 4)) + 16;  // n*n floats of weights exceed the limit
    const args = { query: new Float32Array(n).fill(0.5), key: new Float32Array(n).fill(0.5), value: new Float32Array(n).fill(1),
      nq: n, nk: n, dk: 1, dv: 1, score: 'dot' };
    const error = await b.attention(normalizeAttention({ ...args, returnWeights: true })).catch((e) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.gpuLimit).toBe(true);
    expect(error.message).toContain(`weights needs ${4 * n * n} bytes`);
    expect(error.message).toContain('heads*nq*nk');
    expect(error.message).toContain(`maxStorageBufferBindingSize is ${max}`);
    // Without weights the fused kernel never holds the n x n scores, so the same sizes run.
    const small = { ...args, nq: 4 };
    small.query = new Float32Array(4).fill(0.5);
    const lean = await b.attention(normalizeAttention(small));
    expect(Array.from(lean.output)).toEqual([1, 1, 1, 1]);
    b.dispose();
    device.destroy();
  });

  it('no adapter, or a refused device, is a clear Error', async () => {
    await expect(createWebGPUBackend({ gpu: { requestAdapter: async () => null } })).rejects.toThrow(/no adapter/);
    const refusing = { limits: {}, info: {}, requestDevice: async () => { throw new Error('limits too high'); } };
    await expect(createWebGPUBackend({ adapter: refusing })).rejects.toThrow(/refused a device: limits too high/);
    const noGpu = globalThis.navigator?.gpu === undefined;
    if (noGpu) await expect(createWebGPUBackend({})).rejects.toThrow(/WebGPU is not available/);
  });

  it('after the device is lost, calls reject with a clear error; after dispose too', async () => {
    const device = await (await gpu.requestAdapter()).requestDevice();
    const b = await createWebGPUBackend({ device });
    const args = normalizeAttention(attentionInputs(CASES.attention[0]));
    await b.attention(args);
    device.destroy();
    await device.lost;
    expect(b.lost).toBe(true);
    await expect(b.attention(args)).rejects.toThrow(/WebGPU device was lost \(destroyed/);
    await expect(b.multiHeadAttention(normalizeMultiHead(multiHeadInputs(CASES.multiHead[0])))).rejects.toThrow(/device was lost/);
    const other = await createWebGPUBackend({ gpu });
    other.dispose();
    await expect(other.attention(args)).rejects.toThrow(/disposed/);
  });

  it('the kernel option: reference selects the three-pass path (no double precision on the GPU)', async () => {
    const c = CASES.attention[0];
    const inputs = attentionInputs(c);
    const got = await fused.attention(normalizeAttention({ ...inputs, kernel: 'reference' }));
    expect(relativeError(got.output, attentionDouble(inputs).output)).toBeLessThanOrEqual(TOLERANCE);
  });
});
