// N code points. The SentencePiece unigram tokenizer: small vocabularies that pin down each rule of the
// original (normalisation, best path, ties to the later candidate, the `best == 0` quirk, unknown merging,
// UTF-8 decoding), then the model's own vocabulary against the oracle cases written by
// tests/model/make_oracle_data.mjs from the model's own tokenizer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attn/model.h"
#include "attn/tokenizer.h"
#include "model_test_files.h"

namespace attn::test {
namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581

// Six reserved pieces, then `pieces` with `scores`.
Tokenizer make(const std::vector<std::string>& pieces, const std::vector<double>& scores) {
  std::vector<std::string> p = {"\xEF\xBF\xBD", "<s>", "</s>", "e1", "e2", "e3"};
  std::vector<double> s(6, 0.0);
  p.insert(p.end(), pieces.begin(), pieces.end());
  s.insert(s.end(), scores.begin(), scores.end());
  Tokenizer t;
  std::string error;
  EXPECT_TRUE(t.init(p, s, &error)) << error;
  return t;
}

TEST(TokenizerUnigram, RefusesMismatchedVocabularies) {
  Tokenizer t;
  std::string error;
  EXPECT_FALSE(t.init({"a", "b"}, {0.0}, &error));
  EXPECT_NE(error.find("2 pieces and 1 scores"), std::string::npos) << error;
}

TEST(TokenizerUnigram, PrefixesAndReplacesSpaces) {
  Tokenizer t = make({kSpace + "a", kSpace, "a", "b"}, {-1, -2, -2, -3});
  EXPECT_EQ(t.encode("a"), (std::vector<int32_t>{6}));                // ▁a
  EXPECT_EQ(t.encode("a b"), (std::vector<int32_t>{6, 7, 9}));        // ▁a ▁ b
  EXPECT_EQ(t.encode(" a"), (std::vector<int32_t>{7, 6}));            // ▁ ▁a
  EXPECT_EQ(t.encode(""), (std::vector<int32_t>{}));
}

TEST(TokenizerUnigram, TakesTheBestPathAndTiesGoToTheLaterCandidate) {
  // "▁ab" = ▁ab (score X) or ▁a + b (-1 + -3 = -4). Expected ids checked against upstream_tokenizer.mjs.
  EXPECT_EQ(make({kSpace + "a", "a", "b", kSpace + "ab"}, {-1, -2, -3, -3.5}).encode("ab"),
            (std::vector<int32_t>{9}));
  EXPECT_EQ(make({kSpace + "a", "a", "b", kSpace + "ab"}, {-1, -2, -3, -5}).encode("ab"),
            (std::vector<int32_t>{6, 8}));
  // A tie (-4 both ways): the later candidate (starting at 2, b) replaces the earlier (▁ab, starting at 0).
  EXPECT_EQ(make({kSpace + "a", "a", "b", kSpace + "ab"}, {-1, -2, -3, -4}).encode("ab"),
            (std::vector<int32_t>{6, 8}));
}

TEST(TokenizerUnigram, UnknownEdgesFromUnreachedPositionsScoreZero) {
  // Without the piece "a", position 1 is reached by no piece, so its best stays 0 and an unknown edge from
  // it (score 0 + 0) beats ▁a (-1): the original gives [unk, b], and so must we.
  EXPECT_EQ(make({kSpace + "a", "b", kSpace + "ab"}, {-1, -3, -4}).encode("ab"), (std::vector<int32_t>{0, 7}));
}

TEST(TokenizerUnigram, MergesConsecutiveUnknownsAndKeepsTheBestIsZeroQuirk) {
  Tokenizer t = make({kSpace, "a"}, {-1, -1});
  // ▁ then three unknown code points (one of them 4 bytes) merge into one id 0, then a.
  EXPECT_EQ(t.encode("\xE6\x9D\xB1\xE4\xBA\xAC\xF0\x9F\x98\x80" "a"), (std::vector<int32_t>{6, 0, 7}));
  // Unknowns reached with total score exactly 0 are replaced by any later candidate, even a worse one: from
  // the start, "x" is unknown (0 + 0 after ▁ only if ▁ itself is unknown).
  Tokenizer no_space = make({"a", "xa"}, {-1, -9});
  // ▁ (unknown, best 0), x (unknown, best 0), a: "xa" from 1 (-9 + 0) vs "a" from 2 (-1 + 0): a wins.
  EXPECT_EQ(no_space.encode("xa"), (std::vector<int32_t>{0, 6}));
}

TEST(TokenizerUnigram, DecodesInvalidUtf8AsReplacementCharacters) {
  EXPECT_EQ(utf8_code_points("a\xFF" "b"), (std::vector<uint32_t>{'a', 0xFFFD, 'b'}));
  EXPECT_EQ(utf8_code_points("\xC3"), (std::vector<uint32_t>{0xFFFD}));           // truncated
  EXPECT_EQ(utf8_code_points("\xC0\xAF"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));  // overlong
  EXPECT_EQ(utf8_code_points("\xF0\x9F\x98\x80"), (std::vector<uint32_t>{0x1F600}));
}

TEST(TokenizerUnigram, MatchesTheModelsOwnTokenizer) {
  std::vector<uint8_t> bytes = read_file(model_f32_path());
  if (bytes.empty()) GTEST_SKIP() << model_f32_path() << " is missing: run scripts/build.sh";
  EncoderModel model;
  std::string error;
  ASSERT_TRUE(model.load(bytes.data(), bytes.size(), &error)) << error;
  std::vector<uint8_t> text = read_file(source_path("tests/model/tokenizer_cases.json"));
  ASSERT_FALSE(text.empty());
  nlohmann::json cases = nlohmann::json::parse(text.begin(), text.end())["cases"];
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    const std::string input = c["text"].get<std::string>();
    EXPECT_EQ(model.tokenizer().encode(input), c["ids"].get<std::vector<int32_t>>()) << input;
  }
  std::vector<int32_t> ids = model.tokenizer().encode("The animal didn't cross the street because it was too tired");
  std::string joined;
  for (int32_t id : ids) joined += model.tokenizer().piece(id) + "|";
  EXPECT_EQ(joined, kSpace + "The|" + kSpace + "animal|" + kSpace + "didn|'|t|" + kSpace + "cross|" + kSpace +
                        "the|" + kSpace + "street|" + kSpace + "because|" + kSpace + "it|" + kSpace + "was|" +
                        kSpace + "too|" + kSpace + "tired|");
}

}  // namespace
}  // namespace attn::test
