// MR = 4 queries per micro-tile, NR = 8 keys (or value columns) per micro-tile = 2 x f32x4, D dims, T keys.
//
// The WASM SIMD128 building blocks of the attention kernels (attention_f32__wasmsimd.cpp, the forward;
// attention_backward_f32__wasmsimd.cpp, the backward): exp and tanh on f32x4, the 4x8 score and P.V
// micro-kernels, and the row operations of the softmax. Only with -msimd128.
#pragma once
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "simd_madd.h"

namespace attn::kernels::simd {

constexpr int kMr = 4;  // MR: queries per micro-tile
constexpr int kNr = 8;  // NR: keys per K panel, value columns per P.V micro-tile

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

// The x below which vexp_nonpositive gives 0 (where expf is denormal).
constexpr float kExpCutoff = -0x1.5D589Ep6f;

// exp(x) for x <= 0 and x = -INFINITY (XNNPACK's "rr2_p5": range reduction x = n ln2 + t with ln2 in two
// parts, a degree-5 polynomial on t, 2^n built in the exponent bits). Relative error about 1e-7;
// x < -87.34 (where expf is denormal) and -INFINITY give exactly 0. kCutoff = false drops that last mask
// (2 of the ~22 ops): only for x known in [kExpCutoff, 0], where both give the same bits.
template <bool kCutoff = true>
inline v128_t vexp_nonpositive(v128_t vx) {
  const v128_t vmagic_bias = wasm_f32x4_const_splat(0x1.8000FEp23f);
  const v128_t vlog2e = wasm_f32x4_const_splat(0x1.715476p+0f);
  const v128_t vminus_ln2_hi = wasm_f32x4_const_splat(-0x1.62E400p-1f);
  const v128_t vminus_ln2_lo = wasm_f32x4_const_splat(-0x1.7F7D1Cp-20f);
  const v128_t vc5 = wasm_f32x4_const_splat(0x1.0F9F9Cp-7f);
  const v128_t vc4 = wasm_f32x4_const_splat(0x1.573A1Ap-5f);
  const v128_t vc3 = wasm_f32x4_const_splat(0x1.555A80p-3f);
  const v128_t vc2 = wasm_f32x4_const_splat(0x1.FFFDC6p-2f);
  const v128_t vc1 = wasm_f32x4_const_splat(0x1.FFFFF6p-1f);
  const v128_t vdenorm_cutoff = wasm_f32x4_const_splat(kExpCutoff);

  // Every multiply-add is vmadd: fused in the relaxed build. The reduction stays exact there (n ln2_hi is exact
  // in f32, and a fused n ln2_lo only drops a rounding), and the polynomial loses one rounding per step.
  v128_t vn = vmadd(vmagic_bias, vx, vlog2e);
  const v128_t vs = wasm_i32x4_shl(vn, 23);  // 2^n
  vn = wasm_f32x4_sub(vn, vmagic_bias);
  v128_t vt = vmadd(vx, vn, vminus_ln2_hi);
  vt = vmadd(vt, vn, vminus_ln2_lo);
  v128_t vp = vmadd(vc4, vc5, vt);
  vp = vmadd(vc3, vp, vt);
  vp = vmadd(vc2, vp, vt);
  vp = vmadd(vc1, vp, vt);
  vt = wasm_f32x4_mul(vt, vs);
  const v128_t vf = vmadd(vs, vt, vp);  // 2^n (1 + t p(t))
  if (!kCutoff) return vf;
  return wasm_v128_andnot(vf, wasm_f32x4_lt(vx, vdenorm_cutoff));
}

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) <= 1.
inline v128_t vtanh(v128_t vx) {
  const v128_t vsign = wasm_f32x4_const_splat(-0.0f);
  const v128_t vone = wasm_f32x4_const_splat(1.0f);
  const v128_t vabs = wasm_v128_andnot(vx, vsign);
  const v128_t ve = vexp_nonpositive(wasm_f32x4_mul(vabs, wasm_f32x4_const_splat(-2.0f)));
  const v128_t vt = wasm_f32x4_div(wasm_f32x4_sub(vone, ve), wasm_f32x4_add(vone, ve));
  return wasm_v128_or(vt, wasm_v128_and(vx, vsign));
}

inline float hmax(v128_t v) {
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

inline float hmin(v128_t v) {
  v = wasm_f32x4_pmin(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_pmin(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

inline float hsum(v128_t v) {
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

// t [MR rows at stride ldt][NR] = the 4x8 tile vr0x0123, vr0x4567 (row 0), ... vr3x4567 (row 3).
inline void store_4x8(float* t, int ldt, v128_t v00, v128_t v04, v128_t v10, v128_t v14, v128_t v20, v128_t v24,
                      v128_t v30, v128_t v34) {
  wasm_v128_store(t, v00);
  wasm_v128_store(t + 4, v04);
  wasm_v128_store(t + ldt, v10);
  wasm_v128_store(t + ldt + 4, v14);
  wasm_v128_store(t + 2 * ldt, v20);
  wasm_v128_store(t + 2 * ldt + 4, v24);
  wasm_v128_store(t + 3 * ldt, v30);
  wasm_v128_store(t + 3 * ldt + 4, v34);
}

// s [MR rows at stride lds][NR]; q [MR rows at stride ldq][D] (q'); kpanel [D][NR] (NR keys, transposed).
// s[r][c] = sum_d q[r][d] kpanel[d][c]: each loaded key vector serves 4 queries, 8 accumulators in registers.
inline void scores_4x8(float* s, int lds, const float* q, int ldq, const float* kpanel, int dk) {
  const float* q0 = q;
  const float* q1 = q0 + ldq;
  const float* q2 = q1 + ldq;
  const float* q3 = q2 + ldq;
  v128_t vacc0x0123 = wasm_f32x4_const_splat(0.0f), vacc0x4567 = vacc0x0123;
  v128_t vacc1x0123 = vacc0x0123, vacc1x4567 = vacc0x0123;
  v128_t vacc2x0123 = vacc0x0123, vacc2x4567 = vacc0x0123;
  v128_t vacc3x0123 = vacc0x0123, vacc3x4567 = vacc0x0123;
  for (int d = 0; d < dk; ++d) {
    const v128_t vk0123 = wasm_v128_load(kpanel);
    const v128_t vk4567 = wasm_v128_load(kpanel + 4);
    kpanel += kNr;
    const v128_t vq0 = wasm_v128_load32_splat(q0 + d);
    vacc0x0123 = vmadd(vacc0x0123, vq0, vk0123);
    vacc0x4567 = vmadd(vacc0x4567, vq0, vk4567);
    const v128_t vq1 = wasm_v128_load32_splat(q1 + d);
    vacc1x0123 = vmadd(vacc1x0123, vq1, vk0123);
    vacc1x4567 = vmadd(vacc1x4567, vq1, vk4567);
    const v128_t vq2 = wasm_v128_load32_splat(q2 + d);
    vacc2x0123 = vmadd(vacc2x0123, vq2, vk0123);
    vacc2x4567 = vmadd(vacc2x4567, vq2, vk4567);
    const v128_t vq3 = wasm_v128_load32_splat(q3 + d);
    vacc3x0123 = vmadd(vacc3x0123, vq3, vk0123);
    vacc3x4567 = vmadd(vacc3x4567, vq3, vk4567);
  }
  store_4x8(s, lds, vacc0x0123, vacc0x4567, vacc1x0123, vacc1x4567, vacc2x0123, vacc2x4567, vacc3x0123, vacc3x4567);
}

// Running statistics of the MR rows of a score tile, kept by scores_4x8_quads_stats so that a tile with no
// masked key needs no pass of its own for them: per row r, max[r] and min[r] (pmax/pmin lanes) and
// z[r] = sum of (x - x) over sums of lane pairs: 0 while every score is finite, NaN (or +-INFINITY) from the
// first non-finite one (a false alarm when two finite scores overflow their sum: the caller then looks at
// the scores themselves).
struct TileStats {
  v128_t max[kMr], min[kMr], z[kMr];
  void reset() {
    for (int r = 0; r < kMr; ++r) {
      max[r] = wasm_f32x4_const_splat(-INFINITY);
      min[r] = wasm_f32x4_const_splat(INFINITY);
      z[r] = wasm_f32x4_const_splat(0.0f);
    }
  }
  bool finite(int r) const { return wasm_i32x4_all_true(wasm_f32x4_eq(z[r], wasm_f32x4_const_splat(0.0f))); }
};

inline void tile_stats_row(TileStats& st, int r, v128_t a, v128_t b) {
  const v128_t vs = wasm_f32x4_add(a, b);
  st.z[r] = wasm_f32x4_add(st.z[r], wasm_f32x4_sub(vs, vs));
  st.max[r] = wasm_f32x4_pmax(st.max[r], wasm_f32x4_pmax(a, b));
  st.min[r] = wasm_f32x4_pmin(st.min[r], wasm_f32x4_pmin(a, b));
}

// The score product with the MR queries interleaved: q4 [D][MR] (q4[d][r] = q[r][d]). One pointer at fixed
// offsets instead of MR row pointers: V8 addresses wasm memory as base + one 32-bit index, so each row pointer
// costs an address add per d (4 of the 26 x64 instructions of a d step of scores_4x8); docs/CPU.md.
// With kStats, also the tile's running row max, min and finiteness in *st, updated from the 8 accumulators before
// they are stored (the row max fused into the score micro-kernel).
template <bool kStats>
inline void scores_4x8_q4(float* s, int lds, const float* q4, const float* kpanel, int dk, TileStats* st) {
  v128_t vacc0x0123 = wasm_f32x4_const_splat(0.0f), vacc0x4567 = vacc0x0123;
  v128_t vacc1x0123 = vacc0x0123, vacc1x4567 = vacc0x0123;
  v128_t vacc2x0123 = vacc0x0123, vacc2x4567 = vacc0x0123;
  v128_t vacc3x0123 = vacc0x0123, vacc3x4567 = vacc0x0123;
  for (int d = 0; d < dk; ++d) {
    const v128_t vk0123 = wasm_v128_load(kpanel);
    const v128_t vk4567 = wasm_v128_load(kpanel + 4);
    kpanel += kNr;
    const v128_t vq0 = wasm_v128_load32_splat(q4);
    vacc0x0123 = vmadd(vacc0x0123, vq0, vk0123);
    vacc0x4567 = vmadd(vacc0x4567, vq0, vk4567);
    const v128_t vq1 = wasm_v128_load32_splat(q4 + 1);
    vacc1x0123 = vmadd(vacc1x0123, vq1, vk0123);
    vacc1x4567 = vmadd(vacc1x4567, vq1, vk4567);
    const v128_t vq2 = wasm_v128_load32_splat(q4 + 2);
    vacc2x0123 = vmadd(vacc2x0123, vq2, vk0123);
    vacc2x4567 = vmadd(vacc2x4567, vq2, vk4567);
    const v128_t vq3 = wasm_v128_load32_splat(q4 + 3);
    vacc3x0123 = vmadd(vacc3x0123, vq3, vk0123);
    vacc3x4567 = vmadd(vacc3x4567, vq3, vk4567);
    q4 += kMr;
  }
  if constexpr (kStats) {
    tile_stats_row(*st, 0, vacc0x0123, vacc0x4567);
    tile_stats_row(*st, 1, vacc1x0123, vacc1x4567);
    tile_stats_row(*st, 2, vacc2x0123, vacc2x4567);
    tile_stats_row(*st, 3, vacc3x0123, vacc3x4567);
  }
  store_4x8(s, lds, vacc0x0123, vacc0x4567, vacc1x0123, vacc1x4567, vacc2x0123, vacc2x4567, vacc3x0123, vacc3x4567);
}

inline void scores_4x8_quads(float* s, int lds, const float* q4, const float* kpanel, int dk) {
  scores_4x8_q4<false>(s, lds, q4, kpanel, dk, nullptr);
}

inline void scores_4x8_quads_stats(float* s, int lds, const float* q4, const float* kpanel, int dk, TileStats& st) {
  scores_4x8_q4<true>(s, lds, q4, kpanel, dk, &st);
}

// Additive scores for one query row and NR keys: s[c] = sum_a v[a] tanh(pq[a] + pkT[a][c]).
// pq [A]; pkT [A][ldk] (keys along lanes, so no horizontal sums).
inline void scores_additive_1x8(float* s, const float* pq, const float* pkT, int ldk, const float* va, int da) {
  v128_t vacc0123 = wasm_f32x4_const_splat(0.0f), vacc4567 = vacc0123;
  for (int a = 0; a < da; ++a) {
    const v128_t vq = wasm_v128_load32_splat(pq + a);
    const v128_t vv = wasm_v128_load32_splat(va + a);
    const float* pk = pkT + size_t(a) * ldk;
    vacc0123 = vmadd(vacc0123, vv, vtanh(wasm_f32x4_add(vq, wasm_v128_load(pk))));
    vacc4567 = vmadd(vacc4567, vv, vtanh(wasm_f32x4_add(vq, wasm_v128_load(pk + 4))));
  }
  wasm_v128_store(s, vacc0123);
  wasm_v128_store(s + 4, vacc4567);
}

// acc [MR rows at stride lda][NR] += p [MR rows at stride ldp][T] . vcols [T rows at stride ldv][NR].
inline void pv_4x8(float* acc, int lda, const float* p, int ldp, const float* vcols, int ldv, int nkeys) {
  float* a0 = acc;
  float* a1 = a0 + lda;
  float* a2 = a1 + lda;
  float* a3 = a2 + lda;
  const float* p0 = p;
  const float* p1 = p0 + ldp;
  const float* p2 = p1 + ldp;
  const float* p3 = p2 + ldp;
  v128_t vacc0x0123 = wasm_v128_load(a0), vacc0x4567 = wasm_v128_load(a0 + 4);
  v128_t vacc1x0123 = wasm_v128_load(a1), vacc1x4567 = wasm_v128_load(a1 + 4);
  v128_t vacc2x0123 = wasm_v128_load(a2), vacc2x4567 = wasm_v128_load(a2 + 4);
  v128_t vacc3x0123 = wasm_v128_load(a3), vacc3x4567 = wasm_v128_load(a3 + 4);
  for (int t = 0; t < nkeys; ++t) {
    const v128_t vv0123 = wasm_v128_load(vcols);
    const v128_t vv4567 = wasm_v128_load(vcols + 4);
    vcols += ldv;
    const v128_t vp0 = wasm_v128_load32_splat(p0 + t);
    vacc0x0123 = vmadd(vacc0x0123, vp0, vv0123);
    vacc0x4567 = vmadd(vacc0x4567, vp0, vv4567);
    const v128_t vp1 = wasm_v128_load32_splat(p1 + t);
    vacc1x0123 = vmadd(vacc1x0123, vp1, vv0123);
    vacc1x4567 = vmadd(vacc1x4567, vp1, vv4567);
    const v128_t vp2 = wasm_v128_load32_splat(p2 + t);
    vacc2x0123 = vmadd(vacc2x0123, vp2, vv0123);
    vacc2x4567 = vmadd(vacc2x4567, vp2, vv4567);
    const v128_t vp3 = wasm_v128_load32_splat(p3 + t);
    vacc3x0123 = vmadd(vacc3x0123, vp3, vv0123);
    vacc3x4567 = vmadd(vacc3x4567, vp3, vv4567);
  }
  store_4x8(acc, lda, vacc0x0123, vacc0x4567, vacc1x0123, vacc1x4567, vacc2x0123, vacc2x4567, vacc3x0123, vacc3x4567);
}

// acc [MR rows at stride lda][NR] += sum over t < T of left(t, r) vcols[t][0..NR): vcols [T rows at stride ldv]
// [NR], and left(t, r) = p[t * pstep + r * kRowStride] with the row stride a compile-time constant: the four left
// elements of a step are one pointer plus constant offsets (wasm load offsets, folded into V8's x64 addressing),
// no address arithmetic per row and step (docs/CPU.md). pstep 1: P.V over a row-major score tile; the backward
// also reads P and dS down their columns with it (attention_backward_simd.h).
template <int kRowStride>
inline void left_4x8(float* acc, int lda, const float* p, int pstep, const float* vcols, int ldv, int t_count) {
  float* a0 = acc;
  float* a1 = a0 + lda;
  float* a2 = a1 + lda;
  float* a3 = a2 + lda;
  v128_t vacc0x0123 = wasm_v128_load(a0), vacc0x4567 = wasm_v128_load(a0 + 4);
  v128_t vacc1x0123 = wasm_v128_load(a1), vacc1x4567 = wasm_v128_load(a1 + 4);
  v128_t vacc2x0123 = wasm_v128_load(a2), vacc2x4567 = wasm_v128_load(a2 + 4);
  v128_t vacc3x0123 = wasm_v128_load(a3), vacc3x4567 = wasm_v128_load(a3 + 4);
  for (int t = 0; t < t_count; ++t) {
    const v128_t vv0123 = wasm_v128_load(vcols);
    const v128_t vv4567 = wasm_v128_load(vcols + 4);
    vcols += ldv;
    const v128_t vp0 = wasm_v128_load32_splat(p);
    vacc0x0123 = vmadd(vacc0x0123, vp0, vv0123);
    vacc0x4567 = vmadd(vacc0x4567, vp0, vv4567);
    const v128_t vp1 = wasm_v128_load32_splat(p + kRowStride);
    vacc1x0123 = vmadd(vacc1x0123, vp1, vv0123);
    vacc1x4567 = vmadd(vacc1x4567, vp1, vv4567);
    const v128_t vp2 = wasm_v128_load32_splat(p + 2 * kRowStride);
    vacc2x0123 = vmadd(vacc2x0123, vp2, vv0123);
    vacc2x4567 = vmadd(vacc2x4567, vp2, vv4567);
    const v128_t vp3 = wasm_v128_load32_splat(p + 3 * kRowStride);
    vacc3x0123 = vmadd(vacc3x0123, vp3, vv0123);
    vacc3x4567 = vmadd(vacc3x4567, vp3, vv4567);
    p += pstep;
  }
  store_4x8(acc, lda, vacc0x0123, vacc0x4567, vacc1x0123, vacc1x4567, vacc2x0123, vacc2x4567, vacc3x0123, vacc3x4567);
}

// pv_4x8 with the MR rows of p at a fixed stride kLdp: left_4x8 stepping one key at a time.
template <int kLdp>
inline void pv_4x8_fixed(float* acc, int lda, const float* p, const float* vcols, int ldv, int nkeys) {
  left_4x8<kLdp>(acc, lda, p, 1, vcols, ldv, nkeys);
}

// dst[d * ld_dst + r] = src[r * ld_src + d] for r < 4 and d < n: four rows of src into the four lanes of dst's
// rows, a 4x4 transpose (unpack lo/hi, then 64-bit halves: 8 shuffles) per 4 columns instead of 16 scalar
// stores. Rows >= `rows` (<= 4; not read) give zeros.
inline void rows_to_lanes_4(float* dst, int ld_dst, const float* src, int ld_src, int rows, int n) {
  const v128_t vzero = wasm_f32x4_const_splat(0.0f);
  const float* r0 = src;
  const float* r1 = src + ld_src;
  const float* r2 = src + 2 * ld_src;
  const float* r3 = src + 3 * ld_src;
  int d = 0;
  for (; d + 4 <= n; d += 4) {
    const v128_t va = wasm_v128_load(r0 + d);  // a0 a1 a2 a3: row 0 is always there (rows >= 1)
    const v128_t vb = rows > 1 ? wasm_v128_load(r1 + d) : vzero;
    const v128_t vc = rows > 2 ? wasm_v128_load(r2 + d) : vzero;
    const v128_t vd = rows > 3 ? wasm_v128_load(r3 + d) : vzero;
    const v128_t vab01 = wasm_i32x4_shuffle(va, vb, 0, 4, 1, 5);  // a0 b0 a1 b1
    const v128_t vcd01 = wasm_i32x4_shuffle(vc, vd, 0, 4, 1, 5);
    const v128_t vab23 = wasm_i32x4_shuffle(va, vb, 2, 6, 3, 7);
    const v128_t vcd23 = wasm_i32x4_shuffle(vc, vd, 2, 6, 3, 7);
    float* o = dst + size_t(d) * ld_dst;
    wasm_v128_store(o, wasm_i32x4_shuffle(vab01, vcd01, 0, 1, 4, 5));  // a0 b0 c0 d0
    wasm_v128_store(o + ld_dst, wasm_i32x4_shuffle(vab01, vcd01, 2, 3, 6, 7));
    wasm_v128_store(o + 2 * ld_dst, wasm_i32x4_shuffle(vab23, vcd23, 0, 1, 4, 5));
    wasm_v128_store(o + 3 * ld_dst, wasm_i32x4_shuffle(vab23, vcd23, 2, 3, 6, 7));
  }
  for (; d < n; ++d)
    for (int r = 0; r < 4; ++r) dst[size_t(d) * ld_dst + r] = r < rows ? src[size_t(r) * ld_src + d] : 0.0f;
}

// panels [ceil(T/NR)][C][NR] <- x [T][C]: row t goes to lane t % NR of panel t / NR, four rows at a time; the
// lanes of the last panel past T get zeros. K for the score micro-kernels (forward and backward), V for dP.
inline void pack_panels(float* panels, const float* x, int t_count, int c_count) {
  for (int t = 0; t < t_count; t += 4)
    rows_to_lanes_4(panels + size_t(t / kNr) * c_count * kNr + t % kNr, kNr, x + size_t(t) * c_count, c_count,
                    std::min(4, t_count - t), c_count);
}

// o[t] = a[t] * c for t < n (any n; o may be a): out = acc / l, and scale_row in place.
inline void scale_into(float* o, const float* a, int n, float c) {
  const v128_t vc = wasm_f32x4_splat(c);
  int t = 0;
  for (; t + 4 <= n; t += 4) wasm_v128_store(o + t, wasm_f32x4_mul(wasm_v128_load(a + t), vc));
  for (; t < n; ++t) o[t] = a[t] * c;
}

// x[t] *= c for t < n (any n).
inline void scale_row(float* x, int n, float c) { scale_into(x, x, n, c); }

// True when s[0..n) are all finite (n a multiple of 4): |x| < INFINITY is false for +-INFINITY and NaN.
inline bool finite_4n(const float* s, int n) {
  const v128_t vinf = wasm_f32x4_const_splat(INFINITY);
  v128_t vok = wasm_i32x4_const_splat(-1);
  for (int t = 0; t < n; t += 4) vok = wasm_v128_and(vok, wasm_f32x4_lt(wasm_f32x4_abs(wasm_v128_load(s + t)), vinf));
  return wasm_i32x4_all_true(vok);
}

// True when x[0..n) are all finite (any n): kernels::finite_row (attention_prep.h) four lanes at a time.
inline bool finite_any(const float* x, int n) {
  const int n4 = n & ~3;
  if (!finite_4n(x, n4)) return false;
  for (int t = n4; t < n; ++t)
    if (!(std::fabs(x[t]) < INFINITY)) return false;
  return true;
}

// max of s[t] for t < n (any n; -INFINITY when n = 0).
inline float row_max(const float* s, int n) {
  v128_t vm = wasm_f32x4_const_splat(-INFINITY);
  int t = 0;
  for (; t + 4 <= n; t += 4) vm = wasm_f32x4_pmax(vm, wasm_v128_load(s + t));
  float m = hmax(vm);
  for (; t < n; ++t) m = std::max(m, s[t]);
  return m;
}

// s[t] = exp(s[t] - m) in place for t < n (any n), returns the sum. -INFINITY entries become exactly 0.
// kCutoff = false (vexp_nonpositive): only when every s[t] - m is known >= kExpCutoff.
template <bool kCutoff = true>
inline float exp_row(float* s, int n, float m) {
  const v128_t vm = wasm_f32x4_splat(m);
  v128_t vsum = wasm_f32x4_const_splat(0.0f);
  int t = 0;
  for (; t + 4 <= n; t += 4) {
    const v128_t vp = vexp_nonpositive<kCutoff>(wasm_f32x4_sub(wasm_v128_load(s + t), vm));
    wasm_v128_store(s + t, vp);
    vsum = wasm_f32x4_add(vsum, vp);
  }
  if (t < n) {  // the last 1..3 entries, through a padded vector (the padding is -INFINITY, so 0)
    float tail[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    std::copy(s + t, s + n, tail);
    const v128_t vp = vexp_nonpositive(wasm_f32x4_sub(wasm_v128_load(tail), vm));
    wasm_v128_store(tail, vp);
    std::copy(tail, tail + (n - t), s + t);
    vsum = wasm_f32x4_add(vsum, vp);
  }
  return hsum(vsum);
}

}  // namespace attn::kernels::simd

#endif  // __wasm_simd128__
