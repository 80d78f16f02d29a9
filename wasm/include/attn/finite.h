// N values.
//
// The finite check of the JS library's large float inputs (web/src/lib/validate.js) on the WASM heap: a copy and
// one pass of f32x4 compares in the SIMD builds instead of a JS loop over every value (the validation of
// attention's q, k, v 1.7-2.8x faster in Chromium; docs/CPU.md, eighth pass).
#pragma once

#include <cstddef>

namespace attn {

// The index of the first x[i] that is NaN or +-INFINITY, or -1 when all n are finite.
long first_non_finite_f32(const float* x, size_t n);

}  // namespace attn
