// T rows, I input dims, O output dims, D dims, V vocabulary rows, N elements, NR = 8 columns per panel.
//
// Dispatch of the training ops of attn/backward.h other than attention: kReference -> the double templates
// of src/reference/backward_reference.h at T = float; kOptimized -> the float kernels (kernels/
// train_ops_f32__scalar.cpp), and for the dense layer the packed gemm (attn/gemm_packed.h, wasmsimd in the
// SIMD build, rows split over the engine's threads).
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <vector>

#include "attn/backward.h"
#include "attn/gemm_packed.h"
#include "kernels/train_ops_kernels.h"
#include "reference/backward_reference.h"

namespace attn {
namespace {

// packed = gemm_f32_pack(b^T) for b [N][K] (so b^T is [K][N]): packed[p][kk][j] = b[8p + j][kk], 0 past N.
void pack_transposed(float* packed, const float* b, int k, int n) {
  for (int j0 = 0; j0 < n; j0 += kGemmPackedNR)
    for (int kk = 0; kk < k; ++kk) {
      float* dst = packed + (size_t(j0 / kGemmPackedNR) * k + kk) * kGemmPackedNR;
      for (int j = 0; j < kGemmPackedNR; ++j) dst[j] = j0 + j < n ? b[size_t(j0 + j) * k + kk] : 0.0f;
    }
}

}  // namespace

// Packs W per call (I x O floats, small beside the T x I x O product) and runs the packed gemm.
void dense_forward_f32(float* out, const float* x, const float* W, const float* b, int t, int in, int n_out,
                       Variant variant) {
  assert(out && x && W && t > 0 && in > 0 && n_out > 0);
  if (variant == Variant::kReference) {
    reference::dense_forward(out, x, W, b, t, in, n_out);
    return;
  }
  std::vector<float> packed(gemm_f32_packed_size(in, n_out));
  gemm_f32_pack(packed.data(), W, in, n_out);
  gemm_f32_packed(out, x, packed.data(), b, t, in, n_out, Variant::kOptimized);
}

// Optimized, each product on the packed gemm into a scratch that is then added:
//   pass 1: dx += dout [T][O] . W^T [O][I]   (W^T packed straight from W)
//   pass 2: dW += x^T [I][T] . dout [T][O]   (x transposed, dout packed)
//   pass 3: db += column sums of dout
void dense_backward_f32(float* dx, float* dW, float* db, const float* dout, const float* x, const float* W, int t,
                        int in, int n_out, Variant variant) {
  assert(dout && x && W && t > 0 && in > 0 && n_out > 0);
  if (variant == Variant::kReference) {
    reference::dense_backward(dx, dW, db, dout, x, W, t, in, n_out);
    return;
  }
  std::vector<float> packed, scratch;
  if (dx) {  // pass 1
    packed.resize(gemm_f32_packed_size(n_out, in));
    pack_transposed(packed.data(), W, n_out, in);
    scratch.resize(size_t(t) * in);
    gemm_f32_packed(scratch.data(), dout, packed.data(), nullptr, t, n_out, in, Variant::kOptimized);
    for (size_t e = 0; e < scratch.size(); ++e) dx[e] += scratch[e];
  }
  if (dW) {  // pass 2
    std::vector<float> xt(size_t(in) * t);
    for (int r = 0; r < t; ++r)
      for (int i = 0; i < in; ++i) xt[size_t(i) * t + r] = x[size_t(r) * in + i];
    packed.resize(gemm_f32_packed_size(t, n_out));
    gemm_f32_pack(packed.data(), dout, t, n_out);
    scratch.resize(size_t(in) * n_out);
    gemm_f32_packed(scratch.data(), xt.data(), packed.data(), nullptr, in, t, n_out, Variant::kOptimized);
    for (size_t e = 0; e < scratch.size(); ++e) dW[e] += scratch[e];
  }
  if (db)  // pass 3
    for (int r = 0; r < t; ++r)
      for (int o = 0; o < n_out; ++o) db[o] += dout[size_t(r) * n_out + o];
}

void layer_norm_forward_f32(float* out, float* mean, float* rstd, const float* x, const float* scale,
                            const float* bias, float eps, int t, int d, Variant variant) {
  assert(out && mean && rstd && x && scale && bias && t > 0 && d > 0);
  if (variant == Variant::kReference) reference::layer_norm_forward(out, mean, rstd, x, scale, bias, double(eps), t, d);
  else kernels::layer_norm_forward_f32__scalar(out, mean, rstd, x, scale, bias, eps, t, d);
}

void layer_norm_backward_f32(float* dx, float* dscale, float* dbias, const float* dout, const float* x,
                             const float* mean, const float* rstd, const float* scale, int t, int d,
                             Variant variant) {
  assert(dout && x && mean && rstd && scale && t > 0 && d > 0);
  if (variant == Variant::kReference) reference::layer_norm_backward(dx, dscale, dbias, dout, x, mean, rstd, scale, t, d);
  else kernels::layer_norm_backward_f32__scalar(dx, dscale, dbias, dout, x, mean, rstd, scale, t, d);
}

// ReLU and the residual add are exact in float: the reference and the optimized variant are the same loop.
void relu_forward_f32(float* out, const float* x, int n, Variant) { reference::relu_forward(out, x, n); }
void relu_backward_f32(float* dx, const float* dout, const float* x, int n, Variant) {
  reference::relu_backward(dx, dout, x, n);
}
void residual_forward_f32(float* out, const float* a, const float* b, int n, Variant) {
  reference::residual_forward(out, a, b, n);
}
void residual_backward_f32(float* da, float* db, const float* dout, int n, Variant) {
  if (da == db && da) {  // aliased: add dout twice (attn/backward.h)
    for (int i = 0; i < n; ++i) da[i] += 2.0f * dout[i];
    return;
  }
  reference::residual_backward(da, db, dout, n);
}

void gelu_forward_f32(float* out, const float* x, int n, Variant variant) {
  if (variant == Variant::kReference) reference::gelu_forward(out, x, n);
  else kernels::gelu_forward_f32__scalar(out, x, n);
}
void gelu_backward_f32(float* dx, const float* dout, const float* x, int n, Variant variant) {
  if (variant == Variant::kReference) reference::gelu_backward(dx, dout, x, n);
  else kernels::gelu_backward_f32__scalar(dx, dout, x, n);
}

// A row copy is exact: one loop for both variants.
void embedding_forward_f32(float* out, const int32_t* ids, const float* table, int t, int vocab, int d, Variant) {
  reference::embedding_forward(out, ids, table, t, vocab, d);
}
void embedding_backward_f32(float* dtable, const float* dout, const int32_t* ids, int t, int vocab, int d,
                            Variant variant) {
  if (variant == Variant::kReference) reference::embedding_backward(dtable, dout, ids, t, vocab, d);
  else kernels::embedding_backward_f32__scalar(dtable, dout, ids, t, d);
}

float cross_entropy_forward_f32(float* losses, float* row_max, float* row_sum, const float* logits,
                                const int32_t* targets, int t, int vocab, int32_t ignore_index, Variant variant) {
  assert(row_max && row_sum && logits && targets && t > 0 && vocab > 0);
  if (variant == Variant::kReference)
    return float(reference::cross_entropy_forward(losses, row_max, row_sum, logits, targets, t, vocab, ignore_index));
  return kernels::cross_entropy_forward_f32__scalar(losses, row_max, row_sum, logits, targets, t, vocab, ignore_index);
}

// The reference recomputes the softmax in double from the logits (row_max, row_sum unused).
void cross_entropy_backward_f32(float* dlogits, float dloss, const float* logits, const float* row_max,
                                const float* row_sum, const int32_t* targets, int t, int vocab,
                                int32_t ignore_index, Variant variant) {
  assert(dlogits && logits && targets && t > 0 && vocab > 0);
  if (variant == Variant::kReference)
    reference::cross_entropy_backward(dlogits, double(dloss), logits, targets, t, vocab, ignore_index);
  else
    kernels::cross_entropy_backward_f32__scalar(dlogits, dloss, logits, row_max, row_sum, targets, t, vocab,
                                                ignore_index);
}

}  // namespace attn
