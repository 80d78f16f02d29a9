// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, Bq = 32 queries per block, Bk = 64 keys per
// block, MR = 4 rows and NR = 8 columns per micro-tile (2 x f32x4); Tq4, Tk8, D8, Dv8: rounded up to MR or NR.
//
// Flash-style attention backward with WASM SIMD128 (f32x4), compiled only with -msimd128. The probabilities
// are recomputed from the row max and sum saved by attention_forward_f32, one [Bq][Bk] block at a time, so
// nothing of size Tq x Tk is held (FlashAttention-2's backward, key blocks outside, query blocks inside).
// Every product runs on a 4x8 register-blocked micro-kernel (8 f32x4 accumulators): the forward's scores_4x8
// (attention_simd.h) for S = Q' K^T and dP = dO V^T (K and V as panels [D][NR]) and pv_4x8_fixed for
// dQ' += dS K (the block's row stride a constant); attention_backward_simd.h's ptv_4x8 for dV += P^T dO and
// dK += dS^T Q', reading P and dS down their columns in place (no transposed copies). Row operands are padded to NR columns. Additive scores run the scalar
// kernel: their tanh per (query, key, hidden unit) has no such product form.
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>

#include "attention_backward_prep.h"
#include "attention_backward_simd.h"
#include "attention_prep.h"
#include "attention_simd.h"
#include "attn/backward.h"
#include "buffer.h"
#include "parallel.h"

namespace attn {
namespace {

using namespace kernels::simd;  // NOLINT: the micro-kernels of attention_simd.h

constexpr int kBq = 32;  // queries per block (multiple of MR)
constexpr int kBk = 64;  // keys per block (multiple of NR and MR)

// One head's operands, packed and zero-padded so that no micro-kernel sees an edge (views into one Buffer).
struct Packed {
  int nq4, nk8, d8, dv8;
  float* qp;      // Q' [Tq4][D8]
  float* kpanel;  // K panels [Tk8/NR][D][NR]
  float* krow;    // K [Tk8][D8]
  float* vpanel;  // V panels [Tk8/NR][Dv][NR]
  float* dout;    // dO [Tq4][Dv8]
  float *m, *inv, *delta;  // [Tq4]: row max (0 for a row without keys), 1/l (0 there), dO . O
};

// What one task over a range of key blocks writes: scratch blocks and its own dQ' (views into the same Buffer).
struct Scratch {
  float *s, *dp;    // [Bq][Bk]: P, then dS; dP
  float *dkb, *dvb; // [Bk][D8], [Bk][Dv8]: dK, dV of the key block
  float* dqp;       // dQ' [Tq4][D8]
};

// Floats of Packed and of one Scratch (every part a multiple of 4 floats, so each stays 16-byte aligned
// relative to the start), in 64 bits, saturating.
uint64_t packed_floats_of(uint64_t nq4, uint64_t nk8, uint64_t d8, uint64_t dv8, uint64_t dk, uint64_t dv) {
  return add_sat(add_sat(mul_sat(nq4, add_sat(d8, add_sat(dv8, 3))), mul_sat(nk8, add_sat(dk, d8))), mul_sat(nk8, dv));
}
uint64_t scratch_floats_of(uint64_t nq4, uint64_t d8, uint64_t dv8) {
  return add_sat(uint64_t(2) * kBq * kBk, add_sat(mul_sat(kBk, add_sat(d8, dv8)), mul_sat(nq4, d8)));
}

// dst [T][ld] <- x [T][C] (ld >= C; the padding keeps its zeros).
void pack_rows(float* dst, int ld, const float* x, int t_count, int c_count) {
  for (int t = 0; t < t_count; ++t) std::copy(x + size_t(t) * c_count, x + size_t(t + 1) * c_count, dst + size_t(t) * ld);
}

// x[c] = exp(x[c] - m) * inv for c < n (n a multiple of 4); -INFINITY entries become 0.
inline void probabilities_row(float* x, int n, float m, float inv) {
  const v128_t vm = wasm_f32x4_splat(m), vinv = wasm_f32x4_splat(inv);
  for (int c = 0; c < n; c += 4)
    wasm_v128_store(x + c, wasm_f32x4_mul(vexp_nonpositive(wasm_f32x4_sub(wasm_v128_load(x + c), vm)), vinv));
}

// p[c] = p[c] * (dp[c] - delta) for c < n (n a multiple of 4): dS in place of P.
inline void ds_row(float* p, const float* dp, int n, float delta) {
  const v128_t vdelta = wasm_f32x4_splat(delta);
  for (int c = 0; c < n; c += 4)
    wasm_v128_store(p + c, wasm_f32x4_mul(wasm_v128_load(p + c), wasm_f32x4_sub(wasm_v128_load(dp + c), vdelta)));
}

class HeadBackward {
 public:
  HeadBackward(const ScoreParams& score, const MaskParams& mask, int nq, int nk, int dk, int dv)
      : score_(score), mask_(mask), nq_(nq), nk_(nk), dk_(dk), dv_(dv) {
    p_.nq4 = round_up(nq, kMr);
    p_.nk8 = round_up(nk, kNr);
    p_.d8 = round_up(dk, kNr);
    p_.dv8 = round_up(dv, kNr);
  }

  uint64_t packed_floats() const { return packed_floats_of(p_.nq4, p_.nk8, p_.d8, p_.dv8, dk_, dv_); }
  uint64_t scratch_floats() const { return scratch_floats_of(p_.nq4, p_.d8, p_.dv8); }

  // The packed operands in mem [packed_floats()], zeroed once (the padding stays 0 for every head).
  void place(float* mem) {
    std::fill(mem, mem + packed_floats(), 0.0f);
    p_.qp = mem;
    p_.dout = p_.qp + size_t(p_.nq4) * p_.d8;
    p_.m = p_.dout + size_t(p_.nq4) * p_.dv8;
    p_.inv = p_.m + p_.nq4;
    p_.delta = p_.inv + p_.nq4;
    p_.kpanel = p_.delta + p_.nq4;
    p_.krow = p_.kpanel + size_t(p_.nk8) * dk_;
    p_.vpanel = p_.krow + size_t(p_.nk8) * p_.d8;
  }

  // One task's scratch in mem [scratch_floats()].
  Scratch scratch(float* mem) const {
    Scratch w;
    w.s = mem;
    w.dp = w.s + kBq * kBk;
    w.dkb = w.dp + kBq * kBk;
    w.dvb = w.dkb + size_t(kBk) * p_.d8;
    w.dqp = w.dvb + size_t(kBk) * p_.dv8;
    return w;
  }

  // pass 0: pack one head; Delta_i = dO_i . O_i; rows without an allowed key (l = 0) get m = 0 and 1/l = 0,
  // so their recomputed P is 0 (exp(-INFINITY - 0) = 0) and no NaN appears.
  void pack(const float* q, const float* k, const float* v, const float* dout, const float* out, const float* rmax,
            const float* rsum) {
    kernels::transform_queries(p_.qp, p_.d8, q, score_, nq_, dk_);
    pack_panels(p_.kpanel, k, nk_, dk_);
    pack_rows(p_.krow, p_.d8, k, nk_, dk_);
    pack_panels(p_.vpanel, v, nk_, dv_);
    pack_rows(p_.dout, p_.dv8, dout, nq_, dv_);
    for (int i = 0; i < nq_; ++i) {
      const bool any = rsum[i] > 0.0f;
      p_.m[i] = any ? rmax[i] : 0.0f;
      p_.inv[i] = any ? 1.0f / rsum[i] : 0.0f;
      float d = 0.0f;
      for (int c = 0; c < dv_; ++c) d += dout[size_t(i) * dv_ + c] * out[size_t(i) * dv_ + c];
      p_.delta[i] = d;
    }
  }

  // Keys [0, end) may be attended by query i (all keys unless causal).
  int keys_end(int i) const { return kernels::causal_end(mask_, std::min(i, nq_ - 1), nq_, nk_); }

  // The key block [j0, j0 + n8) against every query that may attend it: dK, dV of the block into dkey, dvalue,
  // dQ' into w.dqp.
  void key_block(Scratch& w, float* dkey, float* dvalue, int j0, int n8) const {
    const int d8 = p_.d8, dv8 = p_.dv8;
    std::fill(w.dkb, w.dkb + size_t(kBk) * d8, 0.0f);
    std::fill(w.dvb, w.dvb + size_t(kBk) * dv8, 0.0f);
    // Causal: query i reaches key j0 only when its keys_end > j0, and keys_end grows with i.
    int i0 = 0;
    if (mask_.kind == MaskKind::kCausal)
      while (i0 < nq_ && keys_end(i0) <= j0) ++i0;
    i0 -= i0 % kMr;
    for (int ib = i0; ib < p_.nq4 && ib < nq_; ib += kBq) {
      const int nb = std::min(kBq, p_.nq4 - ib);
      const int n = std::min(n8, round_up(keys_end(ib + nb - 1), kNr) - j0);  // keys of the block in reach
      if (n <= 0) continue;
      float* s = w.s;
      float* dp = w.dp;
      for (int g = 0; g < nb; g += kMr) {
        // pass 1: S = Q' K^T, masked; P = exp(S - m) / l
        for (int c = 0; c < n; c += kNr)
          scores_4x8(s + size_t(g) * kBk + c, kBk, &p_.qp[size_t(ib + g) * d8], d8,
                     &p_.kpanel[size_t((j0 + c) / kNr) * dk_ * kNr], dk_);
        mask_rows(s + size_t(g) * kBk, ib + g, j0, n);
        for (int r = 0; r < kMr; ++r)
          probabilities_row(s + size_t(g + r) * kBk, n, p_.m[ib + g + r], p_.inv[ib + g + r]);
        // pass 2: dP = dO V^T
        for (int c = 0; c < n; c += kNr)
          scores_4x8(dp + size_t(g) * kBk + c, kBk, &p_.dout[size_t(ib + g) * dv8], dv8,
                     &p_.vpanel[size_t((j0 + c) / kNr) * dv_ * kNr], dv_);
      }
      // pass 3: dV_b += P^T dO (P read down its columns); dS = P (dP - Delta) in place of P;
      // dK_b += dS^T Q'; dQ' += dS K_b
      for (int kk = 0; kk < n; kk += kMr)
        for (int c = 0; c < dv8; c += kNr)
          ptv_4x8(&w.dvb[size_t(kk) * dv8 + c], dv8, s + kk, kBk, &p_.dout[size_t(ib) * dv8 + c], dv8, nb);
      for (int r = 0; r < nb; ++r) ds_row(s + size_t(r) * kBk, dp + size_t(r) * kBk, n, p_.delta[ib + r]);
      for (int kk = 0; kk < n; kk += kMr)
        for (int c = 0; c < d8; c += kNr)
          ptv_4x8(&w.dkb[size_t(kk) * d8 + c], d8, s + kk, kBk, &p_.qp[size_t(ib) * d8 + c], d8, nb);
      for (int g = 0; g < nb; g += kMr)
        for (int c = 0; c < d8; c += kNr)
          pv_4x8_fixed<kBk>(&w.dqp[size_t(ib + g) * d8 + c], d8, s + size_t(g) * kBk, &p_.krow[size_t(j0) * d8 + c], d8,
                         n);
    }
    for (int j = j0; j < std::min(j0 + n8, nk_); ++j) {  // pass 4: the block's rows of dK and dV
      const float* gk = &w.dkb[size_t(j - j0) * d8];
      const float* gv = &w.dvb[size_t(j - j0) * dv8];
      if (dkey)
        for (int c = 0; c < dk_; ++c) dkey[size_t(j) * dk_ + c] += gk[c];
      if (dvalue)
        for (int c = 0; c < dv_; ++c) dvalue[size_t(j) * dv_ + c] += gv[c];
    }
  }

  // pass 5: dQ' [Tq4][D8] back to dq (and dW for general).
  void finish(float* dquery, const ScoreGrads& dscore, const float* q, const float* dqp) const {
    kernels::queries_backward(dquery, dscore, dqp, p_.d8, q, score_, nq_, dk_);
  }

  int nk8() const { return p_.nk8; }

 private:
  // -INFINITY where the mask forbids (causal, explicit) and on the padding keys >= Tk, for rows i..i+3 of
  // s [4][Bk] and keys j0..j0+n-1. Padding rows (>= Tq) need nothing: their 1/l is 0.
  void mask_rows(float* s, int i, int j0, int n) const {
    for (int r = 0; r < kMr && i + r < nq_; ++r) {
      float* sr = s + size_t(r) * kBk;
      const int end = kernels::causal_end(mask_, i + r, nq_, nk_);
      for (int c = std::max(0, end - j0); c < n; ++c) sr[c] = -INFINITY;
      if (mask_.kind == MaskKind::kExplicit) {
        const uint8_t* allowed = mask_.allowed + size_t(i + r) * nk_;
        for (int c = 0, e = std::min(n, end - j0); c < e; ++c)
          if (!allowed[j0 + c]) sr[c] = -INFINITY;
      }
    }
  }

  ScoreParams score_;
  MaskParams mask_;
  int nq_, nk_, dk_, dv_;
  Packed p_;
};

}  // namespace

// dquery, dkey, dvalue, dscore (+=): attn/backward.h. Per head: pass 0 (pack), then per key block of Bk keys,
// per query block of Bq queries that reaches it (causal blocks wholly above the diagonal are skipped):
//   pass 1: S = Q' K_b^T masked to -INFINITY, P = exp(S - m) / l      (2 Bq Bk D flops, the recomputation)
//   pass 2: dP = dO V_b^T; dS = P (dP - Delta)                           (2 Bq Bk Dv)
//   pass 3: dV_b += P^T dO; dK_b += dS^T Q'; dQ' += dS K_b               (2 Bq Bk (Dv + 2 D))
//   pass 4: dkey, dvalue rows of the block += dK_b, dV_b
// pass 5 (per head): dquery += dQ' through the score transform (scaled: 1/sqrt(D); general: W^T, and dW).
// Scratch: attention_backward_f32__wasmsimd_workspace_bytes, one malloc; false (nothing written) without it.
bool attention_backward_f32__wasmsimd(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                      const float* dout, const float* out, const float* row_max,
                                      const float* row_sum, const float* q, const float* k, const float* v,
                                      const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                                      int dk, int dv) {
  return attention_backward_f32__wasmsimd_parts(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v,
                                                score, mask, heads, nq, nk, dk, dv, 1);
}

constexpr int kMaxParts = 64;  // more threads than this share the parts (a parallel_for takes any count)

// Parts that one call runs: at most one per key block, at most kMaxParts.
static int parts_for(int nk, int parts) {
  const int64_t blocks = (int64_t(nk) + kBk - 1) / kBk;
  return int(std::max<int64_t>(1, std::min<int64_t>({parts, blocks, kMaxParts})));
}

// parts > 1: per head, the key blocks are split into `parts` ranges run as tasks of parallel_for, each with its
// own scratch and dQ' (dK, dV rows are disjoint); the dQ' of the parts are then added in order 0, 1, ..., so
// the result does not depend on which thread ran which part.
bool attention_backward_f32__wasmsimd_parts(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                            const float* dout, const float* out, const float* row_max,
                                            const float* row_sum, const float* q, const float* k, const float* v,
                                            const ScoreParams& score, const MaskParams& mask, int heads, int nq,
                                            int nk, int dk, int dv, int parts) {
  assert(dout && out && row_max && row_sum && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0);
  if (score.score == Score::kAdditive)
    return attention_backward_f32__scalar(dquery, dkey, dvalue, dscore, dout, out, row_max, row_sum, q, k, v, score,
                                          mask, heads, nq, nk, dk, dv);
  HeadBackward head(score, mask, nq, nk, dk, dv);
  parts = parts_for(nk, parts);
  const uint64_t per_part = head.scratch_floats();
  Buffer<float> mem;
  if (!mem.allocate(add_sat(head.packed_floats(), mul_sat(per_part, parts)))) return false;
  head.place(mem.data());
  float* scratch_mem = mem.data() + head.packed_floats();
  Scratch scratch[kMaxParts];
  for (int t = 0; t < parts; ++t) scratch[t] = head.scratch(scratch_mem + per_part * t);
  const size_t dqp_floats = size_t(round_up(nq, kMr)) * round_up(dk, kNr);
  const int blocks = (head.nk8() + kBk - 1) / kBk;
  for (int h = 0; h < heads; ++h) {
    const size_t oq = size_t(h) * nq, ok = size_t(h) * nk;
    head.pack(q + oq * dk, k + ok * dk, v + ok * dv, dout + oq * dv, out + oq * dv, row_max + oq, row_sum + oq);
    float* dkh = dkey ? dkey + ok * dk : nullptr;
    float* dvh = dvalue ? dvalue + ok * dv : nullptr;
    auto run = [&](int t) {
      Scratch& w = scratch[t];
      std::fill(w.dqp, w.dqp + dqp_floats, 0.0f);
      for (int b = split_point(blocks, parts, t, 1); b < split_point(blocks, parts, t + 1, 1); ++b)
        head.key_block(w, dkh, dvh, b * kBk, std::min(kBk, head.nk8() - b * kBk));
    };
    if (parts == 1) run(0);
    else parallel_for(parts, run);
    for (int t = 1; t < parts; ++t)
      for (size_t x = 0; x < dqp_floats; ++x) scratch[0].dqp[x] += scratch[t].dqp[x];
    head.finish(dquery ? dquery + oq * dk : nullptr, dscore, q + oq * dk, scratch[0].dqp);
  }
  return true;
}

uint64_t kernels::attention_backward_f32__wasmsimd_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk,
                                                                   int dv, int parts) {
  if (score.score == Score::kAdditive) return attention_backward_f32__scalar_workspace_bytes(score, nq, nk, dk, dv);
  auto up = [](int x, int m) { return (uint64_t(std::max(x, 0)) + m - 1) / m * m; };  // in 64 bits
  const uint64_t nq4 = up(nq, kMr), nk8 = up(nk, kNr), d8 = up(dk, kNr), dv8 = up(dv, kNr);
  return mul_sat(4, add_sat(packed_floats_of(nq4, nk8, d8, dv8, dk, dv),
                            mul_sat(scratch_floats_of(nq4, d8, dv8), parts_for(nk, parts))));
}

}  // namespace attn

#endif  // __wasm_simd128__
