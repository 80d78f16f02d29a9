// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims, M model dims.
//
// The Embind layer of the engine: converts arguments and calls wasm/include/attn/attention.h, nothing else.
// Pointers arrive as plain numbers (byte offsets into the WASM heap, 0 = null) allocated by JS with
// Module._malloc; see docs/CONTRACTS.md. Nothing throws across this boundary: the JS library validates
// first; a call that still gets an impossible argument returns a negative status and writes nothing. A call
// whose scratch (attention_f32_workspace_bytes, counted before it starts) cannot fit in the heap, or cannot be
// allocated, returns kOutOfMemory, having freed all it took (the JS side reports a RangeError).
#include <emscripten/bind.h>
#include <malloc.h>

#include <cstdint>

#include "convert.h"
#include "attn/attention.h"
#include "attn/finite.h"
#include "attn/gemm_packed.h"
#include "attn/threads.h"
#include "attn/tuning.h"

namespace {

using namespace attn_bindings;  // convert.h: statuses, ptr, the shared fields and their conversions

using attn::Score;
using attn::Variant;

// The WASM heap's limit (MAXIMUM_MEMORY = 2 GiB) less what malloc holds now: no scratch larger can be had.
double heap_room() { return double(uint64_t(1) << 31) - double(mallinfo().uordblks); }

// The score functions web/src/lib/spec.js lists (SCORES, codes 0..3): a score function added there and in
// attn::Score must be counted here too, so that the two sides cannot drift apart silently.
static_assert(attn::kScoreCount == 4, "web/src/lib/spec.js SCORES and attn::Score must list the same codes");
static_assert(attn::kMaskKindCount == 3, "web/src/lib/spec.js MASKS and attn::MaskKind must list the same codes");

struct AttentionArgs : attn_bindings::AttentionChoice {
  uintptr_t out = 0, weights = 0, scores = 0, q = 0, k = 0, v = 0;
  int dk = 0, dv = 0;
};

struct MultiHeadArgs : attn_bindings::MultiHeadChoice {
  uintptr_t out = 0, weights = 0;
};

int attention(const AttentionArgs& a) {
  attn::ScoreParams sp;
  attn::MaskParams mp;
  if (!a.out || !a.q || !a.k || !a.v || a.dk < 1 || a.dv < 1 || !to_params(a, &sp, &mp))
    return kBadArgument;
  if (double(attn::attention_f32_workspace_bytes(sp, a.heads, a.nq, a.nk, a.dk, a.dv, Variant(a.variant))) > heap_room())
    return kOutOfMemory;
  const bool ok = attn::attention_f32(ptr<float>(a.out), ptr<float>(a.weights), ptr<const float>(a.q),
                                      ptr<const float>(a.k), ptr<const float>(a.v), sp, mp, a.heads, a.nq, a.nk, a.dk,
                                      a.dv, Variant(a.variant));
  if (!ok) return kOutOfMemory;
  if (a.scores) {
    attn::attention_scores_f32__reference(ptr<float>(a.scores), ptr<const float>(a.q), ptr<const float>(a.k), sp, mp,
                                          a.heads, a.nq, a.nk, a.dk);
  }
  return kOk;
}

// Bytes of scratch attention() needs beside its arguments (for the RangeError's message), -1 for bad arguments.
double attentionScratchBytes(const AttentionArgs& a) {
  attn::ScoreParams sp;
  attn::MaskParams mp;
  if (a.heads < 1 || a.nq < 1 || a.nk < 1 || a.dk < 1 || a.dv < 1 || a.variant < 0 || a.variant > 1 ||
      a.score < 0 || a.score >= attn::kScoreCount)
    return -1;
  sp.score = Score(a.score);
  sp.da = a.da;
  return double(attn::attention_f32_workspace_bytes(sp, a.heads, a.nq, a.nk, a.dk, a.dv, Variant(a.variant)));
}

int multiHeadAttention(const MultiHeadArgs& a) {
  attn::ScoreParams sp;
  attn::MaskParams mp;
  attn::MultiHeadParams p;
  if (!a.out || !to_projections(a, &p) || !to_params(a, &sp, &mp)) return kBadArgument;
  if (double(attn::multi_head_attention_f32_workspace_bytes(sp, a.nq, a.nk, a.dModel, a.heads, Variant(a.variant))) >
      heap_room())
    return kOutOfMemory;
  const bool ok = attn::multi_head_attention_f32(ptr<float>(a.out), ptr<float>(a.weights), ptr<const float>(a.x),
                                                 ptr<const float>(a.context), p, sp, mp, a.nq, a.nk, a.dModel, a.heads,
                                                 Variant(a.variant));
  return ok ? kOk : kOutOfMemory;
}

double multiHeadScratchBytes(const MultiHeadArgs& a) {
  attn::ScoreParams sp;
  if (a.heads < 1 || a.nq < 1 || a.nk < 1 || a.dModel < 1 || a.dModel % a.heads != 0 || a.variant < 0 ||
      a.variant > 1 || a.score < 0 || a.score >= attn::kScoreCount)
    return -1;
  sp.score = Score(a.score);
  sp.da = a.da;
  return double(attn::multi_head_attention_f32_workspace_bytes(sp, a.nq, a.nk, a.dModel, a.heads, Variant(a.variant)));
}

void positionalEncoding(uintptr_t out, int n, int d) {
  if (out && n > 0 && d > 0) attn::positional_encoding_f32(ptr<float>(out), n, d);
}

void gemm(uintptr_t c, uintptr_t a, uintptr_t b, uintptr_t bias, int m, int k, int n, int variant) {
  if (!c || !a || !b || m < 1 || k < 1 || n < 1 || variant < 0 || variant > 1) return;
  attn::gemm_f32(ptr<float>(c), ptr<const float>(a), ptr<const float>(b), ptr<const float>(bias), m, k, n,
                 Variant(variant));
}

bool simd() { return attn::simd_build(); }

// Asks for n threads in all (n < 1 counts as 1); returns the count in effect (1 in a build without threads).
int setThreads(int n) { return attn::set_thread_count(n); }

// Before the embedder terminates the threaded module's Web Workers (engine.dispose): every worker asleep for
// good, waiting at most timeoutMs; returns how many were not (attn/threads.h park_threads).
int parkThreads(double timeout_ms) { return attn::park_threads(timeout_ms); }

// Bench-only (attn/tuning.h, docs/CPU.md): the SIMD kernel variant; returns it, or -1 for an unknown id.
int setSimdVariant(int v) { return attn::set_simd_variant(v); }

// Bench-only (scripts/bench/cpu-kernels.mjs): the model's packed dense-layer product on heap pointers.
// packed [ceil(N/8)][K][8] <- b [K][N]; then c [M][N] = a [M][K] . B (+ bias [N] or 0).
int gemmPack(uintptr_t packed, uintptr_t b, int k, int n) {
  if (!packed || !b || k < 1 || n < 1) return kBadArgument;
  attn::gemm_f32_pack(ptr<float>(packed), ptr<const float>(b), k, n);
  return kOk;
}
int gemmPacked(uintptr_t c, uintptr_t a, uintptr_t packed, uintptr_t bias, int m, int k, int n) {
  if (!c || !a || !packed || m < 1 || k < 1 || n < 1) return kBadArgument;
  attn::gemm_f32_packed(ptr<float>(c), ptr<const float>(a), ptr<const float>(packed), ptr<const float>(bias), m, k, n,
                        Variant::kOptimized);
  return kOk;
}

// The index of the first NaN or +-INFINITY of the n floats at x, n when all are finite (validate.js's finite
// check on the heap, web/src/lib/backends/wasm.js).
int firstNonFinite(uintptr_t x, int n) {
  if (n < 0 || (n > 0 && !x)) return kBadArgument;
  const long i = attn::first_non_finite_f32(ptr<const float>(x), size_t(n));
  return i < 0 ? n : int(i);
}

int threads() { return attn::thread_count(); }

// How many score functions and mask kinds this build knows (tests/js compare them with web/src/lib/spec.js).
int scoreCount() { return attn::kScoreCount; }
int maskKindCount() { return attn::kMaskKindCount; }

double heapBytesInUse() { return double(mallinfo().uordblks); }

}  // namespace

EMSCRIPTEN_BINDINGS(attn_engine) {
  using namespace emscripten;
  choice_fields(value_object<AttentionArgs>("AttentionArgs"))
      .field("out", &AttentionArgs::out)
      .field("weights", &AttentionArgs::weights)
      .field("scores", &AttentionArgs::scores)
      .field("q", &AttentionArgs::q)
      .field("k", &AttentionArgs::k)
      .field("v", &AttentionArgs::v)
      .field("dk", &AttentionArgs::dk)
      .field("dv", &AttentionArgs::dv);
  multi_head_fields(value_object<MultiHeadArgs>("MultiHeadArgs"))
      .field("out", &MultiHeadArgs::out)
      .field("weights", &MultiHeadArgs::weights);
  function("attention", &attention);
  function("multiHeadAttention", &multiHeadAttention);
  function("attentionScratchBytes", &attentionScratchBytes);
  function("multiHeadScratchBytes", &multiHeadScratchBytes);
  function("positionalEncoding", &positionalEncoding);
  function("gemm", &gemm);
  function("simd", &simd);
  function("setThreads", &setThreads);
  function("parkThreads", &parkThreads);
  function("setSimdVariant", &setSimdVariant);
  function("gemmPack", &gemmPack);
  function("gemmPacked", &gemmPacked);
  function("threads", &threads);
  function("firstNonFinite", &firstNonFinite);
  function("heapBytesInUse", &heapBytesInUse);
  function("scoreCount", &scoreCount);
  function("maskKindCount", &maskKindCount);
}
