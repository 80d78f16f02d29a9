// A small JSON reader for the safetensors header and the model's config: no exceptions, bounded depth,
// every byte access checked against the end of the input; invalid UTF-8, lone surrogate escapes and repeated
// keys in an object are refused. Not a public header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attn::json {

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  bool integer = false;       // the text was an integer without fraction or exponent
  uint64_t uinteger = 0;      // its value when integer and non-negative (saturates at UINT64_MAX)
  bool negative = false;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in file order

  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kNumber; }
  bool is_uint() const { return kind == Kind::kNumber && integer && !negative; }
  // The member named `key`, or nullptr.
  const Value* find(const std::string& key) const;
};

// Parses `text` (the whole of it, bar whitespace). On failure returns false and sets `error` to a message
// with the byte offset.
bool parse(const char* text, size_t size, Value* out, std::string* error);

}  // namespace attn::json
