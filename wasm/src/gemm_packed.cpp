// M rows of A and C, K inner dims, N columns of B and C, NR = 8 columns per panel.
//
// Packing to and from the panel layout of attn/gemm_packed.h, and the dispatch of gemm_f32_packed.
#include <cassert>
#include <vector>

#include "attn/gemm_packed.h"

namespace attn {

// packed [ceil(N/8)][K][8] <- b [K][N]: packed[p][kk][j] = b[kk][8p + j], 0 where 8p + j >= N.
void gemm_f32_pack(float* packed, const float* b, int k, int n) {
  assert(packed && b && k > 0 && n > 0);
  for (int j0 = 0; j0 < n; j0 += kGemmPackedNR)
    for (int kk = 0; kk < k; ++kk)
      for (int j = 0; j < kGemmPackedNR; ++j)
        *packed++ = j0 + j < n ? b[static_cast<size_t>(kk) * n + j0 + j] : 0.0f;
}

// b [K][N] <- packed [ceil(N/8)][K][8].
void gemm_f32_unpack(float* b, const float* packed, int k, int n) {
  assert(b && packed && k > 0 && n > 0);
  for (int j0 = 0; j0 < n; j0 += kGemmPackedNR)
    for (int kk = 0; kk < k; ++kk, packed += kGemmPackedNR)
      for (int j = 0; j < kGemmPackedNR && j0 + j < n; ++j) b[static_cast<size_t>(kk) * n + j0 + j] = packed[j];
}

void gemm_f32_packed(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n,
                     Variant variant) {
  if (variant == Variant::kReference) {
    std::vector<float> b(static_cast<size_t>(k) * n);
    gemm_f32_unpack(b.data(), packed, k, n);
    gemm_f32__reference(c, a, b.data(), bias, m, k, n);
    return;
  }
#if defined(__wasm_simd128__)
  gemm_f32_packed__wasmsimd(c, a, packed, bias, m, k, n);
#else
  gemm_f32_packed__scalar(c, a, packed, bias, m, k, n);
#endif
}

}  // namespace attn
