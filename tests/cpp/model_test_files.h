// Helpers for the model tests: read a whole file, and the paths of the model files built by
// scripts/convert-model.mjs (tests skip when they are missing: run scripts/build.sh).
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "attn/tokenizer.h"

namespace attn::test {

// Tokenizer::encode on a test's (small) text; a failure gives {-1}, which no comparison of ids accepts.
inline std::vector<int32_t> encode(const Tokenizer& tokenizer, const std::string& text) {
  std::vector<int32_t> ids;
  std::string error;
  if (!tokenizer.encode(text, &ids, &error)) return {-1};
  return ids;
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string source_path(const std::string& relative) { return std::string(ATTN_SOURCE_DIR) + "/" + relative; }
inline std::string model_f32_path() { return source_path("web/public/models/use-lite.f32.safetensors"); }
inline std::string model_f16_path() { return source_path("web/public/models/use-lite.f16.safetensors"); }
inline std::string model_i8_path() { return source_path("web/public/models/use-lite.i8.safetensors"); }

}  // namespace attn::test
