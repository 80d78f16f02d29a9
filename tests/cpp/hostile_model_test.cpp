// T tokens, H heads.
//
// Crafted model files and runs too large for the heap: the tiny 1-layer model of the fuzz corpus with its
// config's maxTokens rewritten. maxTokens 32768 made the encoder's H*T*T wrap a 32-bit size_t to 0 (a run
// that never ended), 32769 made it allocate 262,148 floats and write 4*32769^2: now every value over
// EncoderModel::kMaxTokens is refused at load, and a run whose 64-bit byte count is over the 2 GiB heap is
// refused with a message. After each, the same model gives the same numbers as before.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "attn/model.h"
#include "model_test_files.h"

namespace attn::test {
namespace {

std::vector<uint8_t> tiny_model() { return read_file(source_path("tests/fuzz/corpus/model/tiny-1layer.safetensors")); }

// The file with `from` replaced by `to` in its header (the header length is rewritten; the data is unchanged).
std::vector<uint8_t> patch_header(const std::vector<uint8_t>& file, const std::string& from, const std::string& to) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  std::string header(file.begin() + 8, file.begin() + 8 + n);
  const size_t at = header.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at == std::string::npos) return file;
  header.replace(at, from.size(), to);
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), file.begin() + 8 + n, file.end());
  return out;
}

std::vector<uint8_t> with_max_tokens(uint64_t max_tokens) {
  return patch_header(tiny_model(), "\\\"maxTokens\\\":8,", "\\\"maxTokens\\\":" + std::to_string(max_tokens) + ",");
}

TEST(HostileModel, MaxTokensOverTheLimitIsRefusedAtLoad) {
  ASSERT_FALSE(tiny_model().empty());
  for (uint64_t max_tokens : {uint64_t(EncoderModel::kMaxTokens) + 1, uint64_t(32768), uint64_t(32769),
                              uint64_t(65536), uint64_t(1) << 40}) {
    const std::vector<uint8_t> file = with_max_tokens(max_tokens);
    EncoderModel model;
    std::string error;
    EXPECT_FALSE(model.load(file.data(), file.size(), &error)) << max_tokens;
    EXPECT_NE(error.find("maxTokens " + std::to_string(max_tokens) + " is over the limit of 16384"),
              std::string::npos) << error;
  }
}

TEST(HostileModel, ARunTooLargeForTheHeapIsRefusedAndTheModelStaysGood) {
  const std::vector<uint8_t> file = with_max_tokens(EncoderModel::kMaxTokens);
  EncoderModel model;
  std::string error;
  ASSERT_TRUE(model.load(file.data(), file.size(), &error)) << error;
  const std::vector<int32_t> good = {1, 7, 3, 9, 2};
  EncoderResult before, after, r;
  ASSERT_TRUE(model.forward(good, Variant::kOptimized, &before, &error)) << error;
  // 16,384 tokens with the attention weights kept: H T^2 = 2 x 2^28 floats = 2 GiB for one layer alone.
  const std::vector<int32_t> many(EncoderModel::kMaxTokens, 3);
  const uint64_t bytes = model.forward_bytes(EncoderModel::kMaxTokens, Variant::kOptimized, EncoderOutputs{});
  EXPECT_GE(bytes, uint64_t(2) * EncoderModel::kMaxTokens * EncoderModel::kMaxTokens * 4);
  for (Variant variant : {Variant::kOptimized, Variant::kReference}) {
    error.clear();
    EXPECT_FALSE(model.forward(many, variant, &r, &error));
    EXPECT_NE(error.find("a run of 16384 tokens needs"), std::string::npos) << error;
    EXPECT_NE(error.find("more than the WASM heap"), std::string::npos) << error;
  }
  // Without the weights the same length fits: sizes are linear in T, the attention runs flash-style.
  EncoderOutputs embedding_only;
  embedding_only.attention = embedding_only.hidden = embedding_only.input = false;
  EXPECT_LT(model.forward_bytes(EncoderModel::kMaxTokens, Variant::kOptimized, embedding_only), uint64_t(64) << 20);
  const std::vector<int32_t> long_run(2048, 5);
  ASSERT_TRUE(model.forward(long_run, Variant::kOptimized, &r, &error, embedding_only)) << error;
  EXPECT_EQ(r.ids.size(), 2048u);
  ASSERT_TRUE(model.forward(good, Variant::kOptimized, &after, &error)) << error;
  EXPECT_EQ(after.embedding, before.embedding);
  EXPECT_EQ(after.attention, before.attention);
}

}  // namespace
}  // namespace attn::test
