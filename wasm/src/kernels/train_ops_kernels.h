// T rows, D dims, V vocabulary rows, N elements.
//
// The float kernels behind the kOptimized variant of the small training ops (dispatch: src/train_ops.cpp;
// maths and shapes: attn/backward.h, whose comments these follow argument for argument).
#pragma once

#include <cstdint>

namespace attn::kernels {

void layer_norm_forward_f32__scalar(float* out, float* mean, float* rstd, const float* x, const float* scale,
                                    const float* bias, float eps, int t, int d);
void layer_norm_backward_f32__scalar(float* dx, float* dscale, float* dbias, const float* dout, const float* x,
                                     const float* mean, const float* rstd, const float* scale, int t, int d);
void gelu_forward_f32__scalar(float* out, const float* x, int n);
void gelu_backward_f32__scalar(float* dx, const float* dout, const float* x, int n);
void embedding_backward_f32__scalar(float* dtable, const float* dout, const int32_t* ids, int t, int d);
float cross_entropy_forward_f32__scalar(float* losses, float* row_max, float* row_sum, const float* logits,
                                        const int32_t* targets, int t, int vocab, int32_t ignore_index);
void cross_entropy_backward_f32__scalar(float* dlogits, float dloss, const float* logits, const float* row_max,
                                        const float* row_sum, const int32_t* targets, int t, int vocab,
                                        int32_t ignore_index);

}  // namespace attn::kernels
