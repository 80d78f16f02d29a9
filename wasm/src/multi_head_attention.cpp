// H heads, Tq queries, Tk keys, M model dims, Dh = M/H dims per head, P threads.
//
// The multi-head layer, composed from gemm_f32 and attention_f32 with the same variant. The optimized variant
// runs on P threads: attention_f32 splits the heads itself, and the dense layers split their rows here.
#include <algorithm>
#include <cassert>

#include "attn/attention.h"
#include "buffer.h"
#include "parallel.h"

namespace attn {
namespace {

// dst [H][T][Dh] <- src [T][M] (head h owns columns h*Dh .. h*Dh+Dh-1).
void split_heads(float* dst, const float* src, int t_count, int m, int heads) {
  const int dh = m / heads;
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < t_count; ++t)
      for (int c = 0; c < dh; ++c) dst[(size_t(h) * t_count + t) * dh + c] = src[size_t(t) * m + h * dh + c];
}

// dst [T][M] <- src [H][T][Dh], the inverse of split_heads.
void merge_heads(float* dst, const float* src, int t_count, int m, int heads) {
  const int dh = m / heads;
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < t_count; ++t)
      for (int c = 0; c < dh; ++c) dst[size_t(t) * m + h * dh + c] = src[(size_t(h) * t_count + t) * dh + c];
}

// c [T][N] = a [T][K] . b [K][N] + bias: gemm_f32, its rows split into P blocks for the optimized variant (each
// row of c depends only on the same row of a, so the blocks are independent gemm_f32 calls).
void dense(float* c, const float* a, const float* b, const float* bias, int t_count, int k, int n, Variant variant) {
  const int threads = thread_count();
  if (variant == Variant::kReference || threads <= 1 || double(t_count) * k * n < double(1 << 17)) {
    gemm_f32(c, a, b, bias, t_count, k, n, variant);
    return;
  }
  parallel_for(threads, [&](int part) {
    const int r0 = split_point(t_count, threads, part, 4), r1 = split_point(t_count, threads, part + 1, 4);
    if (r0 < r1) gemm_f32(c + size_t(r0) * n, a + size_t(r0) * k, b, bias, r1 - r0, k, n, variant);
  });
}

}  // namespace

// out [Tq][M]; weights [H][Tq][Tk] or nullptr; x [Tq][M]; context [Tk][M] (== x for self-attention).
// pass 1: Q = x Wq + bq [Tq][M], K = context Wk + bk [Tk][M], V = context Wv + bv [Tk][M]
// pass 2: split into heads [H][T][Dh]; per head attention_f32 (D = Dv = Dh)
// pass 3: merge heads into [Tq][M]; out = merged Wo + bo
// Scratch: proj [max(Tq, Tk)][M], qh, oh [H][Tq][Dh], kh, vh [H][Tk][Dh], then attention_f32's; false (nothing
// left allocated) when any cannot be had.
bool multi_head_attention_f32(float* out, float* weights, const float* x, const float* context,
                              const MultiHeadParams& params, const ScoreParams& score, const MaskParams& mask,
                              int nq, int nk, int d_model, int heads, Variant variant) {
  assert(out && x && context && params.q.W && params.k.W && params.v.W && params.o.W);
  assert(heads > 0 && d_model % heads == 0 && nq > 0 && nk > 0);
  const int m = d_model, dh = d_model / heads;
  Buffer<float> proj, qh, kh, vh, oh;
  if (!proj.allocate(uint64_t(std::max(nq, nk)) * m) || !qh.allocate(uint64_t(nq) * m) ||
      !kh.allocate(uint64_t(nk) * m) || !vh.allocate(uint64_t(nk) * m) || !oh.allocate(uint64_t(nq) * m))
    return false;
  dense(proj.data(), x, params.q.W, params.q.b, nq, m, m, variant);  // pass 1
  split_heads(qh.data(), proj.data(), nq, m, heads);                 // pass 2
  dense(proj.data(), context, params.k.W, params.k.b, nk, m, m, variant);
  split_heads(kh.data(), proj.data(), nk, m, heads);
  dense(proj.data(), context, params.v.W, params.v.b, nk, m, m, variant);
  split_heads(vh.data(), proj.data(), nk, m, heads);
  if (!attention_f32(oh.data(), weights, qh.data(), kh.data(), vh.data(), score, mask, heads, nq, nk, dh, dh, variant))
    return false;
  merge_heads(proj.data(), oh.data(), nq, m, heads);  // pass 3
  dense(out, proj.data(), params.o.W, params.o.b, nq, m, m, variant);
  return true;
}

uint64_t multi_head_attention_f32_workspace_bytes(const ScoreParams& score, int nq, int nk, int d_model, int heads,
                                                  Variant variant) {
  const uint64_t rows = uint64_t(std::max(nq, nk)) + 2 * uint64_t(nq) + 2 * uint64_t(nk);
  return add_sat(mul_sat(4 * rows, uint64_t(d_model)), attention_f32_workspace_bytes(score, heads, nq, nk, d_model / heads, d_model / heads,
                                                           variant));
}

}  // namespace attn
