// N parameters of one tensor, S the step count (1 on the first step).
//
// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): Adam's moments with bias correction,
// weight decay applied to the weights directly (not through the gradient) and only to matrices, the global
// gradient norm clipped before the update, and a learning rate that warms up linearly and then decays along a
// cosine. Everything is plain float arithmetic in a fixed order (no threads, no SIMD, no libm beyond sqrt and
// cos), so a step gives the same bits on every build for the same inputs.
#pragma once

#include <cstddef>
#include <vector>

namespace attn {

struct AdamWConfig {
  float lr = 1e-3f;            // peak learning rate
  float beta1 = 0.9f;
  float beta2 = 0.98f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;  // on matrices only (AdamWTensor::decay)
  float clip_norm = 1.0f;      // the global L2 norm of all gradients is clipped to this (<= 0: no clipping)
  int warmup_steps = 100;      // lr rises linearly from lr/warmup to lr over these steps
  int decay_steps = 2000;      // then follows a cosine to min_lr_ratio * lr at this step, and stays there
  float min_lr_ratio = 0.1f;
};

// lr at step s (1-based): warm-up lr * s / W for s <= W; then
// lr * (r + (1 - r) * 0.5 * (1 + cos(pi * min(1, (s - W) / (D - W))))), r = min_lr_ratio.
float adamw_learning_rate(const AdamWConfig& config, int step);

// One tensor of the parameters the optimizer updates: param, grad, m, v each [N].
struct AdamWTensor {
  float* param;
  const float* grad;
  float* m;
  float* v;
  size_t n;
  bool decay;  // weight decay on (matrices) or off (biases, layer-norm scales and shifts, vectors)
};

// The global gradient L2 norm over all tensors, accumulated in double in tensor then element order.
double adamw_grad_norm(const std::vector<AdamWTensor>& tensors);

// One AdamW step (1-based `step`); returns the gradient norm before clipping.
//   c = clip_norm > 0 && norm > clip_norm ? clip_norm / norm : 1;  g = c * grad;  lr_s = adamw_learning_rate(s)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  mhat = m / (1 - b1^s);  vhat = v / (1 - b2^s)
//   param -= lr_s * (mhat / (sqrt(vhat) + eps) + (decay ? weight_decay * param : 0))
double adamw_step_f32(const std::vector<AdamWTensor>& tensors, const AdamWConfig& config, int step);

}  // namespace attn
