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
// Weights are read from the safetensors bytes once (float16 converted exactly to float32) and uploaded
// once, into buffers labelled `attn.model.<tensor>`; a run uploads x0, encodes every dispatch into one
// command buffer (intermediates stay on the GPU), and reads back the attention weights and hidden states
// of each layer and the pooled embedding. The queries are not pre-multiplied by the scale as in the C++:
// QK^T takes it as alpha (one rounding apart; layer 0's 0.125 is exact either way).
// Heads are column blocks of the [T][3 Da] QKV projection and of the [T][Da] concat, read and written
// in place (strided views), so there is no split or merge pass.
import { withRun } from '../webgpu/runtime.js';
import { encodeMatmul, grid2d, SOFTMAX_WG } from '../webgpu/attention.js';
import { ALL_OUTPUTS, OUTPUT_BITS } from './outputs.js';

const STORAGE_COPY_DST = 0x80 | 0x08;  // GPUBufferUsage.STORAGE | COPY_DST, spelled out for Node
const ACT = { none: 0, relu: 1, tanh: 2 };

/** The tensors of a safetensors file as { dtype, shape, bytes } (bytes a view of `file`). */
function parseSafetensors(file) {
  const fail = (message) => { throw new Error(`loadModel (webgpu): safetensors: ${message}`); };
  if (file.byteLength < 8) fail(`the file has ${file.byteLength} bytes, fewer than the 8-byte header length`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerBytes = Number(view.getBigUint64(0, true));
  if (8 + headerBytes > file.byteLength) fail(`the header needs ${headerBytes} bytes but the file has ${file.byteLength - 8} after it`);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerBytes)));
  const base = 8 + headerBytes;
  const tensors = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = t.data_offsets;
    if (!(begin >= 0 && end >= begin && base + end <= file.byteLength)) fail(`tensor '${name}' lies outside the file`);
    tensors.set(name, { dtype: t.dtype, shape: t.shape, bytes: file.subarray(base + begin, base + end) });
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

// float16 bits -> float32, exact (as half_to_float in the C++ reader).
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * A float32 copy of a tensor of `shape` (F32, F16, BF16, or I8 with `<name>.scales` F32 [rows][blocks]: value =
 * int8 * the scale of its block of cols / blocks values, as the C++ reader's FloatRows), or an Error naming
 * the tensor and shapes.
 */
function readF32(tensors, name, shape) {
  const t = tensors.get(name);
  if (!t) throw new Error(`loadModel (webgpu): the file has no tensor '${name}'`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`loadModel (webgpu): tensor '${name}' has shape [${t.shape}] but [${shape}] is needed`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (t.dtype === 'I8') return readInt8(tensors, name, t, count);
  const size = { F32: 4, F16: 2, BF16: 2 }[t.dtype];
  if (!size) throw new Error(`loadModel (webgpu): tensor '${name}' is ${t.dtype}; F32, F16, BF16 or I8 + scales is needed`);
  if (t.bytes.byteLength !== count * size) {
    throw new Error(`loadModel (webgpu): tensor '${name}' has ${t.bytes.byteLength} bytes but ${count} values need ${count * size}`);
  }
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(count);
  if (t.dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (t.dtype === 'F16') for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else for (let i = 0; i < count; i++) out[i] = new Float32Array(new Uint32Array([view.getUint16(2 * i, true) << 16]).buffer)[0];
  return out;
}

function readInt8(tensors, name, t, count) {
  const cols = t.shape.length ? t.shape[t.shape.length - 1] : 1;
  const rows = cols ? count / cols : 0;
  const s = tensors.get(`${name}.scales`);
  const blocks = s?.shape.length === 2 ? s.shape[1] : 0;
  if (!s || s.dtype !== 'F32' || blocks === 0 || s.shape[0] !== rows || cols % blocks || s.bytes.byteLength !== 4 * rows * blocks ||
      t.bytes.byteLength !== count) {
    throw new Error(`loadModel (webgpu): tensor '${name}' is I8 but the file has no '${name}.scales' F32 [${rows}, blocks] with blocks dividing ${cols}`);
  }
  const block = cols / blocks;
  const q = new Int8Array(t.bytes.buffer, t.bytes.byteOffset, count);
  const scales = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
  const out = new Float32Array(count);
  for (let b = 0; b < rows * blocks; b++) {
    const scale = scales.getFloat32(4 * b, true);
    for (let i = b * block; i < (b + 1) * block; i++) out[i] = q[i] * scale;
  }
  return out;
}

/** The tokenizer's pieces as strings, from tokenizer.piece_offsets and tokenizer.piece_bytes. */
function readPieces(tensors) {
  const offsets = tensors.get('tokenizer.piece_offsets');
  const bytes = tensors.get('tokenizer.piece_bytes');
  if (!offsets || !bytes) return [];
  const view = new DataView(offsets.bytes.buffer, offsets.bytes.byteOffset, offsets.bytes.byteLength);
  const decoder = new TextDecoder();
  const pieces = [];
  for (let i = 0; i + 1 < offsets.bytes.byteLength / 4; i++) {
    pieces.push(decoder.decode(bytes.bytes.subarray(view.getInt32(4 * i, true), view.getInt32(4 * i + 4, true))));
  }
  return pieces;
}

/**
 * Builds the GPU encoder of a model file whose bytes the WASM loader has already accepted.
 * backend: the WebGPU backend (createWebGPUBackend); bytes: Uint8Array of the safetensors file.
 * Returns { run(ids, outputs) -> Promise<{ attention, hidden, embedding, inputEmbeddings }>, pieces(ids),
 * dispose() }; outputs: OUTPUT_BITS of the results to read back (the others are null).
 */
export function createGpuEncoder(backend, bytes) {
  const rt = backend.runtime;
  const { tensors, metadata } = parseSafetensors(bytes);
  const config = JSON.parse(metadata.config ?? 'null');
  if (!config || !Array.isArray(config.heads) || !Array.isArray(config.attentionScales)) {
    throw new Error('loadModel (webgpu): __metadata__.config has no heads or attentionScales');
  }
  const [vocabRows, d0] = tensors.get('embeddings.token')?.shape ?? [];
  const embeddings = readF32(tensors, 'embeddings.token', [vocabRows, d0]);
  const invTimescales = readF32(tensors, 'embeddings.timing_inv_timescales', [d0 / 2]);
  const pieceTable = readPieces(tensors);

  // Upload every weight once; each buffer is destroyed by dispose() (or with the device).
  const buffers = [];
  const upload = (name, shape) => {
    const data = readF32(tensors, name, shape);
    rt.checkBuffer('loadModel (webgpu)', name, data.length, `[${shape}]`);
    const buffer = rt.device.createBuffer({ label: `attn.model.${name}`, size: Math.max(4, data.byteLength), usage: STORAGE_COPY_DST });
    rt.device.queue.writeBuffer(buffer, 0, data);
    buffers.push(buffer);
    return buffer;
  };
  const layers = [];
  let width = d0;
  let pool;
  const dEmbedding = tensors.get('pooler.tanh.kernel')?.shape?.[1];
  try {
    for (let l = 0; l < config.layers; l++) {
      const p = `layers.${l}.`;
      const qkvShape = tensors.get(`${p}attention.qkv.kernel`)?.shape ?? [];
      const da = qkvShape[1] / 3;
      const dout = tensors.get(`${p}attention.output.kernel`)?.shape?.[1];
      const dff = tensors.get(`${p}ffn.conv1.kernel`)?.shape?.[1];
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
    const layerNorm = (name, x, d, scale, bias) => {
      const y = run.scratch(name, t * d);
      run.dispatch('layer_norm', { WG: SOFTMAX_WG }, name, [[t, 'u'], [d, 'u'], [eps, 'f'], [0, 'u']],
        [x, scale, bias, y], grid2d(run, t));
      return y;
    };
    const dense = (name, x, inDim, outDim, W, b, act = ACT.none, rows = t) => {
      const y = run.scratch(name, rows * outDim);
      encodeMatmul(run, name, { a: view(x, inDim), b: view(W, outDim), bias: b, c: view(y, outDim),
        M: rows, N: outDim, K: inDim, act });
      return y;
    };
    const add = (name, y, a, n) => {
      run.dispatch('add', { WG: SOFTMAX_WG }, name, [[n, 'u'], [0, 'u'], [0, 'u'], [0, 'u']], [a, y],
        grid2d(run, Math.ceil(n / SOFTMAX_WG)));
    };

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
      run.dispatch('softmax', { WG: SOFTMAX_WG }, name('softmax'), [[t, 'u'], [t, 'u'], [H * t, 'u'], [0, 'u']],
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
      const f = dense(name('ffn.conv1'), h2, dout, dff, L.ffn1, L.ffn1Bias, ACT.relu);
      const next = dense(name('ffn.conv2'), f, dff, dout, L.ffn2, L.ffn2Bias);
      add(name('ffn_add'), next, y, t * dout);
      if (outputs & OUTPUT_BITS.attention) run.read(name('attention'), S, H * t * t);
      if (outputs & OUTPUT_BITS.hidden) run.read(name('hidden'), next, t * dout);
      x = next;
    });
    // pooling: mean over positions, tanh layer
    const mean = run.scratch('mean', dl);
    run.dispatch('mean_pool', { WG: SOFTMAX_WG }, 'mean_pool', [[t, 'u'], [dl, 'u'], [0, 'u'], [0, 'u']],
      [x, mean], [Math.ceil(dl / SOFTMAX_WG), 1, 1]);
    const e = dense('pooler.tanh', mean, dl, dEmbedding, pool.kernel, pool.bias, ACT.tanh, 1);
    run.read('embedding', e, dEmbedding);
  }

  return {
    /** The pieces of ids, from the file's tokenizer table ('<id N>' for rows without a piece, as in WASM). */
    pieces: (ids) => Array.from(ids, (id) => pieceTable[id] ?? `<id ${id}>`),
    /**
     * Runs the encoder on ids (already clipped to maxTokens, each in [0, vocabRows)).
     * Rejects with an Error naming model.run when the device is lost or a GPU error occurs.
     */
    async run(ids, outputs = ALL_OUTPUTS, fn = 'run') {
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
