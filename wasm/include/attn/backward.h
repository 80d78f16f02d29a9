// H heads, Tq queries, Tk keys, D query/key dims (dk), Dv value dims, A additive hidden dims (da), M model dims,
// Dh = M/H dims per head, T rows (tokens), I input dims, O output dims, V vocabulary rows, N elements.
//
// Training ops: every op is a pair, op_forward_f32 (which saves what its backward needs) and op_backward_f32,
// float32, row-major, outputs first and sizes last, each dispatched on Variant like attention_f32
// (kReference: the double-accumulating reference in src/reference/; kOptimized: the best kernel compiled in).
//
// Rules shared by every backward:
//   - it ACCUMULATES (+=) into every gradient buffer it is given, so a parameter used twice (self-attention's
//     x as both query and context, a tied embedding) gets the sum; zero the buffers before a step;
//   - a null gradient pointer means "not wanted" and is skipped;
//   - gradient buffers must not alias the inputs (they may alias each other only where a comment says so).
// Arguments are validated once, in the JS library; here only `assert`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "attn/attention.h"

namespace attn {

// ---- attention --------------------------------------------------------------------------------------------

// Gradients of the score parameters (ScoreParams), accumulated; null when unused or not wanted.
struct ScoreGrads {
  float* dW = nullptr;   // general: [D][D]
  float* dWq = nullptr;  // additive: [A][D]
  float* dWk = nullptr;  // additive: [A][D]
  float* dv = nullptr;   // additive: [A]
};

// out [H][Tq][Dv]; row_max [H][Tq]; row_sum [H][Tq]; q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv].
// The forward of attention_f32 (no weights) that SAVES, per query row, the softmax's row max m = max_j s_ij
// and row sum l = sum_j exp(s_ij - m) over the allowed keys, so that the backward recomputes the
// probabilities P_ij = exp(s_ij - m_i) / l_i tile by tile instead of storing [H][Tq][Tk].
// A row with no allowed key saves m = -INFINITY, l = 0 (and has out = 0). A row the optimized kernels recompute
// in double (float32 overflow of its scores: |q| |k| near 1e19 and beyond) saves NaN and gets no gradient.
// Returns false, as attention_f32 does, when the optimized kernel's scratch cannot be allocated.
bool attention_forward_f32(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                           const float* v, const ScoreParams& score, const MaskParams& mask, int heads, int nq,
                           int nk, int dk, int dv, Variant variant);

// dquery [H][Tq][D], dkey [H][Tk][D], dvalue [H][Tk][Dv] (+=); dscore (+=, see ScoreGrads);
// dout [H][Tq][Dv]; out, row_max, row_sum: saved by attention_forward_f32; q, k, v, score, mask: as there.
// With s_ij = score(q_i, k_j) (or masked), P = softmax_j(s), out_i = sum_j P_ij v_j:
//   dvalue_j += sum_i P_ij dout_i   (below dq, dk stand for dquery, dkey)
//   dP_ij     = dout_i . v_j;   Delta_i = sum_j P_ij dP_ij = dout_i . out_i
//   dS_ij     = P_ij (dP_ij - Delta_i)   (0 where masked; a row with no allowed key has dS = 0)
//   then through the score function:
//     dot:        dq_i += sum_j dS_ij k_j;              dk_j += sum_i dS_ij q_i
//     scaled_dot: the same times 1/sqrt(D)
//     general:    s = q^T W k:  dq_i += sum_j dS_ij W k_j;  dk_j += sum_i dS_ij W^T q_i;
//                 dW += sum_ij dS_ij q_i k_j^T
//     additive:   s = v^T tanh(Wq q + Wk k), t_ija = tanh(..)_a, g_ija = dS_ij v_a (1 - t_ija^2):
//                 dv_a += sum_ij dS_ij t_ija; dq_i += Wq^T sum_j g_ij; dk_j += Wk^T sum_i g_ij;
//                 dWq += sum_i (sum_j g_ij) q_i^T; dWk += sum_j (sum_i g_ij) k_j^T
// Returns false when the kernel's scratch (attention_backward_f32_workspace_bytes) cannot be allocated, instead
// of aborting the instance (the module has no exceptions, so a std::vector would abort): one thread writes
// nothing then, heads on threads may have added their part, so discard the gradients.
bool attention_backward_f32(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore, const float* dout,
                            const float* out, const float* row_max, const float* row_sum, const float* q,
                            const float* k, const float* v, const ScoreParams& score, const MaskParams& mask,
                            int heads, int nq, int nk, int dk, int dv, Variant variant);

// Bytes of scratch one attention_backward_f32 call takes beside its arguments (64-bit, saturating): the
// optimized kernel's packed operands and blocks (times the parts it runs on threads), or the reference's double
// accumulators. The bindings refuse a call whose scratch cannot fit before starting it.
uint64_t attention_backward_f32_workspace_bytes(const ScoreParams& score, int heads, int nq, int nk, int dk, int dv,
                                                Variant variant);

// The variants behind the dispatch (the reference in src/reference/attention_backward_f32__reference.cpp).
void attention_forward_f32__reference(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                                      const float* v, const ScoreParams& score, const MaskParams& mask, int heads,
                                      int nq, int nk, int dk, int dv);
void attention_backward_f32__reference(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                       const float* dout, const float* out, const float* row_max,
                                       const float* row_sum, const float* q, const float* k, const float* v,
                                       const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                                       int dk, int dv);

bool attention_forward_f32__scalar(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                                   const float* v, const ScoreParams& score, const MaskParams& mask, int heads,
                                   int nq, int nk, int dk, int dv);
bool attention_backward_f32__scalar(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                    const float* dout, const float* out, const float* row_max, const float* row_sum,
                                    const float* q, const float* k, const float* v, const ScoreParams& score,
                                    const MaskParams& mask, int heads, int nq, int nk, int dk, int dv);
#if defined(__wasm_simd128__)
bool attention_forward_f32__wasmsimd(float* out, float* row_max, float* row_sum, const float* q, const float* k,
                                     const float* v, const ScoreParams& score, const MaskParams& mask, int heads,
                                     int nq, int nk, int dk, int dv);
bool attention_backward_f32__wasmsimd(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                      const float* dout, const float* out, const float* row_max,
                                      const float* row_sum, const float* q, const float* k, const float* v,
                                      const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                                      int dk, int dv);
// The same, each head's key blocks split into `parts` tasks on the engine's threads (the dispatch's choice
// when H < threads).
bool attention_backward_f32__wasmsimd_parts(float* dquery, float* dkey, float* dvalue, const ScoreGrads& dscore,
                                            const float* dout, const float* out, const float* row_max,
                                            const float* row_sum, const float* q, const float* k, const float* v,
                                            const ScoreParams& score, const MaskParams& mask, int heads, int nq,
                                            int nk, int dk, int dv, int parts);
#endif

// ---- dense (gemm with bias) -------------------------------------------------------------------------------

// out [T][O] = x [T][I] . W [I][O] + b [O] (b may be null). Saves nothing: the backward reads x and W.
void dense_forward_f32(float* out, const float* x, const float* W, const float* b, int t, int in, int n_out,
                       Variant variant);
// dx [T][I], dW [I][O], db [O] (+=, each may be null); dout [T][O]; x [T][I]; W [I][O].
//   dx += dout . W^T;  dW += x^T . dout;  db += sum_t dout_t
void dense_backward_f32(float* dx, float* dW, float* db, const float* dout, const float* x, const float* W, int t,
                        int in, int n_out, Variant variant);

// ---- layer norm -------------------------------------------------------------------------------------------

// out [T][D]; mean [T]; rstd [T]; x [T][D]; scale [D]; bias [D].
// out_t = (x_t - mean_t) * rstd_t * scale + bias, rstd_t = 1 / sqrt(var_t + eps) (biased variance).
// Saves mean and rstd per row.
void layer_norm_forward_f32(float* out, float* mean, float* rstd, const float* x, const float* scale,
                            const float* bias, float eps, int t, int d, Variant variant);
// dx [T][D], dscale [D], dbias [D] (+=); dout [T][D]; x, mean, rstd, scale: as in the forward.
//   xhat = (x - mean) rstd; dbias += sum_t dout; dscale += sum_t dout * xhat; g = dout * scale;
//   dx += rstd (g - mean_d(g) - xhat mean_d(g * xhat))
void layer_norm_backward_f32(float* dx, float* dscale, float* dbias, const float* dout, const float* x,
                             const float* mean, const float* rstd, const float* scale, int t, int d,
                             Variant variant);

// ---- activations (elementwise, N elements) ----------------------------------------------------------------

// out [N] = max(x, 0). Saves nothing: the backward reads x.
void relu_forward_f32(float* out, const float* x, int n, Variant variant);
// dx [N] += dout * (x > 0).
void relu_backward_f32(float* dx, const float* dout, const float* x, int n, Variant variant);

// out [N] = GELU(x), the tanh form (GPT-2, llm.c): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Saves nothing: the backward reads x.
void gelu_forward_f32(float* out, const float* x, int n, Variant variant);
// dx [N] += dout * GELU'(x), u = sqrt(2/pi) (x + 0.044715 x^3):
//   GELU'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
void gelu_backward_f32(float* dx, const float* dout, const float* x, int n, Variant variant);

// ---- residual add -----------------------------------------------------------------------------------------

// out [N] = a + b (out may alias a or b).
void residual_forward_f32(float* out, const float* a, const float* b, int n, Variant variant);
// da [N] += dout; db [N] += dout (either may be null; da may alias db: then it gets 2 dout).
void residual_backward_f32(float* da, float* db, const float* dout, int n, Variant variant);

// ---- embedding lookup -------------------------------------------------------------------------------------

// out [T][D]; ids [T], each in [0, V); table [V][D]. out_t = table[ids_t]. Saves nothing (the backward reads ids).
void embedding_forward_f32(float* out, const int32_t* ids, const float* table, int t, int vocab, int d,
                           Variant variant);
// dtable [V][D] (+=, scatter-add: a repeated id gets the sum of its rows); dout [T][D]; ids [T].
void embedding_backward_f32(float* dtable, const float* dout, const int32_t* ids, int t, int vocab, int d,
                            Variant variant);

// ---- softmax cross-entropy over a vocabulary --------------------------------------------------------------

// losses [T]; row_max [T]; row_sum [T]; logits [T][V]; targets [T], each in [0, V) or == ignore_index.
// losses_t = log(sum_v exp(z_tv)) - z_t,target = -log softmax(z_t)[target], 0 for an ignored row.
// Returns the mean loss over the rows whose target is not ignore_index (0 when every row is ignored).
// Saves, per row, the softmax's max m_t and sum l_t = sum_v exp(z_tv - m_t).
float cross_entropy_forward_f32(float* losses, float* row_max, float* row_sum, const float* logits,
                                const int32_t* targets, int t, int vocab, int32_t ignore_index, Variant variant);
// dlogits [T][V] (+=); dloss: the gradient of the MEAN loss returned by the forward (1 for the loss itself);
// logits, row_max, row_sum, targets: as in the forward. With C = count of rows not ignored:
//   dlogits_tv += dloss / C * (softmax(z_t)_v - [v == target_t]); nothing for ignored rows.
void cross_entropy_backward_f32(float* dlogits, float dloss, const float* logits, const float* row_max,
                                const float* row_sum, const int32_t* targets, int t, int vocab,
                                int32_t ignore_index, Variant variant);

// ---- the multi-head layer ---------------------------------------------------------------------------------

// Floats saved by multi_head_attention_forward_f32 for the backward, in this order:
//   Q [H][Tq][Dh], K [H][Tk][Dh], V [H][Tk][Dh] (projections with biases, split into heads),
//   O [H][Tq][Dh] (per-head attention outputs), row_max [H][Tq], row_sum [H][Tq].
inline size_t multi_head_saved_size(int nq, int nk, int d_model, int heads) {
  return size_t(nq) * d_model * 2 + size_t(nk) * d_model * 2 + size_t(heads) * nq * 2;
}

// out [Tq][M]; saved [multi_head_saved_size(Tq, Tk, M, H)]; x [Tq][M]; context [Tk][M] (x for self-attention).
// The forward of multi_head_attention_f32 (attention.h), saving what its backward needs (see above); false
// when attention's scratch cannot be allocated.
bool multi_head_attention_forward_f32(float* out, float* saved, const float* x, const float* context,
                                      const MultiHeadParams& params, const ScoreParams& score,
                                      const MaskParams& mask, int nq, int nk, int d_model, int heads,
                                      Variant variant);

// Gradients of one dense layer's W [I][O] and b [O], accumulated; null when not wanted.
struct DenseGrads {
  float* dW = nullptr;
  float* db = nullptr;
};
struct MultiHeadGrads {
  DenseGrads q, k, v, o;
};

// dx [Tq][M], dcontext [Tk][M] (+=; for self-attention pass dcontext == dx, or null to drop it);
// dparams, dscore (+=); dout [Tq][M]; saved: by the forward; the rest as in the forward.
//   pass 1: dconcat = dout Wo^T, dWo += concat^T dout, dbo += sum dout (concat = merged O)
//   pass 2: split dconcat into heads; attention_backward_f32 -> dQ, dK, dV [H][T][Dh], dscore
//   pass 3: merge; dx += dQ Wq^T, dWq += x^T dQ, dbq += sum dQ; dcontext += dK Wk^T + dV Wv^T, ...
// Returns false when attention_backward_f32 does (its scratch could not be allocated): discard the gradients.
bool multi_head_attention_backward_f32(float* dx, float* dcontext, const MultiHeadGrads& dparams,
                                       const ScoreGrads& dscore, const float* dout, const float* saved,
                                       const float* x, const float* context, const MultiHeadParams& params,
                                       const ScoreParams& score, const MaskParams& mask, int nq, int nk,
                                       int d_model, int heads, Variant variant);

}  // namespace attn
