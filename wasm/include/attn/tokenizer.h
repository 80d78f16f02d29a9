// V pieces, N code points of the normalised text, T pieces out.
//
// The SentencePiece unigram tokenizer of Universal Sentence Encoder lite, reproducing the model's own
// tokenizer (the tfjs-models / @energetic-ai/embeddings port of SentencePiece's EncodeAsIds) piece for
// piece, quirks included:
//   1. normalise: the caller passes NFKC-normalised UTF-8 (JS does String.prototype.normalize('NFKC'),
//      exactly as the original); here a U+2581 is prefixed and every U+0020 becomes U+2581;
//   2. lattice: from each position, every vocabulary piece (ids >= 6) that is a prefix of the rest; where
//      none matches, a one-code-point unknown piece (id 0, score 0);
//   3. Viterbi: ends in order, starts in ascending order; a candidate replaces the best when the best is
//      still exactly 0 or the candidate's score is >= it (so ties go to the later candidate);
//      2 and 3 run as one pass over the starts in ascending order (each candidate is relaxed as the trie walk
//      finds it, which visits every end's candidates in the same order), so no lattice is held: time is
//      O(N x the longest piece), memory O(N);
//   4. backtrace from the end, stepping back by each piece's UTF-16 length; consecutive unknowns merge.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace attn {

class Tokenizer {
 public:
  static constexpr int kReserved = 6;  // <unk>-like piece 0, <s>, </s>, 3 extra ids: never matched
  static constexpr int kUnknownId = 0;
  // Limits a (possibly hostile) vocabulary must keep, so that the trie walk from each position stops within
  // kMaxPieceBytes code points and the trie stays small: the longest piece of USE lite's 8,000 is 17 bytes;
  // SentencePiece's trainer caps pieces at 16 code points (max_piece_length), i.e. at most 64 bytes.
  static constexpr size_t kMaxPieceBytes = 64;
  static constexpr size_t kMaxPieces = size_t(1) << 20;
  static constexpr size_t kMaxTotalPieceBytes = size_t(1) << 24;  // 16 MiB

  // pieces [V] (UTF-8), scores [V]. Returns false with a message when the sizes differ, V <= kReserved, or a
  // limit above is broken.
  bool init(std::vector<std::string> pieces, std::vector<double> scores, std::string* error);

  // ids [T] of NFKC-normalised UTF-8 text (invalid UTF-8 bytes count as U+FFFD). Empty text gives no ids.
  // Returns false with a message when the working memory (about 16 bytes per code point) cannot be had.
  bool encode(const std::string& normalized, std::vector<int32_t>* ids, std::string* error) const;

  // The piece of id, or "<id N>" for an id the vocabulary has no piece for (the embedding table has two
  // rows more than the vocabulary; runIds accepts them).
  std::string piece(int32_t id) const {
    return id >= 0 && id < size() ? pieces_[id] : "<id " + std::to_string(id) + ">";
  }
  int size() const { return static_cast<int>(pieces_.size()); }

 private:
  struct Node {
    int32_t id = -1;  // the piece ending here, or -1
    double score = 0;
  };
  int32_t child(int32_t node, uint32_t cp) const;

  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  std::vector<int32_t> utf16_length_;  // of each piece, for the backtrace
  std::vector<Node> nodes_;            // the trie; node 0 is the root
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 21 | code point) -> child node
};

// Decodes UTF-8 into code points; an invalid byte becomes U+FFFD. Encoded surrogates (as Emscripten writes
// lone UTF-16 surrogates) decode to themselves.
std::vector<uint32_t> utf8_code_points(const std::string& text);

}  // namespace attn
