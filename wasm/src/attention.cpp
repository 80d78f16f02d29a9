// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, M rows, K inner dims, N columns.
//
// Dispatch: kReference -> the double-accumulating reference; kOptimized -> the best kernel compiled in
// (wasmsimd under -msimd128, scalar otherwise).
#include "attn/attention.h"

namespace attn {

void attention_f32(float* out, float* weights, const float* q, const float* k, const float* v,
                   const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk, int dv,
                   Variant variant) {
  if (variant == Variant::kReference) {
    attention_f32__reference(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
    return;
  }
#if defined(__wasm_simd128__)
  attention_f32__wasmsimd(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
#else
  attention_f32__scalar(out, weights, q, k, v, score, mask, heads, nq, nk, dk, dv);
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
