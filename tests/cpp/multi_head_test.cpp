// H heads, Tq queries, Tk keys, M model dims, Dh = M/H dims per head.
//
// The multi-head layer: the reference variant against a straightforward per-head composition (projections
// written out column by column, attention_f32__reference per head, concatenation, output projection), and
// the optimized variant against the reference, on the multiHead cases of tests/cases/attention_cases.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "attn/attention.h"
#include "attn/threads.h"
#include "case_inputs.h"

namespace attn::test {
namespace {

// out [Tq][M], weights [H][Tq][Tk], composed head by head.
void compose_per_head(std::vector<float>& out, std::vector<float>& weights, const MultiHeadCase& c,
                      const MultiHeadInputs& in) {
  const int M = c.d_model, H = c.heads, dh = M / H;
  const float* ctx = in.context_ptr();
  // y[t][col] = sum_i x[t][i] W[i][col] + b[col], for the columns of one head
  auto project = [&](const float* x, int rows, const std::vector<float>& W, const std::vector<float>& b, int h) {
    std::vector<float> y(size_t(rows) * dh);
    for (int t = 0; t < rows; ++t)
      for (int c2 = 0; c2 < dh; ++c2) {
        const int col = h * dh + c2;
        double s = b.empty() ? 0.0 : b[col];
        for (int i = 0; i < M; ++i) s += double(x[size_t(t) * M + i]) * W[size_t(i) * M + col];
        y[size_t(t) * dh + c2] = float(s);
      }
    return y;
  };
  std::vector<float> concat(size_t(c.nq) * M);
  weights.assign(size_t(H) * c.nq * c.nk, 0.0f);
  for (int h = 0; h < H; ++h) {
    const auto q = project(in.x.data(), c.nq, in.Wq, in.bq, h);
    const auto k = project(ctx, c.nk, in.Wk, in.bk, h);
    const auto v = project(ctx, c.nk, in.Wv, in.bv, h);
    std::vector<float> o(size_t(c.nq) * dh);
    attention_f32__reference(o.data(), weights.data() + size_t(h) * c.nq * c.nk, q.data(), k.data(), v.data(),
                             in.score_params(c), in.mask_params(c), 1, c.nq, c.nk, dh, dh);
    for (int t = 0; t < c.nq; ++t)
      for (int c2 = 0; c2 < dh; ++c2) concat[size_t(t) * M + h * dh + c2] = o[size_t(t) * dh + c2];
  }
  out.assign(size_t(c.nq) * M, 0.0f);
  for (int t = 0; t < c.nq; ++t)
    for (int col = 0; col < M; ++col) {
      double s = in.bo.empty() ? 0.0 : in.bo[col];
      for (int i = 0; i < M; ++i) s += double(concat[size_t(t) * M + i]) * in.Wo[size_t(i) * M + col];
      out[size_t(t) * M + col] = float(s);
    }
}

class MultiHeadTester : public ::testing::TestWithParam<MultiHeadCase> {};

TEST_P(MultiHeadTester, ReferenceMatchesPerHeadComposition) {
  const MultiHeadCase& c = GetParam();
  const MultiHeadInputs in = generate(c);
  std::vector<float> want, want_w;
  compose_per_head(want, want_w, c, in);
  std::vector<float> out(size_t(c.nq) * c.d_model), w(size_t(c.heads) * c.nq * c.nk);
  multi_head_attention_f32(out.data(), w.data(), in.x.data(), in.context_ptr(), in.params(), in.score_params(c),
                           in.mask_params(c), c.nq, c.nk, c.d_model, c.heads, Variant::kReference);
  // Same double arithmetic in the same order except for the float rounding of the projections.
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 1e-5 + 1e-5 * std::fabs(want[i])) << i;
  for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(w[i], want_w[i], 1e-6) << i;
}

TEST_P(MultiHeadTester, OptimizedMatchesReference) {
  const MultiHeadCase& c = GetParam();
  const MultiHeadInputs in = generate(c);
  std::vector<float> want(size_t(c.nq) * c.d_model), want_w(size_t(c.heads) * c.nq * c.nk);
  multi_head_attention_f32(want.data(), want_w.data(), in.x.data(), in.context_ptr(), in.params(),
                           in.score_params(c), in.mask_params(c), c.nq, c.nk, c.d_model, c.heads, Variant::kReference);
  // 1 thread, then 3 (in a build with threads: dense rows and heads or query rows split over threads).
  for (int threads : {1, 3})
  for (bool with_weights : {false, true}) {
    std::vector<float> out(want.size(), NAN), w(with_weights ? want_w.size() : 0, NAN);
    set_thread_count(threads);
    multi_head_attention_f32(out.data(), with_weights ? w.data() : nullptr, in.x.data(), in.context_ptr(),
                             in.params(), in.score_params(c), in.mask_params(c), c.nq, c.nk, c.d_model, c.heads,
                             Variant::kOptimized);
    set_thread_count(1);
    // Float projections (K = M products each) feed the float attention: a few 1e-6 of the O(1) outputs.
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], want[i], 2e-5 + 1e-4 * std::fabs(want[i]))
          << "threads=" << threads << " weights=" << with_weights << " at " << i;
    for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(w[i], want_w[i], 1e-5) << i;
  }
}

std::string param_name(const ::testing::TestParamInfo<MultiHeadCase>& info) {
  std::string s = info.param.name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(SharedCases, MultiHeadTester, ::testing::ValuesIn(load_multi_head_cases()), param_name);

// Self-attention is cross-attention whose context is x: passing x twice or a copy gives the same result.
TEST(MultiHead, SelfEqualsCrossWithCopiedContext) {
  MultiHeadCase c;
  c.nq = c.nk = 6, c.d_model = 8, c.heads = 2, c.bias = true, c.seed = 5;
  const MultiHeadInputs in = generate(c);
  const std::vector<float> copy = in.x;
  for (Variant v : {Variant::kReference, Variant::kOptimized}) {
    std::vector<float> a(size_t(c.nq) * c.d_model), b(a.size());
    multi_head_attention_f32(a.data(), nullptr, in.x.data(), in.x.data(), in.params(), in.score_params(c),
                             in.mask_params(c), c.nq, c.nk, c.d_model, c.heads, v);
    multi_head_attention_f32(b.data(), nullptr, in.x.data(), copy.data(), in.params(), in.score_params(c),
                             in.mask_params(c), c.nq, c.nk, c.d_model, c.heads, v);
    EXPECT_EQ(a, b);
  }
}

}  // namespace
}  // namespace attn::test
