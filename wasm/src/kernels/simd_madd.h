// acc + a * b on f32x4, for the micro-kernels of the attention and the packed gemm. Only with -msimd128.
#pragma once
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

namespace attn::kernels::simd {

// An f32x4.mul and an f32x4.add, or in the build with relaxed SIMD (-mrelaxed-simd: the module
// attn_simd_relaxed) one f32x4.relaxed_madd, fused where the CPU has FMA (the last bit may then differ). Half
// the FP instructions of the micro-kernels: on a core whose dispatch width, not its FP pipes, bounds them
// (Zen 3) that is 1.1-1.3x; docs/CPU.md. clang 14 knows relaxed SIMD only as its prototype and emits
// __builtin_wasm_fma_f32x4(a, b, c) as the prototype's opcode 0xfd 0xaf 0x01; scripts/relaxed-simd.mjs
// rewrites it after the link to the standard's f32x4.relaxed_madd (0xfd 0x85 0x02), whose result is
// a * b + c: hence the operand order.
inline v128_t vmadd(v128_t acc, v128_t a, v128_t b) {
#if defined(__wasm_relaxed_simd__)
  return __builtin_wasm_fma_f32x4(a, b, acc);
#else
  return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b));
#endif
}

}  // namespace attn::kernels::simd

#endif  // __wasm_simd128__
