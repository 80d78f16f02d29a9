// M rows of A and C, K inner dims, N columns of B and C, NR = 8 columns per panel.
//
// Dense layer product on a weight matrix packed once, at load time, into column panels: B [K][N] becomes
// [ceil(N/8)][K][8], panel p holding columns 8p..8p+7 of every row k back to back (zero past N). A micro-kernel
// then streams each panel contiguously and reuses it for every row of A, so each weight is read once per call
// instead of once per 4-row block (gemm_f32), with no stride of N between the rows it reads.
#pragma once

#include <cstddef>

#include "attn/attention.h"

namespace attn {

constexpr int kGemmPackedNR = 8;  // columns per panel

// Floats in the packed form of a [K][N] matrix: ceil(N/8) * K * 8.
inline size_t gemm_f32_packed_size(int k, int n) {
  return static_cast<size_t>((n + kGemmPackedNR - 1) / kGemmPackedNR) * k * kGemmPackedNR;
}

// packed [ceil(N/8)][K][8] <- b [K][N]; the columns past N in the last panel are 0.
void gemm_f32_pack(float* packed, const float* b, int k, int n);
// Row kk of b (row [N]) into its place in packed (gemm_f32_packed_size(k, n) floats), padding included: a
// kernel can be packed row by row as it is read.
void gemm_f32_pack_row(float* packed, const float* row, int kk, int k, int n);
// b [K][N] <- packed [ceil(N/8)][K][8] (the inverse of gemm_f32_pack).
void gemm_f32_unpack(float* b, const float* packed, int k, int n);

// c [M][N]; a [M][K]; packed = gemm_f32_pack(b [K][N]); bias [N] or nullptr. C = A . B (+ bias).
void gemm_f32_packed__scalar(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n);
// Defined only in the SIMD build (-msimd128); elsewhere call gemm_f32_packed.
void gemm_f32_packed__wasmsimd(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n);
// kOptimized: the wasmsimd kernel when compiled with SIMD, else the scalar one. kReference: unpacks B and runs
// gemm_f32__reference (slow, allocates; for checking).
void gemm_f32_packed(float* c, const float* a, const float* packed, const float* bias, int m, int k, int n,
                     Variant variant);

}  // namespace attn
