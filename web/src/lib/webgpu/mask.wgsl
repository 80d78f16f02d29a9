// Tq queries, Tk keys. Shared by softmax.wgsl and flash_attention.wgsl (prepended to their source).
//
// allows(i, j): may query i attend key j?
//   kind 0 none: always; kind 1 causal: j <= i + (Tk - Tq); kind 2 explicit: allowed[i][j] == 1, where the
//   caller's Uint8Array [Tq][Tk] is uploaded as is, four bytes to a u32 (little-endian).
// Masked scores are never stored as -inf: WGSL has no infinity literal and implementations may assume
// finite floats, so every pass carries "allowed" next to the score instead.

// exp(x) for x <= 0, flushed to zero below the smallest normal f32 (exp(-87) ~ 1.6e-38) instead of
// producing denormals: they change no weight by more than 1e-38, and CPU adapters (SwiftShader) run
// denormal arithmetic some 100 times slower.
fn exp_flushed(x: f32) -> f32 {
  if (x > -87.0) { return exp(x); }
  return 0.0;
}

fn mask_byte(index: u32) -> u32 {
  return (allowed[index >> 2u] >> ((index & 3u) * 8u)) & 0xffu;
}

fn allows(kind: u32, i: u32, j: u32, nq: u32, nk: u32) -> bool {
  if (kind == 1u) { return i32(j) <= i32(i) + (i32(nk) - i32(nq)); }
  if (kind == 2u) { return mask_byte(i * nk + j) != 0u; }
  return true;
}
