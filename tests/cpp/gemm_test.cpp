// M rows of A and C, K inner dims, N columns of B and C.
//
// gemm_f32 variants (scalar, wasmsimd when compiled, the dispatch) against the reference, over sizes below,
// at and above the 4-row x 8-column micro-tile, with and without bias; plus a product worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attn/attention.h"
#include "case_inputs.h"

namespace attn::test {
namespace {

using GemmFn = void (*)(float*, const float*, const float*, const float*, int, int, int);

void dispatch_optimized(float* c, const float* a, const float* b, const float* bias, int m, int k, int n) {
  gemm_f32(c, a, b, bias, m, k, n, Variant::kOptimized);
}

std::vector<std::pair<const char*, GemmFn>> variants() {
  return {{"scalar", &gemm_f32__scalar},
#if defined(__wasm_simd128__)
          {"wasmsimd", &gemm_f32__wasmsimd},
#endif
          {"dispatch", &dispatch_optimized}};
}

// [[1, 2], [3, 4]] . [[5, 6, 7], [8, 9, 10]] + (1, 0, -1) = [[22, 24, 26], [48, 54, 60]].
TEST(Gemm, ByHand) {
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8, 9, 10}, bias[] = {1, 0, -1};
  const float want[] = {22, 24, 26, 48, 54, 60};
  float c[6];
  gemm_f32__reference(c, a, b, bias, 2, 2, 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c[i], want[i]);
  for (auto [name, fn] : variants()) {
    fn(c, a, b, bias, 2, 2, 3);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(c[i], want[i]) << name;
  }
}

TEST(Gemm, VariantsMatchReference) {
  uint32_t seed = 9;
  for (int m : {1, 3, 4, 5, 9, 33})
    for (int k : {1, 4, 7, 64})
      for (int n : {1, 3, 4, 8, 9, 17, 64})
        for (bool with_bias : {false, true}) {
          Mulberry32 rng(seed++);
          const auto a = rng.values(size_t(m) * k, 1.0), b = rng.values(size_t(k) * n, 1.0), bias = rng.values(n, 1.0);
          std::vector<float> want(size_t(m) * n), got(size_t(m) * n);
          gemm_f32__reference(want.data(), a.data(), b.data(), with_bias ? bias.data() : nullptr, m, k, n);
          for (auto [name, fn] : variants()) {
            std::fill(got.begin(), got.end(), NAN);
            fn(got.data(), a.data(), b.data(), with_bias ? bias.data() : nullptr, m, k, n);
            // float accumulation of k products of magnitude <= 1: error <= k eps, usually far less.
            for (size_t i = 0; i < got.size(); ++i)
              ASSERT_NEAR(got[i], want[i], 1e-6 * (k + 1)) << name << " m=" << m << " k=" << k << " n=" << n
                                                           << " bias=" << with_bias << " at " << i;
          }
        }
}

// K above the wasmsimd kernel's 256-row packing block (one, two and a partial block), odd K, N tails, M tails.
TEST(Gemm, VariantsMatchReferenceAcrossKBlocks) {
  uint32_t seed = 901;
  for (int m : {1, 2, 3, 4, 7, 16})
    for (int k : {255, 256, 257, 515})
      for (int n : {5, 8, 13, 24}) {
        Mulberry32 rng(seed++);
        const auto a = rng.values(size_t(m) * k, 1.0), b = rng.values(size_t(k) * n, 1.0), bias = rng.values(n, 1.0);
        std::vector<float> want(size_t(m) * n), got(size_t(m) * n);
        gemm_f32__reference(want.data(), a.data(), b.data(), bias.data(), m, k, n);
        for (auto [name, fn] : variants()) {
          std::fill(got.begin(), got.end(), NAN);
          fn(got.data(), a.data(), b.data(), bias.data(), m, k, n);
          for (size_t i = 0; i < got.size(); ++i)
            ASSERT_NEAR(got[i], want[i], 1e-6 * (k + 1)) << name << " m=" << m << " k=" << k << " n=" << n << " at " << i;
        }
      }
}

}  // namespace
}  // namespace attn::test
