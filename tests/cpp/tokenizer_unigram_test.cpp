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
  EXPECT_EQ(encode(t, "a"), (std::vector<int32_t>{6}));                // ▁a
  EXPECT_EQ(encode(t, "a b"), (std::vector<int32_t>{6, 7, 9}));        // ▁a ▁ b
  EXPECT_EQ(encode(t, " a"), (std::vector<int32_t>{7, 6}));            // ▁ ▁a
  EXPECT_EQ(encode(t, ""), (std::vector<int32_t>{}));
}

TEST(TokenizerUnigram, TakesTheBestPathAndTiesGoToTheLaterCandidate) {
  // "▁ab" = ▁ab (score X) or ▁a + b (-1 + -3 = -4). Expected ids checked against upstream_tokenizer.mjs.
  EXPECT_EQ(encode(make({kSpace + "a", "a", "b", kSpace + "ab"}, {-1, -2, -3, -3.5}), "ab"),
            (std::vector<int32_t>{9}));
  EXPECT_EQ(encode(make({kSpace + "a", "a", "b", kSpace + "ab"}, {-1, -2, -3, -5}), "ab"),
            (std::vector<int32_t>{6, 8}));
  // A tie (-4 both ways): the later candidate (starting at 2, b) replaces the earlier (▁ab, starting at 0).
  EXPECT_EQ(encode(make({kSpace + "a", "a", "b", kSpace + "ab"}, {-1, -2, -3, -4}), "ab"),
            (std::vector<int32_t>{6, 8}));
}

TEST(TokenizerUnigram, UnknownEdgesFromUnreachedPositionsScoreZero) {
  // Without the piece "a", position 1 is reached by no piece, so its best stays 0 and an unknown edge from
  // it (score 0 + 0) beats ▁a (-1): the original gives [unk, b], and so must we.
  EXPECT_EQ(encode(make({kSpace + "a", "b", kSpace + "ab"}, {-1, -3, -4}), "ab"), (std::vector<int32_t>{0, 7}));
}

TEST(TokenizerUnigram, MergesConsecutiveUnknownsAndKeepsTheBestIsZeroQuirk) {
  Tokenizer t = make({kSpace, "a"}, {-1, -1});
  // ▁ then three unknown code points (one of them 4 bytes) merge into one id 0, then a.
  EXPECT_EQ(encode(t, "\xE6\x9D\xB1\xE4\xBA\xAC\xF0\x9F\x98\x80" "a"), (std::vector<int32_t>{6, 0, 7}));
  // Unknowns reached with total score exactly 0 are replaced by any later candidate, even a worse one: from
  // the start, "x" is unknown (0 + 0 after ▁ only if ▁ itself is unknown).
  Tokenizer no_space = make({"a", "xa"}, {-1, -9});
  // ▁ (unknown, best 0), x (unknown, best 0), a: "xa" from 1 (-9 + 0) vs "a" from 2 (-1 + 0): a wins.
  EXPECT_EQ(encode(no_space, "xa"), (std::vector<int32_t>{0, 6}));
}

// Hostile vocabularies (a crafted model file): a piece over kMaxPieceBytes is refused at load, with a message
// naming the piece; the longest allowed pieces (a, aa, ..., a^64) on 100,000 'a's tokenize in one linear pass
// (before: a lattice of 1,500 candidates per position, which aborted the WASM instance).
TEST(TokenizerUnigram, RefusesOverlongPiecesAtLoad) {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", "e1", "e2", "e3", "a",
                                     std::string(Tokenizer::kMaxPieceBytes + 1, 'a')};
  Tokenizer t;
  std::string error;
  EXPECT_FALSE(t.init(pieces, std::vector<double>(pieces.size(), -1.0), &error));
  EXPECT_NE(error.find("piece 7 is 65 bytes, over the limit of 64"), std::string::npos) << error;
  pieces.back() = std::string(200000, 'a');
  EXPECT_FALSE(t.init(pieces, std::vector<double>(pieces.size(), -1.0), &error));
  EXPECT_NE(error.find("piece 7 is 200000 bytes"), std::string::npos) << error;
}

TEST(TokenizerUnigram, LongestPiecesOnALongTextStayLinear) {
  std::vector<std::string> pieces;
  std::vector<double> scores;
  for (size_t len = 1; len <= Tokenizer::kMaxPieceBytes; ++len) {
    pieces.push_back(std::string(len, 'a'));
    scores.push_back(-1.0 - 0.001 * double(len));
  }
  Tokenizer t = make(pieces, scores);
  const std::vector<int32_t> ids = encode(t, std::string(100000, 'a'));
  // The prefixed U+2581 is no piece (one unknown), then a^len is id 5 + len; each piece costs about -1, so the
  // best path uses as few as possible: 1,563 pieces for 100,000 letters.
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), Tokenizer::kUnknownId);
  size_t letters = 0;
  for (size_t i = 1; i < ids.size(); ++i) {
    ASSERT_GE(ids[i], 6);
    letters += size_t(ids[i] - 5);  // id 6 + len - 1 is a^len
  }
  EXPECT_EQ(letters, 100000u);
  EXPECT_LE(ids.size(), 1 + 100000 / Tokenizer::kMaxPieceBytes + 1);
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
    EXPECT_EQ(encode(model.tokenizer(), input), c["ids"].get<std::vector<int32_t>>()) << input;
  }
  std::vector<int32_t> ids = encode(model.tokenizer(), "The animal didn't cross the street because it was too tired");
  std::string joined;
  for (int32_t id : ids) joined += model.tokenizer().piece(id) + "|";
  EXPECT_EQ(joined, kSpace + "The|" + kSpace + "animal|" + kSpace + "didn|'|t|" + kSpace + "cross|" + kSpace +
                        "the|" + kSpace + "street|" + kSpace + "because|" + kSpace + "it|" + kSpace + "was|" +
                        kSpace + "too|" + kSpace + "tired|");
}

}  // namespace
}  // namespace attn::test
