// H heads, Tq queries, Tk keys, D query/key dims (dk), Dv value dims, A additive hidden dims (da), M model dims.
//
// The public C++ API of the attention engine: float32, row-major, outputs first and sizes last.
// Arguments are validated once, in the JS library (web/src/lib/validate.js); here only `assert`.
#pragma once

#include <cstdint>

namespace attn {

// Score functions for a query q [D] and a key k [D].
enum class Score : int32_t {
  kDot = 0,        // q . k
  kScaledDot = 1,  // q . k / sqrt(D)
  kGeneral = 2,    // q^T W k, W [D][D]
  kAdditive = 3,   // v^T tanh(Wq q + Wk k), Wq [A][D], Wk [A][D], v [A]
};
// How many score functions there are: the codes are 0 .. kScoreCount - 1, as SCORES in web/src/lib/spec.js
// lists them (the binding converts codes with this bound; tests/js check the two agree).
constexpr int kScoreCount = 4;
static_assert(int(Score::kAdditive) == kScoreCount - 1, "kScoreCount must count every Score");

enum class MaskKind : int32_t {
  kNone = 0,
  kCausal = 1,    // query i may attend key j iff j <= i + (Tk - Tq)
  kExplicit = 2,  // allowed [Tq][Tk], 1 = may attend, shared by all heads
};
constexpr int kMaskKindCount = 3;
static_assert(int(MaskKind::kExplicit) == kMaskKindCount - 1, "kMaskKindCount must count every MaskKind");

// Which implementation runs: the double-accumulating reference or the best optimized kernel compiled in
// (wasmsimd in the SIMD build, scalar otherwise).
enum class Variant : int32_t { kReference = 0, kOptimized = 1 };

// Score parameters, shared by all heads. Unused pointers stay null.
struct ScoreParams {
  Score score = Score::kScaledDot;
  const float* W = nullptr;   // general: [D][D]
  const float* Wq = nullptr;  // additive: [A][D]
  const float* Wk = nullptr;  // additive: [A][D]
  const float* v = nullptr;   // additive: [A]
  int da = 0;                 // A
};

struct MaskParams {
  MaskKind kind = MaskKind::kNone;
  const uint8_t* allowed = nullptr;  // explicit: [Tq][Tk]
  // Causal, when a call covers only a block of query rows of a larger call (attention_f32 splitting queries
  // over threads): how many rows of the larger call come after this block. Query i of the block may attend key
  // j iff j <= i + (Tk - Tq - rows_after), which is the whole call's rule for its row. 0 for a whole call.
  int rows_after = 0;
};

inline bool causal_allows(int i, int j, int nq, int nk) { return j <= i + (nk - nq); }

// out [H][Tq][Dv]; weights [H][Tq][Tk] or nullptr (not computed); q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv].
// weights = softmax over keys of the masked scores; out = weights . v.
// A query row with no allowed key gets zero weights and a zero output.
// Finite inputs give finite outputs in every variant: a row whose float32 scores or output overflow (q = 1e30,
// k = 1e30) is recomputed in double by the optimized kernels (see attention_f32__reference).
// Every variant returns false, having written nothing it promises, when its scratch (attention_f32_workspace_
// bytes) cannot be allocated; it never aborts and frees what it took on every path.
bool attention_f32__reference(float* out, float* weights, const float* q, const float* k, const float* v,
                              const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk,
                              int dk, int dv);
bool attention_f32__scalar(float* out, float* weights, const float* q, const float* k, const float* v,
                           const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
                           int dv);
// Defined only in the SIMD build (-msimd128); elsewhere call attention_f32, which dispatches.
bool attention_f32__wasmsimd(float* out, float* weights, const float* q, const float* k, const float* v,
                             const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk,
                             int dv);
// scores [H][Tq][Tk] = the score function's value s(q_i, k_j) (divided by sqrt(D) for kScaledDot), or
// -INFINITY where the mask forbids key j: what the softmax of attention_f32 takes, computed by the
// reference (double, rounded once to float) for readers that show the steps before the softmax.
void attention_scores_f32__reference(float* scores, const float* q, const float* k, const ScoreParams& score,
                                     const MaskParams& mask, int heads, int nq, int nk, int dk);
// Dispatch on `variant`: kReference -> attention_f32__reference; kOptimized -> attention_f32__wasmsimd when
// compiled with -msimd128, else attention_f32__scalar (split over the thread pool when it pays).
bool attention_f32(float* out, float* weights, const float* q, const float* k, const float* v,
                   const ScoreParams& score, const MaskParams& mask, int heads, int nq, int nk, int dk, int dv,
                   Variant variant);
// An upper bound of the bytes attention_f32 allocates beside its arguments (packed operands, tiles, and the
// double-precision row it may recompute), computed in 64 bits; UINT64_MAX when the count itself overflows.
uint64_t attention_f32_workspace_bytes(const ScoreParams& score, int heads, int nq, int nk, int dk, int dv,
                                       Variant variant);

// Dense layer parameters: y = x . W + b, W [in][out] (kernel layout), b [out] or nullptr.
struct Dense {
  const float* W = nullptr;
  const float* b = nullptr;
};

// out [Tq][M]; weights [H][Tq][Tk] or nullptr; x [Tq][M]; context [Tk][M] (pass x for self-attention).
// Q = x.Wq+bq, K = context.Wk+bk, V = context.Wv+bv, each [T][M], split into H heads of M/H columns
// (head h owns columns h*M/H .. (h+1)*M/H-1); per head attention as above with D = Dv = M/H;
// heads concatenated along columns, then out = concat . Wo + bo.
struct MultiHeadParams {
  Dense q, k, v, o;
};
// Returns false, as attention_f32 does, when its scratch cannot be allocated.
bool multi_head_attention_f32(float* out, float* weights, const float* x, const float* context,
                              const MultiHeadParams& params, const ScoreParams& score, const MaskParams& mask,
                              int nq, int nk, int d_model, int heads, Variant variant);
// An upper bound of the bytes multi_head_attention_f32 allocates beside its arguments: the projected and
// per-head Q, K, V and O, plus attention_f32's workspace.
uint64_t multi_head_attention_f32_workspace_bytes(const ScoreParams& score, int nq, int nk, int d_model, int heads,
                                                  Variant variant);

// out [N][D]: PE[p][2i] = sin(p / 10000^(2i/D)), PE[p][2i+1] = cos(p / 10000^(2i/D)).
// Computed in double, rounded once to float. For odd D the last column is a sine.
void positional_encoding_f32(float* out, int n, int d);

// True when this build's optimized kernels are the wasmsimd ones.
bool simd_build();

// C [M][N] = A [M][K] . B [K][N] (+ bias [N] broadcast over rows when not null).
void gemm_f32__reference(float* c, const float* a, const float* b, const float* bias, int m, int k, int n);
void gemm_f32__scalar(float* c, const float* a, const float* b, const float* bias, int m, int k, int n);
// Defined only in the SIMD build (-msimd128); elsewhere call gemm_f32.
void gemm_f32__wasmsimd(float* c, const float* a, const float* b, const float* bias, int m, int k, int n);
void gemm_f32(float* c, const float* a, const float* b, const float* bias, int m, int k, int n, Variant variant);

}  // namespace attn
