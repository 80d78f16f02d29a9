// B batches, M rows, N columns, K inner dimension.
//
// Tiled batched matrix multiply with optional bias, used for QK^T, weights . V, the general score's
// q' = q W, the additive score's projections and the dense layers:
//   C[b][m][n] = alpha * sum_k A[b][m][k] * opB[b][k][n] + bias[n]
// opB[b][k][n] = B[b][n][k] when TRANS_B (keys stored row-major, so QK^T reads K as B^T), else B[b][k][n].
// Every operand is addressed by offset, batch stride and row stride (in floats), so heads that live as
// column blocks of a [T][M] matrix are read and written in place, with no split or merge pass.
//
// One workgroup computes a TILE x TILE block of C; one invocation one element of it.
// pass 1 (per K tile): each invocation loads one element of the A tile and one of the opB tile into
//         workgroup memory (zero outside the matrices), barrier;
// pass 2: each invocation accumulates its row of As times its column of Bs, barrier; repeat.
// Accumulation is in f32 (the double-accumulating reference lives in wasm/src/reference).

struct Params {
  M: u32, N: u32, K: u32, has_bias: u32,
  a_offset: u32, a_batch: u32, a_row: u32, alpha: f32,
  b_offset: u32, b_batch: u32, b_row: u32, _pad0: u32,
  c_offset: u32, c_batch: u32, c_row: u32, _pad1: u32,
}

override TILE: u32 = 16u;      // workgroup is TILE x TILE invocations
override TRANS_B: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;   // [N], read only when has_bias != 0
@group(0) @binding(4) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<f32, TILE * TILE>;  // [row][k]
var<workgroup> Bs: array<f32, TILE * TILE>;  // [k][col]

@compute @workgroup_size(TILE, TILE, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  let b = wid.z;
  let a_base = p.a_offset + b * p.a_batch;
  let b_base = p.b_offset + b * p.b_batch;
  var acc = 0.0;
  let tiles = (p.K + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let k0 = t * TILE;
    // pass 1: load A[row][k0 + lid.x] and opB[k0 + lid.y][col]
    let ka = k0 + lid.x;
    var a = 0.0;
    if (row < p.M && ka < p.K) { a = A[a_base + row * p.a_row + ka]; }
    As[lid.y * TILE + lid.x] = a;
    let kb = k0 + lid.y;
    var bv = 0.0;
    if (col < p.N && kb < p.K) {
      if (TRANS_B) { bv = B[b_base + col * p.b_row + kb]; } else { bv = B[b_base + kb * p.b_row + col]; }
    }
    Bs[lid.y * TILE + lid.x] = bv;
    workgroupBarrier();
    // pass 2: accumulate this tile
    for (var k = 0u; k < TILE; k++) {
      acc += As[lid.y * TILE + k] * Bs[k * TILE + lid.x];
    }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) {
    var c = p.alpha * acc;
    if (p.has_bias != 0u) { c += bias[col]; }
    C[p.c_offset + b * p.c_batch + row * p.c_row + col] = c;
  }
}
