// T rows, I input dims, O output dims, D dims, V vocabulary rows, M model dims, H heads.
//
// The training ops other than attention (attn/backward.h): each backward of the double reference against
// float64 central differences of its forward (L = sum(dout * forward) or, for cross-entropy, the mean loss),
// then the float variants (reference, optimized) against the double backward, on odd shapes (1, tails of
// the SIMD width, repeated ids, ignored targets). The multi-head layer likewise, self and cross.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "attn/backward.h"
#include "attn/threads.h"
#include "gradient_check.h"
#include "reference/backward_reference.h"

namespace attn::test {
namespace {

constexpr double kNumericTol = 1e-7;  // central differences of a double forward, h = 1e-6
constexpr double kFloatTol = 2e-4;    // float variants against the double backward

std::vector<double> zeros_like(const std::vector<double>& v) { return std::vector<double>(v.size(), 0.0); }
std::vector<double> from_float(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

struct DenseShape {
  int t, in, out;
};

class DenseBackward : public ::testing::TestWithParam<DenseShape> {};

TEST_P(DenseBackward, MatchesCentralDifferencesAndVariants) {
  const int t = GetParam().t, in = GetParam().in, n_out = GetParam().out;  // (no structured bindings: lambdas below)
  std::mt19937 rng(t * 100 + in * 10 + n_out);
  auto x = rounded(uniform(rng, size_t(t) * in)), W = rounded(uniform(rng, size_t(in) * n_out));
  auto b = rounded(uniform(rng, n_out)), dout = rounded(uniform(rng, size_t(t) * n_out));
  auto dx = zeros_like(x), dW = zeros_like(W), db = zeros_like(b);
  reference::dense_backward(dx.data(), dW.data(), db.data(), dout.data(), x.data(), W.data(), t, in, n_out);
  std::vector<double> out(size_t(t) * n_out);
  auto loss = [&]() {
    reference::dense_forward(out.data(), x.data(), W.data(), b.data(), t, in, n_out);
    return dot(out, dout);
  };
  EXPECT_LE(relative_error(dx, central_differences(x, loss)), kNumericTol);
  EXPECT_LE(relative_error(dW, central_differences(W, loss)), kNumericTol);
  EXPECT_LE(relative_error(db, central_differences(b, loss)), kNumericTol);
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    const auto fx = to_float(x), fW = to_float(W), fb = to_float(b), fdout = to_float(dout);
    std::vector<float> fout(out.size()), gx(x.size()), gW(W.size()), gb(b.size());
    dense_forward_f32(fout.data(), fx.data(), fW.data(), fb.data(), t, in, n_out, variant);
    reference::dense_forward(out.data(), x.data(), W.data(), b.data(), t, in, n_out);
    EXPECT_LE(relative_error(fout, out), 1e-6);
    dense_backward_f32(gx.data(), gW.data(), gb.data(), fdout.data(), fx.data(), fW.data(), t, in, n_out, variant);
    EXPECT_LE(relative_error(gx, dx), kFloatTol);
    EXPECT_LE(relative_error(gW, dW), kFloatTol);
    EXPECT_LE(relative_error(gb, db), kFloatTol);
  }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, DenseBackward,
                         ::testing::Values(DenseShape{1, 1, 1}, DenseShape{3, 5, 7}, DenseShape{4, 8, 8},
                                           DenseShape{9, 13, 17}, DenseShape{33, 16, 9}),
                         [](const auto& info) {
                           return "t" + std::to_string(info.param.t) + "_i" + std::to_string(info.param.in) + "_o" +
                                  std::to_string(info.param.out);
                         });

// Large enough for the optimized dense backward to split its packed gemms over threads.
TEST(DenseBackward, OptimizedOnThreadsMatchesReference) {
  const int t = 96, in = 200, n_out = 260;
  std::mt19937 rng(3);
  const auto x = to_float(uniform(rng, size_t(t) * in)), W = to_float(uniform(rng, size_t(in) * n_out));
  const auto dout = to_float(uniform(rng, size_t(t) * n_out));
  std::vector<float> rx(x.size()), rW(W.size()), rb(n_out), ox(x.size()), oW(W.size()), ob(n_out);
  dense_backward_f32(rx.data(), rW.data(), rb.data(), dout.data(), x.data(), W.data(), t, in, n_out,
                     Variant::kReference);
  set_thread_count(2);
  dense_backward_f32(ox.data(), oW.data(), ob.data(), dout.data(), x.data(), W.data(), t, in, n_out,
                     Variant::kOptimized);
  set_thread_count(1);
  EXPECT_LE(relative_error(ox, rx), kFloatTol);
  EXPECT_LE(relative_error(oW, rW), kFloatTol);
  EXPECT_LE(relative_error(ob, rb), kFloatTol);
}

TEST(LayerNormBackward, MatchesCentralDifferencesAndVariants) {
  for (auto td : {std::pair{1, 1}, std::pair{1, 2}, std::pair{3, 5}, std::pair{4, 8}, std::pair{7, 33}}) {
    const int t = td.first, d = td.second;
    std::mt19937 rng(t * 50 + d);
    auto x = rounded(uniform(rng, size_t(t) * d, 2.0)), scale = rounded(uniform(rng, d, 1.5));
    auto bias = rounded(uniform(rng, d)), dout = rounded(uniform(rng, size_t(t) * d));
    const double eps = 1e-5;
    std::vector<double> out(x.size()), mean(t), rstd(t);
    reference::layer_norm_forward(out.data(), mean.data(), rstd.data(), x.data(), scale.data(), bias.data(), eps, t, d);
    auto dx = zeros_like(x), ds = zeros_like(scale), dbias = zeros_like(bias);
    reference::layer_norm_backward(dx.data(), ds.data(), dbias.data(), dout.data(), x.data(), mean.data(),
                                   rstd.data(), scale.data(), t, d);
    std::vector<double> o2(x.size()), m2(t), r2(t);
    auto loss = [&]() {
      reference::layer_norm_forward(o2.data(), m2.data(), r2.data(), x.data(), scale.data(), bias.data(), eps, t, d);
      return dot(o2, dout);
    };
    const std::string at = "t=" + std::to_string(t) + " d=" + std::to_string(d);
    // d = 1 and 2: the normalised row is 0 or +-1 whatever x is, so dx = 0; the floor keeps rounding noise on
    // both sides of that 0 from counting as an error.
    EXPECT_LE(relative_error(dx, central_differences(x, loss), 1e-3), 1e-6) << at;
    EXPECT_LE(relative_error(ds, central_differences(scale, loss), 1e-9), kNumericTol) << at;
    EXPECT_LE(relative_error(dbias, central_differences(bias, loss)), kNumericTol) << at;
    for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
      const auto fx = to_float(x), fs = to_float(scale), fb = to_float(bias), fd = to_float(dout);
      std::vector<float> fo(x.size()), fm(t), fr(t), gx(x.size()), gs(d), gb(d);
      layer_norm_forward_f32(fo.data(), fm.data(), fr.data(), fx.data(), fs.data(), fb.data(), float(eps), t, d,
                             variant);
      EXPECT_LE(relative_error(fo, out), 1e-5) << at;
      layer_norm_backward_f32(gx.data(), gs.data(), gb.data(), fd.data(), fx.data(), fm.data(), fr.data(), fs.data(),
                              t, d, variant);
      EXPECT_LE(relative_error(gx, dx, 1e-3), 1e-3) << at;  // rstd up to 1/sqrt(eps) when d = 1 or 2
      EXPECT_LE(relative_error(gs, ds), kFloatTol) << at;
      EXPECT_LE(relative_error(gb, dbias), kFloatTol) << at;
    }
  }
}

TEST(ActivationBackward, ReluAndGeluMatchCentralDifferencesAndVariants) {
  for (int n : {1, 3, 4, 5, 17}) {
    std::mt19937 rng(n);
    auto x = rounded(uniform(rng, n, 3.0)), dout = rounded(uniform(rng, n));
    for (auto& v : x)
      if (std::abs(v) < 1e-3) v = 0.5;  // keep ReLU's kink out of reach of the central difference
    std::vector<double> out(n);
    auto dx = zeros_like(x);
    reference::relu_backward(dx.data(), dout.data(), x.data(), n);
    auto relu_loss = [&]() {
      reference::relu_forward(out.data(), x.data(), n);
      return dot(out, dout);
    };
    EXPECT_LE(relative_error(dx, central_differences(x, relu_loss)), kNumericTol) << "relu n=" << n;
    auto gx = zeros_like(x);
    reference::gelu_backward(gx.data(), dout.data(), x.data(), n);
    auto gelu_loss = [&]() {
      reference::gelu_forward(out.data(), x.data(), n);
      return dot(out, dout);
    };
    EXPECT_LE(relative_error(gx, central_differences(x, gelu_loss)), kNumericTol) << "gelu n=" << n;
    for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
      const auto fx = to_float(x), fd = to_float(dout);
      std::vector<float> r(n), g(n), fo(n);
      relu_backward_f32(r.data(), fd.data(), fx.data(), n, variant);
      gelu_backward_f32(g.data(), fd.data(), fx.data(), n, variant);
      EXPECT_LE(relative_error(r, dx), 1e-7);
      EXPECT_LE(relative_error(g, gx), 1e-5);
      gelu_forward_f32(fo.data(), fx.data(), n, variant);
      reference::gelu_forward(out.data(), x.data(), n);
      EXPECT_LE(relative_error(fo, out), 1e-5);
    }
  }
}

TEST(ResidualBackward, AddsToBothAndToAnAliasTwice) {
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    const std::vector<float> dout{1.5f, -2.0f, 0.25f};
    std::vector<float> da{1, 1, 1}, db{0, 0, 0}, same{0, 0, 0}, out(3);
    residual_backward_f32(da.data(), db.data(), dout.data(), 3, variant);
    residual_backward_f32(same.data(), same.data(), dout.data(), 3, variant);
    residual_forward_f32(out.data(), dout.data(), da.data(), 3, variant);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(da[i], 1 + dout[i]);
      EXPECT_EQ(db[i], dout[i]);
      EXPECT_EQ(same[i], 2 * dout[i]);
      EXPECT_EQ(out[i], dout[i] + da[i]);
    }
  }
}

// Repeated ids: the table row gets the sum of every position's gradient.
TEST(EmbeddingBackward, ScatterAddsRepeatedIds) {
  const int vocab = 6, d = 5;
  const std::vector<int32_t> ids{2, 0, 2, 5, 2, 0, 1};
  const int t = int(ids.size());
  std::mt19937 rng(9);
  auto table = rounded(uniform(rng, size_t(vocab) * d)), dout = rounded(uniform(rng, size_t(t) * d));
  auto dtable = zeros_like(table);
  reference::embedding_backward(dtable.data(), dout.data(), ids.data(), t, vocab, d);
  std::vector<double> out(size_t(t) * d);
  auto loss = [&]() {
    reference::embedding_forward(out.data(), ids.data(), table.data(), t, vocab, d);
    return dot(out, dout);
  };
  EXPECT_LE(relative_error(dtable, central_differences(table, loss)), kNumericTol);
  for (int c = 0; c < d; ++c) EXPECT_EQ(dtable[3 * d + c], 0.0);  // id 3 is never used
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    const auto ft = to_float(table), fd = to_float(dout);
    std::vector<float> g(table.size()), fo(out.size());
    embedding_backward_f32(g.data(), fd.data(), ids.data(), t, vocab, d, variant);
    EXPECT_LE(relative_error(g, dtable), 1e-6);
    embedding_forward_f32(fo.data(), ids.data(), ft.data(), t, vocab, d, variant);
    reference::embedding_forward(out.data(), ids.data(), table.data(), t, vocab, d);
    EXPECT_EQ(relative_error(fo, out), 0.0);
  }
}

// The mean loss over the rows whose target is not ignored; ignored rows get no gradient.
TEST(CrossEntropyBackward, MatchesCentralDifferencesWithPaddingIgnored) {
  const int32_t ignore = -100;
  for (auto tv : {std::pair{1, 1}, std::pair{1, 3}, std::pair{5, 7}, std::pair{6, 33}}) {
    const int t = tv.first, vocab = tv.second;
    std::vector<int32_t> targets(t);
    for (int r = 0; r < t; ++r) targets[r] = (r * 5 + 1) % vocab;
    if (t > 2) targets[1] = targets[t - 1] = ignore;
    std::mt19937 rng(t * 7 + vocab);
    auto logits = rounded(uniform(rng, size_t(t) * vocab, 4.0));
    if (t > 2) logits[0] = 95.0;  // beyond expf's range: the max-shift is needed
    auto dlogits = zeros_like(logits);
    const double dloss = 1.7;
    reference::cross_entropy_backward(dlogits.data(), dloss, logits.data(), targets.data(), t, vocab, ignore);
    auto loss = [&]() {
      return dloss * reference::cross_entropy_forward<double>(nullptr, nullptr, nullptr, logits.data(), targets.data(),
                                                              t, vocab, ignore);
    };
    const std::string at = "t=" + std::to_string(t) + " V=" + std::to_string(vocab);
    EXPECT_LE(relative_error(dlogits, central_differences(logits, loss), 1e-9), kNumericTol) << at;
    if (t > 2)
      for (int c = 0; c < vocab; ++c) EXPECT_EQ(dlogits[size_t(1) * vocab + c], 0.0) << at;
    for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
      const auto fz = to_float(logits);
      std::vector<float> losses(t), rmax(t), rsum(t), g(logits.size());
      const float mean = cross_entropy_forward_f32(losses.data(), rmax.data(), rsum.data(), fz.data(), targets.data(),
                                                   t, vocab, ignore, variant);
      const double want = reference::cross_entropy_forward<double>(nullptr, nullptr, nullptr, logits.data(),
                                                                   targets.data(), t, vocab, ignore);
      EXPECT_NEAR(mean, want, 1e-5 * std::max(1.0, want)) << at;
      cross_entropy_backward_f32(g.data(), float(dloss), fz.data(), rmax.data(), rsum.data(), targets.data(), t,
                                 vocab, ignore, variant);
      EXPECT_LE(relative_error(g, dlogits, 1e-9), kFloatTol) << at;
    }
  }
  // Every row ignored: loss 0, no gradient.
  const std::vector<float> z{1, 2, 3};
  const std::vector<int32_t> none{ignore};
  std::vector<float> losses(1), rmax(1), rsum(1), g(3);
  EXPECT_EQ(cross_entropy_forward_f32(losses.data(), rmax.data(), rsum.data(), z.data(), none.data(), 1, 3, ignore,
                                      Variant::kOptimized),
            0.0f);
  cross_entropy_backward_f32(g.data(), 1.0f, z.data(), rmax.data(), rsum.data(), none.data(), 1, 3, ignore,
                             Variant::kOptimized);
  for (float v : g) EXPECT_EQ(v, 0.0f);
}

// ---- the multi-head layer ----

struct MhShape {
  Score score;
  MaskKind mask;
  bool self;
  int nq, nk, m, heads, da;
};

class MultiHeadBackward : public ::testing::TestWithParam<MhShape> {};

TEST_P(MultiHeadBackward, MatchesCentralDifferencesAndVariants) {
  const MhShape s = GetParam();
  const int nk = s.self ? s.nq : s.nk, m = s.m, dh = m / s.heads;
  std::mt19937 rng(s.nq * 13 + nk + int(s.score) * 3 + int(s.mask));
  auto x = rounded(uniform(rng, size_t(s.nq) * m)), ctx = rounded(uniform(rng, size_t(nk) * m));
  std::vector<std::vector<double>> Wb;  // Wq bq Wk bk Wv bv Wo bo
  for (int p = 0; p < 4; ++p) {
    Wb.push_back(rounded(uniform(rng, size_t(m) * m, 0.6)));
    Wb.push_back(rounded(uniform(rng, m, 0.3)));
  }
  std::vector<double> W, Wq, Wk, va;
  if (s.score == Score::kGeneral) W = rounded(uniform(rng, size_t(dh) * dh, 0.7));
  if (s.score == Score::kAdditive) {
    Wq = rounded(uniform(rng, size_t(s.da) * dh, 0.8));
    Wk = rounded(uniform(rng, size_t(s.da) * dh, 0.8));
    va = rounded(uniform(rng, s.da, 1.2));
  }
  auto dout = rounded(uniform(rng, size_t(s.nq) * m));
  std::vector<uint8_t> allowed(size_t(s.nq) * nk, 1);
  for (size_t e = 0; e < allowed.size(); ++e) allowed[e] = (e * 7 + 3) % 5 != 0;
  if (s.nq > 1) for (int j = 0; j < nk; ++j) allowed[size_t(nk) + j] = 0;  // row 1 sees no key
  MaskParams mask;
  mask.kind = s.mask;
  if (s.mask == MaskKind::kExplicit) mask.allowed = allowed.data();

  auto params_d = [&]() {
    reference::MultiHeadParamsT<double> p;
    p.q = {Wb[0].data(), Wb[1].data()};
    p.k = {Wb[2].data(), Wb[3].data()};
    p.v = {Wb[4].data(), Wb[5].data()};
    p.o = {Wb[6].data(), Wb[7].data()};
    return p;
  };
  reference::ScoreParamsT<double> sp;
  sp.score = s.score;
  sp.W = W.empty() ? nullptr : W.data();
  sp.Wq = Wq.empty() ? nullptr : Wq.data();
  sp.Wk = Wk.empty() ? nullptr : Wk.data();
  sp.v = va.empty() ? nullptr : va.data();
  sp.da = s.da;
  const double* context = s.self ? x.data() : ctx.data();
  std::vector<double> out(size_t(s.nq) * m), saved(multi_head_saved_size(s.nq, nk, m, s.heads));
  reference::multi_head_forward(out.data(), saved.data(), x.data(), context, params_d(), sp, mask, s.nq, nk, m,
                                s.heads);
  // The double backward; for self-attention dcontext is dx.
  auto dx = zeros_like(x), dctx = zeros_like(ctx), dW = zeros_like(W), dWq = zeros_like(Wq), dWk = zeros_like(Wk),
       dva = zeros_like(va);
  std::vector<std::vector<double>> dWb;
  for (auto& p : Wb) dWb.push_back(zeros_like(p));
  reference::MultiHeadGradsT<double> g;
  g.q = {dWb[0].data(), dWb[1].data()};
  g.k = {dWb[2].data(), dWb[3].data()};
  g.v = {dWb[4].data(), dWb[5].data()};
  g.o = {dWb[6].data(), dWb[7].data()};
  reference::ScoreGradsT<double> sg{W.empty() ? nullptr : dW.data(), Wq.empty() ? nullptr : dWq.data(),
                                    Wk.empty() ? nullptr : dWk.data(), va.empty() ? nullptr : dva.data()};
  reference::multi_head_backward(dx.data(), s.self ? dx.data() : dctx.data(), g, sg, dout.data(), saved.data(),
                                 x.data(), context, params_d(), sp, mask, s.nq, nk, m, s.heads);
  std::vector<double> o2(out.size()), sv2(saved.size());
  auto loss = [&]() {
    reference::multi_head_forward(o2.data(), sv2.data(), x.data(), s.self ? x.data() : ctx.data(), params_d(), sp,
                                  mask, s.nq, nk, m, s.heads);
    return dot(o2, dout);
  };
  // A deeper graph than one op: central differences carry about 1e-9 of noise, so 1e-6 of the tensor's largest
  // gradient (a floor of 1e-3, about that of the other tensors); dbk is exactly 0 for the dot-product scores (a shift of every key by the same vector adds the same
  // to every score of a row), hence the floor.
  const double ntol = 1e-6, floor = 1e-3;
  auto num = [&](std::vector<double>& p) { return central_differences(p, loss); };
  EXPECT_LE(relative_error(dx, num(x), floor), ntol) << "dx";
  if (!s.self) EXPECT_LE(relative_error(dctx, num(ctx), floor), ntol) << "dcontext";
  static const char* names[] = {"dWq", "dbq", "dWk", "dbk", "dWv", "dbv", "dWo", "dbo"};
  for (int p = 0; p < 8; ++p) EXPECT_LE(relative_error(dWb[p], num(Wb[p]), floor), ntol) << names[p];
  if (!W.empty()) EXPECT_LE(relative_error(dW, num(W), floor), ntol) << "dW";
  if (!Wq.empty()) {
    EXPECT_LE(relative_error(dWq, num(Wq), floor), ntol) << "score dWq";
    EXPECT_LE(relative_error(dWk, num(Wk), floor), ntol) << "score dWk";
    EXPECT_LE(relative_error(dva, num(va), floor), ntol) << "score dv";
  }

  // The float variants against the double backward.
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    const auto fx = to_float(x), fctx = to_float(ctx), fdout = to_float(dout);
    std::vector<std::vector<float>> fWb;
    for (auto& p : Wb) fWb.push_back(to_float(p));
    const auto fW = to_float(W), fWq = to_float(Wq), fWk = to_float(Wk), fva = to_float(va);
    MultiHeadParams mp;
    mp.q = {fWb[0].data(), fWb[1].data()};
    mp.k = {fWb[2].data(), fWb[3].data()};
    mp.v = {fWb[4].data(), fWb[5].data()};
    mp.o = {fWb[6].data(), fWb[7].data()};
    ScoreParams fsp;
    fsp.score = s.score;
    fsp.W = fW.empty() ? nullptr : fW.data();
    fsp.Wq = fWq.empty() ? nullptr : fWq.data();
    fsp.Wk = fWk.empty() ? nullptr : fWk.data();
    fsp.v = fva.empty() ? nullptr : fva.data();
    fsp.da = s.da;
    const float* fcontext = s.self ? fx.data() : fctx.data();
    std::vector<float> fout(out.size()), fsaved(saved.size());
    multi_head_attention_forward_f32(fout.data(), fsaved.data(), fx.data(), fcontext, mp, fsp, mask, s.nq, nk, m,
                                     s.heads, variant);
    EXPECT_LE(relative_error(fout, out), 1e-5);
    std::vector<float> gx(x.size()), gctx(ctx.size()), gW(W.size()), gWq(Wq.size()), gWk(Wk.size()), gva(va.size());
    std::vector<std::vector<float>> gWb;
    for (auto& p : Wb) gWb.push_back(std::vector<float>(p.size()));
    MultiHeadGrads mg;
    mg.q = {gWb[0].data(), gWb[1].data()};
    mg.k = {gWb[2].data(), gWb[3].data()};
    mg.v = {gWb[4].data(), gWb[5].data()};
    mg.o = {gWb[6].data(), gWb[7].data()};
    ScoreGrads fsg;
    fsg.dW = gW.empty() ? nullptr : gW.data();
    fsg.dWq = gWq.empty() ? nullptr : gWq.data();
    fsg.dWk = gWk.empty() ? nullptr : gWk.data();
    fsg.dv = gva.empty() ? nullptr : gva.data();
    multi_head_attention_backward_f32(gx.data(), s.self ? gx.data() : gctx.data(), mg, fsg, fdout.data(),
                                      fsaved.data(), fx.data(), fcontext, mp, fsp, mask, s.nq, nk, m, s.heads, variant);
    // Float through four dense layers and attention; the floor: float rounding leaves dbk near 1e-8, not 0.
    const double tol = 5e-4, ffloor = 1e-3;
    EXPECT_LE(relative_error(gx, dx, ffloor), tol) << "dx";
    if (!s.self) EXPECT_LE(relative_error(gctx, dctx, ffloor), tol) << "dcontext";
    for (int p = 0; p < 8; ++p) EXPECT_LE(relative_error(gWb[p], dWb[p], ffloor), tol) << names[p];
    if (!W.empty()) EXPECT_LE(relative_error(gW, dW, ffloor), tol) << "dW";
    if (!Wq.empty()) {
      EXPECT_LE(relative_error(gWq, dWq, ffloor), tol);
      EXPECT_LE(relative_error(gWk, dWk, ffloor), tol);
      EXPECT_LE(relative_error(gva, dva, ffloor), tol);
    }
  }
}

std::vector<MhShape> mh_shapes() {
  std::vector<MhShape> out;
  for (Score score : {Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive})
    for (MaskKind mask : {MaskKind::kNone, MaskKind::kCausal, MaskKind::kExplicit}) {
      out.push_back({score, mask, true, 3, 3, 4, 2, 3});
      out.push_back({score, mask, false, 5, 3, 6, 3, 2});  // cross, causal Tq > Tk
      out.push_back({score, mask, false, 2, 4, 4, 1, 2});
    }
  return out;
}

std::string mh_name(const ::testing::TestParamInfo<MhShape>& info) {
  static const char* scores[] = {"dot", "scaled", "general", "additive"};
  static const char* masks[] = {"none", "causal", "explicit"};
  const MhShape& s = info.param;
  return std::string(scores[int(s.score)]) + "_" + masks[int(s.mask)] + (s.self ? "_self" : "_cross") + "_q" +
         std::to_string(s.nq) + "_k" + std::to_string(s.nk) + "_h" + std::to_string(s.heads);
}

INSTANTIATE_TEST_SUITE_P(SelfAndCross, MultiHeadBackward, ::testing::ValuesIn(mh_shapes()), mh_name);

}  // namespace
}  // namespace attn::test
