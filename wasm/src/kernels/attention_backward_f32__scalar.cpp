// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims.
//
// Attention backward in plain C++ (no intrinsics, float accumulation), flash-style: the probabilities are
// recomputed from the saved row max and sum (attention_forward_f32), nothing of size Tq x Tk is held. The
// no-SIMD build's kernel, and the native build's.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>

#include "attention_backward_prep.h"
#include "attention_prep.h"
#include "attn/backward.h"
#include "buffer.h"

namespace attn {

// dquery [H][Tq][D], dkey [H][Tk][D], dvalue [H][Tk][Dv], dscore (+=); dout, out [H][Tq][Dv]; row_max, row_sum [H][Tq];
// q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv]. Per head, q' (or Pq, Pk) as in the forward (attention_prep.h); per
// query i with an allowed key (l_i > 0):
//   pass 1: Delta_i = dout_i . out_i
//   pass 2, per allowed key j: s = q'_i . k_j (or additive); P = exp(s - m_i) / l_i; dvalue_j += P dout_i;
//           dS = P (dout_i . v_j - Delta_i); dq'_i += dS k_j; dk_j += dS q'_i
//           (additive: t_a = tanh(Pq_ia + Pk_ja); dv_a += dS t_a; g_a = dS v_a (1 - t_a^2); dPq_ia += g_a,
//           dPk_ja += g_a)
//   pass 3 (per head): dq' back to dq and dW (queries_backward); additive: dPq, dPk back to dq, dk, dWq, dWk.
// Scratch (attention_backward_f32__scalar_workspace_bytes, one malloc; false, nothing written, without it):
// qp, dqp [Tq][D or A]; pk, dpk [Tk][A] (additive); dkh [Tk][D].
bool attention_backward_f32__scalar(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore, const float* dout,
                                    const float* out, const float* row_max, const float* row_sum, const float* q,
                                    const float* k, const float* v, const ScoreParams& score, const MaskParams& mask,
                                    int heads, int nq, int nk, int dk, int dv) {
  assert(dout && out && row_max && row_sum && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0);
  const int D = dk, A = score.da;
  const bool additive = score.score == Score::kAdditive;
  const int qcols = additive ? A : D;
  const size_t nqc = size_t(nq) * qcols, nka = additive ? size_t(nk) * A : 0, nkd = size_t(nk) * D;
  Buffer<float> mem;
  if (!mem.allocate(kernels::attention_backward_f32__scalar_workspace_bytes(score, nq, nk, dk, dv) / sizeof(float)))
    return false;
  float* const qp = mem.data();
  float* const dqp = qp + nqc;
  float* const pk = dqp + nqc;
  float* const dpk = pk + nka;
  float* const dkh = dpk + nka;
  for (int h = 0; h < heads; ++h) {
    const float* qh = q + size_t(h) * nq * D;
    const float* kh = k + size_t(h) * nk * D;
    const float* vh = v + size_t(h) * nk * dv;
    const float* doh = dout + size_t(h) * nq * dv;
    const float* oh = out + size_t(h) * nq * dv;
    float* dvh = dvalue ? dvalue + size_t(h) * nk * dv : nullptr;
    if (additive) {
      kernels::project_additive(qp, A, 1, qh, score.Wq, nq, D, A);
      kernels::project_additive(pk, A, 1, kh, score.Wk, nk, D, A);
      std::fill(dpk, dpk + nka, 0.0f);
    } else {
      kernels::transform_queries(qp, D, qh, score, nq, D);
      std::fill(dkh, dkh + nkd, 0.0f);
    }
    std::fill(dqp, dqp + nqc, 0.0f);
    for (int i = 0; i < nq; ++i) {
      const float l = row_sum[size_t(h) * nq + i];
      if (!(l > 0.0f)) continue;  // no allowed key: out_i = 0 whatever the inputs, so no gradient
      const float m = row_max[size_t(h) * nq + i], inv = 1.0f / l;
      const float* doi = doh + size_t(i) * dv;
      const float* qi = qp + size_t(i) * qcols;
      float* dqi = dqp + size_t(i) * qcols;
      float delta = 0.0f;  // pass 1
      for (int c = 0; c < dv; ++c) delta += doi[c] * oh[size_t(i) * dv + c];
      const int jend = kernels::causal_end(mask, i, nq, nk);
      for (int j = 0; j < jend; ++j) {  // pass 2
        if (mask.kind == MaskKind::kExplicit && !mask.allowed[size_t(i) * nk + j]) continue;
        const float* kj = kh + size_t(j) * D;
        const float* vj = vh + size_t(j) * dv;
        float s = 0.0f;
        if (additive) {
          for (int a = 0; a < A; ++a) s += score.v[a] * std::tanh(qi[a] + pk[size_t(j) * A + a]);
        } else {
          for (int d = 0; d < D; ++d) s += qi[d] * kj[d];
        }
        const float p = std::exp(s - m) * inv;
        float dp = 0.0f;
        for (int c = 0; c < dv; ++c) dp += doi[c] * vj[c];
        if (dvh)
          for (int c = 0; c < dv; ++c) dvh[size_t(j) * dv + c] += p * doi[c];
        const float ds = p * (dp - delta);
        if (additive) {
          float* dpj = dpk + size_t(j) * A;
          for (int a = 0; a < A; ++a) {
            const float t = std::tanh(qi[a] + pk[size_t(j) * A + a]);
            if (dscore.dv) dscore.dv[a] += ds * t;
            const float g = ds * score.v[a] * (1.0f - t * t);
            dqi[a] += g;
            dpj[a] += g;
          }
        } else {
          float* dkj = dkh + size_t(j) * D;
          for (int d = 0; d < D; ++d) {
            dqi[d] += ds * kj[d];
            dkj[d] += ds * qi[d];
          }
        }
      }
    }
    // pass 3
    if (additive) {
      kernels::additive_projection_backward(dquery ? dquery + size_t(h) * nq * D : nullptr, dscore.dWq, dqp, qh,
                                            score.Wq, nq, D, A);
      kernels::additive_projection_backward(dkey ? dkey + size_t(h) * nk * D : nullptr, dscore.dWk, dpk, kh,
                                            score.Wk, nk, D, A);
    } else {
      kernels::queries_backward(dquery ? dquery + size_t(h) * nq * D : nullptr, dscore, dqp, D, qh, score, nq, D);
      if (dkey)
        for (size_t x = 0; x < nkd; ++x) dkey[size_t(h) * nk * D + x] += dkh[x];
    }
  }
  return true;
}

uint64_t kernels::attention_backward_f32__scalar_workspace_bytes(const ScoreParams& score, int nq, int nk, int dk,
                                                                 int dv) {
  (void)dv;
  const uint64_t nqu = uint64_t(std::max(nq, 0)), nku = uint64_t(std::max(nk, 0)), d = uint64_t(std::max(dk, 0));
  const bool additive = score.score == Score::kAdditive;
  const uint64_t qcols = additive ? uint64_t(std::max(score.da, 0)) : d;
  const uint64_t floats = add_sat(add_sat(mul_sat(2 * nqu, qcols), additive ? mul_sat(2 * nku, qcols) : 0),
                                  mul_sat(nku, d));
  return mul_sat(floats, sizeof(float));
}

}  // namespace attn
