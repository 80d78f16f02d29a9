// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims,
// Bq queries per block, Bk keys per tile, MR = 4 queries per micro-tile, NR = 8 keys (or value columns) per
// micro-tile = 2 x f32x4.
//
// Flash-style attention with WASM SIMD128 (f32x4), compiled only with -msimd128.
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "../buffer.h"
#include "attention_prep.h"
#include "attention_simd.h"
#include "attn/attention.h"
#include "attn/backward.h"
#include "attn/tuning.h"

namespace attn {
namespace {

using namespace kernels::simd;  // NOLINT: the micro-kernels of attention_simd.h

constexpr int kMaxTileKeys = 64;   // the largest Bk (multiple of NR) of any variant: the scratch's size
constexpr int kBlockQueries = 32;  // Bq (multiple of MR): queries sharing each K/V tile

// The tiling of one call (attn/tuning.h variants; docs/CPU.md has the measurements behind them).
//   bk: keys per K/V tile (multiple of NR, <= kMaxTileKeys). Each group of MR queries streams the whole K tile
//       (scores) then the whole V tile (P.V); a 64-key pair at D = 64 is 32 KiB, all of Zen 3's L1D (Zen 5
//       has 48 KiB), a 32-key pair half of it, at the price of twice the per-tile softmax bookkeeping.
//   quads: q' interleaved per MR queries ([Tq4/MR][D][MR], scores_4x8_quads) instead of rows.
//   fixed_p: the flash P.V reads the scores scratch (rows at stride kMaxTileKeys) with pv_4x8_fixed.
//   fused (quads): on a tile with no masked key (no padding key, not on the causal diagonal, no explicit
//       mask) the row max, min and finiteness come out of the score micro-kernel (scores_4x8_quads_stats)
//       instead of the passes finite_4n and row_max over the tile; with weights, on such a tile written
//       straight into the weights rows.
//   nocut (with fused): the exp of such a tile drops its cutoff mask when the tile's min - m >= kExpCutoff;
//       with weights, the exp of a row whose every tile had stats, when the row's min - m >= kExpCutoff
//       (same bits; masked tiles, which hold -INFINITY, keep it).
//   vpanels (with fixed_p): when a V tile of rows (Bk x Dv8 floats) is larger than 16 KiB (Dv8 > kMaxRowDv8),
//       the flash P.V reads V packed in column panels [Dv8/NR][Tk8][NR], streaming each panel as the scores
//       stream K's, instead of rows at a stride of Dv8 floats (same bits).
struct Tiling {
  int bk;
  bool quads, fixed_p, fused, nocut;
  bool vpanels = false;
};
constexpr int kMaxRowDv8 = 64;  // the widest V read in rows under Tiling::vpanels
// index = variant id; 0 is the default.
constexpr Tiling kTilings[kSimdVariantCount] = {
    {64, true, true, true, true, true},  // 0 default: = 5, and V in column panels when Dv8 > 64
    {64, false, false, false, false},  // 1: Bk 64, q' rows, P rows by pointer (the kernel of the 2026-11-29 Zen 5 run)
    {32, true, true, false, false},    // 2: Bk 32, q' quads, P at a fixed stride
    {64, true, false, false, false},   // 3: Bk 64, q' quads, P rows by pointer
    {64, true, true, false, false},    // 4: Bk 64, q' quads, P at a fixed stride
    {64, true, true, true, true},      // 5: 4 + row stats fused into the score micro-kernel + exp without cutoff
    {64, true, true, true, false},     // 6: 4 + row stats fused into the score micro-kernel
};

// Everything one head needs, packed once per head so the micro-kernels see no edges:
// Tq4 = Tq rounded up to MR, Tk8 = Tk rounded up to NR, Dv8 = Dv rounded up to NR (padding is zero: it is
// zeroed once per call and never written by pack()).
struct Packed {
  int nq4 = 0, nk8 = 0, dv8 = 0;
  Buffer<float> qp;   // q' [Tq4][D], or additive Pq [Tq4][A]
  Buffer<float> kp;   // K panels [Tk8/NR][D][NR], or additive Pk^T [A][Tk8]
  Buffer<float> vp;   // V [Tk][Dv8] when Dv is not a multiple of NR (else V is read in place)
  Buffer<float> row;  // [MR][D]: MR rows of q' on their way into a quad
  Buffer<float> vpan;  // V in column panels [Dv8/NR][Tk8][NR] (Tiling::vpanels), else empty
};

// Per-block scratch, allocated once per call and reused by every block and head.
struct Scratch {
  Buffer<float> acc;     // [Bq][Dv8] output accumulators
  Buffer<float> m;       // [Bq] row maxima
  Buffer<float> l;       // [Bq] row sums (with weights: their inverses)
  Buffer<float> s;       // [MR][Bk] scores of one micro-tile (flash), or of an edge micro-tile (weights)
  Buffer<uint8_t> bad;   // [Bq] 1 where a float32 score overflowed: the row is recomputed in double

  bool allocate(int dv8) {
    return acc.allocate(uint64_t(kBlockQueries) * dv8) && m.allocate(kBlockQueries) && l.allocate(kBlockQueries) &&
           s.allocate(uint64_t(kMr) * kMaxTileKeys) && bad.allocate(kBlockQueries);
  }
};

// Floats of Packed and Scratch for one call (Head::allocate, Scratch::allocate).
uint64_t packed_and_scratch_floats(const ScoreParams& score, int nq, int nk, int dk, int dv) {
  const bool additive = score.score == Score::kAdditive;
  const uint64_t cols = additive ? uint64_t(score.da) : uint64_t(dk);
  const uint64_t nq4 = uint64_t(nq) + kMr, nk8 = uint64_t(nk) + kNr, dv8 = uint64_t(dv) + kNr;
  uint64_t floats = add_sat(mul_sat(nq4, cols), mul_sat(nk8, cols));
  // V is packed one way at most: Packed::vpan (flash, Dv8 > kMaxRowDv8) or Packed::vp (Dv not a multiple of NR)
  const uint64_t vpan = round_up(dv, kNr) > kMaxRowDv8 ? mul_sat(nk8, dv8) : 0;
  floats = add_sat(floats, std::max(vpan, dv % kNr ? mul_sat(uint64_t(nk), dv8) : uint64_t(0)));
  floats = add_sat(floats, mul_sat(kMr, uint64_t(dk)));  // Packed::row
  return add_sat(floats, kBlockQueries * (dv8 + 3) + kMr * kMaxTileKeys);
}

class Head {
 public:
  // flash: the call returns no weights (attend_flash, the only reader of V panels).
  Head(const ScoreParams& score, const MaskParams& mask, int nq, int nk, int dk, int dv, const Tiling& tiling,
       bool flash)
      : score_(score), mask_(mask), nq_(nq), nk_(nk), dk_(dk), dv_(dv) {
    additive_ = score.score == Score::kAdditive;
    bk_ = tiling.bk;
    fixed_p_ = tiling.fixed_p;
    quads_ = tiling.quads && !additive_;
    fused_ = tiling.fused && quads_;
    nocut_ = tiling.nocut && fused_;
    p_.nq4 = round_up(nq, kMr);
    p_.nk8 = round_up(nk, kNr);
    p_.dv8 = round_up(dv, kNr);
    qcols_ = additive_ ? score.da : dk;
    vpanels_ = tiling.vpanels && fixed_p_ && flash && p_.dv8 > kMaxRowDv8;
  }

  // The packed operands, zeroed (the padding stays zero); false when they cannot be allocated.
  bool allocate() {
    return p_.qp.assign(uint64_t(p_.nq4) * qcols_, 0.0f) &&
           p_.kp.assign(uint64_t(p_.nk8) * (additive_ ? score_.da : dk_), 0.0f) &&
           p_.vp.assign(dv_ != p_.dv8 && !vpanels_ ? uint64_t(nk_) * p_.dv8 : 0, 0.0f) &&
           p_.row.allocate(uint64_t(kMr) * dk_) &&
           p_.vpan.assign(vpanels_ ? uint64_t(p_.nk8) * p_.dv8 : 0, 0.0f);
  }

  void pack(const float* q, const float* k, const float* v) {
    q_ = q;
    k_ = k;
    v_raw_ = v;
    if (additive_) {
      kernels::project_additive(p_.qp.data(), qcols_, 1, q, score_.Wq, nq_, dk_, score_.da);
      kernels::project_additive(p_.kp.data(), 1, p_.nk8, k, score_.Wk, nk_, dk_, score_.da);
    } else {
      if (quads_) {  // q'[i][d] -> qp[i / MR][d][i % MR]: MR rows of q' at a time, transposed into their quad
        for (int i = 0; i < nq_; i += kMr) {
          const int rows = std::min(kMr, nq_ - i);  // the padding rows of the last quad get zeros
          kernels::transform_queries(p_.row.data(), dk_, q + size_t(i) * dk_, score_, rows, dk_);
          rows_to_lanes_4(&p_.qp[size_t(i) * dk_], kMr, p_.row.data(), dk_, rows, dk_);
        }
      } else {
        kernels::transform_queries(p_.qp.data(), dk_, q, score_, nq_, dk_);
      }
      pack_panels(p_.kp.data(), k, nk_, dk_);  // key j goes to lane j % NR of panel j / NR
    }
    if (vpanels_) {  // value column c of key j goes to lane c % NR of row j of panel c / NR (V rows unused)
      for (int j = 0; j < nk_; ++j) {
        const float* vj = v + size_t(j) * dv_;
        int c = 0;
        for (; c + kNr <= dv_; c += kNr) {  // whole panels: NR contiguous floats
          float* dst = &p_.vpan[(size_t(c / kNr) * p_.nk8 + j) * kNr];
          wasm_v128_store(dst, wasm_v128_load(vj + c));
          wasm_v128_store(dst + 4, wasm_v128_load(vj + c + 4));
        }
        for (; c < dv_; ++c) p_.vpan[(size_t(c / kNr) * p_.nk8 + j) * kNr + c % kNr] = vj[c];
      }
      v_ = nullptr;
    } else if (dv_ == p_.dv8) {  // rows of V are whole micro-tiles already: no copy
      v_ = v;
    } else {
      for (int j = 0; j < nk_; ++j) std::copy(v + size_t(j) * dv_, v + size_t(j + 1) * dv_, &p_.vp[size_t(j) * p_.dv8]);
      v_ = p_.vp.data();
    }
  }

  // s [MR rows at stride lds][n8] for queries i..i+3 and keys j0..j0+n8-1 (n8 a multiple of NR), masked;
  // bad [MR] |= 1 for a row with a non-finite score (float32 overflow) on a key the causal mask allows.
  void scores(float* s, int lds, int i, int j0, int n8, uint8_t* bad) const {
    for (int c = 0; c < n8; c += kNr) {
      const int j = j0 + c;
      if (additive_) {
        for (int r = 0; r < kMr; ++r)
          scores_additive_1x8(s + r * lds + c, &p_.qp[size_t(i + r) * qcols_], &p_.kp[j], p_.nk8, score_.v,
                              score_.da);
      } else if (quads_) {  // i is a multiple of MR: quad i / MR starts at row i
        scores_4x8_quads(s + c, lds, &p_.qp[size_t(i) * dk_], &p_.kp[size_t(j / kNr) * dk_ * kNr], dk_);
      } else {
        scores_4x8(s + c, lds, &p_.qp[size_t(i) * dk_], dk_, &p_.kp[size_t(j / kNr) * dk_ * kNr], dk_);
      }
    }
    // -INFINITY where the mask forbids, and on the padding keys >= Tk. Rows >= Tq are padding: never read.
    for (int r = 0; r < kMr; ++r) {
      const int row = i + r;
      if (row >= nq_) break;
      const int end = kernels::causal_end(mask_, row, nq_, nk_);
      float* sr = s + size_t(r) * lds;
      if (!finite_4n(sr, n8)) {  // rare: then look at the keys that count (not padding, not causally masked)
        const int n = std::max(0, std::min(n8, end - j0));
        for (int c = 0; c < n; ++c)
          if (!(std::fabs(sr[c]) < INFINITY) && (mask_.kind != MaskKind::kExplicit || mask_.allowed[size_t(row) * nk_ + j0 + c]))
            bad[r] = 1;
      }
      for (int c = std::max(0, end - j0); c < n8; ++c) sr[c] = -INFINITY;
      if (mask_.kind == MaskKind::kExplicit) {
        const uint8_t* allowed = mask_.allowed + size_t(row) * nk_;
        for (int c = 0, n = std::min(n8, end - j0); c < n; ++c)
          if (!allowed[j0 + c]) sr[c] = -INFINITY;
      }
    }
  }

  // True when no key of j0..j0+n8-1 is masked for queries i..i+3: no padding key, causal tile below the
  // diagonal (causal_end grows with the row), no explicit mask.
  bool tile_unmasked(int i, int j0, int n8) const {
    return j0 + n8 <= nk_ && mask_.kind != MaskKind::kExplicit && kernels::causal_end(mask_, i, nq_, nk_) >= j0 + n8;
  }

  // scores() for an unmasked tile (tile_unmasked, quads): s and the rows' max, min and finiteness in st.
  // A row the stats call non-finite gets scores()' look at its keys (bad [MR]); false then: the caller
  // uses the passes of scores() on this tile.
  bool scores_fused(float* s, int lds, int i, int j0, int n8, uint8_t* bad, TileStats& st) const {
    st.reset();
    for (int c = 0; c < n8; c += kNr)
      scores_4x8_quads_stats(s + c, lds, &p_.qp[size_t(i) * dk_], &p_.kp[size_t((j0 + c) / kNr) * dk_ * kNr], dk_, st);
    bool finite = true;
    for (int r = 0; r < kMr && i + r < nq_; ++r) {
      if (st.finite(r)) continue;
      finite = false;
      const float* sr = s + size_t(r) * lds;
      for (int c = 0; c < n8; ++c)
        if (!(std::fabs(sr[c]) < INFINITY)) bad[r] = 1;
    }
    return finite;
  }

  // acc [MR rows at stride lda][Dv8] += p [MR rows at stride ldp][n] . V[j0 .. j0+n-1] (keys >= Tk, whose
  // p is 0, are not read).
  void accumulate(float* acc, int lda, const float* p, int ldp, int j0, int n) const {
    n = std::min(n, nk_ - j0);
    for (int c = 0; c < p_.dv8; c += kNr) pv_4x8(acc + c, lda, p, ldp, v_ + size_t(j0) * p_.dv8 + c, p_.dv8, n);
  }

  // accumulate() for p = the scores scratch, rows at stride kMaxTileKeys (pv_4x8_fixed); V from its column
  // panels under vpanels_ (keys NR floats apart), else from its rows (Dv8 floats apart).
  void accumulate_scratch(float* acc, int lda, const float* p, int j0, int n) const {
    n = std::min(n, nk_ - j0);
    for (int c = 0; c < p_.dv8; c += kNr) {
      if (vpanels_) pv_4x8_fixed<kMaxTileKeys>(acc + c, lda, p, &p_.vpan[(size_t(c / kNr) * p_.nk8 + j0) * kNr], kNr, n);
      else pv_4x8_fixed<kMaxTileKeys>(acc + c, lda, p, v_ + size_t(j0) * p_.dv8 + c, p_.dv8, n);
    }
  }

  // Keys [0, end) may be attended by some query of i..i_last (all keys unless causal).
  int keys_end(int i_last) const { return kernels::causal_end(mask_, std::min(i_last, nq_ - 1), nq_, nk_); }

  // Flash-style, without weights: out rows ib..ib+nb-1 (nb a multiple of MR; rows >= Tq are padding).
  // rmax, rsum [Tq] or nullptr: the row max m and sum l of each row, saved for the backward.
  void attend_flash(float* outh, float* rmax, float* rsum, int ib, int nb, Scratch& w) const {
    const int dv8 = p_.dv8;
    std::fill(w.acc.begin(), w.acc.begin() + size_t(nb) * dv8, 0.0f);
    std::fill(w.m.begin(), w.m.begin() + nb, -INFINITY);
    std::fill(w.l.begin(), w.l.begin() + nb, 0.0f);
    std::fill(w.bad.begin(), w.bad.begin() + nb, uint8_t(0));
    const int block_end8 = round_up(keys_end(ib + nb - 1), kNr);
    TileStats st;
    for (int j0 = 0; j0 < block_end8; j0 += bk_) {
      for (int g = 0; g < nb; g += kMr) {
        const int i = ib + g;
        const int end8 = std::min(round_up(keys_end(i + kMr - 1), kNr), j0 + bk_);
        if (end8 <= j0) continue;  // causal: the whole tile is masked for these queries
        const int n = end8 - j0;
        // pass 1: on an unmasked tile under fused_, the scores and their row stats from the micro-kernel
        // (stats = false when a row is not finite: then row_max, as scores() would; its masks are no-ops here)
        bool stats = false;
        if (fused_ && tile_unmasked(i, j0, n)) stats = scores_fused(w.s.data(), kMaxTileKeys, i, j0, n, &w.bad[g], st);
        else scores(w.s.data(), kMaxTileKeys, i, j0, n, &w.bad[g]);
        for (int r = 0; r < kMr; ++r) {  // pass 2
          float* sr = &w.s[size_t(r) * kMaxTileKeys];
          const float t = stats ? hmax(st.max[r]) : row_max(sr, n);
          if (t == -INFINITY) {
            std::fill(sr, sr + n, 0.0f);
            continue;
          }
          float& mr = w.m[g + r];
          const float mnew = std::max(mr, t);
          if (mnew != mr) {
            const float c = mr == -INFINITY ? 0.0f : std::exp(mr - mnew);
            w.l[g + r] *= c;
            if (mr != -INFINITY) scale_row(&w.acc[size_t(g + r) * dv8], dv8, c);
            mr = mnew;
          }
          w.l[g + r] += nocut_ && stats && hmin(st.min[r]) - mnew >= kExpCutoff ? exp_row<false>(sr, n, mnew)
                                                                                : exp_row(sr, n, mnew);
        }
        if (fixed_p_) accumulate_scratch(&w.acc[size_t(g) * dv8], dv8, w.s.data(), j0, n);
        else accumulate(&w.acc[size_t(g) * dv8], dv8, w.s.data(), kMaxTileKeys, j0, n);
      }
    }
    for (int r = 0; r < nb && ib + r < nq_; ++r) {  // pass 3
      const float inv = w.l[r] > 0.0f ? 1.0f / w.l[r] : 0.0f;
      scale_into(outh + size_t(ib + r) * dv_, &w.acc[size_t(r) * dv8], dv_, inv);
      if (rmax) rmax[ib + r] = w.m[r];
      if (rsum) rsum[ib + r] = w.l[r];
    }
  }

  // With weights: out rows and weights rows ib..ib+nb-1 (wh [Tq][Tk], the caller's, is the scores buffer).
  void attend_with_weights(float* outh, float* wh, int ib, int nb, Scratch& w) const {
    const int dv8 = p_.dv8;
    const int block_end = keys_end(ib + nb - 1);
    std::fill(w.m.begin(), w.m.begin() + nb, -INFINITY);
    std::fill(w.bad.begin(), w.bad.begin() + nb, uint8_t(0));
    // Until pass 2 sets them, l holds each row's minimum score, or -INFINITY once a tile of the row came
    // without stats (then its exp keeps the cutoff mask).
    std::fill(w.l.begin(), w.l.begin() + nb, INFINITY);
    TileStats st;
    // pass 1: raw masked scores, K tile by K tile, straight into the weights rows; running row maxima (under
    // fused_, an unmasked tile's come from the score micro-kernel, as in attend_flash).
    // An edge micro-tile (rows past Tq, or the last panel past Tk) goes through the scratch s.
    for (int j0 = 0; j0 < round_up(block_end, kNr); j0 += bk_) {
      for (int g = 0; g < nb; g += kMr) {
        const int i = ib + g;
        const int end8 = std::min(round_up(keys_end(i + kMr - 1), kNr), j0 + bk_);
        if (end8 <= j0) continue;  // causal: the whole tile is masked for these queries
        const int n8 = end8 - j0;
        const int rows = std::min(kMr, nq_ - i);
        float* dst = wh + size_t(i) * nk_ + j0;
        const bool direct = rows == kMr && end8 <= nk_;
        float* s = direct ? dst : w.s.data();
        const int lds = direct ? nk_ : bk_;
        bool stats = false;
        if (direct && fused_ && tile_unmasked(i, j0, n8)) stats = scores_fused(s, lds, i, j0, n8, &w.bad[g], st);
        else scores(s, lds, i, j0, n8, &w.bad[g]);
        for (int r = 0; r < rows; ++r) {
          float* sr = s + size_t(r) * lds;
          w.m[g + r] = std::max(w.m[g + r], stats ? hmax(st.max[r]) : row_max(sr, n8));
          w.l[g + r] = stats ? std::min(w.l[g + r], hmin(st.min[r])) : -INFINITY;
          if (!direct) std::copy(sr, sr + std::min(n8, nk_ - j0), dst + size_t(r) * nk_);
        }
      }
    }
    // pass 2: per row, w = exp(s - m) over the keys it may attend, l = sum w; zero elsewhere. A row with no
    // allowed key (m = -INFINITY) is all zeros and gets 1/l = 0.
    for (int r = 0; r < nb && ib + r < nq_; ++r) {
      float* wr = wh + size_t(ib + r) * nk_;
      const int end = w.m[r] == -INFINITY ? 0 : kernels::causal_end(mask_, ib + r, nq_, nk_);
      // nocut_: every tile of the row had stats and its minimum is within the cutoff of m (same bits)
      const bool cut = !(nocut_ && w.l[r] - w.m[r] >= kExpCutoff);
      const float lr = end > 0 ? (cut ? exp_row(wr, end, w.m[r]) : exp_row<false>(wr, end, w.m[r])) : 0.0f;
      std::fill(wr + end, wr + nk_, 0.0f);
      w.l[r] = lr > 0.0f ? 1.0f / lr : 0.0f;
    }
    // pass 3: V tile by V tile, w *= 1/l (the final weights) and acc += w . V_tile; out = acc.
    std::fill(w.acc.begin(), w.acc.begin() + size_t(nb) * dv8, 0.0f);
    for (int j0 = 0; j0 < block_end; j0 += bk_) {
      for (int g = 0; g < nb; g += kMr) {
        const int i = ib + g;
        const int n = std::min(keys_end(i + kMr - 1), j0 + bk_) - j0;
        if (n <= 0) continue;
        const int rows = std::min(kMr, nq_ - i);
        float* src = wh + size_t(i) * nk_ + j0;
        for (int r = 0; r < rows; ++r) scale_row(src + size_t(r) * nk_, n, w.l[g + r]);
        if (rows == kMr) {
          accumulate(&w.acc[size_t(g) * dv8], dv8, src, nk_, j0, n);
        } else {  // rows past Tq: read zeros from the scratch instead of past the weights
          std::fill(w.s.begin(), w.s.end(), 0.0f);
          for (int r = 0; r < rows; ++r) std::copy(src + size_t(r) * nk_, src + size_t(r) * nk_ + n, &w.s[size_t(r) * bk_]);
          accumulate(&w.acc[size_t(g) * dv8], dv8, w.s.data(), bk_, j0, n);
        }
      }
    }
    for (int r = 0; r < nb && ib + r < nq_; ++r)
      std::copy(&w.acc[size_t(r) * dv8], &w.acc[size_t(r) * dv8] + dv_, outh + size_t(ib + r) * dv_);
  }

  // Rows ib..ib+nb-1 whose scores overflowed (w.bad) or whose output is not finite, recomputed in double
  // (kernels::recompute_row_in_double) into outh [Tq][Dv] and wh [Tq][Tk] (or nullptr).
  // A recomputed row's saved m and l (rmax, rsum, when given) become NaN: the backward gives it no gradient.
  bool fix_overflowed_rows(float* outh, float* wh, float* rmax, float* rsum, int ib, int nb, const Scratch& w) const {
    for (int r = 0; r < nb && ib + r < nq_; ++r) {
      float* o = outh + size_t(ib + r) * dv_;
      if (!w.bad[r] && finite_any(o, dv_)) continue;
      if (rmax) rmax[ib + r] = NAN;
      if (rsum) rsum[ib + r] = NAN;
      if (!kernels::recompute_row_in_double(o, wh ? wh + size_t(ib + r) * nk_ : nullptr, q_, k_, v_raw_, score_,
                                            mask_, ib + r, nq_, nk_, dk_, dv_))
        return false;
    }
    return true;
  }

  const Packed& packed() const { return p_; }

 private:
  ScoreParams score_;
  MaskParams mask_;
  int nq_, nk_, dk_, dv_, qcols_;
  bool additive_, quads_, fixed_p_, fused_, nocut_, vpanels_;
  int bk_;  // Bk of this call (Tiling::bk)
  Packed p_;
  const float* v_ = nullptr;  // V [Tk][Dv8]: the caller's V of this head, or p_.vp; null under vpanels_
  const float *q_ = nullptr, *k_ = nullptr, *v_raw_ = nullptr;  // the caller's q, k, v of this head
};

}  // namespace

// out [H][Tq][Dv]; weights [H][Tq][Tk] or nullptr; q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv].
// Per head: pack q' (attention_prep.h), K into panels of NR keys [D][NR], V padded to Dv8 columns (read in
// place when Dv is a multiple of NR). Queries go
// in blocks of Bq; a K or V tile of Bk keys (16 KiB at D = 64) stays in L1 while it serves the whole block,
// MR = 4 queries at a time (scores_4x8, pv_4x8: each loaded key or value vector serves 4 queries).
// Without weights (flash-style; nothing of size Tq x Tk is held), for each block, each tile, each MR queries:
//   pass 1: s = q' K^T for the tile, masked to -INFINITY; t = row max of the tile; m' = max(m, t)
//   pass 2: c = exp(m - m'); l = l c + sum exp(s - m'); acc = acc c + exp(s - m') . V_tile; m = m'
//   pass 3 (after the last tile): out = acc / l, or 0 where every key was masked (l = 0).
// With weights, the caller's weights rows [Bq][Tk] of the block are the scores buffer:
//   pass 1: tile by tile, w = q' K^T masked to -INFINITY, written in place; m = running row max
//   pass 2: per row, w = exp(w - m), l = sum w (exact softmax numerator; masked entries become 0)
//   pass 3: tile by tile, w = w / l in place (the returned weights) and acc += w . V_tile; out = acc.
//   A row with no allowed key gets zero weights and a zero output. Edge micro-tiles (the last rows when Tq is
//   not a multiple of MR, the last panel when Tk is not a multiple of NR) go through a [MR][Bk] scratch.
// Causal tiles that lie wholly above the diagonal are skipped in every pass.
// Overflow: a row with a non-finite float32 score on an allowed key (finite inputs, q = 1e30, k = 1e30) or a
// non-finite output is recomputed in double after its block (fix_overflowed_rows), so finite inputs never
// give NaN or a row that looks masked. Scratch: attention_f32__wasmsimd_workspace_bytes; false without it.
// row_max, row_sum [H][Tq] or nullptr (flash only): m and l of every row (attention_forward_f32).
namespace {
bool attention_wasmsimd(float* out, float* weights, float* row_max, float* row_sum, const float* q, const float* k,
                        const float* v, const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                        int dk, int dv) {
  assert(out && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0);
  Head head(score, mask, nq, nk, dk, dv, kTilings[simd_variant()], weights == nullptr);
  const Packed& p = head.packed();
  Scratch scratch;
  if (!head.allocate() || !scratch.allocate(p.dv8)) return false;
  for (int h = 0; h < heads; ++h) {
    head.pack(q + size_t(h) * nq * dk, k + size_t(h) * nk * dk, v + size_t(h) * nk * dv);
    float* outh = out + size_t(h) * nq * dv;
    float* wh = weights ? weights + size_t(h) * nq * nk : nullptr;
    for (int ib = 0; ib < p.nq4; ib += kBlockQueries) {
      const int nb = std::min(kBlockQueries, p.nq4 - ib);
      float* rmax = row_max ? row_max + size_t(h) * nq : nullptr;
      float* rsum = row_sum ? row_sum + size_t(h) * nq : nullptr;
      if (wh) head.attend_with_weights(outh, wh, ib, nb, scratch);
      else head.attend_flash(outh, rmax, rsum, ib, nb, scratch);
      if (!head.fix_overflowed_rows(outh, wh, rmax, rsum, ib, nb, scratch)) return false;
    }
  }
  return true;
}
}  // namespace

bool attention_f32__wasmsimd(float* out, float* weights, const float* q, const float* k, const float* v,
                             const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
                             int dv) {
  return attention_wasmsimd(out, weights, nullptr, nullptr, q, k, v, score, mask, heads, nq, nk, dk, dv);
}

bool attention_forward_f32__wasmsimd(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                                     const float* v, const ScoreParams& score, const MaskParams& mask, int heads,
                                     int nq, int nk, int dk, int dv) {
  return attention_wasmsimd(out, nullptr, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
}

uint64_t kernels::attention_f32__wasmsimd_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv) {
  return add_sat(mul_sat(4, packed_and_scratch_floats(score, nq, nk, dk, dv)),
                 kBlockQueries + recompute_row_bytes(nk, dv));
}

}  // namespace attn

#endif  // __wasm_simd128__

// attn/tuning.h, in every build (the scalar build accepts the setting and has nothing to vary).
#include <atomic>

#include "attn/tuning.h"

namespace attn {
namespace {
std::atomic<int> g_simd_variant{0};
}  // namespace

int set_simd_variant(int v) {
  if (v < 0 || v >= kSimdVariantCount) return -1;
  g_simd_variant.store(v, std::memory_order_relaxed);
  return v;
}

int simd_variant() { return g_simd_variant.load(std::memory_order_relaxed); }

}  // namespace attn
