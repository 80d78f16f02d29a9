// H heads, N tokens (queries = keys), D head dims.
//
// ONNX graphs for the onnxruntime-web peer, written as protobuf bytes here (no onnx package, no file on
// disk). Only the fields the two graphs need are written; field numbers are those of onnx/onnx.proto.
//
//   plainAttentionGraph: Q, K, V [H][N][D] -> O [H][N][D] (+ P [H][N][N])
//     S = MatMul(Q, Transpose(K, [0, 2, 1])); P = Softmax(Mul(S, 1/sqrt(D)), axis -1); O = MatMul(P, V)
//     (onnxruntime fuses Transpose + Mul into one FusedMatMul with transB and alpha.)
//   mhaGraph: com.microsoft MultiHeadAttention, q, k, v [1][N][H*D] -> o [1][N][H*D] (no weights output)

// ---- a minimal protobuf writer ----
function varint(n) {
  // int64 as protobuf writes it: negative numbers in two's complement, ten bytes
  let x = BigInt.asUintN(64, BigInt(n));
  const out = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const utf8 = (s) => [...new TextEncoder().encode(s)];
const key = (field, wire) => varint(field * 8 + wire);
const fInt = (field, n) => [...key(field, 0), ...varint(n)];
const fBytes = (field, bytes) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const fStr = (field, s) => fBytes(field, utf8(s));
const fMsg = fBytes;
function fFloat(field, x) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...key(field, 5), ...b];
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 };

function attribute(name, value) {
  if (Array.isArray(value)) return [...fStr(1, name), ...value.flatMap((v) => fInt(8, v)), ...fInt(20, ATTR.INTS)];
  if (Number.isInteger(value.int)) return [...fStr(1, name), ...fInt(3, value.int), ...fInt(20, ATTR.INT)];
  return [...fStr(1, name), ...fFloat(2, value.float), ...fInt(20, ATTR.FLOAT)];
}
function node(opType, inputs, outputs, { name = outputs[0], domain = '', attrs = {} } = {}) {
  return [
    ...inputs.flatMap((s) => fStr(1, s)),
    ...outputs.flatMap((s) => fStr(2, s)),
    ...fStr(3, name),
    ...fStr(4, opType),
    ...Object.entries(attrs).flatMap(([k, v]) => fMsg(5, attribute(k, v))),
    ...(domain ? fStr(7, domain) : []),
  ];
}
function valueInfo(name, dims) {
  const shape = dims.flatMap((d) => fMsg(1, fInt(1, d)));
  const tensorType = [...fInt(1, FLOAT), ...fMsg(2, shape)];
  return [...fStr(1, name), ...fMsg(2, fMsg(1, tensorType))];
}
function scalarInitializer(name, x) {
  const raw = new Uint8Array(4);
  new DataView(raw.buffer).setFloat32(0, x, true);
  return [...fInt(2, FLOAT), ...fStr(8, name), ...fBytes(9, [...raw])];
}
function model({ nodes, inputs, outputs, initializers = [], opsets }) {
  const graph = [
    ...nodes.flatMap((n) => fMsg(1, n)),
    ...fStr(2, 'attention'),
    ...initializers.flatMap((t) => fMsg(5, t)),
    ...inputs.flatMap((v) => fMsg(11, v)),
    ...outputs.flatMap((v) => fMsg(12, v)),
  ];
  return new Uint8Array([
    ...fInt(1, 8), // ir_version 8
    ...fStr(2, 'attention-bench'),
    ...fMsg(7, graph),
    ...opsets.flatMap(([domain, version]) => fMsg(8, [...(domain ? fStr(1, domain) : []), ...fInt(2, version)])),
  ]);
}

/** Plain graph: MatMul / Mul / Softmax / MatMul over [H][N][D] inputs; weights output P when asked. */
export function plainAttentionGraph({ heads, n, d, returnWeights }) {
  const qkv = [heads, n, d];
  const nodes = [
    node('Transpose', ['K'], ['Kt'], { attrs: { perm: [0, 2, 1] } }),
    node('MatMul', ['Q', 'Kt'], ['S']),
    node('Mul', ['S', 'scale'], ['Ss']),
    node('Softmax', ['Ss'], ['P'], { attrs: { axis: { int: -1 } } }),
    node('MatMul', ['P', 'V'], ['O']),
  ];
  const outputs = [valueInfo('O', qkv)];
  if (returnWeights) outputs.push(valueInfo('P', [heads, n, n]));
  return model({
    nodes,
    inputs: [valueInfo('Q', qkv), valueInfo('K', qkv), valueInfo('V', qkv)],
    outputs,
    initializers: [scalarInitializer('scale', 1 / Math.sqrt(d))],
    opsets: [['', 17]],
  });
}

/** com.microsoft MultiHeadAttention over [1][N][H*D] (heads interleaved per token); no weights output. */
export function mhaGraph({ heads, n, d }) {
  const dims = [1, n, heads * d];
  return model({
    nodes: [node('MultiHeadAttention', ['q', 'k', 'v'], ['o'], { domain: 'com.microsoft', attrs: { num_heads: { int: heads } } })],
    inputs: [valueInfo('q', dims), valueInfo('k', dims), valueInfo('v', dims)],
    outputs: [valueInfo('o', dims)],
    opsets: [['', 17], ['com.microsoft', 1]],
  });
}
