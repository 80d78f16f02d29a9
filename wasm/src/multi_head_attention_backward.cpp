// H heads, Tq queries, Tk keys, M model dims, Dh = M/H dims per head.
//
// The multi-head layer's forward-that-saves and backward (attn/backward.h), composed of dense_*_f32 and
// attention_*_f32 with the caller's variant: kReference is then the composition of the double references.
#include <algorithm>
#include <cassert>
#include <vector>

#include "attn/backward.h"
#include "reference/backward_reference.h"

namespace attn {

// saved: Q, K, V, O [H][T][Dh], row_max, row_sum [H][Tq] (attn/backward.h).
// pass 1: Q, K, V = dense(x or context), split into heads; pass 2: attention_forward_f32 per head -> O and
// the row stats; pass 3: out = merge(O) Wo + bo.
bool multi_head_attention_forward_f32(float* out, float* saved, const float* x, const float* context,
                                      const MultiHeadParams& params, const ScoreParams& score,
                                      const MaskParams& mask, int nq, int nk, int d_model, int heads,
                                      Variant variant) {
  assert(out && saved && x && context && params.q.W && params.k.W && params.v.W && params.o.W);
  assert(heads > 0 && d_model % heads == 0 && nq > 0 && nk > 0);
  const int m = d_model, dh = m / heads;
  float* Q = saved;
  float* K = Q + size_t(nq) * m;
  float* V = K + size_t(nk) * m;
  float* O = V + size_t(nk) * m;
  float* rmax = O + size_t(nq) * m;
  float* rsum = rmax + size_t(heads) * nq;
  std::vector<float> proj(size_t(std::max(nq, nk)) * m);
  dense_forward_f32(proj.data(), x, params.q.W, params.q.b, nq, m, m, variant);  // pass 1
  reference::split_heads(Q, proj.data(), nq, m, heads);
  dense_forward_f32(proj.data(), context, params.k.W, params.k.b, nk, m, m, variant);
  reference::split_heads(K, proj.data(), nk, m, heads);
  dense_forward_f32(proj.data(), context, params.v.W, params.v.b, nk, m, m, variant);
  reference::split_heads(V, proj.data(), nk, m, heads);
  if (!attention_forward_f32(O, rmax, rsum, Q, K, V, score, mask, heads, nq, nk, dh, dh, variant)) return false;
  reference::merge_heads(proj.data(), O, nq, m, heads);  // pass 3
  dense_forward_f32(out, proj.data(), params.o.W, params.o.b, nq, m, m, variant);
  return true;
}

// pass 1: dconcat = dout Wo^T (+ dWo, dbo); pass 2: split, attention_backward_f32 -> dQ, dK, dV, dscore;
// pass 3: merge; dense backward of the three projections into dx and dcontext (+ their dW, db).
bool multi_head_attention_backward_f32(float* dx, float* dcontext, const MultiHeadGrads& g,
                                       const ScoreGrads& dscore, const float* dout, const float* saved,
                                       const float* x, const float* context, const MultiHeadParams& params,
                                       const ScoreParams& score, const MaskParams& mask, int nq, int nk,
                                       int d_model, int heads, Variant variant) {
  assert(dout && saved && x && context && heads > 0 && d_model % heads == 0 && nq > 0 && nk > 0);
  const int m = d_model, dh = m / heads;
  const float* Q = saved;
  const float* K = Q + size_t(nq) * m;
  const float* V = K + size_t(nk) * m;
  const float* O = V + size_t(nk) * m;
  const float* rmax = O + size_t(nq) * m;
  const float* rsum = rmax + size_t(heads) * nq;
  std::vector<float> concat(size_t(nq) * m), dconcat(size_t(nq) * m, 0.0f), dO(size_t(nq) * m);
  reference::merge_heads(concat.data(), O, nq, m, heads);  // pass 1
  dense_backward_f32(dconcat.data(), g.o.dW, g.o.db, dout, concat.data(), params.o.W, nq, m, m, variant);
  reference::split_heads(dO.data(), dconcat.data(), nq, m, heads);  // pass 2
  std::vector<float> dQ(size_t(nq) * m, 0.0f), dK(size_t(nk) * m, 0.0f), dV(size_t(nk) * m, 0.0f);
  if (!attention_backward_f32(dQ.data(), dK.data(), dV.data(), dscore, dO.data(), O, rmax, rsum, Q, K, V, score,
                              mask, heads, nq, nk, dh, dh, variant))
    return false;  // the attention's scratch could not be allocated (dWo, dbo already hold pass 1's sums)
  std::vector<float> merged(size_t(std::max(nq, nk)) * m);  // pass 3
  reference::merge_heads(merged.data(), dQ.data(), nq, m, heads);
  dense_backward_f32(dx, g.q.dW, g.q.db, merged.data(), x, params.q.W, nq, m, m, variant);
  reference::merge_heads(merged.data(), dK.data(), nk, m, heads);
  dense_backward_f32(dcontext, g.k.dW, g.k.db, merged.data(), context, params.k.W, nk, m, m, variant);
  reference::merge_heads(merged.data(), dV.data(), nk, m, heads);
  dense_backward_f32(dcontext, g.v.dW, g.v.db, merged.data(), context, params.v.W, nk, m, m, variant);
  return true;
}

}  // namespace attn
