// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims, Bk keys per tile.
//
// Flash-style attention in plain C++ (no intrinsics, float accumulation): the build used where a browser
// lacks WASM SIMD, and the optimized kernel of the native build.
#include <algorithm>
#include <cassert>
#include <cmath>

#include "../buffer.h"
#include "attention_prep.h"
#include "attn/attention.h"
#include "attn/backward.h"

namespace attn {
namespace {

constexpr int kTileKeys = 64;  // Bk

// s(i, j) from the prepared query row: a dot product with q', or the additive sum over A.
inline float score_at(const float* qrow, const float* krow, const float* pk_row, const ScoreParams& p, int dk) {
  if (p.score == Score::kAdditive) {
    float s = 0.0f;
    for (int a = 0; a < p.da; ++a) s += p.v[a] * std::tanh(qrow[a] + pk_row[a]);
    return s;
  }
  float s = 0.0f;
  for (int d = 0; d < dk; ++d) s += qrow[d] * krow[d];
  return s;
}

}  // namespace

// out [H][Tq][Dv]; weights [H][Tq][Tk] or nullptr; q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv].
// Per head, queries become q' (see attention_prep.h; additive: Pq = q Wq^T [Tq][A], Pk = k Wk^T [Tk][A]).
// Without weights, per query i, over key tiles of Bk (online softmax, nothing of size Tq x Tk is held):
//   pass 1: s[j] = score or -INFINITY (masked); tile max t; m' = max(m, t)
//   pass 2: c = exp(m - m'); l = l c + sum_j exp(s[j] - m'); acc = acc c + sum_j exp(s[j] - m') v_j; m = m'
//   pass 3 (after the last tile): out_i = acc / l, or 0 when every key was masked (l = 0).
// With weights, the weights row itself is the scores buffer: scores, row max, exp, sum, normalise, then
// out_i = sum_j w[j] v_j.
// Overflow: a row with a non-finite score of an allowed key (float32 overflow of finite inputs) or a
// non-finite output is recomputed in double (kernels::recompute_row_in_double), so finite inputs never give NaN.
// Scratch (attention_f32__scalar_workspace_bytes): qp [Tq][D or A], pk [Tk][A], s [Bk], acc [Dv], and the
// double row; false when it cannot be allocated.
// row_max, row_sum [H][Tq] or nullptr: the flash path saves m and l of every row (attention_forward_f32); a
// row recomputed in double saves NaN (its backward then gives it no gradient, attn/backward.h).
namespace {
bool attention_scalar(float* out, float* weights, float* row_max, float* row_sum, const float* q, const float* k,
                      const float* v, const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                      int dk, int dv) {
  assert(out && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0);
  const bool additive = score.score == Score::kAdditive;
  const int da = score.da;
  const int qcols = additive ? da : dk;
  Buffer<float> qp, pk, s, acc;
  if (!qp.allocate(uint64_t(nq) * qcols) || !pk.allocate(additive ? uint64_t(nk) * da : 0) ||
      !s.allocate(kTileKeys) || !acc.allocate(uint64_t(dv)))
    return false;
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + size_t(h) * nq * dk;
    const float* kh = k + size_t(h) * nk * dk;
    const float* vh = v + size_t(h) * nk * dv;
    if (additive) {
      kernels::project_additive(qp.data(), da, 1, qh, score.Wq, nq, dk, da);
      kernels::project_additive(pk.data(), da, 1, kh, score.Wk, nk, dk, da);
    } else {
      kernels::transform_queries(qp.data(), dk, qh, score, nq, dk);
    }
    auto score_ij = [&](int i, int j) {
      return score_at(qp.data() + size_t(i) * qcols, kh + size_t(j) * dk,
                      additive ? pk.data() + size_t(j) * da : nullptr, score, dk);
    };
    auto allowed = [&](int i, int j) {
      return mask.kind != MaskKind::kExplicit || mask.allowed[size_t(i) * nk + j] != 0;
    };
    for (int i = 0; i < nq; ++i) {
      const int jend = kernels::causal_end(mask, i, nq, nk);  // keys >= jend are masked (causal)
      float* o = out + (size_t(h) * nq + i) * dv;
      float* w = weights ? weights + (size_t(h) * nq + i) * nk : nullptr;
      auto recompute = [&] { return kernels::recompute_row_in_double(o, w, qh, kh, vh, score, mask, i, nq, nk, dk, dv); };
      std::fill(acc.begin(), acc.end(), 0.0f);
      float l = 0.0f;
      if (weights) {
        float m = -INFINITY;
        bool overflow = false;
        for (int j = 0; j < nk; ++j) {  // pass 1
          w[j] = -INFINITY;
          if (j < jend && allowed(i, j)) {
            w[j] = score_ij(i, j);
            overflow = overflow || !kernels::finite_row(&w[j], 1);  // also -INFINITY: not a masked key
          }
          m = std::max(m, w[j]);
        }
        if (overflow) {
          if (!recompute()) return false;
          continue;
        }
        for (int j = 0; j < nk; ++j) {  // pass 2
          w[j] = (m == -INFINITY || w[j] == -INFINITY) ? 0.0f : std::exp(w[j] - m);
          l += w[j];
        }
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        for (int j = 0; j < nk; ++j) {  // pass 3
          w[j] *= inv;
          if (w[j] == 0.0f) continue;
          const float* vj = vh + size_t(j) * dv;
          for (int c = 0; c < dv; ++c) acc[c] += w[j] * vj[c];
        }
        for (int c = 0; c < dv; ++c) o[c] = acc[c];
        if (!kernels::finite_row(o, dv) && !recompute()) return false;
        continue;
      }
      float m = -INFINITY;
      bool overflow = false;
      for (int j0 = 0; j0 < jend && !overflow; j0 += kTileKeys) {
        const int bk = std::min(kTileKeys, jend - j0);
        float t = -INFINITY;
        for (int jj = 0; jj < bk; ++jj) {  // pass 1
          s[jj] = -INFINITY;
          if (allowed(i, j0 + jj)) {
            s[jj] = score_ij(i, j0 + jj);
            overflow = overflow || !kernels::finite_row(&s[jj], 1);
          }
          t = std::max(t, s[jj]);
        }
        if (overflow) break;
        if (t == -INFINITY) continue;  // nothing allowed in this tile
        const float mnew = std::max(m, t);
        const float c = m == -INFINITY ? 0.0f : std::exp(m - mnew);  // pass 2: rescale what came before
        l *= c;
        for (int cc = 0; cc < dv; ++cc) acc[cc] *= c;
        for (int jj = 0; jj < bk; ++jj) {
          if (s[jj] == -INFINITY) continue;
          const float p = std::exp(s[jj] - mnew);
          l += p;
          const float* vj = vh + size_t(j0 + jj) * dv;
          for (int cc = 0; cc < dv; ++cc) acc[cc] += p * vj[cc];
        }
        m = mnew;
      }
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // pass 3
      for (int c = 0; c < dv; ++c) o[c] = acc[c] * inv;
      const bool recomputed = overflow || !kernels::finite_row(o, dv);
      if (recomputed && !recompute()) return false;
      if (row_max) row_max[size_t(h) * nq + i] = recomputed ? NAN : m;
      if (row_sum) row_sum[size_t(h) * nq + i] = recomputed ? NAN : l;
    }
  }
  return true;
}
}  // namespace

bool attention_f32__scalar(float* out, float* weights, const float* q, const float* k, const float* v,
                           const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
                           int dv) {
  return attention_scalar(out, weights, nullptr, nullptr, q, k, v, score, mask, heads, nq, nk, dk, dv);
}

bool attention_forward_f32__scalar(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                                   const float* v, const ScoreParams& score, const MaskParams& mask, int heads,
                                   int nq, int nk, int dk, int dv) {
  return attention_scalar(out, nullptr, row_max, row_sum, q, k, v, score, mask, heads, nq, nk, dk, dv);
}

uint64_t kernels::attention_f32__scalar_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv) {
  const bool additive = score.score == Score::kAdditive;
  const uint64_t qcols = additive ? uint64_t(score.da) : uint64_t(dk);
  uint64_t floats = add_sat(mul_sat(uint64_t(nq), qcols), additive ? mul_sat(uint64_t(nk), uint64_t(score.da)) : 0);
  floats = add_sat(floats, kTileKeys + uint64_t(dv));
  return add_sat(mul_sat(4, floats), recompute_row_bytes(nk, dv));
}

}  // namespace attn
