// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims.
//
// attention_backward_f32, every score function and mask: (1) the double reference's backward against float64
// central differences of the double reference's forward, on odd shapes (1, tails of the SIMD width, causal
// with Tq != Tk, fully masked rows); (2) the float variants (reference, optimized, optimized on threads)
// against the double backward; (3) attention_forward_f32's saved row max and sum.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "attn/backward.h"
#include "attn/threads.h"
#include "gradient_check.h"
#include "reference/backward_reference.h"

namespace attn::test {
namespace {

struct Shape {
  Score score;
  MaskKind mask;
  int heads, nq, nk, dk, dv, da;
};

std::string name_of(const Shape& s) {
  static const char* scores[] = {"dot", "scaled", "general", "additive"};
  static const char* masks[] = {"none", "causal", "explicit"};
  return std::string(scores[int(s.score)]) + "_" + masks[int(s.mask)] + "_h" + std::to_string(s.heads) + "_q" +
         std::to_string(s.nq) + "_k" + std::to_string(s.nk) + "_d" + std::to_string(s.dk) + "_v" +
         std::to_string(s.dv);
}

// Inputs in double (already float-representable), dout included, and an explicit mask whose row 1 (when it
// exists) is fully masked.
struct Inputs {
  Shape s;
  std::vector<double> q, k, v, dout, W, Wq, Wk, va;
  std::vector<uint8_t> allowed;
  // offset > 0: every query and key gets offset in dim 0 (general: W[0][0] = 1, the rest of row and column 0
  // zero), so every score of a row carries the same large term offset^2 (scaled: / sqrt(D)), where an
  // unshifted exp would overflow, while the probabilities stay those of offset 0.
  Inputs(const Shape& shape, unsigned seed, double offset = 0.0) : s(shape) {
    std::mt19937 rng(seed);
    q = rounded(uniform(rng, size_t(s.heads) * s.nq * s.dk));
    k = rounded(uniform(rng, size_t(s.heads) * s.nk * s.dk));
    v = rounded(uniform(rng, size_t(s.heads) * s.nk * s.dv));
    dout = rounded(uniform(rng, size_t(s.heads) * s.nq * s.dv));
    if (s.score == Score::kGeneral) W = rounded(uniform(rng, size_t(s.dk) * s.dk, 0.7));
    if (s.score == Score::kAdditive) {
      Wq = rounded(uniform(rng, size_t(s.da) * s.dk, 0.8));
      Wk = rounded(uniform(rng, size_t(s.da) * s.dk, 0.8));
      va = rounded(uniform(rng, size_t(s.da), 1.5));
    }
    if (offset > 0.0) {
      for (size_t r = 0; r < q.size(); r += s.dk) q[r] = offset;
      for (size_t r = 0; r < k.size(); r += s.dk) k[r] = offset;
      if (!W.empty())
        for (int e = 0; e < s.dk; ++e) W[e] = W[size_t(e) * s.dk] = e == 0 ? 1.0 : 0.0;
    }
    allowed.assign(size_t(s.nq) * s.nk, 1);
    std::bernoulli_distribution keep(0.6);
    for (auto& a : allowed) a = keep(rng) ? 1 : 0;
    if (s.nq > 1)
      for (int j = 0; j < s.nk; ++j) allowed[size_t(s.nk) + j] = 0;
  }
  MaskParams mask() const {
    MaskParams m;
    m.kind = s.mask;
    if (s.mask == MaskKind::kExplicit) m.allowed = allowed.data();
    return m;
  }
  template <typename T>
  reference::ScoreParamsT<T> params(const std::vector<T>& W_, const std::vector<T>& Wq_, const std::vector<T>& Wk_,
                                    const std::vector<T>& va_) const {
    reference::ScoreParamsT<T> p;
    p.score = s.score;
    p.W = W_.empty() ? nullptr : W_.data();
    p.Wq = Wq_.empty() ? nullptr : Wq_.data();
    p.Wk = Wk_.empty() ? nullptr : Wk_.data();
    p.v = va_.empty() ? nullptr : va_.data();
    p.da = s.da;
    return p;
  }
  // True when query i of a head may attend no key.
  bool row_empty(int i) const {
    const MaskParams m = mask();
    for (int j = 0; j < s.nk; ++j)
      if (reference::allowed_at(m, i, j, s.nq, s.nk)) return false;
    return true;
  }
};

// The gradients, as double vectors (empty when the score function has no such parameter).
struct Grads {
  std::vector<double> dq, dk, dv, dW, dWq, dWk, dva;
};

Grads double_backward(const Inputs& in) {
  const Shape& s = in.s;
  Grads g;
  g.dq.assign(in.q.size(), 0.0);
  g.dk.assign(in.k.size(), 0.0);
  g.dv.assign(in.v.size(), 0.0);
  g.dW.assign(in.W.size(), 0.0);
  g.dWq.assign(in.Wq.size(), 0.0);
  g.dWk.assign(in.Wk.size(), 0.0);
  g.dva.assign(in.va.size(), 0.0);
  reference::ScoreGradsT<double> sg{g.dW.empty() ? nullptr : g.dW.data(), g.dWq.empty() ? nullptr : g.dWq.data(),
                                    g.dWk.empty() ? nullptr : g.dWk.data(), g.dva.empty() ? nullptr : g.dva.data()};
  reference::attention_backward(g.dq.data(), g.dk.data(), g.dv.data(), sg, in.dout.data(), in.q.data(), in.k.data(),
                                in.v.data(), in.params(in.W, in.Wq, in.Wk, in.va), in.mask(), s.heads, s.nq, s.nk,
                                s.dk, s.dv);
  return g;
}

// The float variant `variant` of forward-that-saves then backward into zeroed gradient buffers, `times` times
// (the backward accumulates).
Grads float_backward(const Inputs& in, Variant variant, int times = 1) {
  const Shape& s = in.s;
  const auto q = to_float(in.q), k = to_float(in.k), v = to_float(in.v), dout = to_float(in.dout);
  const auto W = to_float(in.W), Wq = to_float(in.Wq), Wk = to_float(in.Wk), va = to_float(in.va);
  ScoreParams p;
  p.score = s.score;
  p.W = W.empty() ? nullptr : W.data();
  p.Wq = Wq.empty() ? nullptr : Wq.data();
  p.Wk = Wk.empty() ? nullptr : Wk.data();
  p.v = va.empty() ? nullptr : va.data();
  p.da = s.da;
  std::vector<float> out(size_t(s.heads) * s.nq * s.dv), rmax(size_t(s.heads) * s.nq), rsum(rmax.size());
  attention_forward_f32(out.data(), rmax.data(), rsum.data(), q.data(), k.data(), v.data(), p, in.mask(), s.heads,
                        s.nq, s.nk, s.dk, s.dv, variant);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size()), dW(W.size()), dWq(Wq.size()), dWk(Wk.size()),
      dva(va.size());
  ScoreGrads sg;
  sg.dW = dW.empty() ? nullptr : dW.data();
  sg.dWq = dWq.empty() ? nullptr : dWq.data();
  sg.dWk = dWk.empty() ? nullptr : dWk.data();
  sg.dv = dva.empty() ? nullptr : dva.data();
  for (int t = 0; t < times; ++t)
    attention_backward_f32(dq.data(), dk.data(), dv.data(), sg, dout.data(), out.data(), rmax.data(), rsum.data(),
                           q.data(), k.data(), v.data(), p, in.mask(), s.heads, s.nq, s.nk, s.dk, s.dv, variant);
  auto back = [](const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); };
  return {back(dq), back(dk), back(dv), back(dW), back(dWq), back(dWk), back(dva)};
}

std::vector<Shape> numeric_shapes() {
  std::vector<Shape> out;
  for (Score score : {Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive})
    for (MaskKind mask : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit}) {
      out.push_back({score, mask, 1, 1, 1, 1, 1, 1});
      out.push_back({score, mask, 2, 5, 3, 3, 2, 3});   // causal Tq > Tk: rows 0, 1 see no key
      out.push_back({score, mask, 1, 3, 7, 5, 6, 2});   // causal Tq < Tk
      out.push_back({score, mask, 2, 6, 9, 4, 5, 4});
    }
  return out;
}

class AttentionBackwardNumeric : public ::testing::TestWithParam<Shape> {};

// Every gradient of the double reference against central differences of L = sum(dout * forward(...)).
TEST_P(AttentionBackwardNumeric, ReferenceMatchesCentralDifferences) {
  const Shape s = GetParam();
  Inputs in(s, 7 + s.nq * 31 + s.nk);
  const Grads g = double_backward(in);
  std::vector<double> out(size_t(s.heads) * s.nq * s.dv);
  auto loss = [&]() {
    reference::attention_forward<double>(out.data(), nullptr, nullptr, in.q.data(), in.k.data(), in.v.data(),
                                         in.params(in.W, in.Wq, in.Wk, in.va), in.mask(), s.heads, s.nq, s.nk, s.dk,
                                         s.dv);
    return dot(out, in.dout);
  };
  const double tol = 1e-7;
  EXPECT_LE(relative_error(g.dq, central_differences(in.q, loss)), tol) << "dq";
  EXPECT_LE(relative_error(g.dk, central_differences(in.k, loss)), tol) << "dk";
  EXPECT_LE(relative_error(g.dv, central_differences(in.v, loss)), tol) << "dv";
  if (!in.W.empty()) EXPECT_LE(relative_error(g.dW, central_differences(in.W, loss)), tol) << "dW";
  if (!in.Wq.empty()) {
    EXPECT_LE(relative_error(g.dWq, central_differences(in.Wq, loss)), tol) << "dWq";
    EXPECT_LE(relative_error(g.dWk, central_differences(in.Wk, loss)), tol) << "dWk";
    EXPECT_LE(relative_error(g.dva, central_differences(in.va, loss)), tol) << "dv (additive)";
  }
}

// A query row that may attend no key has an output that is constantly 0: its dq is exactly 0 in every variant.
TEST_P(AttentionBackwardNumeric, FullyMaskedRowsGetZeroGradient) {
  const Shape s = GetParam();
  Inputs in(s, 11);
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    const Grads g = float_backward(in, variant);
    for (int h = 0; h < s.heads; ++h)
      for (int i = 0; i < s.nq; ++i) {
        if (!in.row_empty(i)) continue;
        for (int d = 0; d < s.dk; ++d) EXPECT_EQ(g.dq[(size_t(h) * s.nq + i) * s.dk + d], 0.0) << "row " << i;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, AttentionBackwardNumeric, ::testing::ValuesIn(numeric_shapes()),
                         [](const auto& info) { return name_of(info.param); });

// Float variants against the double backward, on shapes around the kernels' tiles (MR = 4, NR = 8 = 2 f32x4,
// Bk = 64 keys, Bq = 32 queries) and at a scale where unshifted exponentials overflow.
std::vector<Shape> variant_shapes() {
  std::vector<Shape> out;
  for (Score score : {Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive})
    for (MaskKind mask : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit}) {
      out.push_back({score, mask, 1, 1, 1, 1, 1, 2});
      out.push_back({score, mask, 2, 3, 5, 4, 8, 3});
      out.push_back({score, mask, 1, 9, 17, 13, 7, 5});
      out.push_back({score, mask, 3, 37, 70, 16, 12, 8});
      out.push_back({score, mask, 1, 130, 67, 8, 9, 4});  // causal Tq > Tk: 63 rows with no key
      out.push_back({score, mask, 2, 64, 129, 64, 64, 16});
    }
  return out;
}

class AttentionBackwardVariants : public ::testing::TestWithParam<Shape> {};

void expect_close(const Grads& got, const Grads& want, double tol, const std::string& what) {
  EXPECT_LE(relative_error(got.dq, want.dq), tol) << what << " dq";
  EXPECT_LE(relative_error(got.dk, want.dk), tol) << what << " dk";
  EXPECT_LE(relative_error(got.dv, want.dv), tol) << what << " dv";
  if (!want.dW.empty()) EXPECT_LE(relative_error(got.dW, want.dW), tol) << what << " dW";
  if (!want.dWq.empty()) {
    EXPECT_LE(relative_error(got.dWq, want.dWq), tol) << what << " dWq";
    EXPECT_LE(relative_error(got.dWk, want.dWk), tol) << what << " dWk";
    EXPECT_LE(relative_error(got.dva, want.dva), tol) << what << " dv (additive)";
  }
}

TEST_P(AttentionBackwardVariants, MatchReference) {
  const Shape s = GetParam();
  for (double offset : {0.0, 30.0}) {  // 30: every score of a row >= 900 / sqrt(64) > 88 (expf overflows)
    if (offset > 0.0 && s.score == Score::kAdditive) continue;  // additive scores are bounded by sum |v|
    Inputs in(s, 3 + s.nk, offset);
    const Grads want = double_backward(in);
    // Float accumulation over Tk keys and D dims. With the offset, float scores near 900 carry absolute
    // errors near 1e-4, and so do the recomputed probabilities: the looser bound there.
    const double tol = offset > 0.0 ? 2e-3 : 2e-4;
    expect_close(float_backward(in, Variant::kReference), want, tol, "reference");
    expect_close(float_backward(in, Variant::kOptimized), want, tol, "optimized");
    if (kThreadsBuild) {  // H >= 2: heads on threads; H = 1: the wasmsimd kernel splits the keys
      ASSERT_EQ(set_thread_count(2), 2);
      expect_close(float_backward(in, Variant::kOptimized), want, tol, "optimized, 2 threads");
      set_thread_count(1);
    }
  }
}

#if defined(__wasm_simd128__)
// The key-block split of the wasmsimd kernel (what the dispatch runs when H < threads), with 3 parts: in a
// build without threads the parts run one after the other, which checks the split and the dQ' reduction.
TEST(AttentionBackwardSimd, KeySplitMatchesOnePart) {
  for (MaskKind mask : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit}) {
    const Shape s{Score::kGeneral, mask, 2, 70, 200, 16, 12, 0};
    Inputs in(s, 23);
    const Grads want = double_backward(in);
    const auto q = to_float(in.q), k = to_float(in.k), v = to_float(in.v), dout = to_float(in.dout), W = to_float(in.W);
    ScoreParams p;
    p.score = s.score;
    p.W = W.data();
    std::vector<float> out(dout.size()), rmax(size_t(s.heads) * s.nq), rsum(rmax.size());
    attention_forward_f32(out.data(), rmax.data(), rsum.data(), q.data(), k.data(), v.data(), p, in.mask(), s.heads,
                          s.nq, s.nk, s.dk, s.dv, Variant::kOptimized);
    std::vector<float> dq(q.size()), dk(k.size()), dv(v.size()), dW(W.size());
    ScoreGrads sg;
    sg.dW = dW.data();
    attention_backward_f32__wasmsimd_parts(dq.data(), dk.data(), dv.data(), sg, dout.data(), out.data(), rmax.data(),
                                           rsum.data(), q.data(), k.data(), v.data(), p, in.mask(), s.heads, s.nq,
                                           s.nk, s.dk, s.dv, 3);
    const Grads got{std::vector<double>(dq.begin(), dq.end()), std::vector<double>(dk.begin(), dk.end()),
                    std::vector<double>(dv.begin(), dv.end()), std::vector<double>(dW.begin(), dW.end()), {}, {}, {}};
    expect_close(got, want, 2e-4, "3 parts");
  }
}
#endif

// The backward adds to what its gradient buffers hold: twice into the same buffers gives twice the gradient.
TEST_P(AttentionBackwardVariants, Accumulates) {
  const Shape s = GetParam();
  Inputs in(s, 19);
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    const Grads once = float_backward(in, variant), twice = float_backward(in, variant, 2);
    Grads doubled = once;
    for (auto* t : {&doubled.dq, &doubled.dk, &doubled.dv, &doubled.dW, &doubled.dWq, &doubled.dWk, &doubled.dva})
      for (auto& x : *t) x *= 2;
    // The optimized additive kernel adds each (i, j) term of dv straight into the buffer: the second pass
    // rounds at the larger magnitude the first left there.
    expect_close(twice, doubled, 1e-5, "twice");
  }
}

INSTANTIATE_TEST_SUITE_P(Tiles, AttentionBackwardVariants, ::testing::ValuesIn(variant_shapes()),
                         [](const auto& info) { return name_of(info.param); });

// attention_forward_f32 saves m = max_j s_ij and l = sum_j exp(s_ij - m) per row, -INFINITY and 0 for a row
// with no allowed key; out matches the forward without saves.
TEST(AttentionForwardSaves, RowMaxAndSum) {
  for (MaskKind mask : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit})
    for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
      const Shape s{Score::kScaledDot, mask, 2, 11, 6, 5, 3, 0};
      Inputs in(s, 5);
      const auto q = to_float(in.q), k = to_float(in.k), v = to_float(in.v);
      ScoreParams p;
      p.score = s.score;
      std::vector<float> out(size_t(s.heads) * s.nq * s.dv), plain(out.size()), rmax(size_t(s.heads) * s.nq),
          rsum(rmax.size());
      attention_forward_f32(out.data(), rmax.data(), rsum.data(), q.data(), k.data(), v.data(), p, in.mask(),
                            s.heads, s.nq, s.nk, s.dk, s.dv, variant);
      attention_f32(plain.data(), nullptr, q.data(), k.data(), v.data(), p, in.mask(), s.heads, s.nq, s.nk, s.dk,
                    s.dv, variant);
      for (size_t e = 0; e < out.size(); ++e) EXPECT_NEAR(out[e], plain[e], 1e-6);
      for (int h = 0; h < s.heads; ++h)
        for (int i = 0; i < s.nq; ++i) {
          double m = -INFINITY;
          std::vector<double> sc(s.nk, -INFINITY);
          for (int j = 0; j < s.nk; ++j) {
            if (!reference::allowed_at(in.mask(), i, j, s.nq, s.nk)) continue;
            double d = 0;
            for (int c = 0; c < s.dk; ++c)
              d += in.q[(size_t(h) * s.nq + i) * s.dk + c] * in.k[(size_t(h) * s.nk + j) * s.dk + c];
            sc[j] = d / std::sqrt(double(s.dk));
            m = std::max(m, sc[j]);
          }
          double l = 0;
          for (int j = 0; j < s.nk; ++j)
            if (sc[j] != -INFINITY) l += std::exp(sc[j] - m);
          const size_t r = size_t(h) * s.nq + i;
          if (m == -INFINITY) {
            EXPECT_EQ(rmax[r], -INFINITY);
            EXPECT_EQ(rsum[r], 0.0f);
          } else {
            EXPECT_NEAR(rmax[r], m, 1e-5);
            EXPECT_NEAR(rsum[r], l, 1e-5 * l);
          }
        }
    }
}

}  // namespace
}  // namespace attn::test
