// The optimized attention variants every attention tester runs against the reference: the scalar kernel, the
// wasmsimd kernel (SIMD build), the dispatch, and the dispatch on 3 threads (builds with threads: heads split
// when H >= 3, query rows split otherwise, with the causal diagonal and the explicit mask rows offset per
// block; back to 1 thread after).
#pragma once

#include <vector>

#include "attn/attention.h"
#include "attn/threads.h"
#include "attn/tuning.h"

namespace attn::test {

using AttentionFn = bool (*)(float*, float*, const float*, const float*, const float*, const ScoreParams&,
                             const MaskParams&, int, int, int, int, int);

inline bool dispatch_optimized(float* out, float* weights, const float* q, const float* k, const float* v,
                               const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
                               int dv) {
  return attention_f32(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv, Variant::kOptimized);
}

inline bool dispatch_threads(float* out, float* weights, const float* q, const float* k, const float* v,
                             const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
                             int dv) {
  set_thread_count(3);
  const bool ok = attention_f32(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv, Variant::kOptimized);
  set_thread_count(1);
  return ok;
}

#if defined(__wasm_simd128__)
// The wasmsimd kernel under bench-only tiling variant V (attn/tuning.h, docs/CPU.md); back to the default after.
template <int V>
bool wasmsimd_tiling(float* out, float* weights, const float* q, const float* k, const float* v,
                     const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk, int dv) {
  set_simd_variant(V);
  const bool ok = attention_f32__wasmsimd(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
  set_simd_variant(0);
  return ok;
}
#endif

struct NamedVariant {
  const char* name;
  AttentionFn fn;
};

inline std::vector<NamedVariant> optimized_variants() {
  return {
      {"scalar", &attention_f32__scalar},
#if defined(__wasm_simd128__)
      {"wasmsimd", &attention_f32__wasmsimd},
      {"wasmsimd_tiling1", &wasmsimd_tiling<1>},
      {"wasmsimd_tiling2", &wasmsimd_tiling<2>},
      {"wasmsimd_tiling3", &wasmsimd_tiling<3>},
      {"wasmsimd_tiling4", &wasmsimd_tiling<4>},
      {"wasmsimd_tiling5", &wasmsimd_tiling<5>},
      {"wasmsimd_tiling6", &wasmsimd_tiling<6>},
#endif
      {"dispatch", &dispatch_optimized},
#if defined(ATTN_THREADS) && ATTN_THREADS
      {"dispatch_threads", &dispatch_threads},
#endif
  };
}

}  // namespace attn::test
