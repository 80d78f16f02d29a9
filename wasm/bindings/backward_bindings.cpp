// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims, M model dims.
//
// The Embind layer of the backward ops (attn/backward.h): converts arguments, runs the forward that saves
// and then the backward, nothing else. Pointers are byte offsets into the WASM heap (0 = null) allocated by
// JS; gradient buffers are zeroed here before the backward accumulates into them. As in bindings.cpp,
// nothing throws: an impossible argument returns a negative status and writes nothing. attentionBackward counts
// its scratch first (attentionBackwardScratchBytes) and returns kOutOfMemory, having allocated nothing, when that
// cannot fit in the heap, or when an allocation still fails (everything taken is freed again).
#include <emscripten/bind.h>
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "convert.h"
#include "attn/backward.h"
#include "../src/buffer.h"

namespace {

using namespace attn_bindings;  // convert.h: statuses, ptr, the shared fields and their conversions

using attn::Score;
using attn::Variant;

// The WASM heap's limit (MAXIMUM_MEMORY = 2 GiB) less what malloc holds now (as in bindings.cpp).
double heap_room() { return double(uint64_t(1) << 31) - double(mallinfo().uordblks); }

// attention's arguments (bindings.cpp's AttentionArgs without out and weights), dout, and the gradients.
struct AttentionBackwardArgs : attn_bindings::AttentionChoice {
  uintptr_t q = 0, k = 0, v = 0, dout = 0;
  uintptr_t dq = 0, dk = 0, dvalue = 0, dW = 0, dWq = 0, dWk = 0, dva = 0;
  int dkDims = 0, dvDims = 0;
};

struct MultiHeadBackwardArgs : attn_bindings::MultiHeadChoice {
  uintptr_t dout = 0;
  uintptr_t dx = 0, dcontext = 0, dwq = 0, dwk = 0, dwv = 0, dwo = 0, dbq = 0, dbk = 0, dbv = 0, dbo = 0, dW = 0,
            dWq = 0, dWk = 0, dva = 0;
};

// Zeroes `count` floats at p (when p is not null) and returns it as a gradient buffer.
float* zeroed(uintptr_t p, size_t count) {
  float* f = ptr<float>(p);
  if (f) std::fill(f, f + count, 0.0f);
  return f;
}

// The score-parameter gradients, zeroed, for the score function in sp.
attn::ScoreGrads score_grads(const attn::ScoreParams& sp, int dk, uintptr_t dW, uintptr_t dWq, uintptr_t dWk,
                             uintptr_t dva) {
  attn::ScoreGrads g;
  if (sp.score == Score::kGeneral) g.dW = zeroed(dW, size_t(dk) * dk);
  if (sp.score == Score::kAdditive) {
    g.dWq = zeroed(dWq, size_t(sp.da) * dk);
    g.dWk = zeroed(dWk, size_t(sp.da) * dk);
    g.dv = zeroed(dva, size_t(sp.da));
  }
  return g;
}

// Bytes attentionBackward takes beside its arguments: what the forward saves (out [H][Tq][Dv], row max and sum
// [H][Tq]), plus the larger of the forward's and the backward's scratch (the forward's is freed first).
uint64_t scratch_bytes(const attn::ScoreParams& sp, int H, int nq, int nk, int D, int Dv, Variant variant) {
  using attn::add_sat;
  using attn::mul_sat;
  const uint64_t saved = mul_sat(mul_sat(uint64_t(H), uint64_t(nq)), mul_sat(add_sat(uint64_t(Dv), 2), sizeof(float)));
  return add_sat(saved, std::max(attn::attention_f32_workspace_bytes(sp, H, nq, nk, D, Dv, variant),
                                 attn::attention_backward_f32_workspace_bytes(sp, H, nq, nk, D, Dv, variant)));
}

// attention_forward_f32 (out, row max and sum kept here), then attention_backward_f32 into zeroed gradients.
int attentionBackward(const AttentionBackwardArgs& a) {
  attn::ScoreParams sp;
  attn::MaskParams mp;
  if (!a.q || !a.k || !a.v || !a.dout || !a.dq || !a.dk || !a.dvalue || a.dkDims < 1 || a.dvDims < 1 ||
      !to_params(a, &sp, &mp))
    return kBadArgument;
  const int H = a.heads, nq = a.nq, nk = a.nk, D = a.dkDims, Dv = a.dvDims;
  const Variant variant = Variant(a.variant);
  if (double(scratch_bytes(sp, H, nq, nk, D, Dv, variant)) > heap_room()) return kOutOfMemory;
  attn::Buffer<float> out, rmax, rsum;
  if (!out.allocate(uint64_t(H) * nq * Dv) || !rmax.allocate(uint64_t(H) * nq) || !rsum.allocate(uint64_t(H) * nq))
    return kOutOfMemory;
  if (!attn::attention_forward_f32(out.data(), rmax.data(), rsum.data(), ptr<const float>(a.q), ptr<const float>(a.k),
                                   ptr<const float>(a.v), sp, mp, H, nq, nk, D, Dv, variant))
    return kOutOfMemory;
  const attn::ScoreGrads g = score_grads(sp, D, a.dW, a.dWq, a.dWk, a.dva);
  const bool ok = attn::attention_backward_f32(zeroed(a.dq, size_t(H) * nq * D), zeroed(a.dk, size_t(H) * nk * D),
                                               zeroed(a.dvalue, size_t(H) * nk * Dv), g, ptr<const float>(a.dout),
                                               out.data(), rmax.data(), rsum.data(), ptr<const float>(a.q),
                                               ptr<const float>(a.k), ptr<const float>(a.v), sp, mp, H, nq, nk, D, Dv,
                                               variant);
  return ok ? kOk : kOutOfMemory;
}

// Bytes of scratch attentionBackward() needs beside its arguments (for the RangeError's message), -1 for bad
// arguments.
double attentionBackwardScratchBytes(const AttentionBackwardArgs& a) {
  if (a.heads < 1 || a.nq < 1 || a.nk < 1 || a.dkDims < 1 || a.dvDims < 1 || a.variant < 0 || a.variant > 1 ||
      a.score < 0 || a.score >= attn::kScoreCount)
    return -1;
  attn::ScoreParams sp;
  sp.score = Score(a.score);
  sp.da = a.da;
  return double(scratch_bytes(sp, a.heads, a.nq, a.nk, a.dkDims, a.dvDims, Variant(a.variant)));
}

// multi_head_attention_forward_f32 (saved kept here), then the backward. Self-attention (context == x): the
// gradients with respect to x as query and as context both go to dx (dcontext is then 0 and unused).
int multiHeadAttentionBackward(const MultiHeadBackwardArgs& a) {
  attn::ScoreParams sp;
  attn::MaskParams mp;
  attn::MultiHeadParams p;
  if (!a.dout || !a.dx || !a.dwq || !a.dwk || !a.dwv || !a.dwo || !to_projections(a, &p) || !to_params(a, &sp, &mp))
    return kBadArgument;
  const int m = a.dModel, nq = a.nq, nk = a.nk, dh = m / a.heads;
  const bool self = a.context == a.x;
  std::vector<float> out(size_t(nq) * m), saved(attn::multi_head_saved_size(nq, nk, m, a.heads));
  if (!attn::multi_head_attention_forward_f32(out.data(), saved.data(), ptr<const float>(a.x),
                                              ptr<const float>(a.context), p, sp, mp, nq, nk, m, a.heads,
                                              Variant(a.variant)))
    return kOutOfMemory;
  const size_t mm = size_t(m) * m;
  attn::MultiHeadGrads g;
  g.q = {zeroed(a.dwq, mm), a.bq ? zeroed(a.dbq, m) : nullptr};
  g.k = {zeroed(a.dwk, mm), a.bk ? zeroed(a.dbk, m) : nullptr};
  g.v = {zeroed(a.dwv, mm), a.bv ? zeroed(a.dbv, m) : nullptr};
  g.o = {zeroed(a.dwo, mm), a.bo ? zeroed(a.dbo, m) : nullptr};
  const attn::ScoreGrads sg = score_grads(sp, dh, a.dW, a.dWq, a.dWk, a.dva);
  float* dx = zeroed(a.dx, size_t(nq) * m);
  float* dcontext = self ? dx : zeroed(a.dcontext, size_t(nk) * m);
  const bool ok = attn::multi_head_attention_backward_f32(dx, dcontext, g, sg, ptr<const float>(a.dout),
                                                          saved.data(), ptr<const float>(a.x),
                                                          ptr<const float>(a.context), p, sp, mp, nq, nk, m, a.heads,
                                                          Variant(a.variant));
  return ok ? kOk : kOutOfMemory;
}

}  // namespace

EMSCRIPTEN_BINDINGS(attn_backward) {
  using namespace emscripten;
  choice_fields(value_object<AttentionBackwardArgs>("AttentionBackwardArgs"))
      .field("q", &AttentionBackwardArgs::q)
      .field("k", &AttentionBackwardArgs::k)
      .field("v", &AttentionBackwardArgs::v)
      .field("dout", &AttentionBackwardArgs::dout)
      .field("dq", &AttentionBackwardArgs::dq)
      .field("dk", &AttentionBackwardArgs::dk)
      .field("dvalue", &AttentionBackwardArgs::dvalue)
      .field("dW", &AttentionBackwardArgs::dW)
      .field("dWq", &AttentionBackwardArgs::dWq)
      .field("dWk", &AttentionBackwardArgs::dWk)
      .field("dva", &AttentionBackwardArgs::dva)
      .field("dkDims", &AttentionBackwardArgs::dkDims)
      .field("dvDims", &AttentionBackwardArgs::dvDims);
  multi_head_fields(value_object<MultiHeadBackwardArgs>("MultiHeadBackwardArgs"))
      .field("dout", &MultiHeadBackwardArgs::dout)
      .field("dx", &MultiHeadBackwardArgs::dx)
      .field("dcontext", &MultiHeadBackwardArgs::dcontext)
      .field("dwq", &MultiHeadBackwardArgs::dwq)
      .field("dwk", &MultiHeadBackwardArgs::dwk)
      .field("dwv", &MultiHeadBackwardArgs::dwv)
      .field("dwo", &MultiHeadBackwardArgs::dwo)
      .field("dbq", &MultiHeadBackwardArgs::dbq)
      .field("dbk", &MultiHeadBackwardArgs::dbk)
      .field("dbv", &MultiHeadBackwardArgs::dbv)
      .field("dbo", &MultiHeadBackwardArgs::dbo)
      .field("dW", &MultiHeadBackwardArgs::dW)
      .field("dWq", &MultiHeadBackwardArgs::dWq)
      .field("dWk", &MultiHeadBackwardArgs::dWk)
      .field("dva", &MultiHeadBackwardArgs::dva);
  function("attentionBackward", &attentionBackward);
  function("attentionBackwardScratchBytes", &attentionBackwardScratchBytes);
  function("multiHeadAttentionBackward", &multiHeadAttentionBackward);
}
