// The argument conversions the Embind files share: a heap address to a pointer, the fields every attention
// call shares, score and mask codes to attn::ScoreParams / attn::MaskParams. Codes are web/src/lib/spec.js's, bounded by attn::kScoreCount and
// attn::kMaskKindCount (bindings.cpp static_asserts the counts).
#pragma once

#include <emscripten/bind.h>

#include <cstdint>
#include <utility>

#include "attn/attention.h"

namespace attn_bindings {

// What every attention binding returns (the JS backend turns a negative status into an error).
constexpr int kOk = 0;
constexpr int kBadArgument = -1;  // a null required pointer, a size < 1, an unknown enum value
constexpr int kOutOfMemory = -2;  // the scratch does not fit in the WASM heap, or could not be allocated

template <typename T>
T* ptr(uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

// The fields every attention call's arguments share (forward and backward, per-head and multi-head): the
// score parameters (v is `va`: dv names value dims or a gradient), the explicit mask, the codes of the op spec,
// and the sizes they all have. Each call's Args struct derives from it and registers these with choice_fields.
struct AttentionChoice {
  uintptr_t W = 0, Wq = 0, Wk = 0, va = 0, allowed = 0;
  int score = 1, mask = 0, variant = 1, heads = 1, nq = 0, nk = 0, da = 0;
};

// Called on the temporary value_object<Args>(...) that the caller's chain of .field() goes on with (it is
// finalized when that full expression ends).
template <typename Args>
emscripten::value_object<Args>& choice_fields(emscripten::value_object<Args>&& o) {
  return o.field("W", &AttentionChoice::W)
      .field("Wq", &AttentionChoice::Wq)
      .field("Wk", &AttentionChoice::Wk)
      .field("va", &AttentionChoice::va)
      .field("allowed", &AttentionChoice::allowed)
      .field("score", &AttentionChoice::score)
      .field("mask", &AttentionChoice::mask)
      .field("variant", &AttentionChoice::variant)
      .field("heads", &AttentionChoice::heads)
      .field("nq", &AttentionChoice::nq)
      .field("nk", &AttentionChoice::nk)
      .field("da", &AttentionChoice::da);
}

// The fields a multi-head call adds (forward and backward): its input, context and projections.
struct MultiHeadChoice : AttentionChoice {
  uintptr_t x = 0, context = 0, wq = 0, wk = 0, wv = 0, wo = 0, bq = 0, bk = 0, bv = 0, bo = 0;
  int dModel = 0;
};

template <typename Args>
emscripten::value_object<Args>& multi_head_fields(emscripten::value_object<Args>&& o) {
  return choice_fields(std::move(o))
      .field("x", &MultiHeadChoice::x)
      .field("context", &MultiHeadChoice::context)
      .field("wq", &MultiHeadChoice::wq)
      .field("wk", &MultiHeadChoice::wk)
      .field("wv", &MultiHeadChoice::wv)
      .field("wo", &MultiHeadChoice::wo)
      .field("bq", &MultiHeadChoice::bq)
      .field("bk", &MultiHeadChoice::bk)
      .field("bv", &MultiHeadChoice::bv)
      .field("bo", &MultiHeadChoice::bo)
      .field("dModel", &MultiHeadChoice::dModel);
}

// The projections (weights required, biases optional), or false when a weight is missing or dModel is not a
// positive multiple of heads.
inline bool to_projections(const MultiHeadChoice& a, attn::MultiHeadParams* p) {
  if (!a.x || !a.context || !a.wq || !a.wk || !a.wv || !a.wo || a.heads < 1 || a.dModel < 1 ||
      a.dModel % a.heads != 0)
    return false;
  p->q = {ptr<const float>(a.wq), ptr<const float>(a.bq)};
  p->k = {ptr<const float>(a.wk), ptr<const float>(a.bk)};
  p->v = {ptr<const float>(a.wv), ptr<const float>(a.bv)};
  p->o = {ptr<const float>(a.wo), ptr<const float>(a.bo)};
  return true;
}

// Score and mask parameters, or false when a size is not positive, a required parameter is missing or a code is
// unknown.
inline bool to_params(const AttentionChoice& a, attn::ScoreParams* sp, attn::MaskParams* mp) {
  using attn::MaskKind;
  using attn::Score;
  if (a.heads < 1 || a.nq < 1 || a.nk < 1 || a.variant < 0 || a.variant > 1) return false;
  if (a.score < 0 || a.score >= attn::kScoreCount || a.mask < 0 || a.mask >= attn::kMaskKindCount) return false;
  sp->score = Score(a.score);
  if (sp->score == Score::kGeneral) {
    if (!a.W) return false;
    sp->W = ptr<const float>(a.W);
  }
  if (sp->score == Score::kAdditive) {
    if (!a.Wq || !a.Wk || !a.va || a.da < 1) return false;
    sp->Wq = ptr<const float>(a.Wq);
    sp->Wk = ptr<const float>(a.Wk);
    sp->v = ptr<const float>(a.va);
    sp->da = a.da;
  }
  mp->kind = MaskKind(a.mask);
  if (mp->kind == MaskKind::kExplicit) {
    if (!a.allowed) return false;
    mp->allowed = ptr<const uint8_t>(a.allowed);
  }
  return true;
}

}  // namespace attn_bindings
