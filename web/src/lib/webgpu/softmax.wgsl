// R = H*Tq rows of Tk scores (H heads, Tq queries, Tk keys). Needs mask.wgsl prepended.
//
// Masked, numerically stable softmax over each row of S [H][Tq][Tk], in place: S becomes the weights.
//   w[j] = allowed(i, j) ? exp(s[j] - max) / sum : 0,  max and sum over allowed j only.
// A row with no allowed key gets all-zero weights (and so a zero output).
// One workgroup per row (rows spread over a 2-D grid); WG invocations stride over the row.
// pass 1: each invocation's max and count of allowed scores, reduced in workgroup memory;
// pass 2: each invocation's sum of exp(s - max), reduced;
// pass 3: write the weights.

override WG: u32 = 64u;  // invocations per row; a power of two

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.softmax.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> allowed: array<u32>;   // explicit mask bytes, or a dummy word
@group(0) @binding(2) var<storage, read_write> S: array<f32>;

var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;   // pass 1: count of allowed keys; pass 2: sum of exponentials

const LOWEST = -3.4028234e38;  // lowest finite f32 (rounded down in magnitude to stay representable)

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.y * groups.x + wid.x;
  if (row >= p.rows) { return; }   // uniform across the workgroup
  let i = row % p.nq;
  let base = row * p.nk;
  let t = lid.x;

  // pass 1: max and count over allowed keys
  var m = LOWEST;
  var count = 0.0;
  for (var j = t; j < p.nk; j += WG) {
    if (allows(p.mask_kind, i, j, p.nq, p.nk)) { m = max(m, S[base + j]); count += 1.0; }
  }
  red_max[t] = m;
  red_sum[t] = count;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) {
      red_max[t] = max(red_max[t], red_max[t + s]);
      red_sum[t] += red_sum[t + s];
    }
    workgroupBarrier();
  }
  let row_max = red_max[0];
  let row_count = red_sum[0];
  workgroupBarrier();

  // pass 2: sum of exponentials
  var sum = 0.0;
  for (var j = t; j < p.nk; j += WG) {
    if (allows(p.mask_kind, i, j, p.nq, p.nk)) { sum += exp_flushed(S[base + j] - row_max); }
  }
  red_sum[t] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red_sum[t] += red_sum[t + s]; }
    workgroupBarrier();
  }
  let row_sum = red_sum[0];

  // pass 3: weights (zero where masked, and everywhere in a row with no allowed key)
  for (var j = t; j < p.nk; j += WG) {
    var w = 0.0;
    if (row_count > 0.0 && allows(p.mask_kind, i, j, p.nq, p.nk)) { w = exp_flushed(S[base + j] - row_max) / row_sum; }
    S[base + j] = w;
  }
}
