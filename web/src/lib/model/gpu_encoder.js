// T tokens, H heads, Dh head dims, Da attention width, Din/Dout layer widths, F feed-forward width,
// E embedding width.
//
// The Universal Sentence Encoder lite forward pass on WebGPU: the same maths as wasm/src/model/encoder.cpp
// (docs/MODEL.md has the graph op by op), on the WebGPU backend's device and programs:
//   x0 = 2 * Emb[ids] + timing                                     (here in JS, as the C++ does it)
//   per layer:  h = LN(x)                                          layer_norm.wgsl
//               [Q|K|V] = h.Wqkv + b                               matmul.wgsl
//               per head A = softmax(scale * Q K^T), O = A V       matmul.wgsl (QK^T), softmax.wgsl, matmul.wgsl
//               y = concat(O).Wo + bo + (Din != Dout ? x.Wr + br : x)    matmul.wgsl, add.wgsl
//               x' = y + relu(LN(y).W1 + b1).W2 + b2               layer_norm, matmul (ACT 1), matmul, add
//   pool: e = tanh(mean_t(x_L).Wt + bt)                            mean_pool.wgsl, matmul (ACT 2)
//         embedding = e / sqrt(max(|e|^2, eps))                    (here in JS, in double: 512 values)
// Weights are read through the one safetensors reader (tensors.js, the C++ attn::SafeTensors: shapes
// checked, float16 converted exactly to float32) and uploaded once, into buffers labelled
// `attn.model.<tensor>`; a run uploads x0, encodes every dispatch (webgpu/layers.js) into one command buffer
// (intermediates stay on the GPU), and reads back the attention weights and hidden states of each layer and
// the pooled embedding. The queries are not pre-multiplied by the scale as in the C++:
// QK^T takes it as alpha (one rounding apart; layer 0's 0.125 is exact either way).
// Heads are column blocks of the [T][3 Da] QKV projection and of the [T][Da] concat, read and written
// in place (strided views), so there is no split or merge pass.
import { withRun } from '../webgpu/runtime.js';
import { encodeMatmul, grid2d, SOFTMAX_WG } from '../webgpu/attention.js';
import { encodeDense, encodeLayerNorm, encodeAdd, encodeMeanPool } from '../webgpu/layers.js';
import { MODEL_OUTPUTS as OUTPUT_BITS, ALL_MODEL_OUTPUTS as ALL_OUTPUTS } from '../spec.js';

const STORAGE_COPY_DST = 0x80 | 0x08;  // GPUBufferUsage.STORAGE | COPY_DST, spelled out for Node

/**
 * Builds the GPU encoder of a model file the WASM encoder has already accepted (its config is valid).
 * rt: the WebGPU backend's runtime; tensors: the open file (tensors.js: the C++ reader, float32 copies).
 * Returns { run(ids, { outputs, fn }) -> Promise<{ attention, hidden, embedding, inputEmbeddings }>,
 * dispose() }; outputs: spec.js MODEL_OUTPUTS bits of the results to read back (the others are null).
 */
export function createGpuEncoder(rt, tensors) {
  const config = JSON.parse(tensors.metadata.config ?? 'null');
  if (!config || !Array.isArray(config.heads) || !Array.isArray(config.attentionScales)) {
    throw new Error('loadModel (webgpu): __metadata__.config has no heads or attentionScales');
  }
  const shape = (name) => tensors.shape(name) ?? [];
  const [vocabRows, d0] = shape('embeddings.token');
  const embeddings = tensors.read('embeddings.token', [vocabRows, d0]);
  const invTimescales = tensors.read('embeddings.timing_inv_timescales', [d0 / 2]);

  // Upload every weight once; each buffer is destroyed by dispose() (or with the device).
  const buffers = [];
  const upload = (name, shape) => {
    const data = tensors.read(name, shape);
    rt.checkBuffer('loadModel (webgpu)', name, data.length, `[${shape}]`);
    const buffer = rt.device.createBuffer({ label: `attn.model.${name}`, size: Math.max(4, data.byteLength), usage: STORAGE_COPY_DST });
    rt.device.queue.writeBuffer(buffer, 0, data);
    buffers.push(buffer);
    return buffer;
  };
  const layers = [];
  let width = d0;
  let pool;
  const dEmbedding = shape('pooler.tanh.kernel')[1];
  try {
    for (let l = 0; l < config.layers; l++) {
      const p = `layers.${l}.`;
      const da = shape(`${p}attention.qkv.kernel`)[1] / 3;
      const dout = shape(`${p}attention.output.kernel`)[1];
      const dff = shape(`${p}ffn.conv1.kernel`)[1];
      const heads = config.heads[l];
      const L = {
        din: width, da, dout, dff, heads, dh: da / heads, scale: config.attentionScales[l],
        normScale: upload(`${p}attention_norm.scale`, [width]), normBias: upload(`${p}attention_norm.bias`, [width]),
        qkv: upload(`${p}attention.qkv.kernel`, [width, 3 * da]), qkvBias: upload(`${p}attention.qkv.bias`, [3 * da]),
        out: upload(`${p}attention.output.kernel`, [da, dout]), outBias: upload(`${p}attention.output.bias`, [dout]),
        ffnNormScale: upload(`${p}ffn_norm.scale`, [dout]), ffnNormBias: upload(`${p}ffn_norm.bias`, [dout]),
        ffn1: upload(`${p}ffn.conv1.kernel`, [dout, dff]), ffn1Bias: upload(`${p}ffn.conv1.bias`, [dff]),
        ffn2: upload(`${p}ffn.conv2.kernel`, [dff, dout]), ffn2Bias: upload(`${p}ffn.conv2.bias`, [dout]),
        residual: width !== dout ? upload(`${p}residual_projection.kernel`, [width, dout]) : null,
        residualBias: width !== dout ? upload(`${p}residual_projection.bias`, [dout]) : null,
      };
      layers.push(L);
      width = dout;
    }
    pool = { kernel: upload('pooler.tanh.kernel', [width, dEmbedding]), bias: upload('pooler.tanh.bias', [dEmbedding]) };
  } catch (error) {
    for (const buffer of buffers) buffer.destroy();
    throw error;
  }
  const dl = width;
  const eps = config.layerNormEpsilon;
  const l2Epsilon = config.l2Epsilon;
  const inputScale = config.inputEmbeddingScale;
  let disposed = false;

  /** x0 [T][D0] = scale * Emb[id] + concat(sin(p * inv), cos(p * inv)), rounded as the C++ rounds it. */
  function inputEmbeddings(ids) {
    const t = ids.length;
    const half = d0 / 2;
    const x = new Float32Array(t * d0);
    for (let p = 0; p < t; p++) {
      const e = ids[p] * d0;
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(p * invTimescales[i]);
        x[p * d0 + i] = Math.fround(inputScale * embeddings[e + i]) + Math.fround(Math.sin(angle));
        x[p * d0 + half + i] = Math.fround(inputScale * embeddings[e + half + i]) + Math.fround(Math.cos(angle));
      }
    }
    return x;
  }

  const view = (buffer, row, offset = 0, head = 0) => ({ buffer, offset, head, row });

  /** Encodes the whole forward pass of T tokens into `run`; schedules the read-backs. */
  function encode(run, x0, t, outputs) {
    const layerNorm = (name, x, d, scale, bias) => encodeLayerNorm(run, name, { x, rows: t, d, scale, bias, eps });
    const dense = (name, x, inDim, outDim, W, b, activation = 'none', rows = t) =>
      encodeDense(run, name, { x, rows, inDim, outDim, W, b, activation });
    const add = (name, y, a, n) => encodeAdd(run, name, { y, a, n });

    let x = run.upload('x0', x0);
    layers.forEach((L, l) => {
      const { din, da, dout, dff, heads: H, dh } = L;
      const name = (what) => `layer${l}.${what}`;
      // pass 1: pre-norm and fused QKV projection [T][3 Da]
      const h = layerNorm(name('attention_norm'), x, din, L.normScale, L.normBias);
      const qkv = dense(name('qkv'), h, din, 3 * da, L.qkv, L.qkvBias);
      // pass 2: scores S [H][T][T] = scale * Q K^T (head h: columns h*Dh of Q and K), softmax in place
      const S = run.scratch(name('attention'), H * t * t);
      encodeMatmul(run, name('QK^T'), { a: view(qkv, 3 * da, 0, dh), b: view(qkv, 3 * da, da, dh),
        c: view(S, t, 0, t * t), batch: H, M: t, N: t, K: dh, transB: true, alpha: L.scale });
      run.dispatch('softmax', { WG: SOFTMAX_WG }, name('softmax'), { nq: t, nk: t, rows: H * t, mask_kind: 0 },
        [run.none(), S], grid2d(run, H * t));
      // pass 3: O = weights . V, written as column blocks of concat [T][Da]
      const concat = run.scratch(name('heads'), t * da);
      encodeMatmul(run, name('weights.V'), { a: view(S, t, 0, t * t), b: view(qkv, 3 * da, 2 * da, dh),
        c: view(concat, da, 0, dh), batch: H, M: t, N: dh, K: t });
      // pass 4: output transform, residual (projected when the width changes)
      const y = dense(name('output'), concat, da, dout, L.out, L.outBias);
      const residual = L.residual ? dense(name('residual_projection'), x, din, dout, L.residual, L.residualBias) : x;
      add(name('residual_add'), y, residual, t * dout);
      // pass 5: pre-norm feed-forward with ReLU, residual
      const h2 = layerNorm(name('ffn_norm'), y, dout, L.ffnNormScale, L.ffnNormBias);
      const f = dense(name('ffn.conv1'), h2, dout, dff, L.ffn1, L.ffn1Bias, 'relu');
      const next = dense(name('ffn.conv2'), f, dff, dout, L.ffn2, L.ffn2Bias);
      add(name('ffn_add'), next, y, t * dout);
      if (outputs & OUTPUT_BITS.attention) run.read(name('attention'), S, H * t * t);
      if (outputs & OUTPUT_BITS.hidden) run.read(name('hidden'), next, t * dout);
      x = next;
    });
    // pooling: mean over positions, tanh layer
    const mean = encodeMeanPool(run, 'mean_pool', { x, rows: t, d: dl });
    const e = dense('pooler.tanh', mean, dl, dEmbedding, pool.kernel, pool.bias, 'tanh', 1);
    run.read('embedding', e, dEmbedding);
  }

  return {
    /**
     * Runs the encoder on ids (already clipped to maxTokens, each in [0, vocabRows)).
     * Rejects with an Error naming model.run when the device is lost or a GPU error occurs.
     */
    async run(ids, { outputs = ALL_OUTPUTS, fn = 'run' } = {}) {
      if (disposed) throw new Error(`${fn}: the model's WebGPU weights have been disposed`);
      const t = ids.length;
      const x0 = inputEmbeddings(ids);
      const results = await withRun(rt, `model.${fn}`, (run) => encode(run, x0, t, outputs));
      // read back in encode()'s order: per layer its attention and hidden (each when asked for), then the embedding
      const attention = outputs & OUTPUT_BITS.attention ? [] : null;
      const hidden = outputs & OUTPUT_BITS.hidden ? [] : null;
      let next = 0;
      layers.forEach(() => {
        if (attention) attention.push(results[next++]);
        if (hidden) hidden.push(results[next++]);
      });
      // L2 normalisation in double, as the C++ does it
      const embedding = results[next];
      let norm2 = 0;
      for (const value of embedding) norm2 += value * value;
      const inv = 1 / Math.sqrt(Math.max(norm2, l2Epsilon));
      for (let i = 0; i < embedding.length; i++) embedding[i] *= inv;
      return {
        attention, hidden, embedding: outputs & OUTPUT_BITS.embedding ? embedding : null,
        inputEmbeddings: outputs & OUTPUT_BITS.inputEmbeddings ? x0 : null,
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const buffer of buffers) buffer.destroy();
    },
  };
}
