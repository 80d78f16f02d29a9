// A small JSON reader (RFC 8259): objects, arrays, strings with escapes (incl. surrogate pairs), numbers,
// true/false/null. Recursive descent with a depth bound; never reads past `end`. Refused, as the safetensors
// reference reader (serde_json over a UTF-8 str) refuses them: invalid UTF-8, lone surrogate escapes, and a key
// repeated in one object.
#include "json.h"

#include <cstdlib>
#include <cstring>
#include <unordered_set>

namespace attn::json {

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

struct Parser {
  const char* begin;
  const char* p;
  const char* end;
  std::string error;

  bool fail(const char* what) {
    if (error.empty()) error = std::string(what) + " at byte " + std::to_string(p - begin);
    return false;
  }
  void skip_ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool literal(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end - p) < n || std::memcmp(p, word, n) != 0) return fail("invalid literal");
    p += n;
    return true;
  }
  static void append_utf8(std::string* s, uint32_t cp) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  // The length of the well-formed UTF-8 sequence (RFC 3629: no overlong form, no surrogate, <= U+10FFFF)
  // of 2 to 4 bytes at s, or 0.
  static size_t utf8_sequence(const char* s, const char* e) {
    const auto* u = reinterpret_cast<const unsigned char*>(s);
    const size_t avail = static_cast<size_t>(e - s);
    const unsigned char c = u[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
    else return 0;
    if (avail < n) return 0;
    for (size_t k = 1; k < n; ++k) {
      if ((u[k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (u[k] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    return n;
  }
  bool hex4(uint32_t* out) {
    if (end - p < 4) return fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p++;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("invalid \\u escape");
    }
    *out = v;
    return true;
  }
  bool string(std::string* out) {
    if (p >= end || *p != '"') return fail("expected a string");
    ++p;
    while (true) {
      if (p >= end) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p);
      if (c == '"') {
        ++p;
        return true;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c >= 0x80) {  // a multi-byte UTF-8 sequence, copied whole once it is valid
        const size_t n = utf8_sequence(p, end);
        if (n == 0) return fail("invalid UTF-8");
        out->append(p, n);
        p += n;
        continue;
      }
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        ++p;
        continue;
      }
      ++p;
      if (p >= end) return fail("unterminated escape");
      char e = *p++;
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            const char* save = p;
            p += 2;
            uint32_t lo = 0;
            if (!hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else p = save;
          }
          if (cp >= 0xD800 && cp < 0xE000) return fail("lone surrogate in a \\u escape");
          append_utf8(out, cp);
          break;
        }
        default: return fail("invalid escape");
      }
    }
  }
  bool number(Value* v) {
    const char* start = p;
    bool integer = true;
    if (p < end && *p == '-') ++p;
    if (p >= end || !(*p >= '0' && *p <= '9')) return fail("invalid number");
    // RFC 8259: the integer part is 0 or starts with 1-9 (no leading zeros: "0123" and "-01" are not JSON)
    if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9') return fail("invalid number (leading zero)");
    while (p < end && *p >= '0' && *p <= '9') ++p;
    if (p < end && *p == '.') {
      integer = false;
      ++p;
      if (p >= end || !(*p >= '0' && *p <= '9')) return fail("invalid number");
      while (p < end && *p >= '0' && *p <= '9') ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      integer = false;
      ++p;
      if (p < end && (*p == '+' || *p == '-')) ++p;
      if (p >= end || !(*p >= '0' && *p <= '9')) return fail("invalid number");
      while (p < end && *p >= '0' && *p <= '9') ++p;
    }
    std::string text(start, p);  // strtod needs a terminated copy
    v->kind = Value::Kind::kNumber;
    v->number = std::strtod(text.c_str(), nullptr);
    v->integer = integer;
    v->negative = text[0] == '-';
    if (integer && !v->negative) {
      uint64_t u = 0;
      for (char c : text) {
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (u > (UINT64_MAX - d) / 10) {
          u = UINT64_MAX;
          break;
        }
        u = u * 10 + d;
      }
      v->uinteger = u;
    }
    return true;
  }
  bool value(Value* v, int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    skip_ws();
    if (p >= end) return fail("unexpected end");
    switch (*p) {
      case '{': {
        ++p;
        v->kind = Value::Kind::kObject;
        std::unordered_set<std::string> keys;
        skip_ws();
        if (p < end && *p == '}') {
          ++p;
          return true;
        }
        while (true) {
          skip_ws();
          std::string key;
          const char* key_at = p;
          if (!string(&key)) return false;
          // A repeated key is refused (RFC 8259 leaves it open; the safetensors reference reader refuses it, and
          // readers that accept it disagree on which value wins).
          if (!keys.insert(key).second) {
            p = key_at;
            return fail(("duplicate key '" + key.substr(0, 64) + "'").c_str());
          }
          skip_ws();
          if (p >= end || *p != ':') return fail("expected ':'");
          ++p;
          v->object.emplace_back(std::move(key), Value());
          if (!value(&v->object.back().second, depth + 1)) return false;
          skip_ws();
          if (p < end && *p == ',') {
            ++p;
            continue;
          }
          if (p < end && *p == '}') {
            ++p;
            return true;
          }
          return fail("expected ',' or '}'");
        }
      }
      case '[': {
        ++p;
        v->kind = Value::Kind::kArray;
        skip_ws();
        if (p < end && *p == ']') {
          ++p;
          return true;
        }
        while (true) {
          v->array.emplace_back();
          if (!value(&v->array.back(), depth + 1)) return false;
          skip_ws();
          if (p < end && *p == ',') {
            ++p;
            continue;
          }
          if (p < end && *p == ']') {
            ++p;
            return true;
          }
          return fail("expected ',' or ']'");
        }
      }
      case '"':
        v->kind = Value::Kind::kString;
        return string(&v->string);
      case 't':
        v->kind = Value::Kind::kBool;
        v->boolean = true;
        return literal("true");
      case 'f':
        v->kind = Value::Kind::kBool;
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(v);
    }
  }
};

}  // namespace

bool parse(const char* text, size_t size, Value* out, std::string* error) {
  Parser parser{text, text, text + size, {}};
  *out = Value();
  bool ok = parser.value(out, 0);
  if (ok) {
    parser.skip_ws();
    if (parser.p != parser.end) ok = parser.fail("trailing characters");
  }
  if (!ok && error) *error = parser.error;
  return ok;
}

}  // namespace attn::json
