// M rows of A and C, K inner dims, N columns of B and C.
//
// gemm_f32_packed variants (scalar, wasmsimd when compiled, the dispatch both ways) against gemm_f32__reference
// on the unpacked matrix: M tails around the 4-row micro-tile, N tails around the 8-column panel, K from 1
// to above 512, with and without bias; and pack/unpack as inverses with zero padding.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "attn/gemm_packed.h"
#include "attn/threads.h"
#include "case_inputs.h"

namespace attn::test {
namespace {

using PackedFn = void (*)(float*, const float*, const float*, const float*, int, int, int);

void dispatch_optimized(float* c, const float* a, const float* p, const float* bias, int m, int k, int n) {
  gemm_f32_packed(c, a, p, bias, m, k, n, Variant::kOptimized);
}
void dispatch_reference(float* c, const float* a, const float* p, const float* bias, int m, int k, int n) {
  gemm_f32_packed(c, a, p, bias, m, k, n, Variant::kReference);
}

std::vector<std::pair<const char*, PackedFn>> variants() {
  return {{"scalar", &gemm_f32_packed__scalar},
#if defined(__wasm_simd128__)
          {"wasmsimd", &gemm_f32_packed__wasmsimd},
#endif
          {"dispatch optimized", &dispatch_optimized},
          {"dispatch reference", &dispatch_reference}};
}

// [[1, 2], [3, 4]] packed as one panel: rows (1, 2, 0 x 6), (3, 4, 0 x 6).
TEST(GemmPacked, PackLayoutAndPadding) {
  const float b[] = {1, 2, 3, 4};
  std::vector<float> p(gemm_f32_packed_size(2, 2), NAN);
  ASSERT_EQ(p.size(), 16u);
  gemm_f32_pack(p.data(), b, 2, 2);
  const float want[] = {1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(p[i], want[i]) << i;
}

TEST(GemmPacked, UnpackInvertsPack) {
  Mulberry32 rng(77);
  for (int k : {1, 5, 64})
    for (int n : {1, 7, 8, 9, 24, 30}) {
      const auto b = rng.values(size_t(k) * n, 1.0);
      std::vector<float> p(gemm_f32_packed_size(k, n)), back(b.size(), NAN);
      gemm_f32_pack(p.data(), b.data(), k, n);
      gemm_f32_unpack(back.data(), p.data(), k, n);
      for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(back[i], b[i]) << "k=" << k << " n=" << n << " at " << i;
    }
}

TEST(GemmPacked, VariantsMatchReference) {
  uint32_t seed = 4242;
  for (int m : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33})
    for (int k : {1, 3, 4, 7, 64, 255, 256, 257, 515})
      for (int n : {1, 3, 7, 8, 9, 16, 17, 24, 29})
        for (bool with_bias : {false, true}) {
          Mulberry32 rng(seed++);
          const auto a = rng.values(size_t(m) * k, 1.0), b = rng.values(size_t(k) * n, 1.0), bias = rng.values(n, 1.0);
          std::vector<float> packed(gemm_f32_packed_size(k, n));
          gemm_f32_pack(packed.data(), b.data(), k, n);
          std::vector<float> want(size_t(m) * n), got(size_t(m) * n);
          gemm_f32__reference(want.data(), a.data(), b.data(), with_bias ? bias.data() : nullptr, m, k, n);
          for (auto [name, fn] : variants()) {
            std::fill(got.begin(), got.end(), NAN);
            fn(got.data(), a.data(), packed.data(), with_bias ? bias.data() : nullptr, m, k, n);
            // float accumulation of k products of magnitude <= 1: error <= k eps, usually far less.
            for (size_t i = 0; i < got.size(); ++i)
              ASSERT_NEAR(got[i], want[i], 1e-6 * (k + 1)) << name << " m=" << m << " k=" << k << " n=" << n
                                                           << " bias=" << with_bias << " at " << i;
          }
        }
}

// C is written only inside [M][N]: the padded panel columns never spill into the next row or past the end.
TEST(GemmPacked, WritesOnlyTheOutput) {
  const int m = 5, k = 9, n = 13;
  Mulberry32 rng(5);
  const auto a = rng.values(size_t(m) * k, 1.0), b = rng.values(size_t(k) * n, 1.0);
  std::vector<float> packed(gemm_f32_packed_size(k, n));
  gemm_f32_pack(packed.data(), b.data(), k, n);
  for (auto [name, fn] : variants()) {
    std::vector<float> c(size_t(m) * n + 16, -7.0f);
    fn(c.data(), a.data(), packed.data(), nullptr, m, k, n);
    for (size_t i = size_t(m) * n; i < c.size(); ++i) ASSERT_EQ(c[i], -7.0f) << name << " at " << i;
  }
}

#if defined(ATTN_THREADS) && ATTN_THREADS
// On 3 threads the dispatch splits rows of A and C into blocks (products of at least 4.2M multiply-adds), and each
// block is the one-thread kernel on its rows: the result equals the one-thread call exactly. Rows around the
// block sizes and a product just under the bound (one thread) are included.
TEST(GemmPacked, ThreadsSplitRowsWithTheSameResult) {
  uint32_t seed = 77;
  for (auto [m, k, n] : {std::array<int, 3>{128, 512, 1536}, {130, 256, 768}, {33, 512, 512}, {17, 512, 481},
                         {128, 256, 127}}) {
    Mulberry32 rng(seed++);
    const auto a = rng.values(size_t(m) * k, 1.0), b = rng.values(size_t(k) * n, 1.0), bias = rng.values(n, 1.0);
    std::vector<float> packed(gemm_f32_packed_size(k, n));
    gemm_f32_pack(packed.data(), b.data(), k, n);
    std::vector<float> one(size_t(m) * n, NAN), three(size_t(m) * n, NAN);
    gemm_f32_packed(one.data(), a.data(), packed.data(), bias.data(), m, k, n, Variant::kOptimized);
    ASSERT_EQ(set_thread_count(3), 3);
    gemm_f32_packed(three.data(), a.data(), packed.data(), bias.data(), m, k, n, Variant::kOptimized);
    set_thread_count(1);
    for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(three[i], one[i]) << "m=" << m << " k=" << k << " n=" << n << " at " << i;
  }
}
#endif

}  // namespace
}  // namespace attn::test
