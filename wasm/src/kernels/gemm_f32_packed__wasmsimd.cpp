// M rows of A and C, K inner dims, N columns of B and C, MR = 4 rows and NR = 8 columns per micro-tile.
//
// Dense layer product on a packed weight matrix (attn/gemm_packed.h) with WASM SIMD128 (f32x4), compiled
// only with -msimd128. A is interleaved per call into quads of 4 rows [ceil(M/4)][K][4], so the micro-kernel
// walks two pointers (A quad, B panel) and reads each at fixed offsets. Tried on this model's shapes (M = 16
// and 128; K x N = 256x768, 256x512, 512x1536, 1536x512, 512x512) in V8 and kept the fastest: 4x8 with one
// load32_splat of A per row and k beats 5x8 and 6x8 (V8 has 15 usable XMM registers: 12 accumulators
// spill), the "load 4 of A, shuffle-splat" form, a k loop unrolled by 4, and A read in place (4 row
// pointers); blocking K at 256 or 512 was no faster (a panel is K x 32 bytes, <= 48 KiB here, and stays in
// L2 while every quad of A passes over it). Blocking M is (below, kQuadBlockBytes). The multiply-adds are
// simd_madd.h's vmadd: relaxed SIMD's in the attn_simd_relaxed build (1.1-1.3x on Zen 3, docs/CPU.md).
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>

#include "attn/gemm_packed.h"
#include "attn/tuning.h"
#include "simd_madd.h"

namespace attn {
namespace {

// tile [4][8] (row stride ldc) = bias8 + aq [K][4] . w [K][8]: 4 rows of A against one panel of B.
// 8 accumulators; each 8-float row of the panel serves the 4 rows, each A value is splat once.
inline void gemm_packed_4x8(float* tile, int ldc, const float* aq, const float* w, const float* bias8, int k) {
  v128_t vacc0x0123 = wasm_v128_load(bias8);
  v128_t vacc0x4567 = wasm_v128_load(bias8 + 4);
  v128_t vacc1x0123 = vacc0x0123, vacc1x4567 = vacc0x4567;
  v128_t vacc2x0123 = vacc0x0123, vacc2x4567 = vacc0x4567;
  v128_t vacc3x0123 = vacc0x0123, vacc3x4567 = vacc0x4567;
  for (int kk = 0; kk < k; ++kk) {
    const v128_t vw0123 = wasm_v128_load(w);
    const v128_t vw4567 = wasm_v128_load(w + 4);
    w += 8;
    const v128_t va0 = wasm_v128_load32_splat(aq);
    const v128_t va1 = wasm_v128_load32_splat(aq + 1);
    const v128_t va2 = wasm_v128_load32_splat(aq + 2);
    const v128_t va3 = wasm_v128_load32_splat(aq + 3);
    aq += 4;
    vacc0x0123 = kernels::simd::vmadd(vacc0x0123, va0, vw0123);
    vacc0x4567 = kernels::simd::vmadd(vacc0x4567, va0, vw4567);
    vacc1x0123 = kernels::simd::vmadd(vacc1x0123, va1, vw0123);
    vacc1x4567 = kernels::simd::vmadd(vacc1x4567, va1, vw4567);
    vacc2x0123 = kernels::simd::vmadd(vacc2x0123, va2, vw0123);
    vacc2x4567 = kernels::simd::vmadd(vacc2x4567, va2, vw4567);
    vacc3x0123 = kernels::simd::vmadd(vacc3x0123, va3, vw0123);
    vacc3x4567 = kernels::simd::vmadd(vacc3x4567, va3, vw4567);
  }
  wasm_v128_store(tile, vacc0x0123);
  wasm_v128_store(tile + 4, vacc0x4567);
  wasm_v128_store(tile + ldc, vacc1x0123);
  wasm_v128_store(tile + ldc + 4, vacc1x4567);
  wasm_v128_store(tile + 2 * ldc, vacc2x0123);
  wasm_v128_store(tile + 2 * ldc + 4, vacc2x4567);
  wasm_v128_store(tile + 3 * ldc, vacc3x0123);
  wasm_v128_store(tile + 3 * ldc + 4, vacc3x4567);
}

}  // namespace

// A quads per pass over the panels: the quads of one pass (block_quads * K * 16 bytes) stay in L2 while every
// panel passes over them. Without blocking, M = 128, K = 1536 (768 KiB of quads) streamed A from L3 once per
// panel on Zen 3 (512 KiB L2): 56% of peak against 76-83% for the shapes whose quads fit (docs/CPU.md).
// Zen 5's 1 MiB L2 held them, hence "blocking was no faster" there; 128 KiB leaves room on both.
constexpr int kQuadBlockBytes = 128 * 1024;

// c [M][N]; a [M][K]; packed [ceil(N/8)][K][8]; bias [N] or nullptr. C = A . B (+ bias).
// pass 1: A into quads aq [ceil(M/4)][K][4], aq[q][k][r] = a[4q + r][k] (0 past M);
// pass 2, per block of quads (kQuadBlockBytes), per panel p and quad q of the block:
//   C[4q..4q+3][8p..8p+7] = bias + aq[q] . panel p, all the block's quads while the panel is hot; a quad past M
//   or the panel past N goes through a [4][8] scratch and only its real part is copied.
// Variant 1 (attn/tuning.h) runs the one block of all quads (the kernel of the 2026-11-29 Zen 5 run).
void gemm_f32_packed__wasmsimd(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n) {
  assert(c && a && packed && m > 0 && k > 0 && n > 0);
  const int quads = (m + 3) / 4;
  std::unique_ptr<float[]> aq(new float[static_cast<std::size_t>(quads) * k * 4]);  // every element written below
  for (int i = 0; i < quads * 4; ++i) {
    float* q = &aq[std::size_t(i / 4) * k * 4 + i % 4];
    if (i < m) {
      const float* ai = a + std::size_t(i) * k;
      for (int kk = 0; kk < k; ++kk) q[std::size_t(kk) * 4] = ai[kk];
    } else {
      for (int kk = 0; kk < k; ++kk) q[std::size_t(kk) * 4] = 0.0f;
    }
  }
  const long quad_bytes = 16L * k;
  const int block_quads =
      simd_variant() == 1 ? quads : int(std::max(1L, std::min(long(quads), long(kQuadBlockBytes) / quad_bytes)));
  alignas(16) float bias8[8];
  alignas(16) float tile[4][8];
  for (int q0 = 0; q0 < quads; q0 += block_quads) {
    const int q1 = std::min(quads, q0 + block_quads);
    for (int j0 = 0; j0 < n; j0 += 8) {
      const int cols = n - j0 < 8 ? n - j0 : 8;
      std::memset(bias8, 0, sizeof(bias8));
      if (bias) std::memcpy(bias8, bias + j0, sizeof(float) * cols);
      const float* w = packed + std::size_t(j0) * k;
      for (int qi = q0; qi < q1; ++qi) {
        const int i = qi * 4, rows = m - i < 4 ? m - i : 4;
        const float* q = &aq[std::size_t(qi) * k * 4];
        if (rows == 4 && cols == 8) {
          gemm_packed_4x8(c + std::size_t(i) * n + j0, n, q, w, bias8, k);
        } else {
          gemm_packed_4x8(&tile[0][0], 8, q, w, bias8, k);
          for (int r = 0; r < rows; ++r) std::memcpy(c + std::size_t(i + r) * n + j0, tile[r], sizeof(float) * cols);
        }
      }
    }
  }
}

}  // namespace attn

#endif  // __wasm_simd128__
