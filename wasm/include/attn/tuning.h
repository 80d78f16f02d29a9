// Bench-only choice among the WASM SIMD kernel variants (docs/CPU.md): the tiling of the forward attention
// kernel and the micro-kernel of the packed gemm. Process-wide, read at the start of each call; 0 is the
// default every build runs. The library never changes it: scripts/bench/cpu-kernels.mjs does, through the
// binding setSimdVariant, to compare the variants in one run on the core at hand. Without -msimd128 it is
// accepted and ignored.
#pragma once

namespace attn {

// 0 = the default, 1 .. kSimdVariantCount - 1 as listed in docs/CPU.md.
constexpr int kSimdVariantCount = 7;

// Sets the variant and returns it, or returns -1 (changing nothing) when v is not in [0, kSimdVariantCount).
int set_simd_variant(int v);
int simd_variant();

}  // namespace attn
