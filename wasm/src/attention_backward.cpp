// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, P threads.
//
// Dispatch of attention_backward_f32: kReference -> the double reference (calling thread); kOptimized -> the
// best kernel compiled in (wasmsimd under -msimd128, scalar otherwise), one head per task on P threads when
// H >= P (each head's gradients are disjoint except the score parameters', which each task accumulates in a
// private buffer that is added at the end). With H < P the wasmsimd kernel splits each head's key blocks over
// the threads itself (attention_backward_f32__wasmsimd_parts); the scalar kernel runs on the calling thread.
#include <cassert>
#include <cstddef>
#include <vector>

#include "attn/backward.h"
#include "parallel.h"

namespace attn {
namespace {

void optimized(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore, const float* dout, const float* out,
               const float* row_max, const float* row_sum, const float* q, const float* k, const float* v,
               const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk, int dv) {
#if defined(__wasm_simd128__)
  attention_backward_f32__wasmsimd(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score, mask, heads,
                                   nq, nk, dk, dv);
#else
  attention_backward_f32__scalar(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score, mask, heads,
                                 nq, nk, dk, dv);
#endif
}

// Floats of the score-parameter gradients: W [D][D] | Wq [A][D] | Wk [A][D] | v [A].
size_t score_grad_floats(const ScoreParams& s, int dk) {
  if (s.score == Score::kGeneral) return size_t(dk) * dk;
  if (s.score == Score::kAdditive) return size_t(s.da) * dk * 2 + s.da;
  return 0;
}

ScoreGrads score_grads_in(float* buf, const ScoreParams& s, int dk) {
  ScoreGrads g;
  if (s.score == Score::kGeneral) g.dW = buf;
  if (s.score == Score::kAdditive) {
    g.dWq = buf;
    g.dWk = buf + size_t(s.da) * dk;
    g.dv = buf + size_t(s.da) * dk * 2;
  }
  return g;
}

void add_to(float* dst, const float* src, size_t n) {
  if (dst)
    for (size_t x = 0; x < n; ++x) dst[x] += src[x];
}

}  // namespace

void attention_backward_f32(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore, const float* dout,
                            const float* out, const float* row_max, const float* row_sum, const float* q,
                            const float* k, const float* v, const ScoreParams& score, const MaskParams& mask,
                            int heads, int nq, int nk, int dk, int dv, Variant variant) {
  if (variant == Variant::kReference) {
    attention_backward_f32__reference(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score, mask,
                                      heads, nq, nk, dk, dv);
    return;
  }
  const int threads = thread_count();
  const double macs = double(heads) * nq * nk * (dk + dv);
#if defined(__wasm_simd128__)
  if (threads > 1 && heads < threads && macs >= kParallelMinMacs) {  // split each head's keys instead
    attention_backward_f32__wasmsimd_parts(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score,
                                           mask, heads, nq, nk, dk, dv, threads);
    return;
  }
#endif
  if (threads <= 1 || heads < threads || macs < kParallelMinMacs) {
    optimized(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
    return;
  }
  const size_t sq = size_t(nq), sk = size_t(nk), ng = score_grad_floats(score, dk);
  std::vector<float> partial(size_t(heads) * ng, 0.0f);  // per head: its score-parameter gradients
  parallel_for(heads, [&](int h) {
    const ScoreGrads g = score_grads_in(partial.data() + size_t(h) * ng, score, dk);
    optimized(dquery ? dquery + h * sq * dk : nullptr, dkey ? dkey + h * sk * dk : nullptr, dvalue ? dvalue + h * sk * dv : nullptr,
              g, dout + h * sq * dv, out + h * sq * dv, row_max + h * sq, row_sum + h * sq, q + h * sq * dk,
              k + h * sk * dk, v + h * sk * dv, score, mask, 1, nq, nk, dk, dv);
  });
  for (int h = 0; h < heads; ++h) {  // in head order: the same sums on every thread count
    const float* p = partial.data() + size_t(h) * ng;
    if (score.score == Score::kGeneral) add_to(dscore.dW, p, size_t(dk) * dk);
    if (score.score == Score::kAdditive) {
      add_to(dscore.dWq, p, size_t(score.da) * dk);
      add_to(dscore.dWk, p + size_t(score.da) * dk, size_t(score.da) * dk);
      add_to(dscore.dv, p + size_t(score.da) * dk * 2, size_t(score.da));
    }
  }
}

}  // namespace attn
