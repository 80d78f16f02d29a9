// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims.
//
// Anchors for the reference itself: tiny cases worked by hand, the fully masked row, the causal triangle,
// logits large enough to overflow exp, positional-encoding values at known positions, an Eigen cross-check,
// and the input generator's first values (shared with tests/js/case_inputs.js).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <Eigen/Dense>

#include "attn/attention.h"
#include "case_inputs.h"

namespace attn::test {
namespace {

using AttentionFn = bool (*)(float*, float*, const float*, const float*, const float*, const ScoreParams&,
                             const MaskParams&, int, int, int, int, int);

// The reference and every optimized variant compiled in: hand-worked cases must hold for all of them.
std::vector<std::pair<const char*, AttentionFn>> all_variants() {
  return {{"reference", &attention_f32__reference},
          {"scalar", &attention_f32__scalar},
#if defined(__wasm_simd128__)
          {"wasmsimd", &attention_f32__wasmsimd},
#endif
  };
}

ScoreParams score_of(Score s) {
  ScoreParams p;
  p.score = s;
  return p;
}

// Worked by hand: q = k = I (2x2), v = [[1, 2], [3, 4]], dot score.
// Row 0: scores (1, 0) -> weights (e/(e+1), 1/(e+1)) = (0.7310586, 0.2689414);
//        out = 0.7310586 (1, 2) + 0.2689414 (3, 4) = (1.5378828, 2.5378828).
// Row 1: scores (0, 1) -> weights (0.2689414, 0.7310586); out = (2.4621172, 3.4621172).
TEST(ReferenceByHand, TwoByTwoDot) {
  const float q[] = {1, 0, 0, 1}, k[] = {1, 0, 0, 1}, v[] = {1, 2, 3, 4};
  for (auto [name, fn] : all_variants()) {
    SCOPED_TRACE(name);
    float out[4], w[4];
    fn(out, w, q, k, v, score_of(Score::kDot), MaskParams{}, 1, 2, 2, 2, 2);
    const double a = std::exp(1.0) / (std::exp(1.0) + 1.0), b = 1.0 - a;
    EXPECT_NEAR(w[0], a, 1e-6);
    EXPECT_NEAR(w[1], b, 1e-6);
    EXPECT_NEAR(w[2], b, 1e-6);
    EXPECT_NEAR(w[3], a, 1e-6);
    EXPECT_NEAR(out[0], 1.5378828, 1e-6);
    EXPECT_NEAR(out[1], 2.5378828, 1e-6);
    EXPECT_NEAR(out[2], 2.4621172, 1e-6);
    EXPECT_NEAR(out[3], 3.4621172, 1e-6);
  }
}

// Same inputs, scaled dot: scores (1/sqrt 2, 0) -> weight a = 1 / (1 + exp(-1/sqrt 2)) = 0.6697615.
TEST(ReferenceByHand, TwoByTwoScaledDot) {
  const float q[] = {1, 0, 0, 1}, k[] = {1, 0, 0, 1}, v[] = {1, 2, 3, 4};
  for (auto [name, fn] : all_variants()) {
    SCOPED_TRACE(name);
    float out[4], w[4];
    fn(out, w, q, k, v, score_of(Score::kScaledDot), MaskParams{}, 1, 2, 2, 2, 2);
    const double a = 1.0 / (1.0 + std::exp(-1.0 / std::sqrt(2.0)));
    EXPECT_NEAR(w[0], a, 1e-6);
    EXPECT_NEAR(out[0], a * 1 + (1 - a) * 3, 1e-6);
    EXPECT_NEAR(out[3], (1 - a) * 2 + a * 4, 1e-6);
  }
}

// general: q = (1, 2), W = [[0, 1], [1, 0]] (swaps), keys (3, 4) and (0, 0): q^T W k = (1, 2).(4, 3) = 10 and 0.
// additive: D = A = 1, Wq = Wk = 1, v = 2, q = 0.5, keys 0.5 and -0.5: scores 2 tanh(1) = 1.5231884 and 0.
TEST(ReferenceByHand, GeneralAndAdditiveScores) {
  for (auto [name, fn] : all_variants()) {
    SCOPED_TRACE(name);
    {
      const float q[] = {1, 2}, k[] = {3, 4, 0, 0}, v[] = {1, 0};
      const float W[] = {0, 1, 1, 0};
      ScoreParams p = score_of(Score::kGeneral);
      p.W = W;
      float out[1], w[2];
      fn(out, w, q, k, v, p, MaskParams{}, 1, 1, 2, 2, 1);
      EXPECT_NEAR(w[0], 1.0 / (1.0 + std::exp(-10.0)), 1e-6);
      EXPECT_NEAR(out[0], 1.0 / (1.0 + std::exp(-10.0)), 1e-6);
    }
    {
      const float q[] = {0.5f}, k[] = {0.5f, -0.5f}, v[] = {1, 0};
      const float Wq[] = {1}, Wk[] = {1}, va[] = {2};
      ScoreParams p = score_of(Score::kAdditive);
      p.Wq = Wq, p.Wk = Wk, p.v = va, p.da = 1;
      float out[1], w[2];
      fn(out, w, q, k, v, p, MaskParams{}, 1, 1, 2, 1, 1);
      const double s = 2.0 * std::tanh(1.0);
      EXPECT_NEAR(w[0], 1.0 / (1.0 + std::exp(-s)), 1e-6);
    }
  }
}

// A row whose keys are all masked gets zero weights and a zero output (explicit mask row 1; causal with
// Tq > Tk: query 0 may attend j <= 0 + (1 - 3) = -2, i.e. nothing; query 2 may attend key 0).
TEST(ReferenceByHand, FullyMaskedRowsAreZero) {
  const float q[] = {1, 2, 3}, k[] = {1}, v[] = {5};
  const uint8_t allowed[] = {1, 0, 1};
  for (auto [name, fn] : all_variants()) {
    SCOPED_TRACE(name);
    float out[3], w[3];
    MaskParams m;
    m.kind = MaskKind::kExplicit;
    m.allowed = allowed;
    fn(out, w, q, k, v, score_of(Score::kDot), m, 1, 3, 1, 1, 1);
    EXPECT_EQ(w[0], 1.0f);
    EXPECT_EQ(w[1], 0.0f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_FLOAT_EQ(out[2], 5.0f);
    float out_nw[3];
    fn(out_nw, nullptr, q, k, v, score_of(Score::kDot), m, 1, 3, 1, 1, 1);
    EXPECT_EQ(out_nw[1], 0.0f);
    m = MaskParams{};
    m.kind = MaskKind::kCausal;
    fn(out, w, q, k, v, score_of(Score::kDot), m, 1, 3, 1, 1, 1);
    EXPECT_EQ(w[0], 0.0f);
    EXPECT_EQ(w[1], 0.0f);
    EXPECT_EQ(w[2], 1.0f);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_FLOAT_EQ(out[2], 5.0f);
  }
}

// Zero queries make every allowed score equal, so causal weights are uniform over the allowed keys:
// Tq = Tk = 3: rows (1, 0, 0), (1/2, 1/2, 0), (1/3, 1/3, 1/3). Tq = 2, Tk = 3 (offset 1): (1/2, 1/2, 0), (1/3 x 3).
TEST(ReferenceByHand, CausalTriangle) {
  const float q[6] = {}, k[3] = {1, 2, 3}, v[3] = {3, 6, 9};
  MaskParams m;
  m.kind = MaskKind::kCausal;
  for (auto [name, fn] : all_variants()) {
    SCOPED_TRACE(name);
    float w[9], out[3];
    fn(out, w, q, k, v, score_of(Score::kDot), m, 1, 3, 3, 1, 1);
    const float want[9] = {1, 0, 0, 0.5f, 0.5f, 0, 1 / 3.f, 1 / 3.f, 1 / 3.f};
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(w[i], want[i], 1e-7) << i;
    EXPECT_NEAR(out[0], 3, 1e-6);
    EXPECT_NEAR(out[1], 4.5, 1e-6);
    EXPECT_NEAR(out[2], 6, 1e-6);
    fn(out, w, q, k, v, score_of(Score::kDot), m, 1, 2, 3, 1, 1);
    const float want2[6] = {0.5f, 0.5f, 0, 1 / 3.f, 1 / 3.f, 1 / 3.f};
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(w[i], want2[i], 1e-7) << i;
  }
}

// Scores 1000 and 990: exp(1000) overflows any float and double; subtracting the row max gives
// weights 1/(1+e^-10) and e^-10/(1+e^-10).
TEST(ReferenceByHand, HugeLogitsDoNotOverflow) {
  const float q[] = {1000}, k[] = {1, 0.99f}, v[] = {1, -1};
  for (auto [name, fn] : all_variants()) {
    SCOPED_TRACE(name);
    float out[1], w[2];
    fn(out, w, q, k, v, score_of(Score::kDot), MaskParams{}, 1, 1, 2, 1, 1);
    const double s1 = 1000.0 * double(0.99f);
    const double a = 1.0 / (1.0 + std::exp(s1 - 1000.0));
    EXPECT_NEAR(w[0], a, 1e-5);
    EXPECT_NEAR(w[1], 1.0 - a, 1e-5);
    EXPECT_NEAR(out[0], 2 * a - 1, 1e-5);
    fn(out, nullptr, q, k, v, score_of(Score::kDot), MaskParams{}, 1, 1, 2, 1, 1);
    EXPECT_NEAR(out[0], 2 * a - 1, 1e-5);
  }
}

// PE[p][2i] = sin(p / 10000^(2i/D)), PE[p][2i+1] = cos(...): position 0 is (0, 1, 0, 1, ...);
// D = 4, p = 1: (sin 1, cos 1, sin 0.01, cos 0.01); p = 2: sin 2 = 0.9092974; D = 3, p = 5: last column
// sin(5 / 10000^(2/3)) = sin(5 / 464.1589) = 0.0107724.
TEST(PositionalEncoding, KnownValues) {
  std::vector<float> pe(3 * 4);
  positional_encoding_f32(pe.data(), 3, 4);
  const float want0[] = {0, 1, 0, 1};
  for (int c = 0; c < 4; ++c) EXPECT_EQ(pe[c], want0[c]);
  EXPECT_FLOAT_EQ(pe[4], 0.84147098f);
  EXPECT_FLOAT_EQ(pe[5], 0.54030231f);
  EXPECT_FLOAT_EQ(pe[6], 0.0099998333f);
  EXPECT_FLOAT_EQ(pe[7], 0.99995000f);
  EXPECT_FLOAT_EQ(pe[8], 0.90929743f);
  EXPECT_FLOAT_EQ(pe[9], -0.41614684f);
  std::vector<float> odd(6 * 3);
  positional_encoding_f32(odd.data(), 6, 3);
  EXPECT_NEAR(odd[5 * 3 + 2], std::sin(5.0 / std::pow(10000.0, 2.0 / 3.0)), 1e-7);
  EXPECT_NEAR(odd[5 * 3 + 2], 0.0107722, 1e-6);
}

// Eigen's matrix form of the same maths: S = Q K^T (/ sqrt D, or Q W K^T), masked to -inf, row softmax,
// O = P V, in double. Checks dot, scaled_dot and general under each mask on a case of odd sizes.
TEST(ReferenceVsEigen, MatrixForm) {
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int nq = 7, nk = 11, dk = 5, dv = 3;
  for (Score s : {Score::kDot, Score::kScaledDot, Score::kGeneral})
    for (MaskKind mk : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit}) {
      AttentionCase c;
      c.nq = nq, c.nk = nk, c.dk = dk, c.dv = dv, c.score = s, c.mask = mk, c.seed = 77 + int(s) * 3 + int(mk);
      const AttentionInputs in = generate(c);
      const Mat Q = Eigen::Map<const MatF>(in.q.data(), nq, dk).cast<double>();
      const Mat K = Eigen::Map<const MatF>(in.k.data(), nk, dk).cast<double>();
      const Mat V = Eigen::Map<const MatF>(in.v.data(), nk, dv).cast<double>();
      Mat S = s == Score::kGeneral ? Mat(Q * Eigen::Map<const MatF>(in.sp.W.data(), dk, dk).cast<double>() *
                                         K.transpose())
                                   : Mat(Q * K.transpose());
      if (s == Score::kScaledDot) S /= std::sqrt(double(dk));
      for (int i = 0; i < nq; ++i)
        for (int j = 0; j < nk; ++j) {
          const bool ok = mk == MaskKind::kNone || (mk == MaskKind::kCausal && causal_allows(i, j, nq, nk)) ||
                          (mk == MaskKind::kExplicit && in.allowed[size_t(i) * nk + j]);
          if (!ok) S(i, j) = -INFINITY;
        }
      Mat P = Mat::Zero(nq, nk);
      for (int i = 0; i < nq; ++i) {
        const double m = S.row(i).maxCoeff();
        if (m == -INFINITY) continue;
        P.row(i) = (S.row(i).array() - m).exp();
        P.row(i) /= P.row(i).sum();
      }
      const Mat O = P * V;
      std::vector<float> out(nq * dv), w(nq * nk);
      attention_f32__reference(out.data(), w.data(), in.q.data(), in.k.data(), in.v.data(), in.score_params(c),
                               in.mask_params(c), 1, nq, nk, dk, dv);
      for (int i = 0; i < nq; ++i) {
        for (int j = 0; j < nk; ++j) EXPECT_NEAR(w[i * nk + j], P(i, j), 1e-7);
        for (int d = 0; d < dv; ++d) EXPECT_NEAR(out[i * dv + d], O(i, d), 1e-6);
      }
    }
}

// The first uniforms of mulberry32 for a few seeds, as JavaScript computes them (tests/cases/README.md).
TEST(CaseInputs, GeneratorMatchesJavaScript) {
  struct Row {
    uint32_t seed;
    double u[4];
  };
  const Row rows[] = {
      {1u, {0.62707394058816135, 0.0027357211802154779, 0.52744703995995224, 0.98105096747167408}},
      {42u, {0.60110375192016363, 0.44829055899754167, 0.85246579349040985, 0.66973404143936932}},
      {4294967295u, {0.89642261411063373, 0.18947825673967600, 0.71565267816185951, 0.94405990932136774}},
  };
  for (const Row& r : rows) {
    Mulberry32 rng(r.seed);
    for (double want : r.u) EXPECT_DOUBLE_EQ(rng.next_uniform(), want) << "seed " << r.seed;
  }
  Mulberry32 rng(1);
  EXPECT_EQ(rng.next_value(2.0), float((2 * 0.62707394058816135 - 1) * 2.0));
}

}  // namespace
}  // namespace attn::test
