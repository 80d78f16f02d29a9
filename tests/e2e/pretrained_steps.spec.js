// The pretrained mode's step-by-step view runs on the layer's own numbers: its X is the layer's attention
// input LN(x), its Q, K, V come from the layer's own W_Q, W_K, W_V (model.run's layerInputs and qkv), so the
// weights it shows equal the heatmap's for that layer and head; and Q, K, V are X times the file's own
// matrices (decoded here from the model file the widget loaded) plus the biases.
import { test, expect } from '@playwright/test';
import { ready, setAttrs } from './helpers.js';

test('pretrained step-by-step: its weights equal the heatmap\'s layer and head, Q = X W_Q + b from the file', async ({ page }) => {
  await page.goto('/?mode=model&view=steps&layer=1&head=2');
  const first = await ready(page);
  expect(first.weightsFrom).toBe('model');
  for (const [layer, head] of [[1, 2], [0, 3]]) {
    if (layer !== 1) await setAttrs(page, { layer: String(layer), head: String(head) });
    const r = await page.evaluate(() => {
      const res = document.querySelector('attention-view').result;
      const st = res.steps;
      const L = res.layers[st.layer];
      const n = L.nq;
      const heat = Array.from(L.weights.subarray(st.head * n * n, (st.head + 1) * n * n));
      return { layer: st.layer, head: st.head, n, heat, steps: Array.from(st.weights), label: st.label, X: Array.from(st.X), Q: Array.from(st.Q), d: st.d, dh: st.dh };
    });
    expect([r.layer, r.head]).toEqual([layer, head]);
    expect(r.label).toMatch(/the model's own/);
    expect(r.steps.length).toBe(r.n * r.n);
    let worst = 0;
    for (let i = 0; i < r.heat.length; i++) worst = Math.max(worst, Math.abs(r.heat[i] - r.steps[i]));
    console.log(`layer ${layer} head ${head}: max |steps - heatmap| = ${worst.toExponential(2)} over ${r.n}x${r.n}`);
    expect(worst).toBeLessThan(1e-5);
    // Q from the file's own W_Q and b_Q (columns of layers.l.attention.qkv), times the layer's scale.
    const check = await page.evaluate(async ({ layer, head, X, d, dh, n }) => {
      // The file the widget loaded (result.modelUrl), its kernel decoded here: F32, F16, or I8 with a float32
      // scale per block of columns (`<name>.scales` [rows][blocks]), as scripts/convert-model.mjs writes them.
      const url = document.querySelector('attention-view').result.modelUrl;
      const res = await fetch(url);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
      const raw = (name) => {
        const [a, b] = header[name].data_offsets;
        return bytes.slice(8 + headerLength + a, 8 + headerLength + b).buffer;
      };
      const half = (h) => {
        const e = (h >> 10) & 31;
        const m = h & 1023;
        const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
        return h & 0x8000 ? -v : v;
      };
      const tensor = (name) => {
        const t = header[name];
        if (t.dtype === 'F32') return new Float32Array(raw(name));
        if (t.dtype === 'F16') return Float32Array.from(new Uint16Array(raw(name)), half);
        if (t.dtype === 'I8') {
          const q = new Int8Array(raw(name));
          const scales = new Float32Array(raw(`${name}.scales`));
          const [rows, cols] = t.shape;
          const blocks = header[`${name}.scales`].shape[1];
          const per = cols / blocks;
          return Float32Array.from(q, (v, i) => v * scales[Math.floor(i / cols) * blocks + Math.floor((i % cols) / per)]);
        }
        throw new Error(`${name}: dtype ${t.dtype} is not decoded here`);
      };
      const W = tensor(`layers.${layer}.attention.qkv.kernel`);
      const bias = tensor(`layers.${layer}.attention.qkv.bias`);
      const width = W.length / d;
      // The view shows Q before the layer's scale when the scale is 1/√d_k (its score is then scaled_dot).
      const config = JSON.parse(header.__metadata__.config);
      const scale = Math.abs(config.attentionScales[layer] * Math.sqrt(dh) - 1) < 1e-6 ? 1 : config.attentionScales[layer];
      const Q = new Float32Array(n * dh);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < dh; c++) {
          let acc = bias[head * dh + c];
          for (let p = 0; p < d; p++) acc += X[i * d + p] * W[p * width + head * dh + c];
          Q[i * dh + c] = acc * scale;
        }
      }
      return Array.from(Q);
    }, r);
    let worstQ = 0;
    let largest = 0;
    for (let i = 0; i < check.length; i++) {
      worstQ = Math.max(worstQ, Math.abs(check[i] - r.Q[i]));
      largest = Math.max(largest, Math.abs(check[i]));
    }
    console.log(`layer ${layer} head ${head}: max |Q - s(X W_Q + b)| = ${worstQ.toExponential(2)} (largest |Q| ${largest.toFixed(3)})`);
    // The same file, decoded here: only float32 summation order separates the two.
    expect(worstQ).toBeLessThan(1e-4 * Math.max(1, largest));
  }
});
