// Tq queries, Tk keys, D query/key dims, A additive hidden dims.
//
// Per-head preparation shared by the optimized attention kernels: every score except additive becomes a
// plain dot product q' . k once the query is transformed, and additive scores split into two projections.
#pragma once

#include <cmath>
#include <cstddef>

#include "attn/attention.h"

namespace attn::kernels {

// qp [Tq][ld] (ld >= D, columns beyond D untouched); q [Tq][D]; W [D][D] for general.
//   dot:        q' = q
//   scaled_dot: q' = q / sqrt(D)             (so q' . k = q . k / sqrt(D))
//   general:    q'[e] = sum_d q[d] W[d][e]   (so q' . k = q^T W k)
inline void transform_queries(float* qp, std::size_t ld, const float* q, const ScoreParams& p, int nq, int dk) {
  const float scale = p.score == Score::kScaledDot ? float(1.0 / std::sqrt(double(dk))) : 1.0f;
  for (int i = 0; i < nq; ++i) {
    const float* qi = q + std::size_t(i) * dk;
    float* o = qp + std::size_t(i) * ld;
    if (p.score == Score::kGeneral) {
      for (int e = 0; e < dk; ++e) o[e] = 0.0f;
      for (int d = 0; d < dk; ++d) {
        const float qd = qi[d];
        const float* w = p.W + std::size_t(d) * dk;
        for (int e = 0; e < dk; ++e) o[e] += qd * w[e];
      }
    } else {
      for (int d = 0; d < dk; ++d) o[d] = qi[d] * scale;
    }
  }
}

// out[t * stride_t + a * stride_a] = sum_d Wx[a][d] x[t][d] for x [T][D], Wx [A][D]: the additive projections.
inline void project_additive(float* out, std::size_t stride_t, std::size_t stride_a, const float* x, const float* wx,
                             int t_count, int dk, int da) {
  for (int t = 0; t < t_count; ++t)
    for (int a = 0; a < da; ++a) {
      float s = 0.0f;
      for (int d = 0; d < dk; ++d) s += wx[std::size_t(a) * dk + d] * x[std::size_t(t) * dk + d];
      out[std::size_t(t) * stride_t + std::size_t(a) * stride_a] = s;
    }
}

// The first key index query i may NOT attend under the causal mask (keys [0, end) are allowed), clamped to
// [0, Tk]; Tk for every other mask. m.rows_after shifts the diagonal for a block of query rows (attention.h).
inline int causal_end(const MaskParams& m, int i, int nq, int nk) {
  if (m.kind != MaskKind::kCausal) return nk;
  const long end = long(i) + long(nk) - long(nq) - long(m.rows_after) + 1;
  return end < 0 ? 0 : (end > nk ? nk : int(end));
}

}  // namespace attn::kernels
