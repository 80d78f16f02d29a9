// T tokens, H heads. The encoder forward pass on the converted model files: the classic sentence against
// TF.js (tests/model/oracle_classic.json: attention within 1e-4, embedding cosine >= 0.9999), the reference
// and optimized variants against each other, the float16 file against the float32 one, the 128-token clip,
// and the errors of load() and forward().
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/model.h"
#include "model_test_files.h"

namespace attn::test {
namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

float max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

class ModelEncoder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bytes_ = new std::vector<uint8_t>(read_file(model_f32_path()));
    if (bytes_->empty()) return;
    model_ = new EncoderModel();
    std::string error;
    if (!model_->load(bytes_->data(), bytes_->size(), &error)) {
      ADD_FAILURE() << error;
      delete model_;
      model_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete model_;
    delete bytes_;
    model_ = nullptr;
    bytes_ = nullptr;
  }
  void SetUp() override {
    if (!model_) GTEST_SKIP() << model_f32_path() << " is missing: run scripts/build.sh";
  }
  static std::vector<uint8_t>* bytes_;
  static EncoderModel* model_;
};
std::vector<uint8_t>* ModelEncoder::bytes_ = nullptr;
EncoderModel* ModelEncoder::model_ = nullptr;

TEST_F(ModelEncoder, MatchesTfjsOnTheClassicSentence) {
  std::vector<uint8_t> text = read_file(source_path("tests/model/oracle_classic.json"));
  ASSERT_FALSE(text.empty());
  nlohmann::json oracle = nlohmann::json::parse(text.begin(), text.end());
  const auto ids = oracle["ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(encode(model_->tokenizer(), oracle["text"].get<std::string>()), ids);
  for (Variant variant : {Variant::kOptimized, Variant::kReference}) {
    EncoderResult r;
    std::string error;
    ASSERT_TRUE(model_->forward(ids, variant, &r, &error)) << error;
    ASSERT_EQ(r.attention.size(), 2u);
    for (size_t l = 0; l < 2; ++l) {
      const auto want = oracle["attention"][l].get<std::vector<float>>();
      ASSERT_EQ(r.attention[l].size(), want.size());
      EXPECT_LE(max_abs(r.attention[l], want), 1e-4f) << "layer " << l;
    }
    EXPECT_GE(cosine(r.embedding, oracle["embedding"].get<std::vector<float>>()), 0.9999);
  }
}

TEST_F(ModelEncoder, ReferenceAndOptimizedAgree) {
  std::vector<int32_t> ids = encode(model_->tokenizer(), "Attention is all you need, or so they say.");
  EncoderResult fast, slow;
  std::string error;
  ASSERT_TRUE(model_->forward(ids, Variant::kOptimized, &fast, &error)) << error;
  ASSERT_TRUE(model_->forward(ids, Variant::kReference, &slow, &error)) << error;
  for (size_t l = 0; l < fast.attention.size(); ++l) EXPECT_LE(max_abs(fast.attention[l], slow.attention[l]), 1e-5f);
  EXPECT_GE(cosine(fast.embedding, slow.embedding), 0.999999);
  const int t = static_cast<int>(ids.size());
  for (size_t l = 0; l < fast.attention.size(); ++l) {
    const int heads = model_->layers()[l].heads;
    for (int row = 0; row < heads * t; ++row) {  // every row a distribution
      double sum = 0;
      for (int j = 0; j < t; ++j) sum += fast.attention[l][row * t + j];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
  double norm = 0;
  for (float v : fast.embedding) norm += double(v) * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST_F(ModelEncoder, ClipsAt128Tokens) {
  std::vector<int32_t> ids(300);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(6 + (i * 37) % 7990);
  EncoderResult r;
  std::string error;
  ASSERT_TRUE(model_->forward(ids, Variant::kOptimized, &r, &error)) << error;
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.tokens_before_clip, 300);
  ASSERT_EQ(r.ids.size(), 128u);
  EXPECT_EQ(r.attention[1].size(), 4u * 128 * 128);
  EXPECT_EQ(r.hidden[1].size(), 128u * 512);
  EncoderResult first;
  ASSERT_TRUE(model_->forward(std::vector<int32_t>(ids.begin(), ids.begin() + 128), Variant::kOptimized, &first, &error));
  EXPECT_EQ(first.embedding, r.embedding);
}

// Only the embedding kept: the layers run the no-weights attention kernel, no weights, hidden or input kept,
// and the embedding is the full run's (the two kernels agree to rounding).
TEST_F(ModelEncoder, KeepsOnlyWhatIsAskedFor) {
  std::vector<int32_t> ids = encode(model_->tokenizer(), "The animal didn't cross the street because it was too tired");
  for (Variant variant : {Variant::kOptimized, Variant::kReference}) {
    EncoderResult all, lean, some;
    std::string error;
    ASSERT_TRUE(model_->forward(ids, variant, &all, &error)) << error;
    EncoderOutputs none;
    none.input = none.attention = none.hidden = false;
    ASSERT_TRUE(model_->forward(ids, variant, &lean, &error, none)) << error;
    EXPECT_TRUE(lean.input.empty());
    EXPECT_TRUE(lean.attention.empty());
    EXPECT_TRUE(lean.hidden.empty());
    EXPECT_EQ(lean.ids, all.ids);
    ASSERT_EQ(lean.embedding.size(), all.embedding.size());
    EXPECT_LE(max_abs(lean.embedding, all.embedding), 1e-6f);
    EncoderOutputs hidden_only = none;
    hidden_only.hidden = true;
    ASSERT_TRUE(model_->forward(ids, variant, &some, &error, hidden_only)) << error;
    ASSERT_EQ(some.hidden.size(), all.hidden.size());
    // hidden states reach tens in magnitude: 1e-4 is a few float32 ulps there
    for (size_t l = 0; l < all.hidden.size(); ++l) EXPECT_LE(max_abs(some.hidden[l], all.hidden[l]), 1e-4f);
    EXPECT_TRUE(some.attention.empty());
  }
}

TEST_F(ModelEncoder, RefusesBadIds) {
  EncoderResult r;
  std::string error;
  EXPECT_FALSE(model_->forward({}, Variant::kOptimized, &r, &error));
  EXPECT_NE(error.find("no tokens"), std::string::npos) << error;
  EXPECT_FALSE(model_->forward({5, 8002}, Variant::kOptimized, &r, &error));
  EXPECT_NE(error.find("token id 8002 is outside [0, 8002)"), std::string::npos) << error;
  EXPECT_FALSE(model_->forward({-1}, Variant::kOptimized, &r, &error));
}

// A compact file against the float32 one on the classic sentence: its weight type, the largest attention
// difference and the smallest embedding cosine.
void ExpectCloseToFloat32(const EncoderModel& f32, const std::string& path, const char* dtype, float attention,
                          double cos_min) {
  std::vector<uint8_t> bytes = read_file(path);
  if (bytes.empty()) GTEST_SKIP() << path << " is missing";
  EncoderModel compact;
  std::string error;
  ASSERT_TRUE(compact.load(bytes.data(), bytes.size(), &error)) << error;
  EXPECT_EQ(compact.weight_dtype(), dtype);
  std::vector<int32_t> ids = encode(f32.tokenizer(), "The animal didn't cross the street because it was too tired");
  EncoderResult a, b;
  ASSERT_TRUE(f32.forward(ids, Variant::kOptimized, &a, &error)) << error;
  ASSERT_TRUE(compact.forward(ids, Variant::kOptimized, &b, &error)) << error;
  for (size_t l = 0; l < a.attention.size(); ++l) EXPECT_LE(max_abs(a.attention[l], b.attention[l]), attention);
  EXPECT_GE(cosine(a.embedding, b.embedding), cos_min);
}

TEST_F(ModelEncoder, CompactFileStaysClose) { ExpectCloseToFloat32(*model_, model_f16_path(), "float16", 5e-3f, 0.9999); }

// The widget's int8 file (a scale per 16 values): within issue 18's bounds of the float32 file.
TEST_F(ModelEncoder, Int8FileStaysClose) { ExpectCloseToFloat32(*model_, model_i8_path(), "int8", 2e-2f, 0.999); }

TEST_F(ModelEncoder, LoadRefusesFilesThatAreNotThisModel) {
  EncoderModel m;
  std::string error;
  std::vector<uint8_t> cut(bytes_->begin(), bytes_->begin() + bytes_->size() / 2);
  EXPECT_FALSE(m.load(cut.data(), cut.size(), &error));
  EXPECT_NE(error.find("safetensors:"), std::string::npos) << error;
  // A valid safetensors file without the model's config.
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  std::vector<uint8_t> other(8, 0);
  other[0] = static_cast<uint8_t>(header.size());
  other.insert(other.end(), header.begin(), header.end());
  other.push_back(7);
  EXPECT_FALSE(m.load(other.data(), other.size(), &error));
  EXPECT_NE(error.find("no __metadata__.config"), std::string::npos) << error;
  EncoderResult r;
  EXPECT_FALSE(m.forward({1}, Variant::kOptimized, &r, &error));
  EXPECT_NE(error.find("no model is loaded"), std::string::npos) << error;
}

}  // namespace
}  // namespace attn::test
