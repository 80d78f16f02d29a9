// MR = 4 rows per micro-tile, NR = 8 columns (2 x f32x4), T the summed dimension.
//
// The WASM SIMD128 micro-kernels the attention backward adds to the forward's (attention_simd.h):
// - ptv_4x8: the products with a transposed left operand, dV += P^T dO and dK += dS^T Q', read P and dS where
//   they are ([queries][keys], row-major) instead of from a transposed copy. Each left element is a single-lane
//   splat load either way, so reading down a column costs nothing over reading along a row.
// (dQ' += dS K runs on attention_simd.h's pv_4x8_fixed<Bk>: in Chromium 156 on L1-resident operands, one run,
// a constant row stride gave 39.0 GFLOP/s against 32.5-33.8 for pv_4x8.)
// Only with -msimd128.
#pragma once
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include "attention_simd.h"

namespace attn::kernels::simd {

// acc [MR rows at stride lda][NR] += sum over t < T of left(t, r) vcols[t][0..NR): vcols [T rows at stride ldv]
// [NR], and left(t, r) = p[t * pstep + r * kRowStride] with the row stride a compile-time constant, so that
// the four left elements of a step are one pointer plus constant offsets.
template <int kRowStride>
inline void left_4x8(float* acc, int lda, const float* p, int pstep, const float* vcols, int ldv, int t_count) {
  float* a0 = acc;
  float* a1 = a0 + lda;
  float* a2 = a1 + lda;
  float* a3 = a2 + lda;
  v128_t vacc0x0123 = wasm_v128_load(a0), vacc0x4567 = wasm_v128_load(a0 + 4);
  v128_t vacc1x0123 = wasm_v128_load(a1), vacc1x4567 = wasm_v128_load(a1 + 4);
  v128_t vacc2x0123 = wasm_v128_load(a2), vacc2x4567 = wasm_v128_load(a2 + 4);
  v128_t vacc3x0123 = wasm_v128_load(a3), vacc3x4567 = wasm_v128_load(a3 + 4);
  for (int t = 0; t < t_count; ++t) {
    const v128_t vv0123 = wasm_v128_load(vcols);
    const v128_t vv4567 = wasm_v128_load(vcols + 4);
    vcols += ldv;
    const v128_t vp0 = wasm_v128_load32_splat(p);
    vacc0x0123 = wasm_f32x4_add(vacc0x0123, wasm_f32x4_mul(vp0, vv0123));
    vacc0x4567 = wasm_f32x4_add(vacc0x4567, wasm_f32x4_mul(vp0, vv4567));
    const v128_t vp1 = wasm_v128_load32_splat(p + kRowStride);
    vacc1x0123 = wasm_f32x4_add(vacc1x0123, wasm_f32x4_mul(vp1, vv0123));
    vacc1x4567 = wasm_f32x4_add(vacc1x4567, wasm_f32x4_mul(vp1, vv4567));
    const v128_t vp2 = wasm_v128_load32_splat(p + 2 * kRowStride);
    vacc2x0123 = wasm_f32x4_add(vacc2x0123, wasm_f32x4_mul(vp2, vv0123));
    vacc2x4567 = wasm_f32x4_add(vacc2x4567, wasm_f32x4_mul(vp2, vv4567));
    const v128_t vp3 = wasm_v128_load32_splat(p + 3 * kRowStride);
    vacc3x0123 = wasm_f32x4_add(vacc3x0123, wasm_f32x4_mul(vp3, vv0123));
    vacc3x4567 = wasm_f32x4_add(vacc3x4567, wasm_f32x4_mul(vp3, vv4567));
    p += pstep;
  }
  wasm_v128_store(a0, vacc0x0123);
  wasm_v128_store(a0 + 4, vacc0x4567);
  wasm_v128_store(a1, vacc1x0123);
  wasm_v128_store(a1 + 4, vacc1x4567);
  wasm_v128_store(a2, vacc2x0123);
  wasm_v128_store(a2 + 4, vacc2x4567);
  wasm_v128_store(a3, vacc3x0123);
  wasm_v128_store(a3 + 4, vacc3x4567);
}

// acc [MR rows at stride lda][NR] += p^T . vcols: p [T rows at stride ldp][MR columns] (column r of p is row r
// of the product), vcols [T rows at stride ldv][NR].
inline void ptv_4x8(float* acc, int lda, const float* p, int ldp, const float* vcols, int ldv, int t_count) {
  left_4x8<1>(acc, lda, p, ldp, vcols, ldv, t_count);
}

}  // namespace attn::kernels::simd

#endif  // __wasm_simd128__
