// N values.
#include "attn/finite.h"

#include <cmath>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace attn {

namespace {

long first_non_finite_scalar(const float* x, size_t begin, size_t n) {
  for (size_t i = begin; i < n; ++i)
    if (!std::isfinite(x[i])) return long(i);
  return -1;
}

}  // namespace

long first_non_finite_f32(const float* x, size_t n) {
#if defined(__wasm_simd128__)
  // Blocks of 64 values: |x| < INFINITY is false exactly for NaN and +-INFINITY; the lanes' AND over the block
  // is tested once per block, and the block that fails is searched value by value.
  constexpr size_t kBlock = 64;
  const v128_t vinf = wasm_f32x4_const_splat(INFINITY);
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    v128_t ok = wasm_f32x4_lt(wasm_f32x4_abs(wasm_v128_load(x + i)), vinf);
    for (size_t j = 4; j < kBlock; j += 4) ok = wasm_v128_and(ok, wasm_f32x4_lt(wasm_f32x4_abs(wasm_v128_load(x + i + j)), vinf));
    if (!wasm_i32x4_all_true(ok)) return first_non_finite_scalar(x, i, i + kBlock);
  }
  return first_non_finite_scalar(x, i, n);
#else
  return first_non_finite_scalar(x, 0, n);
#endif
}

}  // namespace attn
