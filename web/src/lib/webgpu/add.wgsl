// N values.
//
// Element-wise sum in place: y[i] += a[i] for i < N (the model's residual connections).
// One invocation per value, WG to a workgroup, workgroups over a 2-D grid.

override WG: u32 = 64u;

// @group(0) @binding(0) p: Params, the uniforms PROGRAMS.add.uniforms declares (shaders.js generates the struct).
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * groups.x + wid.x) * WG + lid.x;
  if (i < p.n) { y[i] += a[i]; }
}
