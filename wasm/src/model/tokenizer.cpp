// V pieces, N code points, T pieces out. See wasm/include/attn/tokenizer.h for the algorithm and its quirks.
#include "attn/tokenizer.h"

#include "../buffer.h"

namespace attn {

namespace {

// The code point at s[*i] (advancing *i past it); an invalid byte is U+FFFD and advances by one.
uint32_t next_code_point(const unsigned char* s, size_t n, size_t* at) {
  const size_t i = *at;
  const unsigned char c = s[i];
  const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  bool ok = len > 0 && i + len <= n;
  for (int k = 1; ok && k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) ok = false;
    else cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (ok && (cp < kMin[len] || cp > 0x10FFFF)) ok = false;  // overlong or out of range
  *at = ok ? i + len : i + 1;
  return ok ? cp : 0xFFFD;
}

}  // namespace

std::vector<uint32_t> utf8_code_points(const std::string& text) {
  std::vector<uint32_t> out;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) out.push_back(next_code_point(s, text.size(), &i));
  return out;
}

int32_t Tokenizer::child(int32_t node, uint32_t cp) const {
  auto it = edges_.find((static_cast<uint64_t>(node) << 21) | cp);
  return it == edges_.end() ? -1 : it->second;
}

bool Tokenizer::init(std::vector<std::string> pieces, std::vector<double> scores, std::string* error) {
  if (pieces.size() != scores.size() || pieces.size() <= static_cast<size_t>(kReserved)) {
    if (error) {
      *error = "tokenizer: " + std::to_string(pieces.size()) + " pieces and " + std::to_string(scores.size()) +
               " scores (need the same number, more than " + std::to_string(kReserved) + ")";
    }
    return false;
  }
  if (pieces.size() > kMaxPieces) {
    if (error) *error = "tokenizer: " + std::to_string(pieces.size()) + " pieces, over the limit of " + std::to_string(kMaxPieces);
    return false;
  }
  size_t total = 0;
  for (size_t id = 0; id < pieces.size(); ++id) {
    total += pieces[id].size();
    if (pieces[id].size() > kMaxPieceBytes) {
      if (error) {
        *error = "tokenizer: piece " + std::to_string(id) + " is " + std::to_string(pieces[id].size()) +
                 " bytes, over the limit of " + std::to_string(kMaxPieceBytes);
      }
      return false;
    }
  }
  if (total > kMaxTotalPieceBytes) {
    if (error) {
      *error = "tokenizer: the pieces hold " + std::to_string(total) + " bytes, over the limit of " +
               std::to_string(kMaxTotalPieceBytes);
    }
    return false;
  }
  pieces_ = std::move(pieces);
  scores_ = std::move(scores);
  utf16_length_.assign(pieces_.size(), 0);
  nodes_.assign(1, Node());
  edges_.clear();
  for (size_t id = 0; id < pieces_.size(); ++id) {
    std::vector<uint32_t> cps = utf8_code_points(pieces_[id]);
    for (uint32_t cp : cps) utf16_length_[id] += cp >= 0x10000 ? 2 : 1;
    if (utf16_length_[id] == 0) utf16_length_[id] = 1;  // an empty piece must not stall the backtrace
    if (id < static_cast<size_t>(kReserved) || cps.empty()) continue;
    int32_t node = 0;
    for (uint32_t cp : cps) {
      int32_t next = child(node, cp);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        edges_[(static_cast<uint64_t>(node) << 21) | cp] = next;
      }
      node = next;
    }
    nodes_[node].id = static_cast<int32_t>(id);  // a later duplicate wins, as in the original
    nodes_[node].score = scores_[id];
  }
  return true;
}

bool Tokenizer::encode(const std::string& normalized, std::vector<int32_t>* ids, std::string* error) const {
  ids->clear();
  if (normalized.empty()) return true;
  // Working memory, allocated up front with a null check (N <= bytes + 1 code points): symbols, best, words.
  const uint64_t cap = uint64_t(normalized.size()) + 1;
  Buffer<uint32_t> symbols;
  Buffer<double> best;
  Buffer<int32_t> words;
  if (cap > uint64_t(INT32_MAX) || !symbols.allocate(cap) || !best.assign(cap + 1, 0.0) || !words.assign(cap + 1, 0)) {
    if (error) {
      *error = "tokenizer: a text of " + std::to_string(normalized.size()) + " bytes needs " +
               std::to_string(16 * cap) + " bytes of working memory, more than the heap can give";
    }
    return false;
  }
  // 1. normalise: prefix U+2581, every U+0020 -> U+2581.
  int n = 0;
  symbols[n++] = 0x2581;
  const auto* text = reinterpret_cast<const unsigned char*>(normalized.data());
  for (size_t at = 0; at < normalized.size();) {
    const uint32_t cp = next_code_point(text, normalized.size(), &at);
    symbols[n++] = cp == 0x20 ? 0x2581 : cp;
  }

  // 2 + 3. lattice and Viterbi in one pass over the starts i (ascending): best[i] is final when i is reached
  // (every piece ending at i starts before it), and each end sees its candidates in ascending start, as the
  // original's lattice order gives. The walk from i stops where the trie does: at most kMaxPieceBytes steps.
  auto relax = [&](int end, int start, int32_t id, double score) {
    const double s = score + best[start];
    if (best[end] == 0 || s >= best[end]) {
      best[end] = s;
      words[end] = id;
    }
  };
  for (int i = 0; i < n; ++i) {
    bool matched = false;
    int32_t node = child(0, symbols[i]);
    for (int j = i; j < n && node >= 0;) {
      if (nodes_[node].id >= 0) {
        relax(j + 1, i, nodes_[node].id, nodes_[node].score);
        matched = true;
      }
      ++j;
      node = j < n ? child(node, symbols[j]) : -1;
    }
    if (!matched) relax(i + 1, i, kUnknownId, 0.0);
  }

  // 4. backtrace by UTF-16 lengths (reusing symbols for the ids, backwards), then merge consecutive unknowns.
  int count = 0;
  for (int at = n; at > 0; at -= utf16_length_[words[at]]) symbols[count++] = static_cast<uint32_t>(words[at]);
  ids->reserve(count);
  bool previous_unknown = false;
  for (int b = count - 1; b >= 0; --b) {
    const int32_t id = static_cast<int32_t>(symbols[b]);
    if (!(previous_unknown && id == kUnknownId)) ids->push_back(id);
    previous_unknown = id == kUnknownId;
  }
  return true;
}

}  // namespace attn
