// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims.
//
// The attention tester: every optimized variant compiled into this build (scalar always, wasmsimd in the SIMD
// build, and the attention_f32 dispatch) against the reference, on every case of tests/cases/attention_cases.json,
// with and without weights, with an absolute + relative tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "attn/attention.h"
#include "attn/threads.h"
#include "attention_variants.h"
#include "case_inputs.h"

namespace attn::test {
namespace {

struct Param {
  AttentionCase c;
  NamedVariant variant;
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.c.name << " / " << p.variant.name; }

std::vector<Param> params() {
  std::vector<Param> out;
  for (const auto& c : load_attention_cases())
    for (const auto& v : optimized_variants()) out.push_back({c, v});
  return out;
}

double max_abs(const std::vector<float>& x) {
  double m = 0.0;
  for (float f : x) m = std::max(m, double(std::fabs(f)));
  return m;
}

double row_norm_max(const std::vector<float>& x, size_t rows, size_t cols) {
  double m = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (size_t c = 0; c < cols; ++c) s += double(x[r * cols + c]) * x[r * cols + c];
    m = std::max(m, std::sqrt(s));
  }
  return m;
}

// A bound on |score|, from which the float rounding of a score follows: |delta s| ~ eps_f32 * sqrt(D) * L.
// dot kinds: |q.k| <= |q| |k| (|W|_F for general); additive: |s| <= sum |v|.
double logit_bound(const AttentionCase& c, const AttentionInputs& in) {
  const double q = row_norm_max(in.q, in.q.size() / c.dk, c.dk), k = row_norm_max(in.k, in.k.size() / c.dk, c.dk);
  switch (c.score) {
    case Score::kDot: return q * k;
    case Score::kScaledDot: return q * k / std::sqrt(double(c.dk));
    case Score::kGeneral: return q * k * row_norm_max(in.sp.W, 1, in.sp.W.size());
    case Score::kAdditive: {
      double s = 0.0;
      for (float v : in.sp.v) s += std::fabs(v);
      return s;
    }
  }
  return 0.0;
}

class AttentionTester : public ::testing::TestWithParam<Param> {};

// |got - want| <= atol + rtol |want|, element by element, reporting the worst element.
void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  size_t worst = 0, bad = 0;
  double worst_excess = -1.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(want[i]));
    const double tol = atol + rtol * std::fabs(double(want[i]));
    if (!(err <= tol)) ++bad;  // also catches NaN
    const double excess = std::isnan(err) ? INFINITY : err - tol;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " elements off; worst at " << worst
                     << ": got " << got[worst] << ", want " << want[worst] << " (atol " << atol << ", rtol "
                     << rtol << ")";
}

// Runs `variant` with and without weights on the inputs of case c and compares with the reference.
void expect_matches_reference(const AttentionCase& c, const AttentionInputs& in, const NamedVariant& variant) {
  const ScoreParams sp = in.score_params(c);
  const MaskParams mp = in.mask_params(c);
  const size_t out_n = size_t(c.heads) * c.nq * c.dv, w_n = size_t(c.heads) * c.nq * c.nk;

  std::vector<float> ref_out(out_n), ref_w(w_n);
  attention_f32__reference(ref_out.data(), ref_w.data(), in.q.data(), in.k.data(), in.v.data(), sp, mp, c.heads,
                           c.nq, c.nk, c.dk, c.dv);
  for (float x : ref_out) ASSERT_TRUE(std::isfinite(x)) << "reference output not finite";

  // Tolerance. The reference accumulates in double; the variants in float, and they transform the query first
  // (q/sqrt(D), q W), so each score carries a rounding error of about eps_f32 sqrt(D) L for a logit bound L.
  // A score error delta moves a weight by about delta (relative), hence an output by delta * max|v|. Long rows
  // (n = 4096) with logits ~100 are the loosest; small cases sit at a few ulps.
  const double L = logit_bound(c, in);
  const double delta = 4.0 * 6e-8 * std::sqrt(double(std::max(c.dk, c.score == Score::kAdditive ? c.da : 1))) *
                       std::max(1.0, L);
  const double vmax = std::max(1e-30, max_abs(in.v));
  const double out_atol = 4e-6 * vmax + 2.0 * delta * vmax;
  const double w_atol = 2e-6 + 2.0 * delta;
  const double rtol = 1e-5;

  for (bool with_weights : {false, true}) {
    std::vector<float> out(out_n, NAN), w(with_weights ? w_n : 0, NAN);
    variant.fn(out.data(), with_weights ? w.data() : nullptr, in.q.data(), in.k.data(), in.v.data(), sp, mp,
               c.heads, c.nq, c.nk, c.dk, c.dv);
    const std::string tag = std::string(variant.name) + (with_weights ? " (with weights)" : " (no weights)");
    expect_near_all(out, ref_out, out_atol, rtol, tag + " output");
    if (with_weights) expect_near_all(w, ref_w, w_atol, rtol, tag + " weights");
  }
}

TEST_P(AttentionTester, MatchesReference) {
  const Param& p = GetParam();
  expect_matches_reference(p.c, generate(p.c), p.variant);
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  std::string s = info.param.c.name + "_" + info.param.variant.name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(SharedCases, AttentionTester, ::testing::ValuesIn(params()), param_name);

// Edges of the blocked kernels that the shared cases touch only in small sizes: several query blocks (Bq = 32)
// and key tiles (Bk = 64) with Tq not a multiple of MR = 4 and Tk not a multiple of NR = 8 (the weights rows,
// of stride Tk, end in a partial panel), causal with Tq < Tk and Tq > Tk (whose first rows see no key), and
// explicit masks with fully masked rows and with a whole key tile masked for some rows.
TEST(AttentionEdges, BlockedPathsMatchReference) {
  struct Edge {
    AttentionCase c;
    bool mask_holes;  // explicit: zero rows 0, 5, 33, 34 and keys 64..127 of every third row
  };
  auto make = [](const char* name, Score score, MaskKind mask, int heads, int nq, int nk, int dk, int dv, int da,
                 uint32_t seed, double scale) {
    AttentionCase c;
    c.name = name, c.score = score, c.mask = mask, c.heads = heads, c.nq = nq, c.nk = nk, c.dk = dk, c.dv = dv;
    c.da = da, c.seed = seed, c.scale = scale, c.param_scale = 0.5;
    return c;
  };
  const std::vector<Edge> edges = {
      {make("none_q70_k203", Score::kScaledDot, MaskKind::kNone, 2, 70, 203, 64, 64, 0, 901, 2.0), false},
      {make("causal_q70_k203", Score::kScaledDot, MaskKind::kCausal, 1, 70, 203, 32, 24, 0, 902, 2.0), false},
      {make("causal_q203_k70", Score::kDot, MaskKind::kCausal, 1, 203, 70, 16, 17, 0, 903, 1.0), false},
      {make("causal_q129_k129", Score::kScaledDot, MaskKind::kCausal, 2, 129, 129, 64, 64, 0, 904, 3.0), false},
      {make("explicit_holes_q67_k150", Score::kScaledDot, MaskKind::kExplicit, 2, 67, 150, 64, 40, 0, 905, 2.0),
       true},
      {make("general_explicit_holes_q35_k131", Score::kGeneral, MaskKind::kExplicit, 1, 35, 131, 8, 8, 0, 906, 1.0),
       true},
      {make("additive_causal_q37_k75", Score::kAdditive, MaskKind::kCausal, 1, 37, 75, 8, 9, 6, 907, 1.0), false},
      {make("none_q1_k1000", Score::kScaledDot, MaskKind::kNone, 1, 1, 1000, 64, 64, 0, 908, 4.0), false},
  };
  for (const Edge& e : edges) {
    SCOPED_TRACE(e.c.name);
    AttentionInputs in = generate(e.c);
    if (e.mask_holes) {
      for (int i : {0, 5, 33, 34})
        if (i < e.c.nq) std::fill(&in.allowed[size_t(i) * e.c.nk], &in.allowed[size_t(i + 1) * e.c.nk], 0);
      for (int i = 1; i < e.c.nq; i += 3)
        for (int j = 64; j < std::min(128, e.c.nk); ++j) in.allowed[size_t(i) * e.c.nk + j] = 0;
    }
    for (const auto& v : optimized_variants()) expect_matches_reference(e.c, in, v);
  }
}

// The reference itself on the shared cases: weights rows sum to 1, or are all 0 exactly when every key of the
// row is masked; masked keys get weight 0.
TEST(AttentionReference, SharedCasesWeightsAreDistributions) {
  for (const auto& c : load_attention_cases()) {
    if (size_t(c.nq) * c.nk * c.heads > 300000) continue;  // the long rows: covered by the tester above
    SCOPED_TRACE(c.name);
    const AttentionInputs in = generate(c);
    const MaskParams mp = in.mask_params(c);
    std::vector<float> out(size_t(c.heads) * c.nq * c.dv), w(size_t(c.heads) * c.nq * c.nk);
    attention_f32__reference(out.data(), w.data(), in.q.data(), in.k.data(), in.v.data(), in.score_params(c), mp,
                             c.heads, c.nq, c.nk, c.dk, c.dv);
    for (int h = 0; h < c.heads; ++h)
      for (int i = 0; i < c.nq; ++i) {
        double sum = 0.0;
        int allowed = 0;
        for (int j = 0; j < c.nk; ++j) {
          const bool ok = mp.kind == MaskKind::kNone ||
                          (mp.kind == MaskKind::kCausal && causal_allows(i, j, c.nq, c.nk)) ||
                          (mp.kind == MaskKind::kExplicit && mp.allowed[size_t(i) * c.nk + j]);
          const float wij = w[(size_t(h) * c.nq + i) * c.nk + j];
          if (!ok) ASSERT_EQ(wij, 0.0f);
          ASSERT_GE(wij, 0.0f);
          allowed += ok;
          sum += wij;
        }
        if (allowed) ASSERT_NEAR(sum, 1.0, 1e-5);
        else ASSERT_EQ(sum, 0.0);
      }
  }
}

TEST(AttentionCases, CoverWhatTheyClaim) {
  const auto cases = load_attention_cases();
  bool grid[4][3] = {};
  bool heads1 = false, heads3 = false, heads12 = false, q_lt_k = false, q_gt_k = false, long_rows = false;
  bool causal_lt = false, causal_gt = false, fully_masked_explicit = false;
  std::vector<int> dims, keys;
  for (const auto& c : cases) {
    grid[int(c.score)][int(c.mask)] = true;
    heads1 |= c.heads == 1, heads3 |= c.heads == 3, heads12 |= c.heads == 12;
    q_lt_k |= c.nq < c.nk, q_gt_k |= c.nq > c.nk;
    causal_lt |= c.mask == MaskKind::kCausal && c.nq < c.nk;
    causal_gt |= c.mask == MaskKind::kCausal && c.nq > c.nk;
    long_rows |= c.nk == 4096 && c.dk == 64;
    dims.push_back(c.dk), dims.push_back(c.dv), keys.push_back(c.nk);
    if (c.mask == MaskKind::kExplicit && !fully_masked_explicit) {
      const AttentionInputs in = generate(c);
      for (int i = 0; i < c.nq && !fully_masked_explicit; ++i)
        fully_masked_explicit = std::none_of(&in.allowed[size_t(i) * c.nk], &in.allowed[size_t(i + 1) * c.nk],
                                             [](uint8_t a) { return a != 0; });
    }
  }
  for (int s = 0; s < 4; ++s)
    for (int m = 0; m < 3; ++m) EXPECT_TRUE(grid[s][m]) << "score " << s << " x mask " << m;
  EXPECT_TRUE(heads1 && heads3 && heads12 && q_lt_k && q_gt_k && causal_lt && causal_gt && long_rows);
  EXPECT_TRUE(fully_masked_explicit);
  for (int d : {1, 3, 4, 5, 8, 16, 63, 64, 65}) EXPECT_NE(std::count(dims.begin(), dims.end(), d), 0) << d;
  for (int n : {1, 3, 4, 5, 17, 64, 130}) EXPECT_NE(std::count(keys.begin(), keys.end(), n), 0) << n;
}

#if defined(__wasm_simd128__)
// The wasmsimd tilings that only remove work give the same bits as tiling 4 (no fused stats, exp with its
// cutoff mask): 6 (row max, min and finiteness from the score micro-kernel) and 0 (6 + exp without the cutoff
// where a row's scores all lie within it of the max, + V in column panels for wide V), with and without
// weights. Scales 1 (every row within the cutoff) and 8 (score ranges past it, so the mask stays on), Tk a
// multiple of NR and not (a padded last panel), no mask, causal, explicit (tiles without stats), and a row
// that overflows float32 (recomputed in double).
TEST(AttentionTiling, StatsTilingsGiveTheSameBits) {
  const int dk = 64;
  unsigned seed = 777;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return float(int(seed >> 9) - (1 << 22)) / float(1 << 22);
  };
  struct Shape {
    int heads, nq, nk, dv;
  };
  for (const Shape s : {Shape{2, 70, 256, 64}, Shape{1, 37, 203, 24}, Shape{1, 64, 136, 96}})
    for (float scale : {1.0f, 8.0f})
      for (MaskKind kind : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit})
        for (bool with_weights : {false, true}) {
          SCOPED_TRACE(::testing::Message() << "H=" << s.heads << " Tq=" << s.nq << " Tk=" << s.nk << " Dv=" << s.dv
                                            << " scale " << scale << " mask " << int(kind) << " weights "
                                            << with_weights);
          std::vector<float> q(size_t(s.heads) * s.nq * dk), k(size_t(s.heads) * s.nk * dk),
              v(size_t(s.heads) * s.nk * s.dv);
          for (float& f : q) f = scale * next();
          for (float& f : k) f = scale * next();
          for (float& f : v) f = next();
          std::fill(q.begin() + 5 * dk, q.begin() + 6 * dk, 1e30f);  // row 5 of head 0 overflows
          std::vector<uint8_t> allowed(size_t(s.nq) * s.nk);
          for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = next() > -0.8f;
          ScoreParams sp;
          MaskParams mp;
          mp.kind = kind;
          if (kind == MaskKind::kExplicit) mp.allowed = allowed.data();
          const size_t out_n = size_t(s.heads) * s.nq * s.dv, w_n = with_weights ? size_t(s.heads) * s.nq * s.nk : 0;
          auto run = [&](auto fn, std::vector<float>& out, std::vector<float>& w) {
            out.assign(out_n, NAN);
            w.assign(w_n, NAN);
            ASSERT_TRUE(fn(out.data(), with_weights ? w.data() : nullptr, q.data(), k.data(), v.data(), sp, mp,
                           s.heads, s.nq, s.nk, dk, s.dv));
          };
          std::vector<float> want, want_w, got, got_w;
          run(&wasmsimd_tiling<4>, want, want_w);
          for (auto [name, fn] : {std::pair{"tiling 6", &wasmsimd_tiling<6>}, std::pair{"tiling 0", &wasmsimd_tiling<0>}}) {
            SCOPED_TRACE(name);
            run(fn, got, got_w);
            ASSERT_EQ(std::memcmp(got.data(), want.data(), out_n * sizeof(float)), 0) << "output";
            ASSERT_EQ(std::memcmp(got_w.data(), want_w.data(), w_n * sizeof(float)), 0) << "weights";
          }
        }
}
#endif

#if defined(ATTN_THREADS) && ATTN_THREADS
// The split over threads on shapes the shared cases leave out (causal with Tq > Tk, fully masked rows, heads
// fewer and more than the threads): 3 threads against 1 thread of the same kernel. A query row gets the same
// kernel arithmetic in either split, so the two agree to a few ulps.
TEST(AttentionThreads, SplitMatchesOneThread) {
  struct Shape {
    int heads, nq, nk;
  };
  const int dk = 16, dv = 12;
  unsigned seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return float(int(seed >> 9) - (1 << 22)) / float(1 << 22);
  };
  for (const Shape s : {Shape{1, 600, 300}, Shape{1, 160, 1000}, Shape{2, 400, 401}, Shape{5, 192, 160}})
    for (MaskKind kind : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit})
      for (bool with_weights : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "H=" << s.heads << " Tq=" << s.nq << " Tk=" << s.nk << " mask "
                                          << int(kind) << " weights " << with_weights);
        std::vector<float> q(size_t(s.heads) * s.nq * dk), k(size_t(s.heads) * s.nk * dk),
            v(size_t(s.heads) * s.nk * dv);
        for (auto* x : {&q, &k, &v})
          for (float& f : *x) f = next();
        std::vector<uint8_t> allowed(size_t(s.nq) * s.nk);
        for (size_t i = 0; i < allowed.size(); ++i) allowed[i] = (i / s.nk) % 7 == 3 ? 0 : (next() > -0.5f);
        ScoreParams sp;
        MaskParams mp;
        mp.kind = kind;
        if (kind == MaskKind::kExplicit) mp.allowed = allowed.data();
        const size_t out_n = size_t(s.heads) * s.nq * dv, w_n = with_weights ? size_t(s.heads) * s.nq * s.nk : 0;
        std::vector<float> one(out_n, NAN), one_w(w_n, NAN), three(out_n, NAN), three_w(w_n, NAN);
        attention_f32(one.data(), with_weights ? one_w.data() : nullptr, q.data(), k.data(), v.data(), sp, mp,
                      s.heads, s.nq, s.nk, dk, dv, Variant::kOptimized);
        ASSERT_EQ(set_thread_count(3), 3);
        attention_f32(three.data(), with_weights ? three_w.data() : nullptr, q.data(), k.data(), v.data(), sp, mp,
                      s.heads, s.nq, s.nk, dk, dv, Variant::kOptimized);
        set_thread_count(1);
        expect_near_all(three, one, 1e-6, 1e-6, "output");
        expect_near_all(three_w, one_w, 1e-7, 1e-6, "weights");
      }
}
#endif

}  // namespace
}  // namespace attn::test
