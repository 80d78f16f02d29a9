// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims. Needs mask.wgsl prepended.
//
// Fused ("flash") attention for dot-product scores, never holding the Tq x Tk matrix:
//   s[i][j] = scale * q_i . k_j (general: q already multiplied by W, scale 1),
//   out[i] = sum_j softmax_j(s[i][j] over allowed j) v_j; a row with no allowed key gets out[i] = 0.
// q [H][Tq][D], k [H][Tk][D], v [H][Tk][Dv], out [H][Tq][Dv], each addressed by offset, head stride and
// row stride (floats), so per-head column blocks of [T][M] projections are read and written in place.
//
// One workgroup per (TILE queries, head); invocation (x = c, y = r) owns query row r of the tile and
// output columns c, c + TILE, c + 2*TILE, ... in registers (so Dv <= TILE * MAX_DV_CHUNKS).
// For each tile of TILE keys (online softmax, Milakov & Gimelshein 2018; Dao et al. 2022):
// pass 1: scores of the tile, s[r][c], from D consumed TILE at a time through workgroup memory;
// pass 2: row r's leader (c = 0) takes the tile's max m_new = max(m, max_c s[r][c]) over allowed keys,
//         the correction alpha = exp(m - m_new), p[r][c] = exp(s[r][c] - m_new) (0 when masked) and
//         l = alpha * l + sum_c p[r][c];
// pass 3: acc = alpha * acc + p[r][:] . V_tile, V consumed TILE columns at a time.
// Finally out[i] = acc / l (0 when l = 0). Causal masks stop at the last key tile any row may see.

override TILE: u32 = 16u;            // TILE queries x TILE keys per step; workgroup TILE x TILE
const MAX_DV_CHUNKS = 16u;           // Dv <= TILE * MAX_DV_CHUNKS (256 with TILE = 16)
const LOWEST = -3.4028234e38;  // lowest finite f32 (rounded down in magnitude to stay representable)

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.flash_attention.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> allowed: array<u32>;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read> K: array<f32>;
@group(0) @binding(4) var<storage, read> V: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;

var<workgroup> Qs: array<f32, TILE * TILE>;   // [query r][d]
var<workgroup> Ks: array<f32, TILE * TILE>;   // [key c][d]
var<workgroup> Ps: array<f32, TILE * TILE>;   // [query r][key c]: scores, then probabilities
var<workgroup> Ok: array<u32, TILE * TILE>;   // [query r][key c]: 1 when allowed
var<workgroup> Vs: array<f32, TILE * TILE>;   // [key][column]
var<workgroup> row_m: array<f32, TILE>;       // running max per query row
var<workgroup> row_l: array<f32, TILE>;       // running sum of exponentials
var<workgroup> row_alpha: array<f32, TILE>;   // this step's correction exp(m_old - m_new)

@compute @workgroup_size(TILE, TILE, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = lid.y;
  let c = lid.x;
  let h = wid.y;
  let i0 = wid.x * TILE;
  let i = i0 + r;
  let q_base = p.q_offset + h * p.q_head;
  let k_base = p.k_offset + h * p.k_head;
  let v_base = p.v_offset + h * p.v_head;

  var acc: array<f32, MAX_DV_CHUNKS>;
  for (var n = 0u; n < MAX_DV_CHUNKS; n++) { acc[n] = 0.0; }
  if (c == 0u) { row_m[r] = LOWEST; row_l[r] = 0.0; }
  workgroupBarrier();

  // Key tiles to visit: all, or for a causal mask up to the last key the tile's last row may see.
  var key_tiles = (p.nk + TILE - 1u) / TILE;
  if (p.mask_kind == 1u) {
    let last_row = i32(min(i0 + TILE, p.nq)) - 1;
    let last_key = last_row + i32(p.nk) - i32(p.nq);
    key_tiles = min(key_tiles, u32(max(last_key + 1, 0) + i32(TILE) - 1) / TILE);
  }
  let d_tiles = (p.dk + TILE - 1u) / TILE;
  let dv_tiles = (p.dv + TILE - 1u) / TILE;

  for (var kt = 0u; kt < key_tiles; kt++) {
    let j0 = kt * TILE;
    // pass 1: s[r][c] = q_i . k_(j0 + c)
    var s = 0.0;
    for (var dt = 0u; dt < d_tiles; dt++) {
      let d = dt * TILE + c;
      var qv = 0.0;
      var kv = 0.0;
      if (d < p.dk) {
        if (i < p.nq) { qv = Q[q_base + i * p.q_row + d]; }
        if (j0 + r < p.nk) { kv = K[k_base + (j0 + r) * p.k_row + d]; }
      }
      Qs[r * TILE + c] = qv;
      Ks[r * TILE + c] = kv;
      workgroupBarrier();
      for (var t = 0u; t < TILE; t++) { s += Qs[r * TILE + t] * Ks[c * TILE + t]; }
      workgroupBarrier();
    }
    let j = j0 + c;
    let ok = i < p.nq && j < p.nk && allows(p.mask_kind, i, j, p.nq, p.nk);
    Ps[r * TILE + c] = p.scale * s;
    Ok[r * TILE + c] = select(0u, 1u, ok);
    workgroupBarrier();

    // pass 2: online softmax update by each row's leader
    if (c == 0u) {
      let m_old = row_m[r];
      var m_new = m_old;
      for (var t = 0u; t < TILE; t++) {
        if (Ok[r * TILE + t] != 0u) { m_new = max(m_new, Ps[r * TILE + t]); }
      }
      let alpha = exp_flushed(m_old - m_new);   // 0 when m_old is LOWEST and a key was allowed; 1 when unchanged
      var l = row_l[r] * alpha;
      for (var t = 0u; t < TILE; t++) {
        var e = 0.0;
        if (Ok[r * TILE + t] != 0u) { e = exp_flushed(Ps[r * TILE + t] - m_new); }
        Ps[r * TILE + t] = e;
        l += e;
      }
      row_m[r] = m_new;
      row_l[r] = l;
      row_alpha[r] = alpha;
    }
    workgroupBarrier();

    // pass 3: acc = alpha * acc + P . V_tile
    let alpha = row_alpha[r];
    for (var n = 0u; n < dv_tiles; n++) {
      let col = n * TILE + c;
      var vv = 0.0;
      if (j0 + r < p.nk && col < p.dv) { vv = V[v_base + (j0 + r) * p.v_row + col]; }
      Vs[r * TILE + c] = vv;
      workgroupBarrier();
      var a = acc[n] * alpha;
      for (var t = 0u; t < TILE; t++) { a += Ps[r * TILE + t] * Vs[t * TILE + c]; }
      acc[n] = a;
      workgroupBarrier();
    }
  }

  if (i < p.nq) {
    let l = row_l[r];
    let o_base = p.o_offset + h * p.o_head + i * p.o_row;
    for (var n = 0u; n < dv_tiles; n++) {
      let col = n * TILE + c;
      if (col < p.dv) { O[o_base + col] = select(0.0, acc[n] / l, l > 0.0); }
    }
  }
}
