// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, M model dims.
//
// The size arithmetic of the scratch: counted in 64 bits, saturating instead of wrapping, and at least what the
// kernels take (the shapes of issue 14: attention nq 1, nk 2^22, dk 64, dv 1 needs a 1 GiB packed K on SIMD;
// multiHeadAttention nq 244,140, nk 1, dModel 512 needs 5 x 477 MiB). Allocation that cannot succeed returns
// false instead of aborting.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>

#include "../../wasm/src/buffer.h"
#include "attn/attention.h"
#include "attn/backward.h"

namespace attn::test {
namespace {

ScoreParams score(Score s, int da = 0) {
  ScoreParams p;
  p.score = s;
  p.da = da;
  return p;
}

TEST(Workspace, CountsTheHostileShapesOfTheIssue) {
  const uint64_t mib = uint64_t(1) << 20;
  // Every optimized kernel keeps the double row it may recompute (8 (Tk + Dv) bytes): 32 MiB at Tk = 2^22.
  const uint64_t attention = attention_f32_workspace_bytes(score(Score::kScaledDot), 1, 1, 1 << 22, 64, 1,
                                                           Variant::kOptimized);
  EXPECT_GE(attention, 32 * mib);
  if (simd_build()) EXPECT_GE(attention, 1024 * mib);  // K packed in panels [Tk/8][D][8]
  const uint64_t mha = multi_head_attention_f32_workspace_bytes(score(Score::kScaledDot), 244140, 1, 512, 8,
                                                                Variant::kOptimized);
  EXPECT_GE(mha, 3 * uint64_t(244140) * 512 * 4);  // proj, q and o per head, each [Tq][M]
  EXPECT_GT(mha, kMaxBufferBytes / 2);
}

TEST(Workspace, SaturatesInsteadOfWrapping) {
  for (Variant variant : {Variant::kReference, Variant::kOptimized})
    for (Score s : {Score::kDot, Score::kGeneral, Score::kAdditive}) {
      const uint64_t big = attention_f32_workspace_bytes(score(s, INT_MAX), INT_MAX, INT_MAX, INT_MAX, INT_MAX,
                                                         INT_MAX, variant);
      const uint64_t small = attention_f32_workspace_bytes(score(s, 4), 2, 3, 5, 7, 9, variant);
      EXPECT_GE(big, small);
      EXPECT_GE(big, 8 * uint64_t(INT_MAX));  // at least the double row of Tk
    }
  EXPECT_GE(multi_head_attention_f32_workspace_bytes(score(Score::kDot), INT_MAX, INT_MAX, INT_MAX, 1,
                                                     Variant::kOptimized),
            uint64_t(INT_MAX) * INT_MAX);
  uint64_t n = 0;
  EXPECT_FALSE(checked_product(&n, {uint64_t(1) << 32, uint64_t(1) << 32}, UINT64_MAX));
  EXPECT_FALSE(checked_product(&n, {32769, 32769, 8, 4}));  // 34 GB: the maxTokens 32769 encoder
  EXPECT_TRUE(checked_product(&n, {32768, 32768}));
  EXPECT_EQ(n, uint64_t(1) << 30);
  EXPECT_EQ(mul_sat(uint64_t(1) << 40, uint64_t(1) << 40), UINT64_MAX);
  EXPECT_EQ(add_sat(UINT64_MAX - 1, 2), UINT64_MAX);
}

// The attention backward's scratch (attention_backward_f32_workspace_bytes): at least the kernels' copies, never
// wrapping; the shape of hostile_heap.test.js (nq 1, nk 1, dk = dv = 2^24) is over the 2 GiB heap on SIMD.
TEST(Workspace, CountsTheAttentionBackwardScratch) {
  const uint64_t mib = uint64_t(1) << 20;
  for (Score s : {Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive}) {
    // every kernel keeps dQ' (or dPq) [Tq][D or A] and a dK [Tk][D] or packed K
    const uint64_t opt = attention_backward_f32_workspace_bytes(score(s, 8), 2, 1000, 3000, 64, 32, Variant::kOptimized);
    EXPECT_GE(opt, 4 * uint64_t(3000) * 64);
    const uint64_t ref = attention_backward_f32_workspace_bytes(score(s, 8), 2, 1000, 3000, 64, 32, Variant::kReference);
    EXPECT_GE(ref, 8 * (uint64_t(1000) * 64 + uint64_t(3000) * (64 + 32)));  // double dq, dk, dv
    for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
      const uint64_t big = attention_backward_f32_workspace_bytes(score(s, INT_MAX), INT_MAX, INT_MAX, INT_MAX, INT_MAX,
                                                                  INT_MAX, variant);
      EXPECT_GE(big, uint64_t(INT_MAX) * INT_MAX);
      EXPECT_GE(big, attention_backward_f32_workspace_bytes(score(s, 8), 2, 1000, 3000, 64, 32, variant));
    }
  }
  const uint64_t hostile = attention_backward_f32_workspace_bytes(score(Score::kScaledDot), 1, 1, 1, 1 << 24, 1 << 24,
                                                                  Variant::kOptimized);
  if (simd_build()) EXPECT_GE(hostile, 2048 * mib);  // Q' [4][D], K panels and rows [8][D], V panels [8][Dv]
  else EXPECT_LT(hostile, 256 * mib);                 // scalar: q', dq', dk [D]
}

TEST(Workspace, BufferRefusesWhatNoHeapCanHold) {
  Buffer<float> b;
  EXPECT_FALSE(b.allocate(uint64_t(1) << 30));  // 4 GiB of floats: over the 2 GiB heap
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_FALSE(b.allocate(UINT64_MAX));
  ASSERT_TRUE(b.assign(5, 1.5f));
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(b[4], 1.5f);
  Buffer<float> moved = std::move(b);
  EXPECT_EQ(moved.size(), 5u);
  EXPECT_EQ(b.data(), nullptr);
}

}  // namespace
}  // namespace attn::test
