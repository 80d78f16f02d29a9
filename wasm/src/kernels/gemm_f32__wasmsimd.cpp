// M rows of A and C, K inner dims, N columns of B and C, MR = 4 rows and NR = 8 columns per micro-tile.
//
// Dense layer product with WASM SIMD128 (f32x4), compiled only with -msimd128.
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include <cassert>
#include <cstddef>

#include "attn/attention.h"
#include "simd_madd.h"

namespace attn {
namespace {

// c [MR rows at stride ldc][8] = bias[0..8) (or 0) + a [MR rows at stride lda][K] . b [K rows at stride ldb][8].
// Register-blocked: 2*MR accumulators; each loaded row of B serves MR rows of A.
template <int MR>
inline void gemm_mrx8(float* c, int ldc, const float* a, int lda, const float* b, int ldb, const float* bias,
                      int k) {
  v128_t vacc[MR][2];
  const v128_t vb0 = bias ? wasm_v128_load(bias) : wasm_f32x4_const_splat(0.0f);
  const v128_t vb1 = bias ? wasm_v128_load(bias + 4) : wasm_f32x4_const_splat(0.0f);
  for (int r = 0; r < MR; ++r) {
    vacc[r][0] = vb0;
    vacc[r][1] = vb1;
  }
  for (int kk = 0; kk < k; ++kk) {
    const v128_t vb0123 = wasm_v128_load(b);
    const v128_t vb4567 = wasm_v128_load(b + 4);
    b += ldb;
    for (int r = 0; r < MR; ++r) {
      const v128_t va = wasm_v128_load32_splat(a + std::size_t(r) * lda + kk);
      vacc[r][0] = kernels::simd::vmadd(vacc[r][0], va, vb0123);
      vacc[r][1] = kernels::simd::vmadd(vacc[r][1], va, vb4567);
    }
  }
  for (int r = 0; r < MR; ++r) {
    wasm_v128_store(c + std::size_t(r) * ldc, vacc[r][0]);
    wasm_v128_store(c + std::size_t(r) * ldc + 4, vacc[r][1]);
  }
}

// The same for the last N % 8 columns, one column at a time.
inline void gemm_rows_tail(float* c, int ldc, const float* a, int lda, const float* b, int ldb, const float* bias,
                           int rows, int cols, int k) {
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < cols; ++j) {
      float s = bias ? bias[j] : 0.0f;
      for (int kk = 0; kk < k; ++kk) s += a[std::size_t(r) * lda + kk] * b[std::size_t(kk) * ldb + j];
      c[std::size_t(r) * ldc + j] = s;
    }
}

}  // namespace

// c [M][N]; a [M][K]; b [K][N]; bias [N] or nullptr. C = A . B (+ bias), in micro-tiles of 4 rows x 8 columns.
void gemm_f32__wasmsimd(float* c, const float* a, const float* b, const float* bias, int m, int k, int n) {
  assert(c && a && b && m > 0 && k > 0 && n > 0);
  const int n8 = n / 8 * 8;
  for (int i = 0; i < m; i += 4) {
    const int rows = m - i < 4 ? m - i : 4;
    const float* ai = a + std::size_t(i) * k;
    float* ci = c + std::size_t(i) * n;
    for (int j = 0; j < n8; j += 8) {
      const float* bj = bias ? bias + j : nullptr;
      switch (rows) {
        case 4: gemm_mrx8<4>(ci + j, n, ai, k, b + j, n, bj, k); break;
        case 3: gemm_mrx8<3>(ci + j, n, ai, k, b + j, n, bj, k); break;
        case 2: gemm_mrx8<2>(ci + j, n, ai, k, b + j, n, bj, k); break;
        default: gemm_mrx8<1>(ci + j, n, ai, k, b + j, n, bj, k); break;
      }
    }
    if (n8 < n) gemm_rows_tail(ci + n8, n, ai, k, b + n8, n, bias ? bias + n8 : nullptr, rows, n - n8, k);
  }
}

}  // namespace attn

#endif  // __wasm_simd128__
