// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims.
//
// REFERENCE implementation: written to be read, not to be fast. Plain scalar C++, every sum accumulated in
// double, no intrinsics, no tiling. The optimized kernels (src/kernels/) are tested against this file.
#include <cassert>
#include <cmath>

#include "../buffer.h"
#include "attn/attention.h"

namespace attn {
namespace {

// The score of query q [D] against key k [D], in double.
//   dot:        s = sum_d q[d] k[d]
//   scaled_dot: s = sum_d q[d] k[d] / sqrt(D)
//   general:    s = sum_d sum_e q[d] W[d][e] k[e]
//   additive:   s = sum_a v[a] tanh(sum_d Wq[a][d] q[d] + sum_d Wk[a][d] k[d])
double score_of(const float* q, const float* k, const ScoreParams& p, int dk) {
  switch (p.score) {
    case Score::kDot:
    case Score::kScaledDot: {
      double s = 0.0;
      for (int d = 0; d < dk; ++d) s += double(q[d]) * double(k[d]);
      return p.score == Score::kScaledDot ? s / std::sqrt(double(dk)) : s;
    }
    case Score::kGeneral: {
      double s = 0.0;
      for (int d = 0; d < dk; ++d) {
        double wk = 0.0;  // (W k)[d]
        for (int e = 0; e < dk; ++e) wk += double(p.W[d * dk + e]) * double(k[e]);
        s += double(q[d]) * wk;
      }
      return s;
    }
    case Score::kAdditive: {
      double s = 0.0;
      for (int a = 0; a < p.da; ++a) {
        double hq = 0.0, hk = 0.0;
        for (int d = 0; d < dk; ++d) {
          hq += double(p.Wq[a * dk + d]) * double(q[d]);
          hk += double(p.Wk[a * dk + d]) * double(k[d]);
        }
        s += double(p.v[a]) * std::tanh(hq + hk);
      }
      return s;
    }
  }
  assert(false && "unknown score");
  return 0.0;
}

bool allowed_at(const MaskParams& mask, int i, int j, int nq, int nk) {
  switch (mask.kind) {
    case MaskKind::kNone: return true;
    case MaskKind::kCausal: return causal_allows(i, j, nq + mask.rows_after, nk);  // rows_after: attention.h
    case MaskKind::kExplicit: return mask.allowed[size_t(i) * nk + j] != 0;
  }
  return true;
}

}  // namespace

// out [H][Tq][Dv]; weights [H][Tq][Tk] or nullptr; q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv].
// For each head h and query i:
//   pass 1: scores s[j] = score(q_i, k_j), or -INFINITY where the mask forbids key j; row max m = max_j s[j]
//   pass 2: w[j] = exp(s[j] - m), l = sum_j w[j]  (subtracting m keeps exp <= 1, so no overflow)
//   pass 3: w[j] /= l; out_i = sum_j w[j] v_j
// A row whose keys are all masked (m = -INFINITY) gets w = 0 and out_i = 0, by definition.
// Finite float inputs give finite scores in double (|q.k| <= D 3.4e38^2), so this never overflows; the
// optimized kernels recompute a row here when their float32 scores or output overflow.
// Scratch: s [Tk], acc [Dv] in double (false when they cannot be allocated).
bool attention_f32__reference(float* out, float* weights, const float* q, const float* k, const float* v,
                              const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                              int dk, int dv) {
  assert(out && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0);
  Buffer<double> s, acc;
  if (!s.allocate(uint64_t(nk)) || !acc.allocate(uint64_t(dv))) return false;
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + size_t(h) * nq * dk;
    const float* kh = k + size_t(h) * nk * dk;
    const float* vh = v + size_t(h) * nk * dv;
    for (int i = 0; i < nq; ++i) {
      // pass 1: masked scores and their maximum
      double m = -INFINITY;
      for (int j = 0; j < nk; ++j) {
        s[j] = allowed_at(mask, i, j, nq, nk) ? score_of(qh + size_t(i) * dk, kh + size_t(j) * dk, score, dk)
                                              : -INFINITY;
        if (s[j] > m) m = s[j];
      }
      // pass 2: exponentials and their sum
      double l = 0.0;
      for (int j = 0; j < nk; ++j) {
        s[j] = (m == -INFINITY || s[j] == -INFINITY) ? 0.0 : std::exp(s[j] - m);
        l += s[j];
      }
      // pass 3: normalise, then the weighted sum of values
      for (int c = 0; c < dv; ++c) acc[c] = 0.0;
      for (int j = 0; j < nk; ++j) {
        const double w = l > 0.0 ? s[j] / l : 0.0;
        if (weights) weights[(size_t(h) * nq + i) * nk + j] = float(w);
        for (int c = 0; c < dv; ++c) acc[c] += w * double(vh[size_t(j) * dv + c]);
      }
      float* o = out + (size_t(h) * nq + i) * dv;
      for (int c = 0; c < dv; ++c) o[c] = float(acc[c]);
    }
  }
  return true;
}

// scores [H][Tq][Tk]; q [H][Tq][D]; k [H][Tk][D]. Pass 1 of attention_f32__reference alone, rounded to float:
//   scores[h][i][j] = score(q_i, k_j), or -INFINITY where the mask forbids key j.
void attention_scores_f32__reference(float* scores, const float* q, const float* k, const ScoreParams& score,
                                     const MaskParams& mask, int heads, int nq, int nk, int dk) {
  assert(scores && q && k && heads > 0 && nq > 0 && nk > 0 && dk > 0);
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + size_t(h) * nq * dk;
    const float* kh = k + size_t(h) * nk * dk;
    for (int i = 0; i < nq; ++i) {
      float* row = scores + (size_t(h) * nq + i) * nk;
      for (int j = 0; j < nk; ++j) {
        row[j] = allowed_at(mask, i, j, nq, nk)
                     ? float(score_of(qh + size_t(i) * dk, kh + size_t(j) * dk, score, dk))
                     : -INFINITY;
      }
    }
  }
}

}  // namespace attn
