// M rows of A and C, K inner dims, N columns of B and C, NR = 8 columns per panel.
//
// Packing to and from the panel layout of attn/gemm_packed.h, and the dispatch of gemm_f32_packed (on the
// engine's threads when the product is large).
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <vector>

#include "attn/gemm_packed.h"
#include "parallel.h"

namespace attn {

// packed [ceil(N/8)][K][8] <- b [K][N]: packed[p][kk][j] = b[kk][8p + j], 0 where 8p + j >= N.
void gemm_f32_pack_row(float* packed, const float* row, int kk, int k, int n) {
  assert(packed && row && kk >= 0 && kk < k && n > 0);
  for (int j0 = 0; j0 < n; j0 += kGemmPackedNR) {
    float* panel_row = packed + (static_cast<size_t>(j0 / kGemmPackedNR) * k + kk) * kGemmPackedNR;
    for (int j = 0; j < kGemmPackedNR; ++j) panel_row[j] = j0 + j < n ? row[j0 + j] : 0.0f;
  }
}

void gemm_f32_pack(float* packed, const float* b, int k, int n) {
  assert(packed && b && k > 0 && n > 0);
  for (int kk = 0; kk < k; ++kk) gemm_f32_pack_row(packed, b + static_cast<size_t>(kk) * n, kk, k, n);
}

// b [K][N] <- packed [ceil(N/8)][K][8].
void gemm_f32_unpack(float* b, const float* packed, int k, int n) {
  assert(b && packed && k > 0 && n > 0);
  for (int j0 = 0; j0 < n; j0 += kGemmPackedNR)
    for (int kk = 0; kk < k; ++kk, packed += kGemmPackedNR)
      for (int j = 0; j < kGemmPackedNR && j0 + j < n; ++j) b[static_cast<size_t>(kk) * n + j0 + j] = packed[j];
}

namespace {

constexpr int kMinBlockRows = 16;
constexpr int kBlocksPerThread = 4;

void optimized(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n) {
#if defined(__wasm_simd128__)
  gemm_f32_packed__wasmsimd(c, a, packed, bias, m, k, n);
#else
  gemm_f32_packed__scalar(c, a, packed, bias, m, k, n);
#endif
}

}  // namespace

void gemm_f32_packed(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n,
                     Variant variant) {
  if (variant == Variant::kReference) {
    std::vector<float> b(static_cast<size_t>(k) * n);
    gemm_f32_unpack(b.data(), packed, k, n);
    gemm_f32__reference(c, a, b.data(), bias, m, k, n);
    return;
  }
  // On P threads: blocks of rows of A and C (at least kMinBlockRows, a multiple of the micro-kernel's 4), handed
  // out one at a time; every block reads all of the packed B.
  const int threads = thread_count();
  const int blocks = std::min(kBlocksPerThread * threads, m / kMinBlockRows);
  if (threads <= 1 || blocks <= 1 || double(m) * k * n < kParallelMinMacs) {
    optimized(c, a, packed, bias, m, k, n);
    return;
  }
  parallel_for(blocks, [&](int b) {
    const int r0 = split_point(m, blocks, b, 4), r1 = split_point(m, blocks, b + 1, 4);
    if (r1 > r0) optimized(c + std::size_t(r0) * n, a + std::size_t(r0) * k, packed, bias, r1 - r0, k, n);
  });
}

}  // namespace attn
