// H heads, Tq queries, Tk keys, A additive hidden dims.
//
// Additive (Bahdanau) scores from projections computed beforehand by matmul.wgsl:
//   Qa [H][Tq][A] = q . Wq^T,  Ka [H][Tk][A] = k . Wk^T,  v [A]
//   S[h][i][j] = sum_a v[a] * tanh(Qa[h][i][a] + Ka[h][j][a])          -> S [H][Tq][Tk]
// Tiled like QK^T: one workgroup per TILE x TILE block of S, A consumed TILE columns at a time.
// pass 1: load Qa[i0 + y][a0 + x] and Ka[j0 + y][a0 + x] (zero outside), barrier;
// pass 2: each invocation (y = query, x = key) accumulates v[a] tanh(Qs[y][a] + Ks[x][a]), barrier.
// Masking is left to softmax.wgsl.

override TILE: u32 = 16u;

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.additive_scores.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> Qa: array<f32>;
@group(0) @binding(2) var<storage, read> Ka: array<f32>;
@group(0) @binding(3) var<storage, read> va: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;

var<workgroup> Qs: array<f32, TILE * TILE>;  // [query][a]
var<workgroup> Ks: array<f32, TILE * TILE>;  // [key][a]
var<workgroup> Vs: array<f32, TILE>;

// tanh without overflow for any finite x: tanh(|x|) = (1 - e) / (1 + e), e = exp(-2|x|) in (0, 1].
// (Some drivers' built-in tanh returns NaN for large |x|.)
fn tanh_stable(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

@compute @workgroup_size(TILE, TILE, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.z;
  let i = wid.y * TILE + lid.y;
  let j = wid.x * TILE + lid.x;
  let j_load = wid.x * TILE + lid.y;
  var acc = 0.0;
  let tiles = (p.da + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let a = t * TILE + lid.x;
    // pass 1
    var qv = 0.0;
    var kv = 0.0;
    if (a < p.da) {
      if (i < p.nq) { qv = Qa[(h * p.nq + i) * p.da + a]; }
      if (j_load < p.nk) { kv = Ka[(h * p.nk + j_load) * p.da + a]; }
    }
    Qs[lid.y * TILE + lid.x] = qv;
    Ks[lid.y * TILE + lid.x] = kv;
    if (lid.y == 0u) {
      var w = 0.0;
      if (a < p.da) { w = va[a]; }
      Vs[lid.x] = w;
    }
    workgroupBarrier();
    // pass 2 (padding has v = 0, so it adds nothing)
    for (var c = 0u; c < TILE; c++) {
      acc += Vs[c] * tanh_stable(Qs[lid.y * TILE + c] + Ks[lid.x * TILE + c]);
    }
    workgroupBarrier();
  }
  if (i < p.nq && j < p.nk) { S[(h * p.nq + i) * p.nk + j] = acc; }
}
