// T rows, D dims, V vocabulary rows, N elements.
//
// The optimized variants of the small training ops (attn/backward.h) in plain C++ with float accumulation,
// for every build: each is one or two streaming passes over memory, which the compiler vectorises under
// -msimd128; the time of a training step goes to the dense layers and attention, not here.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "train_ops_kernels.h"

namespace attn::kernels {

void layer_norm_forward_f32__scalar(float* out, float* mean, float* rstd, const float* x, const float* scale,
                                    const float* bias, float eps, int t, int d) {
  for (int r = 0; r < t; ++r) {
    const float* xr = x + size_t(r) * d;
    float mu = 0.0f;
    for (int c = 0; c < d; ++c) mu += xr[c];
    mu /= float(d);
    float var = 0.0f;
    for (int c = 0; c < d; ++c) var += (xr[c] - mu) * (xr[c] - mu);
    var /= float(d);
    const float rs = 1.0f / std::sqrt(var + eps);
    float* o = out + size_t(r) * d;
    for (int c = 0; c < d; ++c) o[c] = (xr[c] - mu) * rs * scale[c] + bias[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

void layer_norm_backward_f32__scalar(float* dx, float* dscale, float* dbias, const float* dout, const float* x,
                                     const float* mean, const float* rstd, const float* scale, int t, int d) {
  for (int r = 0; r < t; ++r) {
    const float* xr = x + size_t(r) * d;
    const float* dr = dout + size_t(r) * d;
    const float mu = mean[r], rs = rstd[r];
    float mg = 0.0f, mgx = 0.0f;
    for (int c = 0; c < d; ++c) {
      const float xhat = (xr[c] - mu) * rs, g = dr[c] * scale[c];
      if (dbias) dbias[c] += dr[c];
      if (dscale) dscale[c] += dr[c] * xhat;
      mg += g;
      mgx += g * xhat;
    }
    mg /= float(d);
    mgx /= float(d);
    if (dx) {
      float* o = dx + size_t(r) * d;
      for (int c = 0; c < d; ++c) o[c] += rs * (dr[c] * scale[c] - mg - (xr[c] - mu) * rs * mgx);
    }
  }
}

void gelu_forward_f32__scalar(float* out, const float* x, int n) {
  const float k = 0.7978845608f;  // sqrt(2/pi)
  for (int i = 0; i < n; ++i) {
    const float xi = x[i];
    out[i] = 0.5f * xi * (1.0f + std::tanh(k * (xi + 0.044715f * xi * xi * xi)));
  }
}

void gelu_backward_f32__scalar(float* dx, const float* dout, const float* x, int n) {
  const float k = 0.7978845608f;
  for (int i = 0; i < n; ++i) {
    const float xi = x[i];
    const float th = std::tanh(k * (xi + 0.044715f * xi * xi * xi));
    dx[i] += dout[i] * (0.5f * (1.0f + th) + 0.5f * xi * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * xi * xi));
  }
}

void embedding_backward_f32__scalar(float* dtable, const float* dout, const int32_t* ids, int t, int d) {
  for (int r = 0; r < t; ++r) {
    float* row = dtable + size_t(ids[r]) * d;
    const float* g = dout + size_t(r) * d;
    for (int c = 0; c < d; ++c) row[c] += g[c];
  }
}

float cross_entropy_forward_f32__scalar(float* losses, float* row_max, float* row_sum, const float* logits,
                                        const int32_t* targets, int t, int vocab, int32_t ignore_index) {
  double total = 0.0;  // T terms: summed in double so the mean does not depend on T's size
  int count = 0;
  for (int r = 0; r < t; ++r) {
    const float* z = logits + size_t(r) * vocab;
    float m = -INFINITY;
    for (int c = 0; c < vocab; ++c) m = std::max(m, z[c]);
    float l = 0.0f;
    for (int c = 0; c < vocab; ++c) l += std::exp(z[c] - m);
    row_max[r] = m;
    row_sum[r] = l;
    float loss = 0.0f;
    if (targets[r] != ignore_index) {
      loss = m + std::log(l) - z[targets[r]];
      total += loss;
      ++count;
    }
    if (losses) losses[r] = loss;
  }
  return count > 0 ? float(total / count) : 0.0f;
}

void cross_entropy_backward_f32__scalar(float* dlogits, float dloss, const float* logits, const float* row_max,
                                        const float* row_sum, const int32_t* targets, int t, int vocab,
                                        int32_t ignore_index) {
  int count = 0;
  for (int r = 0; r < t; ++r) count += targets[r] != ignore_index;
  if (count == 0) return;
  const float g = dloss / float(count);
  for (int r = 0; r < t; ++r) {
    if (targets[r] == ignore_index) continue;
    const float* z = logits + size_t(r) * vocab;
    float* dz = dlogits + size_t(r) * vocab;
    const float m = row_max[r], scale = g / row_sum[r];
    for (int c = 0; c < vocab; ++c) dz[c] += std::exp(z[c] - m) * scale;
    dz[targets[r]] -= g;
  }
}

}  // namespace attn::kernels
