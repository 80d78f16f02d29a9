// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, P threads.
//
// Dispatch of attention_backward_f32: kReference -> the double reference (calling thread); kOptimized -> the
// best kernel compiled in (wasmsimd under -msimd128, scalar otherwise), one head per task on P threads when
// H >= P (each head's gradients are disjoint except the score parameters', which each task accumulates in a
// private buffer that is added at the end). With H < P the wasmsimd kernel splits each head's key blocks over
// the threads itself (attention_backward_f32__wasmsimd_parts); the scalar kernel runs on the calling thread.
// Every scratch buffer comes from malloc with a null check (buffer.h): a failure returns false.
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>

#include "attn/backward.h"
#include "buffer.h"
#include "kernels/attention_backward_prep.h"
#include "parallel.h"

namespace attn {
namespace {

bool optimized(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore, const float* dout, const float* out,
               const float* row_max, const float* row_sum, const float* q, const float* k, const float* v,
               const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk, int dv) {
#if defined(__wasm_simd128__)
  return attention_backward_f32__wasmsimd(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score,
                                          mask, heads, nq, nk, dk, dv);
#else
  return attention_backward_f32__scalar(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score,
                                        mask, heads, nq, nk, dk, dv);
#endif
}

// Bytes of one optimized kernel call on `parts` parts (the wasmsimd kernel's split; 1 otherwise).
uint64_t optimized_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv, int parts) {
#if defined(__wasm_simd128__)
  return kernels::attention_backward_f32__wasmsimd_workspace_bytes(score, nq, nk, dk, dv, parts);
#else
  (void)parts;
  return kernels::attention_backward_f32__scalar_workspace_bytes(score, nq, nk, dk, dv);
#endif
}

// The reference's double accumulators (reference/backward_reference.h attention_backward): s, p, ds [Tk];
// dq [Tq][D], dk [Tk][D], dv [Tk][Dv]; dW [D][D]; dWq, dWk [A][D], dv [A]; hq, dhq [Tq][A], hk, dhk [Tk][A].
uint64_t reference_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv) {
  const uint64_t q = uint64_t(nq > 0 ? nq : 0), k = uint64_t(nk > 0 ? nk : 0), d = uint64_t(dk > 0 ? dk : 0);
  const uint64_t e = uint64_t(dv > 0 ? dv : 0), a = uint64_t(score.da > 0 ? score.da : 0);
  uint64_t doubles = add_sat(mul_sat(3, k), add_sat(mul_sat(q, d), add_sat(mul_sat(k, d), mul_sat(k, e))));
  if (score.score == Score::kGeneral) doubles = add_sat(doubles, mul_sat(d, d));
  if (score.score == Score::kAdditive)
    doubles = add_sat(doubles, add_sat(mul_sat(mul_sat(2, a), add_sat(d, add_sat(q, k))), a));
  return mul_sat(doubles, sizeof(double));
}

// When the dispatch splits each head's keys over the threads (wasmsimd only), else 0.
int key_split_parts(int heads, int nq, int nk, int dk, int dv) {
#if defined(__wasm_simd128__)
  const int threads = thread_count();
  const double macs = double(heads) * nq * nk * (dk + dv);
  if (threads > 1 && heads < threads && macs >= kParallelMinMacs) return threads;
#else
  (void)heads, (void)nq, (void)nk, (void)dk, (void)dv;
#endif
  return 0;
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

bool attention_backward_f32(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore, const float* dout,
                            const float* out, const float* row_max, const float* row_sum, const float* q,
                            const float* k, const float* v, const ScoreParams& score, const MaskParams& mask,
                            int heads, int nq, int nk, int dk, int dv, Variant variant) {
  if (variant == Variant::kReference) {
    attention_backward_f32__reference(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score, mask,
                                      heads, nq, nk, dk, dv);
    return true;
  }
  const int threads = thread_count();
  const double macs = double(heads) * nq * nk * (dk + dv);
#if defined(__wasm_simd128__)
  if (const int parts = key_split_parts(heads, nq, nk, dk, dv))  // split each head's keys instead
    return attention_backward_f32__wasmsimd_parts(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v,
                                                  score, mask, heads, nq, nk, dk, dv, parts);
#endif
  if (threads <= 1 || heads < threads || macs < kParallelMinMacs)
    return optimized(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score, mask, heads, nq, nk,
                     dk, dv);
  const size_t sq = size_t(nq), sk = size_t(nk), ng = score_grad_floats(score, dk);
  Buffer<float> partial;  // per head: its score-parameter gradients
  if (!partial.assign(uint64_t(heads) * ng, 0.0f)) return false;
  std::atomic<bool> all_ok{true};
  parallel_for(heads, [&](int h) {
    const ScoreGrads g = score_grads_in(partial.data() + size_t(h) * ng, score, dk);
    if (!optimized(dquery ? dquery + h * sq * dk : nullptr, dkey ? dkey + h * sk * dk : nullptr,
                   dvalue ? dvalue + h * sk * dv : nullptr, g, dout + h * sq * dv, out + h * sq * dv, row_max + h * sq,
                   row_sum + h * sq, q + h * sq * dk, k + h * sk * dk, v + h * sk * dv, score, mask, 1, nq, nk, dk, dv))
      all_ok = false;
  });
  if (!all_ok) return false;
  for (int h = 0; h < heads; ++h) {  // in head order: the same sums on every thread count
    const float* p = partial.data() + size_t(h) * ng;
    if (score.score == Score::kGeneral) add_to(dscore.dW, p, size_t(dk) * dk);
    if (score.score == Score::kAdditive) {
      add_to(dscore.dWq, p, size_t(score.da) * dk);
      add_to(dscore.dWk, p + size_t(score.da) * dk, size_t(score.da) * dk);
      add_to(dscore.dv, p + size_t(score.da) * dk * 2, size_t(score.da));
    }
  }
  return true;
}

// Per path of the dispatch above: the key split's one call on `parts`; one head per task: each task's call at
// once (threads of them) plus the per-head score-parameter gradients; else one call.
uint64_t attention_backward_f32_workspace_bytes(const ScoreParams& score, int heads, int nq, int nk, int dk, int dv,
                                                Variant variant) {
  if (variant == Variant::kReference) return reference_bytes(score, nq, nk, dk, dv);
  if (const int parts = key_split_parts(heads, nq, nk, dk, dv)) return optimized_bytes(score, nq, nk, dk, dv, parts);
  const int threads = thread_count();
  const uint64_t one = optimized_bytes(score, nq, nk, dk, dv, 1);
  if (threads <= 1 || heads < threads || double(heads) * nq * nk * (double(dk) + dv) < kParallelMinMacs) return one;
  const uint64_t d = uint64_t(dk), a = uint64_t(score.da > 0 ? score.da : 0);
  const uint64_t ng = score.score == Score::kGeneral    ? mul_sat(d, d)
                      : score.score == Score::kAdditive ? add_sat(mul_sat(mul_sat(2, a), d), a)
                                                        : 0;
  return add_sat(mul_sat(one, uint64_t(threads)), mul_sat(mul_sat(uint64_t(heads), ng), sizeof(float)));
}

}  // namespace attn
