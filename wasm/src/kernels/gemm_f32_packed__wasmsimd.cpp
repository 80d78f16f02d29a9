// M rows of A and C, K inner dims, N columns of B and C, MR = 4 rows and NR = 8 columns per micro-tile.
//
// Dense layer product on a packed weight matrix (attn/gemm_packed.h) with WASM SIMD128 (f32x4), compiled
// only with -msimd128. Tried on this model's shapes (M = 16 and 128; K x N = 256x768, 256x512, 512x1536,
// 1536x512, 512x512) in V8 and kept the fastest: 4x8 with one load32_splat of A per row and k beats 5x8 and
// 6x8 (V8 has 15 usable XMM registers: 12 accumulators spill), the "load 4 of A, shuffle-splat" form, and
// a k loop unrolled by 4; blocking K at 256 or 512 was no faster (a panel is K x 32 bytes, <= 48 KiB here,
// and stays in L2 while every row block of A passes over it).
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include <cassert>
#include <cstddef>
#include <cstring>

#include "attn/gemm_packed.h"

namespace attn {
namespace {

// c [MR rows at stride ldc][8] = bias8 + a [MR rows at stride lda][K] . w [K][8] (one panel).
// 2*MR accumulators; each 8-float row of the panel serves MR rows of A; A is splat one value at a time.
template <int MR>
inline void gemm_packed_mrx8(float* c, int ldc, const float* a, int lda, const float* w, const float* bias8,
                             int k) {
  v128_t vacc[MR][2];
  const v128_t vb0123 = wasm_v128_load(bias8);
  const v128_t vb4567 = wasm_v128_load(bias8 + 4);
  for (int r = 0; r < MR; ++r) {
    vacc[r][0] = vb0123;
    vacc[r][1] = vb4567;
  }
  for (int kk = 0; kk < k; ++kk) {
    const v128_t vw0123 = wasm_v128_load(w);
    const v128_t vw4567 = wasm_v128_load(w + 4);
    w += 8;
    for (int r = 0; r < MR; ++r) {
      const v128_t va = wasm_v128_load32_splat(a + std::size_t(r) * lda + kk);
      vacc[r][0] = wasm_f32x4_add(vacc[r][0], wasm_f32x4_mul(va, vw0123));
      vacc[r][1] = wasm_f32x4_add(vacc[r][1], wasm_f32x4_mul(va, vw4567));
    }
  }
  for (int r = 0; r < MR; ++r) {
    wasm_v128_store(c + std::size_t(r) * ldc, vacc[r][0]);
    wasm_v128_store(c + std::size_t(r) * ldc + 4, vacc[r][1]);
  }
}

// Rows [0, m) of one panel, 4 at a time, then the last m % 4 together.
inline void gemm_packed_panel(float* c, int ldc, const float* a, const float* w, const float* bias8, int m, int k) {
  int i = 0;
  for (; i + 4 <= m; i += 4) gemm_packed_mrx8<4>(c + std::size_t(i) * ldc, ldc, a + std::size_t(i) * k, k, w, bias8, k);
  switch (m - i) {
    case 3: gemm_packed_mrx8<3>(c + std::size_t(i) * ldc, ldc, a + std::size_t(i) * k, k, w, bias8, k); break;
    case 2: gemm_packed_mrx8<2>(c + std::size_t(i) * ldc, ldc, a + std::size_t(i) * k, k, w, bias8, k); break;
    case 1: gemm_packed_mrx8<1>(c + std::size_t(i) * ldc, ldc, a + std::size_t(i) * k, k, w, bias8, k); break;
    default: break;
  }
}

}  // namespace

// c [M][N]; a [M][K]; packed [ceil(N/8)][K][8]; bias [N] or nullptr. C = A . B (+ bias).
// pass 1, per full panel p: C[:, 8p..8p+7] = bias + A . panel, all M rows while the panel is hot;
// pass 2, when N % 8 != 0: the last panel into a [M][8] scratch, then its N % 8 real columns copied out.
void gemm_f32_packed__wasmsimd(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n) {
  assert(c && a && packed && m > 0 && k > 0 && n > 0);
  alignas(16) float bias8[8];
  const int n8 = n / 8 * 8;
  for (int j0 = 0; j0 < n8; j0 += 8) {
    if (bias) std::memcpy(bias8, bias + j0, sizeof(bias8));
    else std::memset(bias8, 0, sizeof(bias8));
    gemm_packed_panel(c + j0, n, a, packed + std::size_t(j0) * k, bias8, m, k);
  }
  if (n8 < n) {
    const int cols = n - n8;
    std::memset(bias8, 0, sizeof(bias8));
    if (bias) std::memcpy(bias8, bias + n8, sizeof(float) * cols);
    alignas(16) float tile[4][8];
    const float* w = packed + std::size_t(n8) * k;
    for (int i = 0; i < m; i += 4) {
      const int rows = m - i < 4 ? m - i : 4;
      gemm_packed_panel(&tile[0][0], 8, a + std::size_t(i) * k, w, bias8, rows, k);
      for (int r = 0; r < rows; ++r) std::memcpy(c + std::size_t(i + r) * n + n8, tile[r], sizeof(float) * cols);
    }
  }
}

}  // namespace attn

#endif  // __wasm_simd128__
