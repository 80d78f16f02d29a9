// R rows, D dims.
//
// Layer normalisation of each row of x [R][D]:
//   y = (x - mean) / sqrt(var + eps) * gamma + beta,  mean and (biased) var over the row's D values.
// One workgroup per row (rows over a 2-D grid); WG invocations stride over the row.
// pass 1: sum of x, reduced -> mean; pass 2: sum of (x - mean)^2, reduced -> var; pass 3: write y.

override WG: u32 = 64u;  // a power of two

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.layer_norm.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, WG>;

fn reduce_sum(t: u32, value: f32) -> f32 {
  red[t] = value;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.y * groups.x + wid.x;
  if (row >= p.rows) { return; }   // uniform across the workgroup
  let base = row * p.d;
  let t = lid.x;
  // pass 1: mean
  var s = 0.0;
  for (var j = t; j < p.d; j += WG) { s += x[base + j]; }
  let mean = reduce_sum(t, s) / f32(p.d);
  // pass 2: variance
  var v = 0.0;
  for (var j = t; j < p.d; j += WG) { let c = x[base + j] - mean; v += c * c; }
  let inv = inverseSqrt(reduce_sum(t, v) / f32(p.d) + p.eps);
  // pass 3: normalise, scale and shift
  for (var j = t; j < p.d; j += WG) { y[base + j] = (x[base + j] - mean) * inv * gamma[j] + beta[j]; }
}
