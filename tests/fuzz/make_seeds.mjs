// Writes the small seed corpora (tests/fuzz/corpus/<target>/) and the hand-made hostile model files
// (tests/fuzz/regressions/{safetensors,model}/reject-*.safetensors). Run once after changing it:
//   node tests/fuzz/make_seeds.mjs
// Everything is deterministic. Files named reject-* must be refused by the parser (safetensors) or the model
// loader (model) with a message; tests/cpp/fuzz_regressions_test.cpp checks that, under ASan in
// scripts/sanitize.sh, so none of them is ever read out of bounds.
import { mkdirSync, writeFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// ---- a safetensors writer ---------------------------------------------------------------------------------
const sizes = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

// tensors: [{ name, dtype, shape, bytes: Uint8Array }], packed back to back in order.
function safetensors(tensors, metadata, { headerText, headerLength } = {}) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLength ?? BigInt(json.length));
  return Buffer.concat([len, json, ...tensors.map((t) => Buffer.from(t.bytes))]);
}

// Deterministic small values.
let state = 12345;
function rand() {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state / 2 ** 32) * 2 - 1;
}
function f32(shape, scale = 0.5) {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Uint8Array(Float32Array.from({ length: n }, () => rand() * scale).buffer);
}
function f16(shape) {  // halves in [-0.5, 0.5] built from bits: sign, exponent 10..13, random mantissa
  const n = shape.reduce((a, b) => a * b, 1);
  return new Uint8Array(Uint16Array.from({ length: n }, () => {
    const r = Math.floor((rand() + 1) * 1e6);
    return ((r & 1) << 15) | ((10 + (r >> 1) % 4) << 10) | ((r >> 3) & 0x3ff);
  }).buffer);
}

// ---- a tiny model in the project's format (see wasm/src/model/encoder.cpp) --------------------------------
const pieces = ['<unk>', '<s>', '</s>', '<r3>', '<r4>', '<r5>', '\u2581', '\u2581the', 'the', 'a', 'an', 'ant', 'e', 't'];
function tinyModel({ dtype = 'F32', layers = [[4, 4, 2, 4, 8]], vocabRows = 16, embedding = 5, config = {},
                    tokenizer = {} } = {}) {
  // layers: [d_in, d_attn, heads, d_out, d_ff]
  const w = (shape) => ({ dtype, shape, bytes: dtype === 'F16' ? f16(shape) : f32(shape) });
  const d0 = layers[0][0];
  const t = [];
  t.push({ name: 'embeddings.token', ...w([vocabRows, d0]) });
  const half = Math.floor(d0 / 2);
  t.push({ name: 'embeddings.timing_inv_timescales', dtype: 'F32', shape: [half],
           bytes: new Uint8Array(Float32Array.from({ length: half }, (_, i) => 1 / 10000 ** (i / half)).buffer) });
  layers.forEach(([din, da, , dout, dff], l) => {
    const p = `layers.${l}.`;
    t.push({ name: p + 'attention_norm.scale', ...w([din]) }, { name: p + 'attention_norm.bias', ...w([din]) });
    t.push({ name: p + 'attention.qkv.kernel', ...w([din, 3 * da]) }, { name: p + 'attention.qkv.bias', ...w([3 * da]) });
    t.push({ name: p + 'attention.output.kernel', ...w([da, dout]) }, { name: p + 'attention.output.bias', ...w([dout]) });
    if (din !== dout) {
      t.push({ name: p + 'residual_projection.kernel', ...w([din, dout]) },
             { name: p + 'residual_projection.bias', ...w([dout]) });
    }
    t.push({ name: p + 'ffn_norm.scale', ...w([dout]) }, { name: p + 'ffn_norm.bias', ...w([dout]) });
    t.push({ name: p + 'ffn.conv1.kernel', ...w([dout, dff]) }, { name: p + 'ffn.conv1.bias', ...w([dff]) });
    t.push({ name: p + 'ffn.conv2.kernel', ...w([dff, dout]) }, { name: p + 'ffn.conv2.bias', ...w([dout]) });
  });
  const dl = layers[layers.length - 1][3];
  t.push({ name: 'pooler.tanh.kernel', ...w([dl, embedding]) }, { name: 'pooler.tanh.bias', ...w([embedding]) });
  const bytes = pieces.map((p) => Buffer.from(p, 'utf8'));
  const offsets = [0];
  for (const b of bytes) offsets.push(offsets[offsets.length - 1] + b.length);
  const scores = pieces.map((_, i) => -1 - (i % 5) * 0.5);
  t.push({ name: 'tokenizer.scores', dtype: 'F64', shape: [(tokenizer.scores ?? scores).length],
           bytes: new Uint8Array(Float64Array.from(tokenizer.scores ?? scores).buffer) });
  const off = tokenizer.offsets ?? offsets;
  t.push({ name: 'tokenizer.piece_offsets', dtype: 'I32', shape: [off.length],
           bytes: new Uint8Array(Int32Array.from(off).buffer) });
  const packed = tokenizer.packed ?? Buffer.concat(bytes);
  t.push({ name: 'tokenizer.piece_bytes', dtype: 'U8', shape: [packed.length], bytes: new Uint8Array(packed) });
  const cfg = { layers: layers.length, heads: layers.map((l) => l[2]), attentionScales: layers.map((l) => 1 / Math.sqrt(l[1] / l[2])),
                layerNormEpsilon: 1e-6, maxTokens: 8, l2Epsilon: 1e-12, inputEmbeddingScale: 2, ...config };
  return { tensors: t, metadata: { format: 'attn-model/1', config: JSON.stringify(cfg) } };
}

function write(path, bytes) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
function clean(dir, prefix) {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.startsWith(prefix)) rmSync(join(dir, f));
}

const corpus = join(here, 'corpus');
const regressions = join(here, 'regressions');
rmSync(corpus, { recursive: true, force: true });
clean(join(regressions, 'safetensors'), 'reject-');
clean(join(regressions, 'model'), 'reject-');

// ---- seeds ---------------------------------------------------------------------------------------------
const one = tinyModel();
const two = tinyModel({ layers: [[4, 6, 2, 6, 8], [6, 6, 3, 6, 4]] });
const half = tinyModel({ dtype: 'F16', layers: [[4, 4, 1, 4, 4]] });
const oneFile = safetensors(one.tensors, one.metadata);
write(join(corpus, 'model', 'tiny-1layer.safetensors'), oneFile);
write(join(corpus, 'model', 'tiny-2layers-residual.safetensors'), safetensors(two.tensors, two.metadata));
write(join(corpus, 'model', 'tiny-f16.safetensors'), safetensors(half.tensors, half.metadata));

const mixed = [
  { name: 'a', dtype: 'F32', shape: [2, 3], bytes: f32([2, 3]) },
  { name: 'b', dtype: 'F16', shape: [3], bytes: f16([3]) },
  { name: 'c', dtype: 'BF16', shape: [2], bytes: new Uint8Array([0x80, 0x3f, 0x00, 0xc0]) },
  { name: 'd', dtype: 'I64', shape: [1], bytes: new Uint8Array(8) },
  { name: 'e', dtype: 'U8', shape: [0, 5], bytes: new Uint8Array(0) },
  { name: 'f', dtype: 'BOOL', shape: [], bytes: new Uint8Array([1]) },
];
write(join(corpus, 'safetensors', 'mixed.safetensors'), safetensors(mixed, { k: 'v' }));
write(join(corpus, 'safetensors', 'empty.safetensors'), safetensors([], null));
write(join(corpus, 'safetensors', 'tiny-1layer.safetensors'), oneFile);

write(join(corpus, 'json', 'header.json'), oneFile.subarray(8, 8 + Number(oneFile.readBigUInt64LE(0))));
write(join(corpus, 'json', 'config.json'), one.metadata.config);
write(join(corpus, 'json', 'escapes.json'), '{"s": "a\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/", "n": [-0, 1.5e-3, 18446744073709551616, true, false, null]}');

const sentences = ['The animal didn\'t cross the street because it was too tired', 'Hello', 'the ant ate an anteater',
                   'Café au lait, naïve résumé', '東京は日本の首都です。', 'I love it 😀🎉!!', '  two  spaces ', '\u2581x'];
sentences.forEach((s, i) => write(join(corpus, 'tokenizer', `sentence-${i}.txt`), s));

// attention: op byte, then sizes (see check_attention); values follow from the LCG.
for (let i = 0; i < 12; ++i) {
  const head = [i % 3, i, i * 5 + 1, i * 11 + 3, i % 4, i % 3, i + 1, i * 3 + 2, i * 7 + 1, i % 5];
  const body = Array.from({ length: 300 }, () => Math.floor((rand() + 1) * 128));
  write(join(corpus, 'attention', `seed-${i}.bin`), Uint8Array.from([...head, ...body]));
}

// ---- hostile safetensors files: every one must be refused ----------------------------------------------
const st = (name, bytes) => write(join(regressions, 'safetensors', `reject-${name}.safetensors`), bytes);
const small = [
  { name: 'x', dtype: 'F32', shape: [2, 2], bytes: f32([2, 2]) },
  { name: 'y', dtype: 'F16', shape: [4], bytes: f16([4]) },
];
const good = safetensors(small, { note: 'ok' });
const headerLen = Number(good.readBigUInt64LE(0));
st('empty', Buffer.alloc(0));
st('truncated-length', good.subarray(0, 5));
st('truncated-header', good.subarray(0, 8 + Math.floor(headerLen / 2)));
st('truncated-data', good.subarray(0, good.length - 3));
st('truncated-no-data', good.subarray(0, 8 + headerLen));
const flip = (at, bit) => { const b = Buffer.from(good); b[at] ^= 1 << bit; return b; };
st('bitflip-length-high', flip(7, 7));              // header length 2^63 + n
st('bitflip-length', flip(0, 6));                   // header length off by 64
st('bitflip-header-brace', flip(8, 1));             // '{' -> 'y'
st('bitflip-header-quote', flip(8 + good.subarray(8).indexOf('"dtype"'), 0));
st('bitflip-offset-digit', (() => {                 // a data_offsets digit changes: size != shape
  const b = Buffer.from(good);
  const at = 8 + b.subarray(8).indexOf('[0,16]') + 4;
  b[at] ^= 0x02;  // '6' -> '4'
  return b;
})());
const len = (n) => safetensors(small, null, { headerLength: n });
st('huge-header-2pow63', len(2n ** 63n));
st('huge-header-2pow64-1', len(2n ** 64n - 1n));
st('huge-header-2pow32-plus-len', len(2n ** 32n + BigInt(headerLen)));   // a 32-bit size_t would wrap to the real length
st('header-past-end', len(BigInt(good.length - 8 + 1)));
st('header-len-0', len(0n));
st('header-len-1', safetensors([], null, { headerText: '{' }));
// A header written by hand, followed by 24 data bytes.
const hdr = (obj) => Buffer.concat([safetensors([], null, { headerText: JSON.stringify(obj) }), Buffer.alloc(24)]);
st('wrong-dtype', hdr({ x: { dtype: 'F33', shape: [2, 3], data_offsets: [0, 24] } }));
st('lowercase-dtype', hdr({ x: { dtype: 'f32', shape: [2, 3], data_offsets: [0, 24] } }));
st('dtype-not-string', hdr({ x: { dtype: 4, shape: [2, 3], data_offsets: [0, 24] } }));
st('offset-past-end', hdr({ x: { dtype: 'F32', shape: [2, 4], data_offsets: [0, 32] } }));
st('offset-huge', safetensors([], null, {
  headerText: '{"x":{"dtype":"U8","shape":[24],"data_offsets":[18446744073709551600,18446744073709551624]}}' }));
st('offset-2pow64-wrap', safetensors([], null, {
  headerText: '{"x":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}}' }));
st('offsets-backwards', hdr({ x: { dtype: 'F32', shape: [0], data_offsets: [24, 0] } }));
st('offsets-negative', hdr({ x: { dtype: 'U8', shape: [24], data_offsets: [-1, 23] } }));
st('offsets-float', Buffer.concat([safetensors([], null, {
  headerText: '{"x":{"dtype":"U8","shape":[24],"data_offsets":[0,24.0]}}' }), Buffer.alloc(24)]));
st('offsets-three', hdr({ x: { dtype: 'U8', shape: [24], data_offsets: [0, 12, 24] } }));
st('overlap', hdr({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
                    y: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }));
st('overlap-same', hdr({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
                         y: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
                         z: { dtype: 'F32', shape: [3], data_offsets: [12, 24] } }));
st('hole', hdr({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
                 y: { dtype: 'F32', shape: [2], data_offsets: [16, 24] } }));
st('trailing-data', hdr({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }));
st('shape-size-mismatch', hdr({ x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 24] } }));
st('shape-negative', hdr({ x: { dtype: 'F32', shape: [-2, -3], data_offsets: [0, 24] } }));
st('shape-float', hdr({ x: { dtype: 'F32', shape: [2.5, 2.4], data_offsets: [0, 24] } }));
st('shape-not-array', hdr({ x: { dtype: 'F32', shape: 6, data_offsets: [0, 24] } }));
st('shape-overflow', safetensors([], null, {   // product wraps to 24 in 64 bits: 2^62 * 2^2 ... must not pass
  headerText: '{"x":{"dtype":"U8","shape":[4611686018427387904,4,6],"data_offsets":[0,24]}}' }));
st('shape-overflow-wrap', Buffer.concat([safetensors([], null, {   // 2^32 * 2^32 * 24 wraps to 0 mod 2^64
  headerText: '{"x":{"dtype":"U8","shape":[4294967296,4294967296,24],"data_offsets":[0,0]},' +
              '"y":{"dtype":"U8","shape":[24],"data_offsets":[0,24]}}' }), Buffer.alloc(24)]));
// [0, 2^40] is a valid empty tensor (kept as crash-cf2042cf..., read_f32 once passed null to memcpy).
st('duplicate-name', safetensors([], null, {
  headerText: '{"x":{"dtype":"U8","shape":[12],"data_offsets":[0,12]},"x":{"dtype":"U8","shape":[12],"data_offsets":[12,24]}}' }));
st('metadata-not-strings', hdr({ __metadata__: { a: 1 }, x: { dtype: 'U8', shape: [24], data_offsets: [0, 24] } }));
st('header-array', hdr([1, 2, 3]));
st('header-not-json', safetensors([], null, { headerText: 'not json at all' }));
st('header-trailing', safetensors([], null, { headerText: '{} {}' }));
st('header-deep', safetensors([], null, { headerText: '['.repeat(20000) + ']'.repeat(20000) }));
st('header-unterminated-string', safetensors([], null, { headerText: '{"x' }));
st('header-bad-escape', safetensors([], null, { headerText: '{"\\u12' }));
st('header-nul', Buffer.concat([safetensors([], null, { headerText: '{}\u0000' })]));
st('entry-not-object', hdr({ x: [1, 2] }));

// ---- hostile model files: valid safetensors, wrong model ---------------------------------------------------
const md = (name, m) => write(join(regressions, 'model', `reject-${name}.safetensors`), safetensors(m.tensors, m.metadata));
{
  // Piece offsets ascending at first but jumping past the bytes, then back: piece 1 would span bytes past the end.
  // (14 pieces, 44 bytes: the last offset is right, so only the running check can catch it.)
  const off = [0, 5, 5000, 12, 16, 20, 24, 27, 33, 36, 37, 39, 42, 43, 44];
  md('tokenizer-offsets-past-bytes', tinyModel({ tokenizer: { offsets: off } }));
  const neg = [0, -40, 8, 12, 16, 20, 24, 27, 33, 36, 37, 39, 42, 43, 44];
  md('tokenizer-offsets-negative', tinyModel({ tokenizer: { offsets: neg } }));
  const bad = tinyModel();
  bad.tensors.find((t) => t.name === 'layers.0.ffn.conv1.kernel').dtype = 'I32';
  md('wrong-dtype-i32-weights', bad);
  // No pieces at all: F64 [0], I32 [1] = [0], U8 [0] (memcpy of 0 bytes into a null vector, then refused).
  md('tokenizer-no-pieces', tinyModel({ tokenizer: { scores: [], offsets: [0], packed: Buffer.alloc(0) } }));
  const noConfig = tinyModel();
  noConfig.metadata = { format: 'attn-model/1' };
  md('no-config', noConfig);
  md('config-heads-zero', tinyModel({ config: { heads: [0] } }));
  md('config-heads-huge', tinyModel({ config: { heads: [18446744073709552000] } }));
  md('config-layers-mismatch', tinyModel({ config: { layers: 2 } }));
  md('config-max-tokens-zero', tinyModel({ config: { maxTokens: 0 } }));
  md('config-not-json', { ...tinyModel(), metadata: { config: '{"layers": 1,' } });
  md('odd-embedding-width', tinyModel({ layers: [[3, 3, 1, 3, 4]] }));
  md('qkv-not-multiple-of-3', (() => {
    const m = tinyModel();
    const t = m.tensors.find((x) => x.name === 'layers.0.attention.qkv.kernel');
    t.shape = [4, 11]; t.bytes = f32([4, 11]);
    return m;
  })());
  md('heads-do-not-divide', tinyModel({ layers: [[4, 4, 3, 4, 8]] }));
  md('more-pieces-than-rows', tinyModel({ vocabRows: 10 }));
  md('missing-tensor', (() => {
    const m = tinyModel();
    m.tensors = m.tensors.filter((x) => x.name !== 'layers.0.ffn_norm.bias');
    return m;
  })());
  md('pooler-width-mismatch', (() => {
    const m = tinyModel();
    const t = m.tensors.find((x) => x.name === 'pooler.tanh.kernel');
    t.shape = [3, 5]; t.bytes = f32([3, 5]);
    return m;
  })());
}
// ---- hostile but loadable model files: replayed through check_model (no reject- prefix: the loader may accept
// or refuse them, but must not read out of bounds or hit undefined behaviour) ----------------------------------
{
  const m = tinyModel();
  // Config numbers beyond float: casting 1e300 to float is undefined behaviour (UBSan float-cast-overflow).
  const cfg = JSON.parse(m.metadata.config);
  Object.assign(cfg, { layerNormEpsilon: 1e300, l2Epsilon: -1e300, inputEmbeddingScale: 1e39, attentionScales: [1e300] });
  m.metadata = { ...m.metadata, config: JSON.stringify(cfg) };
  write(join(regressions, 'model', 'hostile-config-numbers-beyond-float.safetensors'), safetensors(m.tensors, m.metadata));
}
// ---- memory-safety cases (written last, so the random values of the files above do not change) -------------
{
  // Repeated keys (first wins in an entry and last wins in __metadata__ before) and invalid UTF-8: refused, as
  // the format's reference reader (serde_json over a UTF-8 str) refuses them.
  const withData = (header) => {
    const json = Buffer.isBuffer(header) ? header : Buffer.from(header, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, Buffer.alloc(24)]);
  };
  const x = '"dtype":"U8","shape":[24],"data_offsets":[0,24]';
  st('duplicate-key-in-entry', withData(`{"x":{${x},"dtype":"F32"}}`));  // first wins (U8) was accepted
  st('duplicate-metadata-key', withData(`{"__metadata__":{"a":"1","a":"2"},"x":{${x}}}`));
  st('duplicate-metadata', withData(`{"__metadata__":{},"__metadata__":{},"x":{${x}}}`));
  st('invalid-utf8-in-name', withData(Buffer.concat([Buffer.from('{"x'), Buffer.from([0x80]), Buffer.from(`":{${x}}}`)])));
  st('invalid-utf8-overlong', withData(Buffer.concat([Buffer.from('{"__metadata__":{"k":"'), Buffer.from([0xC0, 0xAF]),
    Buffer.from(`"},"x":{${x}}}`)])));
  st('lone-surrogate-escape', withData(`{"x\\udc00":{${x}}}`));
  // maxTokens 32768 wrapped H*T*T to 0 in a 32-bit size_t (a run that never ended), 32769 wrote 4 GB past a
  // 1 MB block: over EncoderModel::kMaxTokens = 16384 now.
  md('config-max-tokens-32768', tinyModel({ config: { maxTokens: 32768 } }));
  md('config-max-tokens-32769', tinyModel({ config: { maxTokens: 32769 } }));
  // vocab: byte 0 = repeats of the text, then pieces separated by NUL (tests/fuzz/fuzz_targets.h check_vocab).
  const vocab = (repeat, pieces) => Buffer.concat([Buffer.from([repeat]),
    ...pieces.flatMap((p, i) => (i ? [Buffer.from([0]), Buffer.from(p)] : [Buffer.from(p)]))]);
  write(join(corpus, 'vocab', 'words'), vocab(5, ['\u2581the', 'the', 't', 'h', 'e', 'a', 'an', 'ant', '\u2581', '\u00e9', '\u{1F600}']));
  write(join(corpus, 'vocab', 'longest-pieces'), vocab(63, Array.from({ length: 64 }, (_, i) => 'a'.repeat(i + 1))));
  // shapes: score, variant, then 6 sizes of 4 bytes (top 2 bits: small, medium, large, near INT_MAX).
  const shape = (score, variant, dims) => {
    const b = Buffer.alloc(2 + 4 * dims.length);
    b[0] = score; b[1] = variant;
    dims.forEach(([tag, v], i) => b.writeUInt32LE(((tag << 30) >>> 0) + v, 2 + 4 * i));
    return b;
  };
  const S = (n) => [0, n - 1], M = (n) => [1, n - 1], L = (n) => [2, n - 1];
  write(join(corpus, 'shapes', 'small'), shape(1, 1, [S(2), S(9), S(70), S(8), S(5), S(3)]));
  write(join(corpus, 'shapes', 'issue-attention-nk-2e22'), shape(1, 1, [S(1), S(1), L(2 ** 22), S(64), S(1), S(1)]));
  write(join(corpus, 'shapes', 'issue-mha-nq-244140'), shape(1, 1, [S(8), L(244140), S(1), M(512), S(64), S(1)]));
}
console.log('make_seeds: wrote', corpus, 'and reject-* files under', regressions);

// ---- int8 with block scales (the widget's model layout, FloatRows in wasm/include/attn/safetensors.h) ------
const int8 = [
  { name: 'w', dtype: 'I8', shape: [2, 4], bytes: Int8Array.from([1, -1, 127, -127, 0, 2, -2, 4]) },
  { name: 'w.scales', dtype: 'F32', shape: [2, 2], bytes: new Uint8Array(Float32Array.from([0.5, 0.25, 2, -1]).buffer) },
  { name: 'v', dtype: 'I8', shape: [3], bytes: Int8Array.from([5, 6, 7]) },
  { name: 'v.scales', dtype: 'F32', shape: [1, 3], bytes: new Uint8Array(Float32Array.from([1, 2, 3]).buffer) },
];
write(join(corpus, 'safetensors', 'int8-block-scales.safetensors'), safetensors(int8.map((t) => ({ ...t, bytes: new Uint8Array(t.bytes.buffer) })), null));
