// R rows, D dims.
//
// Mean over the rows of x [R][D]: out[j] = (sum_r x[r][j]) / R (the model's pooling over positions).
// One invocation per column j, WG to a workgroup; each sums its column in row order (f32; the C++ path
// accumulates in double, a difference of a few ulps for R <= 128).

override WG: u32 = 64u;

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.mean_pool.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.d) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { s += x[r * p.d + j]; }
  out[j] = s / f32(p.rows);
}
