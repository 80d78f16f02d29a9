// Tq queries, Tk keys, D query/key dims, A additive hidden dims.
//
// The end of the optimized attention backward kernels, shared by the scalar and wasmsimd ones: their core
// produces the gradient with respect to the prepared queries q' (attention_prep.h) or, for additive scores,
// to the projections Pq = q Wq^T and Pk = k Wk^T; these take it back to q, k and the score parameters.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "attn/backward.h"

namespace attn::kernels {

// Scratch bytes of one call of each optimized backward kernel (defined beside it; 64-bit, saturating), for
// attention_backward_f32_workspace_bytes. parts: the tasks the wasmsimd kernel splits each head into.
uint64_t attention_backward_f32__scalar_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv);
uint64_t attention_backward_f32__wasmsimd_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk, int dv,
                                                          int parts);

// dq [Tq][D] (+=), dscore.dW (+=, general); dqp [Tq][ldp] = dL/dq'; q [Tq][D].
//   dot:        q' = q            -> dq += dq'
//   scaled_dot: q' = q / sqrt(D)  -> dq += dq' / sqrt(D)
//   general:    q' = q W          -> dq += dq' W^T, dW += q^T dq'
inline void queries_backward(float* dq, const ScoreGrads& dscore, const float* dqp, std::size_t ldp, const float* q,
                             const ScoreParams& p, int nq, int dk) {
  const float scale = p.score == Score::kScaledDot ? float(1.0 / std::sqrt(double(dk))) : 1.0f;
  for (int i = 0; i < nq; ++i) {
    const float* g = dqp + std::size_t(i) * ldp;
    const float* qi = q + std::size_t(i) * dk;
    if (p.score == Score::kGeneral) {
      if (dq) {
        float* o = dq + std::size_t(i) * dk;
        for (int d = 0; d < dk; ++d) {
          const float* w = p.W + std::size_t(d) * dk;
          float s = 0.0f;
          for (int e = 0; e < dk; ++e) s += g[e] * w[e];
          o[d] += s;
        }
      }
      if (dscore.dW)
        for (int d = 0; d < dk; ++d) {
          const float qd = qi[d];
          float* dw = dscore.dW + std::size_t(d) * dk;
          for (int e = 0; e < dk; ++e) dw[e] += qd * g[e];
        }
    } else if (dq) {
      float* o = dq + std::size_t(i) * dk;
      for (int d = 0; d < dk; ++d) o[d] += g[d] * scale;
    }
  }
}

// dx [T][D] (+=), dWx [A][D] (+=); dpx [T][A] = dL/dPx where Px = x Wx^T; x [T][D]; Wx [A][D].
//   dx += dPx Wx;  dWx += dPx^T x
inline void additive_projection_backward(float* dx, float* dwx, const float* dpx, const float* x, const float* wx,
                                         int t_count, int dk, int da) {
  for (int t = 0; t < t_count; ++t) {
    const float* g = dpx + std::size_t(t) * da;
    const float* xt = x + std::size_t(t) * dk;
    for (int a = 0; a < da; ++a) {
      const float ga = g[a];
      if (ga == 0.0f) continue;
      const float* w = wx + std::size_t(a) * dk;
      if (dx) {
        float* o = dx + std::size_t(t) * dk;
        for (int d = 0; d < dk; ++d) o[d] += ga * w[d];
      }
      if (dwx) {
        float* o = dwx + std::size_t(a) * dk;
        for (int d = 0; d < dk; ++d) o[d] += ga * xt[d];
      }
    }
  }
}

}  // namespace attn::kernels
