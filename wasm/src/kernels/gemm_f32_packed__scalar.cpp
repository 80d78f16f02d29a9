// M rows of A and C, K inner dims, N columns of B and C, NR = 8 columns per panel.
//
// Dense layer product on a packed weight matrix (attn/gemm_packed.h) in plain C++ (float accumulation, no
// intrinsics): the no-SIMD build's kernel. One row of A against one panel at a time, 8 accumulators.
#include <cassert>
#include <cstddef>

#include "attn/gemm_packed.h"

namespace attn {

// c [M][N]; a [M][K]; packed [ceil(N/8)][K][8]; bias [N] or nullptr.
// Per panel p and row i: acc[j] = bias[8p + j] + sum_k a[i][k] packed[p][k][j]; the first min(8, N - 8p) stored.
void gemm_f32_packed__scalar(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n) {
  assert(c && a && packed && m > 0 && k > 0 && n > 0);
  for (int j0 = 0; j0 < n; j0 += 8) {
    const int cols = n - j0 < 8 ? n - j0 : 8;
    const float* panel = packed + std::size_t(j0) * k;
    for (int i = 0; i < m; ++i) {
      float acc[8];
      for (int j = 0; j < 8; ++j) acc[j] = bias && j < cols ? bias[j0 + j] : 0.0f;
      const float* ai = a + std::size_t(i) * k;
      const float* w = panel;
      for (int kk = 0; kk < k; ++kk, w += 8) {
        const float aik = ai[kk];
        for (int j = 0; j < 8; ++j) acc[j] += aik * w[j];
      }
      float* ci = c + std::size_t(i) * n + j0;
      for (int j = 0; j < cols; ++j) ci[j] = acc[j];
    }
  }
}

}  // namespace attn
