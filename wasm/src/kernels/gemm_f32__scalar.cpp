// M rows of A and C, K inner dims, N columns of B and C.
//
// Dense layer product in plain C++ (float accumulation, no intrinsics): the no-SIMD build's kernel.
#include <cassert>
#include <cstddef>

#include "attn/attention.h"

namespace attn {

// c [M][N]; a [M][K]; b [K][N]; bias [N] or nullptr.
// pass 1: c[i] = bias (or 0); pass 2: c[i] += a[i][k] b[k] for each k (rows of B streamed, unit stride).
void gemm_f32__scalar(float* c, const float* a, const float* b, const float* bias, int m, int k, int n) {
  assert(c && a && b && m > 0 && k > 0 && n > 0);
  for (int i = 0; i < m; ++i) {
    float* ci = c + std::size_t(i) * n;
    for (int j = 0; j < n; ++j) ci[j] = bias ? bias[j] : 0.0f;
    for (int kk = 0; kk < k; ++kk) {
      const float aik = a[std::size_t(i) * k + kk];
      const float* bk = b + std::size_t(kk) * n;
      for (int j = 0; j < n; ++j) ci[j] += aik * bk[j];
    }
  }
}

}  // namespace attn
