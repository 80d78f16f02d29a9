// The argument conversions the Embind files share: a heap address to a pointer, score and mask codes to
// attn::ScoreParams / attn::MaskParams. Codes are web/src/lib/spec.js's, bounded by attn::kScoreCount and
// attn::kMaskKindCount (bindings.cpp static_asserts the counts).
#pragma once

#include <cstdint>

#include "attn/attention.h"

namespace attn_bindings {

template <typename T>
T* ptr(uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

// Score and mask parameters, or false when a required one is missing or a code is unknown.
inline bool to_params(int score, uintptr_t W, uintptr_t Wq, uintptr_t Wk, uintptr_t va, int da, int mask,
                      uintptr_t allowed, attn::ScoreParams* sp, attn::MaskParams* mp) {
  using attn::MaskKind;
  using attn::Score;
  if (score < 0 || score >= attn::kScoreCount || mask < 0 || mask >= attn::kMaskKindCount) return false;
  sp->score = Score(score);
  if (sp->score == Score::kGeneral) {
    if (!W) return false;
    sp->W = ptr<const float>(W);
  }
  if (sp->score == Score::kAdditive) {
    if (!Wq || !Wk || !va || da < 1) return false;
    sp->Wq = ptr<const float>(Wq);
    sp->Wk = ptr<const float>(Wk);
    sp->v = ptr<const float>(va);
    sp->da = da;
  }
  mp->kind = MaskKind(mask);
  if (mp->kind == MaskKind::kExplicit) {
    if (!allowed) return false;
    mp->allowed = ptr<const uint8_t>(allowed);
  }
  return true;
}

}  // namespace attn_bindings
