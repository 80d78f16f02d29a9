// Tq queries, Tk keys, D query/key dims, A additive hidden dims.
//
// Per-head preparation shared by the optimized attention kernels: every score except additive becomes a
// plain dot product q' . k once the query is transformed, and additive scores split into two projections.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

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

// True when x[0..n) are all finite (no overflow to +-INFINITY, no NaN).
inline bool finite_row(const float* x, int n) {
  for (int i = 0; i < n; ++i)
    if (!(std::fabs(x[i]) <= FLT_MAX)) return false;
  return true;
}

// The finite-input guarantee of the optimized kernels: query row i of one head recomputed in double, by the
// reference on that row alone (out_row [Dv], weights_row [Tk] or nullptr; qh [Tq][D], kh [Tk][D], vh [Tk][Dv]
// of the head, the caller's original q). Used for a row whose float32 scores overflowed (q = 1e30, k = 1e30:
// +-INFINITY, or NaN from INFINITY - INFINITY) or whose output did. The mask keeps its meaning for the row:
// explicit rows start at row i; the causal diagonal moves by the rows after it (attention.h).
inline bool recompute_row_in_double(float* out_row, float* weights_row, const float* qh, const float* kh,
                                    const float* vh, const ScoreParams& score, const MaskParams& mask, int i,
                                    int nq, int nk, int dk, int dv) {
  MaskParams row = mask;
  if (mask.kind == MaskKind::kExplicit) row.allowed = mask.allowed + std::size_t(i) * nk;
  if (mask.kind == MaskKind::kCausal) row.rows_after = mask.rows_after + (nq - 1 - i);
  return attention_f32__reference(out_row, weights_row, qh + std::size_t(i) * dk, kh, vh, score, row, 1, 1, nk, dk,
                                  dv);
}

// Bytes of recompute_row_in_double's scratch.
inline uint64_t recompute_row_bytes(int nk, int dv) { return 8 * (uint64_t(nk) + uint64_t(dv)); }

// Scratch bytes of one call of each optimized kernel (defined beside it), for attention_f32_workspace_bytes.
uint64_t attention_f32__scalar_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv);
uint64_t attention_f32__wasmsimd_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv);

}  // namespace attn::kernels
