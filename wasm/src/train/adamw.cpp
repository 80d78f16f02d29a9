// N parameters of one tensor, S the step count. AdamW: see wasm/include/attn/adamw.h for the maths.
#include "attn/adamw.h"

#include <cassert>
#include <cmath>

namespace attn {

float adamw_learning_rate(const AdamWConfig& config, int step) {
  assert(step >= 1);
  const int warmup = config.warmup_steps > 0 ? config.warmup_steps : 0;
  if (step <= warmup) return config.lr * float(step) / float(warmup);
  const int span = config.decay_steps - warmup;
  const double t = span > 0 ? std::fmin(1.0, double(step - warmup) / span) : 1.0;
  const double r = config.min_lr_ratio;
  return float(config.lr * (r + (1.0 - r) * 0.5 * (1.0 + std::cos(M_PI * t))));
}

double adamw_grad_norm(const std::vector<AdamWTensor>& tensors) {
  double sum = 0;
  for (const AdamWTensor& t : tensors)
    for (size_t i = 0; i < t.n; ++i) sum += double(t.grad[i]) * t.grad[i];
  return std::sqrt(sum);
}

// pass 1: the global gradient norm and the clip factor; pass 2: per element, moments, bias correction, update.
double adamw_step_f32(const std::vector<AdamWTensor>& tensors, const AdamWConfig& config, int step) {
  const double norm = adamw_grad_norm(tensors);  // pass 1
  const float clip = config.clip_norm > 0 && norm > config.clip_norm ? float(config.clip_norm / norm) : 1.0f;
  const float lr = adamw_learning_rate(config, step);
  const float b1 = config.beta1, b2 = config.beta2;
  // 1 - b^s in double (pow), rounded once: the same on every build.
  const float c1 = float(1.0 - std::pow(double(b1), step)), c2 = float(1.0 - std::pow(double(b2), step));
  for (const AdamWTensor& t : tensors) {  // pass 2
    const float decay = t.decay ? config.weight_decay : 0.0f;
    for (size_t i = 0; i < t.n; ++i) {
      const float g = clip * t.grad[i];
      t.m[i] = b1 * t.m[i] + (1.0f - b1) * g;
      t.v[i] = b2 * t.v[i] + (1.0f - b2) * g * g;
      const float mhat = t.m[i] / c1, vhat = t.v[i] / c2;
      t.param[i] -= lr * (mhat / (std::sqrt(vhat) + config.eps) + decay * t.param[i]);
    }
  }
  return norm;
}

}  // namespace attn
