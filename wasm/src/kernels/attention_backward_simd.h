// MR = 4 rows per micro-tile, NR = 8 columns (2 x f32x4), T the summed dimension.
//
// The WASM SIMD128 micro-kernels the attention backward adds to the forward's (attention_simd.h):
// - ptv_4x8 (attention_simd.h's left_4x8 stepping down a column): the products with a transposed left operand,
//   dV += P^T dO and dK += dS^T Q', read P and dS where they are ([queries][keys], row-major) instead of from a
//   transposed copy. Each left element is a single-lane splat load either way, so reading down a column costs
//   nothing over reading along a row.
// (dQ' += dS K runs on attention_simd.h's pv_4x8_fixed<Bk>: in Chromium 156 on L1-resident operands, one run,
// a constant row stride gave 39.0 GFLOP/s against 32.5-33.8 for pv_4x8.)
// Only with -msimd128.
#pragma once
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include "attention_simd.h"

namespace attn::kernels::simd {

// acc [MR rows at stride lda][NR] += p^T . vcols: p [T rows at stride ldp][MR columns] (column r of p is row r
// of the product), vcols [T rows at stride ldv][NR].
inline void ptv_4x8(float* acc, int lda, const float* p, int ldp, const float* vcols, int ldv, int t_count) {
  left_4x8<1>(acc, lda, p, ldp, vcols, ldv, t_count);
}

}  // namespace attn::kernels::simd

#endif  // __wasm_simd128__
