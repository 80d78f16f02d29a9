// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims.
//
// Finite inputs whose float32 scores overflow: q = 1e30 against k = +-1e30 (scores +-1e60: all -INFINITY in
// float looked like a masked row and gave zero weights), one score overflowing to +INFINITY (NaN weights),
// additive scores with Wq q = +INFINITY and Wk k = -INFINITY (tanh(NaN)), general scores with q W overflowing,
// and values whose weighted sum overflows the float accumulator. The reference (double) is right; every
// optimized variant must give finite results within tolerance of it, on the overflowing row and on the
// ordinary rows around it, with and without weights, for every mask.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attn/attention.h"
#include "attn/threads.h"
#include "attention_variants.h"

namespace attn::test {
namespace {

struct Case {
  std::string name;
  int heads = 1, nq = 1, nk = 1, dk = 1, dv = 1, da = 0;
  Score score = Score::kDot;
  std::vector<float> q, k, v, W, Wq, Wk, va;
};

// Ordinary values on a grid, so that the rows without overflow are well conditioned.
std::vector<float> grid(size_t n, int salt) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = float(int((i * 37 + salt * 11) % 17) - 8) / 8.0f;
  return x;
}

// H = 2, Tq = 9 (rows past one SIMD micro-tile), Tk = 70 (past one 64-key tile), with row 5 of head 1 hostile.
Case base(const std::string& name, Score score, int dk, int dv) {
  Case c;
  c.name = name;
  c.heads = 2;
  c.nq = 9;
  c.nk = 70;
  c.dk = dk;
  c.dv = dv;
  c.score = score;
  c.q = grid(size_t(c.heads) * c.nq * dk, 1);
  c.k = grid(size_t(c.heads) * c.nk * dk, 2);
  c.v = grid(size_t(c.heads) * c.nk * dv, 3);
  return c;
}
float& q_at(Case& c, int h, int i, int d) { return c.q[(size_t(h) * c.nq + i) * c.dk + d]; }
float& k_at(Case& c, int h, int j, int d) { return c.k[(size_t(h) * c.nk + j) * c.dk + d]; }

std::vector<Case> cases() {
  std::vector<Case> out;
  {  // q = 1e30, k = +-1e30: scores +-1e60, every one non-finite in float
    Case c = base("dot_all_scores_overflow", Score::kDot, 3, 5);
    for (int d = 0; d < 3; ++d) q_at(c, 1, 5, d) = d == 0 ? 1e30f : 0.0f;
    for (int j = 0; j < c.nk; ++j) k_at(c, 1, j, 0) = (j % 3 == 0) ? 1e30f : -1e30f;
    out.push_back(c);
  }
  {  // q = 1e30, every k = -1e30: every score -INFINITY in float, which looked like a fully masked row
    Case c = base("dot_all_scores_minus_infinity", Score::kDot, 3, 5);
    q_at(c, 1, 5, 0) = 1e30f;
    for (int j = 0; j < c.nk; ++j) k_at(c, 1, j, 0) = -1e30f * (1.0f + 0.001f * j);
    out.push_back(c);
  }
  {  // one score overflows to +INFINITY (NaN weights before), the others ordinary
    Case c = base("dot_one_score_plus_infinity", Score::kScaledDot, 8, 8);
    // q' = 5e19 / sqrt(8) against k = 5e19 on dimension 0: 8.8e38 > FLT_MAX. The other rows of the head have
    // q[0] = 0, so that key 66 does not turn their scores into a cancellation of huge terms.
    for (int i = 0; i < c.nq; ++i) q_at(c, 1, i, 0) = i == 5 ? 5e19f : 0.0f;
    k_at(c, 1, 66, 0) = 5e19f;
    out.push_back(c);
  }
  {  // general: q W overflows in float (q' = +-INFINITY), the scores are finite in double
    Case c = base("general_transformed_query_overflows", Score::kGeneral, 4, 3);
    c.W = grid(size_t(c.dk) * c.dk, 4);
    for (int d = 0; d < 4; ++d) q_at(c, 1, 5, d) = 3e38f;
    out.push_back(c);
  }
  {  // additive: Wq q = +INFINITY and Wk k = -INFINITY in float (tanh(NaN) before), finite in double
    Case c = base("additive_projections_overflow", Score::kAdditive, 2, 4);
    c.da = 3;
    c.Wq = {1e20f, 0.5f, 0.25f, -0.5f, 1.0f, 0.75f};
    c.Wk = {1e20f, -0.5f, 0.5f, 0.25f, -1.0f, 0.5f};
    c.va = {1.0f, -0.5f, 0.25f};
    for (int h = 0; h < c.heads; ++h) q_at(c, h, 5, 0) = 1e20f;
    for (int j = 0; j < c.nk; ++j) k_at(c, 1, j, 0) = -1e20f * (1.0f + 0.01f * (j % 5));
    out.push_back(c);
  }
  {  // values near FLT_MAX: the float sum of weights x values overflows, the weighted mean does not
    Case c = base("values_sum_overflows", Score::kDot, 2, 3);
    for (int h = 0; h < c.heads; ++h)
      for (int j = 0; j < c.nk; ++j)
        for (int e = 0; e < c.dv; ++e) c.v[(size_t(h) * c.nk + j) * c.dv + e] = 3.0e38f;
    for (float& x : c.q) x = 0.0f;  // equal scores: every key weighs 1/Tk, the sum of exp is Tk
    out.push_back(c);
  }
  return out;
}

ScoreParams params_of(const Case& c) {
  ScoreParams p;
  p.score = c.score;
  if (c.score == Score::kGeneral) p.W = c.W.data();
  if (c.score == Score::kAdditive) {
    p.Wq = c.Wq.data();
    p.Wk = c.Wk.data();
    p.v = c.va.data();
    p.da = c.da;
  }
  return p;
}

bool finite(const std::vector<float>& x) {
  for (float f : x)
    if (!std::isfinite(f)) return false;
  return true;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << "[" << i << "] = " << got[i];
    // Ordinary rows: the optimized float kernels' usual tolerance; overflowed rows are recomputed in double.
    ASSERT_LE(std::fabs(double(got[i]) - double(want[i])), 1e-4 + 1e-4 * std::fabs(double(want[i])))
        << what << "[" << i << "]: " << got[i] << " vs reference " << want[i];
  }
}

TEST(Overflow, FiniteInputsNeverGiveNanOrAMaskedLookingRow) {
  for (const Case& c : cases()) {
    const ScoreParams sp = params_of(c);
    std::vector<uint8_t> allowed(size_t(c.nq) * c.nk);
    for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = (i * 7 % 5) != 0;
    for (MaskKind kind : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit}) {
      MaskParams mp;
      mp.kind = kind;
      if (kind == MaskKind::kExplicit) mp.allowed = allowed.data();
      const size_t n_out = size_t(c.heads) * c.nq * c.dv, n_w = size_t(c.heads) * c.nq * c.nk;
      std::vector<float> ref(n_out), wref(n_w);
      ASSERT_TRUE(attention_f32__reference(ref.data(), wref.data(), c.q.data(), c.k.data(), c.v.data(), sp, mp,
                                           c.heads, c.nq, c.nk, c.dk, c.dv));
      ASSERT_TRUE(finite(ref) && finite(wref)) << c.name << ": the reference itself overflowed";
      // The hostile row is a distribution (not the all-zero row of a fully masked query).
      double sum = 0;
      for (int j = 0; j < c.nk; ++j) sum += wref[(size_t(1) * c.nq + 5) * c.nk + j];
      EXPECT_NEAR(sum, 1.0, 1e-6) << c.name;
      for (const NamedVariant& variant : optimized_variants()) {
        const std::string what = c.name + " mask " + std::to_string(int(kind)) + " " + variant.name;
        std::vector<float> out(n_out, -1.0f), w(n_w, -1.0f), flash(n_out, -1.0f);
        ASSERT_TRUE(variant.fn(out.data(), w.data(), c.q.data(), c.k.data(), c.v.data(), sp, mp, c.heads, c.nq, c.nk,
                               c.dk, c.dv));
        ASSERT_TRUE(variant.fn(flash.data(), nullptr, c.q.data(), c.k.data(), c.v.data(), sp, mp, c.heads, c.nq,
                               c.nk, c.dk, c.dv));
        expect_close(w, wref, what + " weights");
        expect_close(out, ref, what + " out (with weights)");
        expect_close(flash, ref, what + " out (no weights)");
      }
    }
  }
}

}  // namespace
}  // namespace attn::test
