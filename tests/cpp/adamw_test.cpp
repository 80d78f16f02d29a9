// N parameters, S steps.
//
// AdamW (wasm/include/attn/adamw.h) against a double reference of the same update written out here from the
// paper's algorithm: bias correction, decoupled weight decay on matrices only, global-norm clipping and the
// warm-up + cosine schedule; and determinism (the same bits twice).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "attn/adamw.h"

namespace attn::test {
namespace {

// A fixed stream of floats in [-scale, scale) (xorshift32), the same on every build.
std::vector<float> stream(uint32_t seed, size_t n, float scale) {
  std::vector<float> out(n);
  uint32_t s = seed * 2654435761u + 1;
  for (auto& x : out) {
    s ^= s << 13, s ^= s >> 17, s ^= s << 5;
    x = scale * (float(s >> 8) / float(1 << 24) * 2.0f - 1.0f);
  }
  return out;
}

double reference_lr(const AdamWConfig& c, int s) {
  if (s <= c.warmup_steps) return double(c.lr) * s / c.warmup_steps;
  const double t = std::fmin(1.0, double(s - c.warmup_steps) / (c.decay_steps - c.warmup_steps));
  return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * t)));
}

struct RefTensor {
  std::vector<double> p, m, v;
  bool decay;
};

// The whole update in double: p, m, v per tensor; grads per step.
void reference_step(std::vector<RefTensor>& ts, const std::vector<std::vector<float>>& grads, const AdamWConfig& c,
                    int s) {
  double sq = 0;
  for (const auto& g : grads)
    for (float x : g) sq += double(x) * x;
  const double norm = std::sqrt(sq);
  const double clip = c.clip_norm > 0 && norm > c.clip_norm ? c.clip_norm / norm : 1.0;
  const double lr = reference_lr(c, s);
  for (size_t k = 0; k < ts.size(); ++k) {
    auto& t = ts[k];
    for (size_t i = 0; i < t.p.size(); ++i) {
      const double g = clip * grads[k][i];
      t.m[i] = c.beta1 * t.m[i] + (1 - c.beta1) * g;
      t.v[i] = c.beta2 * t.v[i] + (1 - c.beta2) * g * g;
      const double mhat = t.m[i] / (1 - std::pow(double(c.beta1), s));
      const double vhat = t.v[i] / (1 - std::pow(double(c.beta2), s));
      t.p[i] -= lr * (mhat / (std::sqrt(vhat) + c.eps) + (t.decay ? c.weight_decay * t.p[i] : 0.0));
    }
  }
}

TEST(AdamW, ScheduleWarmsUpThenDecaysAlongACosine) {
  AdamWConfig c;
  c.lr = 0.01f, c.warmup_steps = 10, c.decay_steps = 110, c.min_lr_ratio = 0.1f;
  EXPECT_FLOAT_EQ(adamw_learning_rate(c, 1), 0.001f);
  EXPECT_FLOAT_EQ(adamw_learning_rate(c, 10), 0.01f);
  EXPECT_FLOAT_EQ(adamw_learning_rate(c, 60), 0.01f * (0.1f + 0.9f * 0.5f));
  EXPECT_FLOAT_EQ(adamw_learning_rate(c, 110), 0.001f);
  EXPECT_FLOAT_EQ(adamw_learning_rate(c, 500), 0.001f);
  for (int s = 1; s < 200; ++s) EXPECT_NEAR(adamw_learning_rate(c, s), reference_lr(c, s), 1e-9) << "step " << s;
}

// Two tensors (a matrix with decay, a vector without), 30 steps with and without clipping, against the double
// reference: the float update stays within 1e-5 of it (relative to the parameter scale, ~0.5).
TEST(AdamW, MatchesTheDoubleReferenceWithClippingAndDecay) {
  for (float clip : {0.0f, 0.05f}) {
    AdamWConfig c;
    c.lr = 0.01f, c.weight_decay = 0.1f, c.clip_norm = clip, c.warmup_steps = 5, c.decay_steps = 25;
    const size_t sizes[2] = {37, 5};  // 37: not a multiple of any SIMD width
    std::vector<std::vector<float>> p(2), m(2), v(2), g(2);
    std::vector<RefTensor> ref(2);
    for (int k = 0; k < 2; ++k) {
      p[k] = stream(10 + k, sizes[k], 0.5f);
      m[k].assign(sizes[k], 0.0f), v[k].assign(sizes[k], 0.0f);
      ref[k] = {std::vector<double>(p[k].begin(), p[k].end()), std::vector<double>(sizes[k], 0.0),
                std::vector<double>(sizes[k], 0.0), k == 0};
    }
    for (int s = 1; s <= 30; ++s) {
      for (int k = 0; k < 2; ++k) g[k] = stream(100 * s + k, sizes[k], 0.2f);
      std::vector<AdamWTensor> ts;
      for (int k = 0; k < 2; ++k) ts.push_back({p[k].data(), g[k].data(), m[k].data(), v[k].data(), sizes[k], k == 0});
      const double norm = adamw_step_f32(ts, c, s);
      reference_step(ref, g, c, s);
      double sq = 0;
      for (auto& gk : g)
        for (float x : gk) sq += double(x) * x;
      EXPECT_NEAR(norm, std::sqrt(sq), 1e-9);
      if (clip > 0) EXPECT_GT(norm, clip);  // the clip is active in this case
      for (int k = 0; k < 2; ++k)
        for (size_t i = 0; i < sizes[k]; ++i)
          ASSERT_NEAR(p[k][i], ref[k].p[i], 1e-5) << "clip " << clip << " step " << s << " tensor " << k << " i " << i;
    }
  }
}

TEST(AdamW, DecaysMatricesOnlyAndIsDeterministic) {
  AdamWConfig c;
  c.lr = 0.1f, c.weight_decay = 0.5f, c.warmup_steps = 0, c.decay_steps = 1;
  // Zero gradient: only the decay moves a parameter (m = v = 0, so the Adam term is 0 / (0 + eps) = 0).
  std::vector<float> a = {1.0f, -2.0f}, b = {1.0f, -2.0f}, zero = {0.0f, 0.0f};
  std::vector<float> ma(2), va(2), mb(2), vb(2);
  adamw_step_f32({{a.data(), zero.data(), ma.data(), va.data(), 2, true}, {b.data(), zero.data(), mb.data(), vb.data(), 2, false}},
                 c, 1);
  const float lr = adamw_learning_rate(c, 1);
  EXPECT_FLOAT_EQ(a[0], 1.0f - lr * 0.5f * 1.0f);
  EXPECT_FLOAT_EQ(b[0], 1.0f);
  EXPECT_FLOAT_EQ(b[1], -2.0f);
  // The same inputs give the same bits.
  std::vector<float> p1 = stream(3, 64, 1), p2 = p1, gr = stream(4, 64, 1), m1(64), v1(64), m2(64), v2(64);
  for (int s = 1; s <= 5; ++s) {
    adamw_step_f32({{p1.data(), gr.data(), m1.data(), v1.data(), 64, true}}, AdamWConfig{}, s);
    adamw_step_f32({{p2.data(), gr.data(), m2.data(), v2.data(), 64, true}}, AdamWConfig{}, s);
  }
  EXPECT_EQ(p1, p2);
}

}  // namespace
}  // namespace attn::test
