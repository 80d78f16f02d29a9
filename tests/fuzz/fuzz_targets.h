// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims, M model dims,
// V vocabulary pieces, T tokens.
//
// The fuzz entry points, shared by the libFuzzer targets (tests/fuzz/fuzz_<target>.cpp, built by
// scripts/fuzz.sh) and the regression replay (tests/cpp/fuzz_regressions_test.cpp, plain ctest), so that a
// crash input kept in tests/fuzz/regressions/<target>/ is replayed through exactly the code that found it.
//
// Each check_<target>(data, size) feeds the bytes to the engine and returns "" when every property held, or
// a message naming the one that broke. Memory errors are not returned: AddressSanitizer / UBSan catch them
// (scripts/fuzz.sh, scripts/sanitize.sh); in a plain build a replayed input can only show them by crashing.
//
// Targets (the directory names under tests/fuzz/regressions/):
//   safetensors  arbitrary bytes -> SafeTensors::parse; on success every tensor is read back in full
//   json         arbitrary bytes -> the private JSON reader of the safetensors header and model config
//   tokenizer    arbitrary bytes as "NFKC text" -> Tokenizer::encode, with a small fixture vocabulary and,
//                when web/public/models exists, the real one
//   model        arbitrary bytes -> EncoderModel::load; on success forward() on a few ids, both variants
//   attention    bytes decoded into small sizes, score, mask and values -> attention_f32 (reference and
//                optimized, with and without weights), multi_head_attention_f32 and gemm_f32; the variants
//                must agree and every output must be finite
//   vocab        arbitrary bytes -> a vocabulary (pieces split at NUL, scores from bytes) -> Tokenizer::init;
//                on success encode() of texts made of its own pieces, repeated to 1,024 bytes, with the
//                tokenizer properties above (the piece limits keep the walk linear: -timeout catches it)
//   shapes       bytes decoded into sizes up to INT_MAX -> the 64-bit size arithmetic (checked_product,
//                attention_f32_workspace_bytes, multi_head_attention_f32_workspace_bytes, forward_bytes):
//                never wraps (>= a lower bound computed in long double, or saturated), monotone in every size
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "attn/attention.h"
#include "attn/model.h"
#include "attn/safetensors.h"
#include "attn/tokenizer.h"
// The JSON reader and the size arithmetic are private to the engine (wasm/src); their symbols are in the
// engine library (buffer.h is header-only).
#include "../../wasm/src/buffer.h"
#include "../../wasm/src/model/json.h"
#include <climits>
#include <nlohmann/json.hpp>

#ifndef ATTN_SOURCE_DIR
#error "define ATTN_SOURCE_DIR (the repository root) to find the model file and the fixtures"
#endif

namespace attn::fuzz {

// ---- helpers ---------------------------------------------------------------------------------------------

inline std::string read_file(const std::string& path, bool* ok) {
  std::string bytes;
  *ok = false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, n);
  *ok = !std::ferror(f);
  std::fclose(f);
  return bytes;
}

// Reads bytes as a little stream; past the end every read gives 0.
struct ByteReader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  uint8_t byte() { return at < size ? data[at++] : 0; }
  // A value in [-4, 4) on a 1/32 grid: exact in float, so sums of a few products are exact too and the
  // reference (double) and the optimized kernels (float) can be held to a tight tolerance.
  float value() { return static_cast<float>(static_cast<int8_t>(byte())) / 32.0f; }
};

inline bool all_finite(const std::vector<float>& x) {
  for (float f : x)
    if (!std::isfinite(f)) return false;
  return true;
}

// "" when |a - b| <= atol + rtol |b| everywhere, else the first index and both values.
inline std::string compare(const char* what, const std::vector<float>& a, const std::vector<float>& b, double atol,
                           double rtol) {
  if (a.size() != b.size()) return std::string(what) + ": sizes differ";
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= atol + rtol * std::fabs(double(b[i])))) {
      return std::string(what) + "[" + std::to_string(i) + "]: optimized " + std::to_string(a[i]) +
             " vs reference " + std::to_string(b[i]);
    }
  }
  return "";
}

// ---- safetensors -----------------------------------------------------------------------------------------

inline std::string check_safetensors(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes on the heap, so that ASan sees any read past the end.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size ? size : 1]);
  std::copy(data, data + size, copy.get());
  SafeTensors file;
  std::string error;
  if (!SafeTensors::parse(copy.get(), size, &file, &error)) {
    if (error.empty()) return "parse failed without a message";
    return "";
  }
  if (!error.empty()) return "parse succeeded but left a message: " + error;
  // An accepted header is valid UTF-8 and JSON by an independent reader too (nlohmann-json validates UTF-8),
  // and has no repeated key (else a tensor's find() would miss it, checked below; __metadata__ keys here).
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | copy[i];
  const char* header = reinterpret_cast<const char*>(copy.get() + 8);
  if (nlohmann::json::parse(header, header + header_len, nullptr, false).is_discarded()) {
    return "accepted a header that nlohmann-json refuses (invalid UTF-8 or JSON)";
  }
  size_t metadata_keys = 0;
  {
    json::Value root;
    std::string json_error;
    if (!json::parse(header, header_len, &root, &json_error)) return "parse succeeded on a header json refuses";
    if (const json::Value* m = root.find("__metadata__")) metadata_keys = m->object.size();
    if (root.object.size() != file.tensors().size() + (root.find("__metadata__") ? 1 : 0)) {
      return "the header's entries and the tensors read differ in number";
    }
  }
  if (file.metadata().size() != metadata_keys) return "a __metadata__ key was repeated and accepted";
  // Every tensor lies in the data, has size = product(shape) * dtype size, and reads back in full.
  uint64_t checksum = 0;
  for (const TensorInfo& t : file.tensors()) {
    if (t.begin > t.end || t.end > size) return "tensor '" + t.name + "' has offsets outside the file";
    if (t.end - t.begin != t.count() * dtype_size(t.dtype)) return "tensor '" + t.name + "' size != shape";
    if (file.find(t.name) != &t) return "find('" + t.name + "') does not give the tensor";
    const uint8_t* bytes = file.bytes(t);
    if (bytes < copy.get() || bytes + (t.end - t.begin) > copy.get() + size) {
      return "tensor '" + t.name + "' bytes() points outside the file";
    }
    for (size_t i = 0; i < t.end - t.begin; ++i) checksum += bytes[i];
    std::vector<float> values;
    std::string read_error;
    // I8 reads as float with a scales tensor F32 [rows][blocks], blocks dividing the row (FloatRows).
    const size_t cols = t.shape.empty() ? 1 : static_cast<size_t>(t.shape.back());
    const TensorInfo* scales = file.find(t.name + ".scales");
    const bool scaled = t.dtype == DType::kI8 && scales && scales->dtype == DType::kF32 &&
                        scales->shape.size() == 2 && scales->shape[1] > 0 &&
                        static_cast<size_t>(scales->shape[0]) == (cols ? t.count() / cols : 0) &&
                        cols % static_cast<size_t>(scales->shape[1]) == 0;
    const bool floating = t.dtype == DType::kF32 || t.dtype == DType::kF16 || t.dtype == DType::kBF16 || scaled;
    const bool read = file.read_f32(t.name, t.shape, &values, &read_error);
    if (read != floating) return "read_f32('" + t.name + "') returned " + (read ? "true" : "false");
    if (read && values.size() != t.count()) return "read_f32('" + t.name + "') gave the wrong count";
    if (!read && read_error.empty()) return "read_f32('" + t.name + "') failed without a message";
    // The wrong shape must be refused, with a message.
    std::vector<int64_t> other = t.shape;
    other.push_back(1);
    if (file.read_f32(t.name, other, &values, &read_error) || read_error.empty()) {
      return "read_f32('" + t.name + "') accepted a wrong shape";
    }
  }
  std::vector<float> none;
  if (file.read_f32("\x01no such tensor", {}, &none, &error)) return "read_f32 found a missing tensor";
  volatile uint64_t sink = checksum;
  (void)sink;
  return "";
}

// ---- json ------------------------------------------------------------------------------------------------

inline size_t json_nodes(const json::Value& v) {
  size_t n = 1;
  for (const auto& e : v.array) n += json_nodes(e);
  for (const auto& [k, e] : v.object) n += json_nodes(e);
  return n;
}

inline std::string check_json(const uint8_t* data, size_t size) {
  std::unique_ptr<char[]> copy(new char[size ? size : 1]);
  std::copy(data, data + size, copy.get());
  json::Value value;
  std::string error;
  const bool ok = json::parse(copy.get(), size, &value, &error);
  if (!ok && error.empty()) return "parse failed without a message";
  if (ok && json_nodes(value) > size) return "more JSON values than input bytes";
  if (ok && value.is_uint() && value.negative) return "a negative unsigned integer";
  return "";
}

// ---- tokenizer -------------------------------------------------------------------------------------------

// A small vocabulary with the awkward cases: the 6 reserved ids, a duplicate piece (the later one wins),
// an empty piece, invalid UTF-8, a supplementary-plane piece, U+2581 alone and in words, a long piece.
inline const Tokenizer& fixture_tokenizer() {
  static const Tokenizer tokenizer = [] {
    std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", "<r3>", "<r4>", "<r5>",
                                       "\xE2\x96\x81",                       // U+2581
                                       "\xE2\x96\x81the", "the", "t", "h", "e", "a", "an", "ant",
                                       "\xE2\x96\x81" "a", "a",                // duplicate of id 12
                                       "",                                    // empty
                                       "\xFF\xFE",                            // invalid UTF-8
                                       "\xF0\x9F\x98\x80",                    // U+1F600, two UTF-16 units
                                       "\xF0\x9F\x98\x80!", "\xC3\xA9", "\xE2\x96\x81\xE2\x96\x81",
                                       "abcdefghijklmnopqrstuvwxyz", "\xEF\xBF\xBD", "."};
    std::vector<double> scores;
    for (size_t i = 0; i < pieces.size(); ++i) scores.push_back(-1.0 - 0.37 * double(i % 7));
    scores[8] = 0.0;  // a piece scoring exactly 0, the quirk of the Viterbi rule
    Tokenizer t;
    std::string error;
    if (!t.init(std::move(pieces), std::move(scores), &error)) {
      std::fprintf(stderr, "fixture tokenizer: %s\n", error.c_str());
      std::abort();
    }
    return t;
  }();
  return tokenizer;
}

inline std::string model_path() {
  const char* env = std::getenv("ATTN_FUZZ_MODEL");
  return env ? env : ATTN_SOURCE_DIR "/web/public/models/use-lite.f16.safetensors";
}

// The real model's tokenizer, or nullptr when the model file is not there (it is built by scripts/build.sh).
inline const Tokenizer* real_tokenizer() {
  static const std::unique_ptr<EncoderModel> model = []() -> std::unique_ptr<EncoderModel> {
    bool ok;
    const std::string bytes = read_file(model_path(), &ok);
    if (!ok) return nullptr;
    auto m = std::make_unique<EncoderModel>();
    std::string error;
    if (!m->load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &error)) {
      std::fprintf(stderr, "fuzz: %s does not load (%s); using the fixture vocabulary only\n", model_path().c_str(),
                   error.c_str());
      return nullptr;
    }
    return m;
  }();
  return model ? &model->tokenizer() : nullptr;
}

// Properties of encode(text): empty in -> empty out; every id in [0, V) and never a reserved id other than
// the unknown; no two unknowns in a row (they merge); and when the text is valid UTF-8 of the Basic
// Multilingual Plane and no unknown came out, the pieces spell the normalised text exactly.
inline std::string check_tokenizer_with(const Tokenizer& tokenizer, const std::string& text, const char* name) {
  std::vector<int32_t> ids;
  std::string error;
  const std::string where = std::string(name) + " vocabulary: ";
  if (!tokenizer.encode(text, &ids, &error)) return where + "encode failed on a small text: " + error;
  if (text.empty() != ids.empty()) return where + (text.empty() ? "ids for empty text" : "no ids for text");
  bool unknown = false, previous_unknown = false;
  std::string spelled;
  for (int32_t id : ids) {
    if (id < 0 || id >= tokenizer.size()) return where + "id " + std::to_string(id) + " outside the vocabulary";
    if (id != Tokenizer::kUnknownId && id < Tokenizer::kReserved) return where + "reserved id " + std::to_string(id);
    const bool is_unknown = id == Tokenizer::kUnknownId;
    if (is_unknown && previous_unknown) return where + "two unknowns in a row";
    previous_unknown = is_unknown;
    unknown = unknown || is_unknown;
    spelled += tokenizer.piece(id);
  }
  const std::vector<uint32_t> cps = utf8_code_points(text);
  bool bmp_valid = true;
  for (uint32_t cp : cps) bmp_valid = bmp_valid && cp < 0x10000 && cp != 0xFFFD && !(cp >= 0xD800 && cp < 0xE000);
  if (!text.empty() && !unknown && bmp_valid) {
    std::string expected = "\xE2\x96\x81";
    for (char c : text) expected += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
    if (spelled != expected) return where + "the pieces do not spell the text";
  }
  return "";
}

inline std::string check_tokenizer(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string r = check_tokenizer_with(fixture_tokenizer(), text, "fixture");
  if (r.empty() && real_tokenizer()) r = check_tokenizer_with(*real_tokenizer(), text, "model");
  return r;
}

// ---- model -----------------------------------------------------------------------------------------------

inline std::string check_model(const uint8_t* data, size_t size) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size ? size : 1]);
  std::copy(data, data + size, copy.get());
  EncoderModel model;
  std::string error;
  if (!model.load(copy.get(), size, &error)) return error.empty() ? "load failed without a message" : "";
  copy.reset();  // load copies: nothing may point into the bytes any more
  if (model.layers().empty()) return "loaded a model with no layers";
  if (model.tokenizer().size() > model.vocab_rows()) return "more pieces than embedding rows";
  EncoderResult result;
  // No ids, and an id out of range, give messages.
  if (model.forward({}, Variant::kReference, &result, &error) || error.empty()) return "forward accepted no ids";
  if (model.forward({model.vocab_rows()}, Variant::kReference, &result, &error)) return "forward accepted id V";
  if (model.forward({-1}, Variant::kReference, &result, &error)) return "forward accepted id -1";
  // A few ids (more than maxTokens when that is small, to cover the clip), through both variants.
  std::vector<int32_t> ids;
  const int n = std::min(model.max_tokens() + 2, 9);
  for (int i = 0; i < n; ++i) ids.push_back(int32_t((i * 7 + 1) % model.vocab_rows()));
  for (Variant variant : {Variant::kReference, Variant::kOptimized}) {
    error.clear();
    if (!model.forward(ids, variant, &result, &error)) return "forward failed on valid ids: " + error;
    const size_t t = result.ids.size();
    if (t != size_t(std::min(n, model.max_tokens()))) return "forward clipped to the wrong length";
    if (result.truncated != (n > model.max_tokens())) return "forward's truncated flag is wrong";
    if (result.input.size() != t * size_t(model.input_dims())) return "input embeddings have the wrong size";
    if (result.attention.size() != model.layers().size()) return "attention has the wrong number of layers";
    for (size_t l = 0; l < model.layers().size(); ++l) {
      if (result.attention[l].size() != size_t(model.layers()[l].heads) * t * t) return "attention of wrong size";
      if (result.hidden[l].size() != t * size_t(model.layers()[l].d_out)) return "hidden state of wrong size";
    }
    if (result.embedding.size() != size_t(model.embedding_dims())) return "embedding of wrong size";
  }
  // The tokenizer of a loaded model must hold up too.
  const std::string text = "the ant \xC3\xA9 a";
  std::vector<int32_t> text_ids;
  if (!model.tokenizer().encode(text, &text_ids, &error)) return "the model's tokenizer failed: " + error;
  for (int32_t id : text_ids)
    if (id < 0 || id >= model.tokenizer().size()) return "the model's tokenizer gave id " + std::to_string(id);
  return "";
}

// ---- attention -------------------------------------------------------------------------------------------

// Byte 0 picks the op (attention, multi-head, gemm); the next bytes pick sizes, score and mask, the rest are
// values (see ByteReader::value) and explicit-mask bits. Sizes stay small: Tk reaches past one 64-key tile.
inline std::string check_attention(const uint8_t* data, size_t size) {
  ByteReader in{data, size};
  const int op = in.byte() % 3;
  // Tolerances: values are exact multiples of 1/32, so dot scores are exact in float; what remains is the
  // float rounding of exp, of scaled/general/additive scores and of the sums (reference: double).
  const double atol = 2e-4, rtol = 2e-3;
  if (op == 2) {  // gemm
    const int m = 1 + in.byte() % 9, k = 1 + in.byte() % 20, n = 1 + in.byte() % 20;
    const bool with_bias = in.byte() & 1;
    std::vector<float> a(size_t(m) * k), b(size_t(k) * n), bias(n), ref(size_t(m) * n), opt(size_t(m) * n);
    for (float& x : a) x = in.value();
    for (float& x : b) x = in.value();
    for (float& x : bias) x = in.value();
    gemm_f32(ref.data(), a.data(), b.data(), with_bias ? bias.data() : nullptr, m, k, n, Variant::kReference);
    gemm_f32(opt.data(), a.data(), b.data(), with_bias ? bias.data() : nullptr, m, k, n, Variant::kOptimized);
    if (!all_finite(ref) || !all_finite(opt)) return "gemm: a non-finite output";
    return compare("gemm", opt, ref, 1e-4, 1e-5);
  }

  const int heads = 1 + in.byte() % 3;
  const int nq = 1 + in.byte() % 9, nk = 1 + in.byte() % 70;
  const Score score = Score(in.byte() % 4);
  const MaskKind mask_kind = MaskKind(in.byte() % 3);
  const int da = 1 + in.byte() % 6;
  int dk = 1 + in.byte() % 9, dv = 1 + in.byte() % 9;
  const int dh = 1 + in.byte() % 5;  // multi-head: dims per head
  if (op == 1) dk = dv = dh;
  const int d_model = heads * dh;

  ScoreParams sp;
  sp.score = score;
  std::vector<float> W(size_t(dk) * dk), Wq(size_t(da) * dk), Wk(size_t(da) * dk), va(da);
  if (score == Score::kGeneral) {
    for (float& x : W) x = in.value() / 8;  // keep q^T W k in a range where exp is well conditioned
    sp.W = W.data();
  }
  if (score == Score::kAdditive) {
    for (float& x : Wq) x = in.value();
    for (float& x : Wk) x = in.value();
    for (float& x : va) x = in.value();
    sp.Wq = Wq.data();
    sp.Wk = Wk.data();
    sp.v = va.data();
    sp.da = da;
  }
  MaskParams mp;
  mp.kind = mask_kind;
  std::vector<uint8_t> allowed(size_t(nq) * nk);
  if (mask_kind == MaskKind::kExplicit) {
    for (size_t i = 0; i < allowed.size(); i += 8) {
      const uint8_t bits = in.byte();
      for (size_t b = 0; b < 8 && i + b < allowed.size(); ++b) allowed[i + b] = (bits >> b) & 1;
    }
    mp.allowed = allowed.data();
  }

  if (op == 1) {  // multi-head, self- or cross-attention, with or without biases
    const bool self = (in.byte() & 1) && nq == nk;
    const bool bias = in.byte() & 1;
    std::vector<float> x(size_t(nq) * d_model), ctx(size_t(nk) * d_model);
    std::vector<std::vector<float>> w(4, std::vector<float>(size_t(d_model) * d_model)),
        b(4, std::vector<float>(d_model));
    for (float& e : x) e = in.value();
    for (float& e : ctx) e = in.value();
    for (auto& m : w)
      for (float& e : m) e = in.value() / 4;
    for (auto& m : b)
      for (float& e : m) e = in.value();
    MultiHeadParams p;
    Dense* dense[4] = {&p.q, &p.k, &p.v, &p.o};
    for (int i = 0; i < 4; ++i) *dense[i] = {w[i].data(), bias ? b[i].data() : nullptr};
    const float* context = self ? x.data() : ctx.data();
    std::vector<float> ref(x.size()), opt(x.size()), wref(size_t(heads) * nq * nk), wopt(wref.size());
    multi_head_attention_f32(ref.data(), wref.data(), x.data(), context, p, sp, mp, nq, nk, d_model, heads,
                             Variant::kReference);
    multi_head_attention_f32(opt.data(), wopt.data(), x.data(), context, p, sp, mp, nq, nk, d_model, heads,
                             Variant::kOptimized);
    if (!all_finite(ref) || !all_finite(opt) || !all_finite(wref) || !all_finite(wopt)) {
      return "multi-head: a non-finite output";
    }
    // Projections feed rounded Q and K into the scores: looser than single-head attention.
    std::string r = compare("multi-head weights", wopt, wref, 2e-3, 1e-2);
    if (r.empty()) r = compare("multi-head out", opt, ref, 2e-3, 1e-2);
    return r;
  }

  std::vector<float> q(size_t(heads) * nq * dk), k(size_t(heads) * nk * dk), v(size_t(heads) * nk * dv);
  for (float& e : q) e = in.value();
  for (float& e : k) e = in.value();
  for (float& e : v) e = in.value();
  std::vector<float> ref(size_t(heads) * nq * dv), wref(size_t(heads) * nq * nk);
  attention_f32(ref.data(), wref.data(), q.data(), k.data(), v.data(), sp, mp, heads, nq, nk, dk, dv,
                Variant::kReference);
  if (!all_finite(ref) || !all_finite(wref)) return "reference: a non-finite output";
  // Every weights row sums to 1, or is all 0 when the mask allows no key (and then the output row is 0).
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < nq; ++i) {
      double sum = 0;
      bool any = false;
      for (int j = 0; j < nk; ++j) {
        const float w = wref[(size_t(h) * nq + i) * nk + j];
        if (w < 0 || w > 1) return "reference: a weight outside [0, 1]";
        const bool may = mask_kind == MaskKind::kNone ||
                         (mask_kind == MaskKind::kCausal && causal_allows(i, j, nq, nk)) ||
                         (mask_kind == MaskKind::kExplicit && allowed[size_t(i) * nk + j]);
        if (!may && w != 0) return "reference: weight on a masked key";
        any = any || may;
        sum += w;
      }
      if (any ? std::fabs(sum - 1) > 1e-5 : sum != 0) return "reference: a weights row does not sum to 1 (or 0)";
    }
  // The optimized kernel has two paths: with weights (whole row) and without (online softmax over tiles).
  std::vector<float> opt(ref.size(), NAN), wopt(wref.size(), NAN), opt_nw(ref.size(), NAN);
  attention_f32(opt.data(), wopt.data(), q.data(), k.data(), v.data(), sp, mp, heads, nq, nk, dk, dv,
                Variant::kOptimized);
  attention_f32(opt_nw.data(), nullptr, q.data(), k.data(), v.data(), sp, mp, heads, nq, nk, dk, dv,
                Variant::kOptimized);
  if (!all_finite(opt) || !all_finite(wopt) || !all_finite(opt_nw)) return "optimized: a non-finite output";
  std::string r = compare("weights", wopt, wref, atol, rtol);
  if (r.empty()) r = compare("out (with weights)", opt, ref, atol * 4, rtol);
  if (r.empty()) r = compare("out (no weights)", opt_nw, ref, atol * 4, rtol);
  return r;
}

// ---- vocab -----------------------------------------------------------------------------------------------

// Byte 0: how many times to repeat the text; then pieces separated by NUL, each piece's score from its first
// byte. The six reserved pieces come first, as in a model file.
inline std::string check_vocab(const uint8_t* data, size_t size) {
  ByteReader in{data, size};
  const int repeat = 1 + in.byte() % 64;
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", "<r3>", "<r4>", "<r5>"};
  std::vector<double> scores(6, 0.0);
  std::string piece;
  for (size_t i = 1; i <= size; ++i) {
    if (i == size || data[i] == 0) {
      scores.push_back(piece.empty() ? 0.0 : -double(uint8_t(piece[0])) / 16.0);
      pieces.push_back(piece);
      piece.clear();
    } else {
      piece += char(data[i]);
    }
  }
  Tokenizer tokenizer;
  std::string error;
  if (!tokenizer.init(pieces, scores, &error)) {
    if (error.empty()) return "init failed without a message";
    if (pieces.size() <= size_t(Tokenizer::kReserved)) return "";  // no piece beside the reserved ones
    for (const std::string& p : pieces)
      if (p.size() > Tokenizer::kMaxPieceBytes) return "";
    return "init refused a vocabulary within the limits: " + error;
  }
  // A text of the vocabulary's own pieces (spaces between some), repeated: long matches everywhere.
  std::string text;
  for (size_t i = 6; i < pieces.size(); ++i) text += pieces[i] + (i % 3 ? "" : " ");
  std::string repeated;
  for (int r = 0; r < repeat && repeated.size() < 1024; ++r) repeated += text;
  return check_tokenizer_with(tokenizer, repeated.substr(0, 1024), "fuzzed");
}

// ---- shapes ----------------------------------------------------------------------------------------------

// Sizes in [1, INT_MAX] from 4 little-endian bytes each: the top 2 bits pick small (1 + v % 97), medium
// (1 + v % 65536), large (1 + v) or near INT_MAX (INT_MAX - v % 1024), v = the low 30 bits.
inline int size_from(ByteReader& in) {
  uint32_t x = uint32_t(in.byte()) | uint32_t(in.byte()) << 8 | uint32_t(in.byte()) << 16 | uint32_t(in.byte()) << 24;
  const uint32_t v = x & 0x3FFFFFFF;
  switch (x >> 30) {
    case 0: return 1 + int(v % 97);
    case 1: return 1 + int(v % 65536);
    case 2: return 1 + int(v);
    default: return INT_MAX - int(v % 1024);
  }
}

inline std::string check_shapes(const uint8_t* data, size_t size) {
  ByteReader in{data, size};
  const Score score = Score(in.byte() % 4);
  const Variant variant = Variant(in.byte() % 2);
  int dims[6];
  for (int& d : dims) d = size_from(in);
  int heads = dims[0], nq = dims[1], nk = dims[2], dk = dims[3], dv = dims[4], da = dims[5];
  ScoreParams sp;
  sp.score = score;
  sp.da = score == Score::kAdditive ? da : 0;
  // 1. checked_product agrees with 128-bit arithmetic.
  uint64_t n = 0;
  const unsigned __int128 exact = (unsigned __int128)uint64_t(nq) * uint64_t(nk) * uint64_t(dk) * uint64_t(heads);
  const bool fits = checked_product(&n, {uint64_t(nq), uint64_t(nk), uint64_t(dk), uint64_t(heads)}, UINT64_MAX);
  if (fits != (exact <= UINT64_MAX) || (fits && n != uint64_t(exact))) return "checked_product disagrees with 128 bits";
  // 2. attention: at least the double row (8 (Tk + Dv)) and, optimized, the query transform (4 Tq cols), or
  //    saturated; never less when a size grows.
  const uint64_t w = attention_f32_workspace_bytes(sp, heads, nq, nk, dk, dv, variant);
  const long double cols = score == Score::kAdditive ? da : dk;
  long double lower = 8.0L * ((long double)nk + dv);
  if (variant == Variant::kOptimized) lower += 4.0L * nq * cols;
  if (w != UINT64_MAX && (long double)w < lower) return "attention workspace below its lower bound (wrapped?)";
  for (int* grow : {&heads, &nq, &nk, &dk, &dv}) {
    if (*grow == INT_MAX) continue;
    ++*grow;
    const uint64_t w2 = attention_f32_workspace_bytes(sp, heads, nq, nk, dk, dv, variant);
    --*grow;
    if (w2 < w) return "attention workspace shrank when a size grew";
  }
  // 3. multi-head: the five [T][M] buffers at least, or saturated.
  const int d_model = dk, h = 1 + heads % 16;
  if (d_model % h == 0) {
    const uint64_t m = multi_head_attention_f32_workspace_bytes(sp, nq, nk, d_model, h, variant);
    const long double mlower = 4.0L * d_model * ((long double)std::max(nq, nk) + 2.0L * nq + 2.0L * nk);
    if (m != UINT64_MAX && (long double)m < mlower) return "multi-head workspace below its lower bound";
  }
  // 4. the encoder: forward_bytes of the tiny model for T tokens is at least its input and weights, monotone.
  static const std::unique_ptr<EncoderModel> tiny = []() -> std::unique_ptr<EncoderModel> {
    bool ok;
    const std::string bytes = read_file(ATTN_SOURCE_DIR "/tests/fuzz/corpus/model/tiny-1layer.safetensors", &ok);
    auto model = std::make_unique<EncoderModel>();
    std::string error;
    if (!ok || !model->load(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &error)) return nullptr;
    return model;
  }();
  if (!tiny) return "the tiny model of the corpus does not load";
  const int t = std::min(nq, EncoderModel::kMaxTokens);
  const uint64_t f = tiny->forward_bytes(t, variant, EncoderOutputs{});
  const long double flower = 4.0L * t * tiny->input_dims() + 4.0L * tiny->layers()[0].heads * (long double)t * t;
  if ((long double)f < flower) return "forward_bytes below its lower bound";
  if (t < EncoderModel::kMaxTokens && tiny->forward_bytes(t + 1, variant, EncoderOutputs{}) < f) {
    return "forward_bytes shrank when T grew";
  }
  return "";
}

// ---- by name ---------------------------------------------------------------------------------------------

using CheckFn = std::string (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  CheckFn check;
};

inline const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"safetensors", &check_safetensors},
                                          {"json", &check_json},
                                          {"tokenizer", &check_tokenizer},
                                          {"model", &check_model},
                                          {"attention", &check_attention},
                                          {"vocab", &check_vocab},
                                          {"shapes", &check_shapes}};
  return all;
}

inline CheckFn find_target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return t.check;
  return nullptr;
}

}  // namespace attn::fuzz

// The libFuzzer entry point of one target: a broken property prints its message and aborts, so that
// libFuzzer saves the input.
#define ATTN_FUZZ_TARGET(check)                                                   \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {       \
    const std::string broken = attn::fuzz::check(data, size);                      \
    if (!broken.empty()) {                                                         \
      std::fprintf(stderr, "fuzz: %s: %s\n", #check, broken.c_str());              \
      std::abort();                                                                \
    }                                                                              \
    return 0;                                                                      \
  }
