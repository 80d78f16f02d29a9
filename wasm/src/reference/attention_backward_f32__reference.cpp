// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims.
//
// REFERENCE attention forward-that-saves and backward for float32 buffers: the double-accumulating templates
// of backward_reference.h at T = float.
#include "attn/backward.h"
#include "backward_reference.h"

namespace attn {
namespace {

reference::ScoreParamsT<float> params_of(const ScoreParams& p) {
  reference::ScoreParamsT<float> r;
  r.score = p.score;
  r.W = p.W;
  r.Wq = p.Wq;
  r.Wk = p.Wk;
  r.v = p.v;
  r.da = p.da;
  return r;
}

}  // namespace

void attention_forward_f32__reference(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                                      const float* v, const ScoreParams& score, const MaskParams& mask, int heads,
                                      int nq, int nk, int dk, int dv) {
  reference::attention_forward(out, row_max, row_sum, q, k, v, params_of(score), mask, heads, nq, nk, dk, dv);
}

// The reference reads none of the saved values (out, row_max, row_sum): it recomputes in double.
void attention_backward_f32__reference(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                       const float* dout, const float* /*out*/, const float* /*row_max*/,
                                       const float* /*row_sum*/, const float* q, const float* k, const float* v,
                                       const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                                       int dk, int dv) {
  const reference::ScoreGradsT<float> g{dscore.dW, dscore.dWq, dscore.dWk, dscore.dv};
  reference::attention_backward(dquery, dkey, dvalue, g, dout, q, k, v, params_of(score), mask, heads, nq, nk, dk, dv);
}

}  // namespace attn
