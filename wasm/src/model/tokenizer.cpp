// V pieces, N code points, T pieces out. See wasm/include/attn/tokenizer.h for the algorithm and its quirks.
#include "attn/tokenizer.h"

namespace attn {

std::vector<uint32_t> utf8_code_points(const std::string& text) {
  std::vector<uint32_t> out;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < kMin[len] || cp > 0x10FFFF)) ok = false;  // overlong or out of range
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
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

std::vector<int32_t> Tokenizer::encode(const std::string& normalized) const {
  // 1. normalise: prefix U+2581, every U+0020 -> U+2581 (only when the text is not empty).
  std::vector<uint32_t> symbols = utf8_code_points(normalized);
  if (symbols.empty()) return {};
  for (uint32_t& cp : symbols)
    if (cp == 0x20) cp = 0x2581;
  symbols.insert(symbols.begin(), 0x2581);
  const int n = static_cast<int>(symbols.size());

  // 2. lattice: edges_ending[end] = (start, length, id, score), pushed in ascending start, then length.
  struct Edge {
    int start, length;
    int32_t id;
    double score;
  };
  std::vector<std::vector<Edge>> ending(n + 1);
  for (int i = 0; i < n; ++i) {
    bool matched = false;
    int32_t node = child(0, symbols[i]);
    for (int j = i; j < n && node >= 0;) {
      if (nodes_[node].id >= 0) {
        ending[j + 1].push_back({i, j + 1 - i, nodes_[node].id, nodes_[node].score});
        matched = true;
      }
      ++j;
      node = j < n ? child(node, symbols[j]) : -1;
    }
    if (!matched) ending[i + 1].push_back({i, 1, kUnknownId, 0.0});
  }

  // 3. Viterbi, replicating the original's update rule.
  std::vector<double> best(n + 1, 0.0);
  std::vector<int32_t> words(n + 1, 0);
  for (int end = 0; end <= n; ++end) {
    for (const Edge& e : ending[end]) {
      const double score = e.score + best[end - e.length];
      if (best[end] == 0 || score >= best[end]) {
        best[end] = score;
        words[end] = e.id;
      }
    }
  }

  // 4. backtrace by UTF-16 lengths, then merge consecutive unknowns.
  std::vector<int32_t> backwards;
  for (int at = n; at > 0; at -= utf16_length_[words[at]]) backwards.push_back(words[at]);
  std::vector<int32_t> ids;
  bool previous_unknown = false;
  for (int32_t id : backwards) {
    if (!(previous_unknown && id == kUnknownId)) ids.push_back(id);
    previous_unknown = id == kUnknownId;
  }
  return std::vector<int32_t>(ids.rbegin(), ids.rend());
}

}  // namespace attn
