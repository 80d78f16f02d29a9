// B batches, M rows, N columns, K inner dimension.
//
// Tiled batched matrix multiply with optional bias, used for QK^T, weights . V, the general score's
// q' = q W, the additive score's projections and the dense layers:
//   C[b][m][n] = act(alpha * sum_k A[b][m][k] * opB[b][k][n] + bias[n]),  act per override ACT:
//   0 identity, 1 ReLU max(x, 0), 2 tanh (the dense layers of the model's feed-forward)
// opB[b][k][n] = B[b][n][k] when TRANS_B (keys stored row-major, so QK^T reads K as B^T), else B[b][k][n].
// Every operand is addressed by offset, batch stride and row stride (in floats), so heads that live as
// column blocks of a [T][M] matrix are read and written in place, with no split or merge pass.
//
// One workgroup of TILE x TILE invocations computes a BM x BM block of C (BM = TILE * WPT); invocation
// (x, y) owns the WPT x WPT outputs at rows y + r*TILE and columns x + c*TILE of the block (register
// tiling: WPT^2 multiply-adds per pair of workgroup-memory reads and per barrier).
// pass 1 (per step of KT along K): the workgroup loads A[block rows][k0 .. k0+KT) and
//         opB[k0 .. k0+KT)[block columns] into workgroup memory (zero outside the matrices), barrier;
// pass 2: each invocation accumulates its WPT x WPT outer products over the KT steps, barrier; repeat.
// Accumulation is in f32 (the double-accumulating reference lives in wasm/src/reference).

override TILE: u32 = 16u;      // workgroup is TILE x TILE invocations
override TRANS_B: bool = false;
override ACT: u32 = 0u;        // 0 identity, 1 ReLU, 2 tanh
const WPT = 4u;                // outputs per invocation along rows and along columns
const KT = 16u;                // K consumed per step

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.matmul.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;   // [N], read only when has_bias != 0
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<f32, TILE * WPT * KT>;  // [block row][k]
var<workgroup> Bs: array<f32, KT * TILE * WPT>;  // [k][block column]

@compute @workgroup_size(TILE, TILE, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let BM = TILE * WPT;
  let row0 = wid.y * BM;
  let col0 = wid.x * BM;
  let b = wid.z;
  let a_base = p.a_offset + b * p.a_batch;
  let b_base = p.b_offset + b * p.b_batch;
  let tid = lid.y * TILE + lid.x;
  let threads = TILE * TILE;

  var acc: array<f32, WPT * WPT>;
  for (var n = 0u; n < WPT * WPT; n++) { acc[n] = 0.0; }
  var a: array<f32, WPT>;
  var bv: array<f32, WPT>;

  let steps = (p.K + KT - 1u) / KT;
  for (var t = 0u; t < steps; t++) {
    let k0 = t * KT;
    // pass 1: stage the A and opB tiles
    for (var e = tid; e < BM * KT; e += threads) {
      let r = e / KT;
      let k = k0 + e % KT;
      var x = 0.0;
      if (row0 + r < p.M && k < p.K) { x = A[a_base + (row0 + r) * p.a_row + k]; }
      As[e] = x;
    }
    for (var e = tid; e < KT * BM; e += threads) {
      var k: u32;
      var c: u32;
      if (TRANS_B) { c = e / KT; k = e % KT; } else { k = e / BM; c = e % BM; }  // read along memory rows
      var x = 0.0;
      if (col0 + c < p.N && k0 + k < p.K) {
        if (TRANS_B) { x = B[b_base + (col0 + c) * p.b_row + k0 + k]; } else { x = B[b_base + (k0 + k) * p.b_row + col0 + c]; }
      }
      Bs[k * BM + c] = x;
    }
    workgroupBarrier();
    // pass 2: WPT x WPT outer products per k
    for (var k = 0u; k < KT; k++) {
      for (var i = 0u; i < WPT; i++) { a[i] = As[(lid.y + i * TILE) * KT + k]; }
      for (var j = 0u; j < WPT; j++) { bv[j] = Bs[k * BM + lid.x + j * TILE]; }
      for (var i = 0u; i < WPT; i++) {
        for (var j = 0u; j < WPT; j++) { acc[i * WPT + j] = fma(a[i], bv[j], acc[i * WPT + j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < WPT; i++) {
    let row = row0 + lid.y + i * TILE;
    for (var j = 0u; j < WPT; j++) {
      let col = col0 + lid.x + j * TILE;
      if (row < p.M && col < p.N) {
        var c = p.alpha * acc[i * WPT + j];
        if (p.has_bias != 0u) { c += bias[col]; }
        if (ACT == 1u) { c = max(c, 0.0); }
        if (ACT == 2u) { let e = exp(-2.0 * abs(c)); c = sign(c) * (1.0 - e) / (1.0 + e); }  // tanh, no overflow
        C[p.c_offset + b * p.c_batch + row * p.c_row + col] = c;
      }
    }
  }
}
