// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, M rows, K inner dims, N columns, P threads.
//
// Dispatch: kReference -> the double-accumulating reference (always on the calling thread); kOptimized -> the
// best kernel compiled in (wasmsimd under -msimd128, scalar otherwise), split over P threads (parallel.h).
#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>

#include "attn/attention.h"
#include "attn/backward.h"
#include "buffer.h"
#include "kernels/attention_prep.h"
#include "parallel.h"

namespace attn {
namespace {

// Below kParallelMinMacs multiply-adds (H Tq Tk (D + Dv)) a call runs on one thread: waking the pool and
// repacking K and V per block cost more (measured in Chromium on 2 cores: H = 1, Tq = Tk = 128, D = Dv = 64,
// 2.1M, ran 0.25 ms on one thread and 0.28 ms on two).
// Query blocks start at multiples of this many rows (the kernels' query micro-tiles) and hold at least
// kMinBlockRows rows (each block repacks K and V).
constexpr int kRowAlign = 8;
constexpr int kMinBlockRows = 32;
// Tasks per thread when splitting query rows: more, smaller tasks balance better when a thread is slowed
// (a shared machine, the causal mask's longer late rows) and cost a repack of K and V each.
constexpr int kBlocksPerThread = 4;

// row_max, row_sum [H][Tq] or nullptr: saved for the backward (attention_forward_f32, attn/backward.h; never
// with weights).
bool optimized(float* out, float* weights, float* row_max, float* row_sum, const float* q, const float* k,
               const float* v, const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
               int dv) {
  if (row_max) {
#if defined(__wasm_simd128__)
    return attention_forward_f32__wasmsimd(out, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
#else
    return attention_forward_f32__scalar(out, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
#endif
  }
#if defined(__wasm_simd128__)
  return attention_f32__wasmsimd(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
#else
  return attention_f32__scalar(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
#endif
}

uint64_t optimized_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv) {
#if defined(__wasm_simd128__)
  return kernels::attention_f32__wasmsimd_workspace_bytes(score, nq, nk, dk, dv);
#else
  return kernels::attention_f32__scalar_workspace_bytes(score, nq, nk, dk, dv);
#endif
}

// The thread split attention_f32 makes (1 = one kernel call on the calling thread).
int split_threads(int heads, int nq, int nk, int dk, int dv) {
  const int threads = thread_count();
  const double macs = double(heads) * nq * nk * (double(dk) + dv);  // dk + dv may pass INT_MAX (fuzz: shapes)
  return threads <= 1 || macs < kParallelMinMacs ? 1 : threads;
}

// The optimized variant on P threads, as independent kernel calls over disjoint parts of out and weights,
// handed out one at a time (parallel_for), so that a slowed thread takes fewer:
//   H >= P: H tasks, one head each;
//   H < P:  per head, B = ceil(4P/H) blocks of query rows (at least 32 rows each), each a kernel call on rows
//           [r0, r1): q, out, weights and the explicit mask start at row r0, and the causal diagonal keeps its
//           place through mask.rows_after = Tq - r1 (attention.h).
// Each call packs its own K and V, so a split over queries repacks them once per block. The call fails (false)
// when any task could not allocate its scratch. row_max, row_sum [H][Tq] or nullptr follow the rows of out.
bool optimized_threads(float* out, float* weights, float* row_max, float* row_sum, const float* q, const float* k,
                       const float* v, const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                       int dk, int dv) {
  const int threads = split_threads(heads, nq, nk, dk, dv);
  if (threads <= 1) return optimized(out, weights, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
  const std::size_t sq = std::size_t(nq), sk = std::size_t(nk);
  std::atomic<bool> ok{true};
  if (heads >= threads) {
    parallel_for(heads, [&](int h) {
      if (!optimized(out + h * sq * dv, weights ? weights + h * sq * sk : nullptr, row_max ? row_max + h * sq : nullptr,
                     row_sum ? row_sum + h * sq : nullptr, q + h * sq * dk, k + h * sk * dk, v + h * sk * dv, score,
                     mask, 1, nq, nk, dk, dv))
        ok = false;
    });
    return ok;
  }
  const int per_head = std::max(1, std::min((kBlocksPerThread * threads + heads - 1) / heads, nq / kMinBlockRows));
  parallel_for(heads * per_head, [&](int t) {
    const int h = t / per_head, b = t % per_head;
    const int r0 = split_point(nq, per_head, b, kRowAlign), r1 = split_point(nq, per_head, b + 1, kRowAlign);
    if (r0 == r1) return;
    MaskParams block = mask;
    if (mask.kind == MaskKind::kExplicit) block.allowed = mask.allowed + std::size_t(r0) * sk;
    if (mask.kind == MaskKind::kCausal) block.rows_after = mask.rows_after + (nq - r1);
    const std::size_t row = std::size_t(h) * sq + r0;  // row r0 of head h in [H][Tq]
    if (!optimized(out + row * dv, weights ? weights + row * sk : nullptr, row_max ? row_max + row : nullptr,
                   row_sum ? row_sum + row : nullptr, q + row * dk, k + h * sk * dk, v + h * sk * dv, score, block, 1,
                   r1 - r0, nk, dk, dv))
      ok = false;
  });
  return ok;
}

}  // namespace

bool attention_f32(float* out, float* weights, const float* q, const float* k, const float* v,
                   const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk, int dv,
                   Variant variant) {
  if (variant == Variant::kReference) {
    return attention_f32__reference(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
  }
  return optimized_threads(out, weights, nullptr, nullptr, q, k, v, score, mask, heads, nq, nk, dk, dv);
}

// The forward that saves row max and sum (attn/backward.h), split over threads like attention_f32.
bool attention_forward_f32(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                           const float* v, const ScoreParams& score, const MaskParams& mask, int heads, int nq,
                           int nk, int dk, int dv, Variant variant) {
  assert(row_max && row_sum);
  if (variant == Variant::kReference) {
    attention_forward_f32__reference(out, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
    return true;
  }
  return optimized_threads(out, nullptr, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
}

// Reference: its double row. Optimized: one kernel call's scratch for one head of all Tq rows, times the
// threads that may run a call at once (a block of rows needs no more than all of them).
uint64_t attention_f32_workspace_bytes(const ScoreParams& score, int heads, int nq, int nk, int dk, int dv,
                                       Variant variant) {
  if (variant == Variant::kReference) return kernels::recompute_row_bytes(nk, dv);
  const uint64_t one = optimized_workspace_bytes(score, nq, nk, dk, dv);
  const uint64_t calls = uint64_t(split_threads(heads, nq, nk, dk, dv));
  return one > UINT64_MAX / calls ? UINT64_MAX : one * calls;
}

bool simd_build() {
#if defined(__wasm_simd128__)
  return true;
#else
  return false;
#endif
}

void gemm_f32(float* c, const float* a, const float* b, const float* bias, int m, int k, int n, Variant variant) {
  if (variant == Variant::kReference) {
    gemm_f32__reference(c, a, b, bias, m, k, n);
    return;
  }
#if defined(__wasm_simd128__)
  gemm_f32__wasmsimd(c, a, b, bias, m, k, n);
#else
  gemm_f32__scalar(c, a, b, bias, m, k, n);
#endif
}

}  // namespace attn
