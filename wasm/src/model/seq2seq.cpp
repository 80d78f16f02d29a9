// B sentences, n / m source / decoder rows of one sentence, Ts / Tt rows of the batch, L layers, H heads,
// M model dims, Dh = M/H, F feed-forward dims, A additive dims, Vs / Vt vocabularies.
//
// The encoder-decoder of attn/seq2seq.h: the forward pass saves what each op's backward needs (attn/backward.h),
// the backward runs the ops' backwards in reverse order, accumulating into one flat gradient buffer laid out
// like the parameters, and AdamW updates every tensor at once.
#include "attn/seq2seq.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstring>
#include <string>

#include "attn/backward.h"
#include "attn/safetensors.h"
#include "../parallel.h"

namespace attn {

namespace {

constexpr float kLayerNormEps = 1e-5f;
constexpr int32_t kNoIgnore = -1;

struct ScoreName {
  Score score;
  const char* name;
};
constexpr ScoreName kScoreNames[] = {
    {Score::kDot, "dot"}, {Score::kScaledDot, "scaled_dot"}, {Score::kGeneral, "general"}, {Score::kAdditive, "additive"}};

// xorshift32: the initial weights, the same bits on every build.
struct Random {
  uint32_t state;
  explicit Random(uint32_t seed) : state(seed * 2654435761u + 0x9e3779b9u) {
    if (state == 0) state = 1;
  }
  float uniform(float a) {  // [-a, a)
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    return a * (float(state >> 8) / float(1 << 24) * 2.0f - 1.0f);
  }
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace

const char* score_name(Score score) {
  for (const auto& s : kScoreNames)
    if (s.score == score) return s.name;
  return "?";
}

bool score_from_name(const std::string& name, Score* score) {
  for (const auto& s : kScoreNames)
    if (name == s.name) {
      *score = s.score;
      return true;
    }
  return false;
}

// ---- parameters -------------------------------------------------------------------------------------------

// Indices into tensors_ of one multi-head block (-1: the score function has no such parameter).
struct AttnIndex {
  int qW, qb, kW, kb, vW, vb, oW, ob, sW = -1, sWq = -1, sWk = -1, sv = -1;
};
struct LnIndex {
  int scale, bias;
};
struct FfnIndex {
  int W1, b1, W2, b2;
};
struct EncIndex {
  LnIndex ln1, ln2;
  AttnIndex self;
  FfnIndex ffn;
};
struct DecIndex {
  LnIndex ln1, ln2, ln3;
  AttnIndex self, cross;
  FfnIndex ffn;
};

// Per-block activations: the layer norm's output and saved row statistics, the branch's output.
struct LnActs {
  std::vector<float> out, mean, rstd;  // [T][M], [T], [T]
};
struct AttnActs {
  LnActs ln;
  std::vector<float> out;               // [T][M]
  std::vector<float> saved;             // per sentence multi_head_saved_size(...), back to back
  std::vector<size_t> saved_at;         // [B]
  std::vector<std::vector<float>> weights;  // per sentence [H][nq][nk] (inference with attention only)
};
struct FfnActs {
  LnActs ln;
  std::vector<float> pre, act, out;  // [T][F], [T][F], [T][M]
};
struct EncActs {
  std::vector<float> x;   // [Ts][M], the layer's input
  std::vector<float> x1;  // after the attention residual
  AttnActs self;
  FfnActs ffn;
};
struct DecActs {
  std::vector<float> y, y1, y2;  // input, after self-attention, after cross-attention
  AttnActs self, cross;
  FfnActs ffn;
};

struct Seq2SeqModel::Activations {
  std::vector<EncIndex> enc_index;
  std::vector<DecIndex> dec_index;
  int src_embed, tgt_embed, enc_ln_scale, enc_ln_bias, dec_ln_scale, dec_ln_bias, out_W, out_b;
  // batch layout
  std::vector<int32_t> src_at, dec_at, dec_len;  // [B] row offsets and m
  std::vector<int32_t> dec_ids, targets, src_pos, dec_pos;  // [Tt], [Tt], [Ts], [Tt]
  int ts = 0, tt = 0;
  // forward
  std::vector<EncActs> enc;
  LnActs enc_ln;                 // enc_ln.out = the encoder's output [Ts][M]
  std::vector<float> enc_x_last;  // [Ts][M], the last encoder layer's output (the final norm's input)
  std::vector<DecActs> dec;
  std::vector<float> dec_y_last;
  LnActs dec_ln;
  std::vector<float> logits, ce_max, ce_sum, losses;  // [Tt][Vt], [Tt], [Tt], [Tt]
};

Seq2SeqModel::Seq2SeqModel() : acts_(new Activations) {}
Seq2SeqModel::~Seq2SeqModel() { delete acts_; }

const Seq2SeqTensor* Seq2SeqModel::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

// The tensor table (names, shapes, offsets) for config_, in the order the file stores them.
void Seq2SeqModel::build_tensors() {
  const Seq2SeqConfig& c = config_;
  const int M = c.d_model, F = c.d_ff, dh = M / c.heads, A = c.da > 0 ? c.da : dh;
  tensors_.clear();
  size_t at = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    Seq2SeqTensor t;
    t.name = name;
    t.count = 1;
    for (int64_t d : shape) t.count *= size_t(d);
    t.shape = std::move(shape);
    t.offset = at;
    t.matrix = t.shape.size() == 2;
    at += t.count;
    tensors_.push_back(t);
    return int(tensors_.size() - 1);
  };
  auto ln = [&](const std::string& p) { return LnIndex{add(p + ".scale", {M}), add(p + ".bias", {M})}; };
  auto attn = [&](const std::string& p) {
    AttnIndex a;
    a.qW = add(p + ".q.W", {M, M}), a.qb = add(p + ".q.b", {M});
    a.kW = add(p + ".k.W", {M, M}), a.kb = add(p + ".k.b", {M});
    a.vW = add(p + ".v.W", {M, M}), a.vb = add(p + ".v.b", {M});
    a.oW = add(p + ".o.W", {M, M}), a.ob = add(p + ".o.b", {M});
    if (c.score == Score::kGeneral) a.sW = add(p + ".score.W", {dh, dh});
    if (c.score == Score::kAdditive) {
      a.sWq = add(p + ".score.Wq", {A, dh}), a.sWk = add(p + ".score.Wk", {A, dh}), a.sv = add(p + ".score.v", {A});
    }
    return a;
  };
  auto ffn = [&](const std::string& p) {
    FfnIndex f;
    f.W1 = add(p + ".ffn1.W", {M, F}), f.b1 = add(p + ".ffn1.b", {F});
    f.W2 = add(p + ".ffn2.W", {F, M}), f.b2 = add(p + ".ffn2.b", {M});
    return f;
  };
  Activations& a = *acts_;
  a.src_embed = add("src_embed", {c.src_vocab, M});
  a.tgt_embed = add("tgt_embed", {c.tgt_vocab, M});
  a.enc_index.clear();
  for (int l = 0; l < c.encoder_layers; ++l) {
    const std::string p = "enc." + std::to_string(l);
    EncIndex e;
    e.ln1 = ln(p + ".ln1");
    e.self = attn(p + ".self");
    e.ln2 = ln(p + ".ln2");
    e.ffn = ffn(p);
    a.enc_index.push_back(e);
  }
  {
    const LnIndex e = ln("enc.ln");
    a.enc_ln_scale = e.scale, a.enc_ln_bias = e.bias;
  }
  a.dec_index.clear();
  for (int l = 0; l < c.decoder_layers; ++l) {
    const std::string p = "dec." + std::to_string(l);
    DecIndex d;
    d.ln1 = ln(p + ".ln1");
    d.self = attn(p + ".self");
    d.ln2 = ln(p + ".ln2");
    d.cross = attn(p + ".cross");
    d.ln3 = ln(p + ".ln3");
    d.ffn = ffn(p);
    a.dec_index.push_back(d);
  }
  {
    const LnIndex d = ln("dec.ln");
    a.dec_ln_scale = d.scale, a.dec_ln_bias = d.bias;
  }
  a.out_W = add("out.W", {M, c.tgt_vocab});
  a.out_b = add("out.b", {c.tgt_vocab});
  params_.assign(at, 0.0f);
  grads_.assign(at, 0.0f);
  adam_m_.assign(at, 0.0f);
  adam_v_.assign(at, 0.0f);
  positions_.assign(size_t(c.max_len) * M, 0.0f);
  positional_encoding_f32(positions_.data(), c.max_len, M);
  step_ = 0;
}

namespace {

std::string check_config(const Seq2SeqConfig& c) {
  auto bad = [](const char* what, int v, const char* rule) {
    return std::string("seq2seq: ") + what + " is " + std::to_string(v) + ", " + rule;
  };
  if (c.src_vocab < 1 || c.src_vocab > 1 << 20) return bad("srcVocab", c.src_vocab, "not in [1, 2^20]");
  if (c.tgt_vocab < 3 || c.tgt_vocab > 1 << 20) return bad("tgtVocab", c.tgt_vocab, "not in [3, 2^20]");
  if (c.d_model < 1 || c.d_model > 1024) return bad("dModel", c.d_model, "not in [1, 1024]");
  if (c.heads < 1 || c.d_model % c.heads != 0) return bad("heads", c.heads, "does not divide dModel");
  if (c.d_ff < 1 || c.d_ff > 8192) return bad("dFF", c.d_ff, "not in [1, 8192]");
  if (c.encoder_layers < 1 || c.encoder_layers > 16) return bad("encoderLayers", c.encoder_layers, "not in [1, 16]");
  if (c.decoder_layers < 1 || c.decoder_layers > 16) return bad("decoderLayers", c.decoder_layers, "not in [1, 16]");
  if (c.max_len < 2 || c.max_len > 512) return bad("maxLen", c.max_len, "not in [2, 512]");
  if (c.da < 0 || c.da > 1024) return bad("da", c.da, "not in [0, 1024]");
  if (c.bos < 0 || c.bos >= c.tgt_vocab) return bad("bos", c.bos, "not a target id");
  if (c.eos < 0 || c.eos >= c.tgt_vocab) return bad("eos", c.eos, "not a target id");
  if (int(c.score) < 0 || int(c.score) > 3) return bad("score", int(c.score), "not a score function");
  return "";
}

}  // namespace

bool Seq2SeqModel::init(const Seq2SeqConfig& config, std::string* error) {
  const std::string bad = check_config(config);
  if (!bad.empty()) {
    *error = bad;
    return false;
  }
  config_ = config;
  metadata_.clear();
  build_tensors();
  Random random(config.seed);
  for (const Seq2SeqTensor& t : tensors_) {
    float* p = params_.data() + t.offset;
    const bool embedding = t.name == "src_embed" || t.name == "tgt_embed";
    const bool norm_scale = t.name.size() > 6 && t.name.compare(t.name.size() - 6, 6, ".scale") == 0;
    if (embedding) {  // std 1/sqrt(M): times sqrt(M) in the forward, unit scale like the positional code
      const float a = std::sqrt(3.0f / float(config.d_model));
      for (size_t i = 0; i < t.count; ++i) p[i] = random.uniform(a);
    } else if (t.matrix) {  // Xavier uniform
      const float a = std::sqrt(6.0f / float(t.shape[0] + t.shape[1]));
      for (size_t i = 0; i < t.count; ++i) p[i] = random.uniform(a);
    } else if (norm_scale) {
      std::fill(p, p + t.count, 1.0f);
    } else if (t.name.size() > 8 && t.name.compare(t.name.size() - 8, 8, ".score.v") == 0) {
      const float a = std::sqrt(3.0f / float(t.count));
      for (size_t i = 0; i < t.count; ++i) p[i] = random.uniform(a);
    }  // biases stay 0
  }
  return true;
}

// ---- safetensors ------------------------------------------------------------------------------------------

std::vector<uint8_t> Seq2SeqModel::save(const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> meta = extra;
  const Seq2SeqConfig& c = config_;
  meta["format"] = "attn-seq2seq-1";
  meta["src_vocab"] = std::to_string(c.src_vocab);
  meta["tgt_vocab"] = std::to_string(c.tgt_vocab);
  meta["d_model"] = std::to_string(c.d_model);
  meta["heads"] = std::to_string(c.heads);
  meta["d_ff"] = std::to_string(c.d_ff);
  meta["encoder_layers"] = std::to_string(c.encoder_layers);
  meta["decoder_layers"] = std::to_string(c.decoder_layers);
  meta["max_len"] = std::to_string(c.max_len);
  meta["score"] = score_name(c.score);
  meta["da"] = std::to_string(c.da);
  meta["bos"] = std::to_string(c.bos);
  meta["eos"] = std::to_string(c.eos);
  meta["seed"] = std::to_string(c.seed);
  meta["steps"] = std::to_string(step_);
  std::string header = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [k, v] : meta) {
    header += (first ? "\"" : ",\"") + json_escape(k) + "\":\"" + json_escape(v) + "\"";
    first = false;
  }
  header += "}";
  for (const Seq2SeqTensor& t : tensors_) {
    header += ",\"" + t.name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(4 * t.offset) + "," + std::to_string(4 * (t.offset + t.count)) + "]}";
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::vector<uint8_t> out(8 + header.size() + 4 * params_.size());
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!params_.empty()) std::memcpy(out.data() + 8 + header.size(), params_.data(), 4 * params_.size());  // little-endian
  return out;
}

bool Seq2SeqModel::load(const uint8_t* data, size_t size, std::string* error) {
  SafeTensors file;
  if (!SafeTensors::parse(data, size, &file, error)) return false;
  const auto& meta = file.metadata();
  auto it = meta.find("format");
  if (it == meta.end() || it->second != "attn-seq2seq-1") {
    *error = "seq2seq: the file is not an encoder-decoder of this engine (its __metadata__ has no format "
             "'attn-seq2seq-1')";
    return false;
  }
  Seq2SeqConfig c;
  struct IntField {
    const char* key;
    int* field;
  } ints[] = {{"src_vocab", &c.src_vocab}, {"tgt_vocab", &c.tgt_vocab}, {"d_model", &c.d_model},
              {"heads", &c.heads}, {"d_ff", &c.d_ff}, {"encoder_layers", &c.encoder_layers},
              {"decoder_layers", &c.decoder_layers}, {"max_len", &c.max_len}, {"da", &c.da},
              {"bos", &c.bos}, {"eos", &c.eos}};
  for (const auto& f : ints) {
    auto m = meta.find(f.key);
    char* end = nullptr;
    const long v = m == meta.end() ? 0 : std::strtol(m->second.c_str(), &end, 10);
    if (m == meta.end() || end == m->second.c_str() || *end != '\0' || v < 0 || v > (1 << 20)) {
      *error = std::string("seq2seq: __metadata__.") + f.key + " is missing or not an integer in [0, 2^20]";
      return false;
    }
    *f.field = int(v);
  }
  auto s = meta.find("score");
  if (s == meta.end() || !score_from_name(s->second, &c.score)) {
    *error = "seq2seq: __metadata__.score is missing or not one of dot, scaled_dot, general, additive";
    return false;
  }
  const std::string bad = check_config(c);
  if (!bad.empty()) {
    *error = bad;
    return false;
  }
  config_ = c;
  build_tensors();
  if (file.tensors().size() != tensors_.size()) {
    *error = "seq2seq: the file has " + std::to_string(file.tensors().size()) + " tensors but this configuration has " +
             std::to_string(tensors_.size());
    return false;
  }
  std::vector<float> values;
  for (const Seq2SeqTensor& t : tensors_) {
    if (!file.read_f32(t.name, t.shape, &values, error)) return false;
    std::copy(values.begin(), values.end(), params_.begin() + t.offset);
  }
  metadata_ = meta;
  auto steps = meta.find("steps");
  step_ = steps == meta.end() ? 0 : std::atoi(steps->second.c_str());
  return true;
}

// ---- forward ----------------------------------------------------------------------------------------------

std::string Seq2SeqModel::check_batch(const Seq2SeqBatch& b) const {
  const Seq2SeqConfig& c = config_;
  if (b.src_lens.empty()) return "seq2seq: the batch has no sentences";
  if (b.src_lens.size() != b.tgt_lens.size()) {
    return "seq2seq: srcLengths has " + std::to_string(b.src_lens.size()) + " sentences but tgtLengths " +
           std::to_string(b.tgt_lens.size());
  }
  size_t ns = 0, nt = 0;
  for (size_t i = 0; i < b.src_lens.size(); ++i) {
    if (b.src_lens[i] < 1 || b.src_lens[i] > c.max_len) {
      return "seq2seq: sentence " + std::to_string(i) + " has " + std::to_string(b.src_lens[i]) +
             " source tokens, not in [1, " + std::to_string(c.max_len) + "]";
    }
    if (b.tgt_lens[i] < 0 || b.tgt_lens[i] + 1 > c.max_len) {
      return "seq2seq: sentence " + std::to_string(i) + " has " + std::to_string(b.tgt_lens[i]) +
             " target tokens, not in [0, " + std::to_string(c.max_len - 1) + "]";
    }
    ns += size_t(b.src_lens[i]);
    nt += size_t(b.tgt_lens[i]);
  }
  if (ns != b.src.size()) {
    return "seq2seq: src has " + std::to_string(b.src.size()) + " ids but srcLengths add up to " + std::to_string(ns);
  }
  if (nt != b.tgt.size()) {
    return "seq2seq: tgt has " + std::to_string(b.tgt.size()) + " ids but tgtLengths add up to " + std::to_string(nt);
  }
  for (size_t i = 0; i < b.src.size(); ++i)
    if (b.src[i] < 0 || b.src[i] >= c.src_vocab) {
      return "seq2seq: src[" + std::to_string(i) + "] = " + std::to_string(b.src[i]) + " is not in [0, " +
             std::to_string(c.src_vocab) + ")";
    }
  for (size_t i = 0; i < b.tgt.size(); ++i)
    if (b.tgt[i] < 0 || b.tgt[i] >= c.tgt_vocab) {
      return "seq2seq: tgt[" + std::to_string(i) + "] = " + std::to_string(b.tgt[i]) + " is not in [0, " +
             std::to_string(c.tgt_vocab) + ")";
    }
  return "";
}

namespace {

void resize_ln(LnActs& ln, int t, int m) {
  ln.out.resize(size_t(t) * m);
  ln.mean.resize(t);
  ln.rstd.resize(t);
}

// x0 [T][M] = sqrt(M) table[ids] + PE[pos].
void embed(float* x0, const int32_t* ids, const int32_t* pos, const float* table, const float* pe, int t, int vocab,
           int m, Variant variant) {
  embedding_forward_f32(x0, ids, table, t, vocab, m, variant);
  const float scale = std::sqrt(float(m));
  for (int r = 0; r < t; ++r)
    for (int j = 0; j < m; ++j) x0[size_t(r) * m + j] = scale * x0[size_t(r) * m + j] + pe[size_t(pos[r]) * m + j];
}

}  // namespace

// Pointers of one multi-head block into a flat buffer (params or grads).
static MultiHeadParams mh_params(const AttnIndex& a, const std::vector<Seq2SeqTensor>& ts, const float* base) {
  MultiHeadParams p;
  p.q = {base + ts[a.qW].offset, base + ts[a.qb].offset};
  p.k = {base + ts[a.kW].offset, base + ts[a.kb].offset};
  p.v = {base + ts[a.vW].offset, base + ts[a.vb].offset};
  p.o = {base + ts[a.oW].offset, base + ts[a.ob].offset};
  return p;
}
static MultiHeadGrads mh_grads(const AttnIndex& a, const std::vector<Seq2SeqTensor>& ts, float* base) {
  MultiHeadGrads g;
  g.q = {base + ts[a.qW].offset, base + ts[a.qb].offset};
  g.k = {base + ts[a.kW].offset, base + ts[a.kb].offset};
  g.v = {base + ts[a.vW].offset, base + ts[a.vb].offset};
  g.o = {base + ts[a.oW].offset, base + ts[a.ob].offset};
  return g;
}
static ScoreParams score_params(const AttnIndex& a, const std::vector<Seq2SeqTensor>& ts, const float* base,
                                const Seq2SeqConfig& c) {
  ScoreParams s;
  s.score = c.score;
  if (a.sW >= 0) s.W = base + ts[a.sW].offset;
  if (a.sWq >= 0) {
    s.Wq = base + ts[a.sWq].offset, s.Wk = base + ts[a.sWk].offset, s.v = base + ts[a.sv].offset;
    s.da = int(ts[a.sv].count);
  }
  return s;
}
static ScoreGrads score_grads(const AttnIndex& a, const std::vector<Seq2SeqTensor>& ts, float* base) {
  ScoreGrads s;
  if (a.sW >= 0) s.dW = base + ts[a.sW].offset;
  if (a.sWq >= 0) s.dWq = base + ts[a.sWq].offset, s.dWk = base + ts[a.sWk].offset, s.dv = base + ts[a.sv].offset;
  return s;
}

// The attention blocks run sentence by sentence (each sentence's attention is far below the pool's threshold,
// kParallelMinMacs, on its own), so with the optimized variant on P > 1 threads a block hands each thread a fixed
// range of sentences: min(P, B) parts.
static int sentence_parts(size_t sentences, Variant variant) {
  const int threads = variant == Variant::kOptimized ? thread_count() : 1;
  return int(std::max<size_t>(1, std::min<size_t>(size_t(threads), sentences)));
}
static size_t sentence_split(size_t sentences, int parts, int part) { return sentences * size_t(part) / size_t(parts); }

// body(part, grads) for part in [0, parts) on the pool, where grads[i] stands for shared[i] = { pointer, floats }
// (a gradient buffer the parts all accumulate into, += ; null stays null): part 0 gets the buffers themselves,
// parts 1.. private zeroed copies that are added to them afterwards in part order, so a result depends on the
// number of parts but not on the scheduling. parts == 1 is body(0, the buffers) on the calling thread.
template <typename Body>
static void accumulate_in_parts(int parts, const std::vector<std::pair<float*, size_t>>& shared, Body&& body) {
  const size_t count = shared.size();
  if (parts <= 1) {
    std::vector<float*> own(count);
    for (size_t i = 0; i < count; ++i) own[i] = shared[i].first;
    body(0, own.data());
    return;
  }
  size_t per_part = 0;
  for (const auto& [ptr, n] : shared) per_part += ptr ? n : 0;
  std::vector<float> scratch(per_part * size_t(parts - 1), 0.0f);
  std::vector<float*> slots(count * size_t(parts));
  for (int part = 0; part < parts; ++part) {
    float* at = part == 0 ? nullptr : scratch.data() + per_part * size_t(part - 1);
    for (size_t i = 0; i < count; ++i) {
      if (part == 0 || !shared[i].first) {
        slots[size_t(part) * count + i] = shared[i].first;
        continue;
      }
      slots[size_t(part) * count + i] = at;
      at += shared[i].second;
    }
  }
  parallel_for(parts, [&](int part) { body(part, slots.data() + size_t(part) * count); });
  for (int part = 1; part < parts; ++part) {  // in part order
    const float* from = scratch.data() + per_part * size_t(part - 1);
    for (const auto& [ptr, n] : shared) {
      if (!ptr) continue;
      for (size_t e = 0; e < n; ++e) ptr[e] += from[e];
      from += n;
    }
  }
}

// The feed-forward block is row by row: on P threads (optimized variant, at least kRowParallelMacs multiply-adds)
// its rows split into P ranges (multiples of 4 rows).
constexpr double kRowParallelMacs = double(1 << 17);
static int row_parts(int t, int m, int ff, Variant variant) {
  const int threads = variant == Variant::kOptimized ? thread_count() : 1;
  if (threads <= 1 || double(t) * m * ff < kRowParallelMacs) return 1;
  return std::max(1, std::min(threads, t / 4));
}

// The multi-head block over every sentence: q rows of sentence b at q_at[b] (q_len[b] of them), context rows at
// c_at[b] (c_len[b]). Training saves for the backward; inference with keep_weights keeps [H][nq][nk] per sentence.
static bool attention_block(AttnActs& acts, const float* x, const float* context, const std::vector<int32_t>& q_at,
                            const std::vector<int32_t>& q_len, const std::vector<int32_t>& c_at,
                            const std::vector<int32_t>& c_len, const MultiHeadParams& p, const ScoreParams& s,
                            MaskKind mask_kind, int m, int heads, Variant variant, bool train, bool keep_weights) {
  const size_t B = q_at.size();
  MaskParams mask;
  mask.kind = mask_kind;
  if (train) {
    acts.saved_at.resize(B);
    size_t total = 0;
    for (size_t b = 0; b < B; ++b) {
      acts.saved_at[b] = total;
      total += multi_head_saved_size(q_len[b], c_len[b], m, heads);
    }
    acts.saved.resize(total);
  }
  acts.weights.resize(keep_weights ? B : 0);
  // Sentence by sentence; on P threads (optimized variant) each thread takes a fixed range of sentences (each
  // writes its own rows of out, saved and weights, so the result does not depend on the thread count).
  auto sentence = [&](size_t b) {
    float* out = acts.out.data() + size_t(q_at[b]) * m;
    const float* xb = x + size_t(q_at[b]) * m;
    const float* cb = context + size_t(c_at[b]) * m;
    if (train) {
      return multi_head_attention_forward_f32(out, acts.saved.data() + acts.saved_at[b], xb, cb, p, s, mask, q_len[b],
                                              c_len[b], m, heads, variant);
    }
    float* w = nullptr;
    if (keep_weights) {
      acts.weights[b].assign(size_t(heads) * q_len[b] * c_len[b], 0.0f);
      w = acts.weights[b].data();
    }
    return multi_head_attention_f32(out, w, xb, cb, p, s, mask, q_len[b], c_len[b], m, heads, variant);
  };
  const int parts = sentence_parts(B, variant);
  std::vector<char> part_ok(parts, 1);
  parallel_for(parts, [&](int part) {
    for (size_t b = sentence_split(B, parts, part); b < sentence_split(B, parts, part + 1); ++b)
      part_ok[part] = sentence(b) && part_ok[part];
  });
  return std::all_of(part_ok.begin(), part_ok.end(), [](char c) { return c != 0; });
}

// out [T][M] = x + FFN(LN x), saving into f.
static void ffn_block(float* out, FfnActs& f, const float* x, const float* W1, const float* b1, const float* W2,
                      const float* b2, const float* scale, const float* bias, int t, int m, int ff, Variant variant) {
  resize_ln(f.ln, t, m);
  f.pre.resize(size_t(t) * ff);
  f.act.resize(size_t(t) * ff);
  f.out.resize(size_t(t) * m);
  const int parts = row_parts(t, m, ff, variant);
  parallel_for(parts, [&](int part) {  // rows r0..r1 (all of them on one thread)
    const int r0 = split_point(t, parts, part, 4), r1 = split_point(t, parts, part + 1, 4), n = r1 - r0;
    if (n <= 0) return;
    const size_t xm = size_t(r0) * m, xf = size_t(r0) * ff;
    layer_norm_forward_f32(f.ln.out.data() + xm, f.ln.mean.data() + r0, f.ln.rstd.data() + r0, x + xm, scale, bias,
                           kLayerNormEps, n, m, variant);
    dense_forward_f32(f.pre.data() + xf, f.ln.out.data() + xm, W1, b1, n, m, ff, variant);
    gelu_forward_f32(f.act.data() + xf, f.pre.data() + xf, n * ff, variant);
    dense_forward_f32(f.out.data() + xm, f.act.data() + xf, W2, b2, n, ff, m, variant);
    residual_forward_f32(out + xm, x + xm, f.out.data() + xm, n * m, variant);
  });
}

// pass 1: layout (offsets, decoder inputs <bos> t.., targets t.. <eos>, positions)
// pass 2: encoder layers, final norm;  pass 3: decoder layers, final norm, logits
// pass 4: cross-entropy (train or loss) -> the mean loss
double Seq2SeqModel::forward(const Seq2SeqBatch& batch, Variant variant, bool train, bool keep_weights) {
  Activations& a = *acts_;
  const Seq2SeqConfig& c = config_;
  const int M = c.d_model, H = c.heads, F = c.d_ff, V = c.tgt_vocab;
  const float* P = params_.data();
  auto at = [&](int index) { return P + tensors_[index].offset; };
  // pass 1
  const size_t B = batch.src_lens.size();
  a.src_at.resize(B), a.dec_at.resize(B), a.dec_len.resize(B);
  a.src_pos.clear(), a.dec_ids.clear(), a.targets.clear(), a.dec_pos.clear();
  int ts = 0, tt = 0, tgt_at = 0;
  for (size_t b = 0; b < B; ++b) {
    a.src_at[b] = ts, a.dec_at[b] = tt;
    const int n = batch.src_lens[b], k = batch.tgt_lens[b];
    for (int i = 0; i < n; ++i) a.src_pos.push_back(i);
    a.dec_ids.push_back(c.bos);
    for (int i = 0; i < k; ++i) a.dec_ids.push_back(batch.tgt[tgt_at + i]);
    for (int i = 0; i < k; ++i) a.targets.push_back(batch.tgt[tgt_at + i]);
    a.targets.push_back(c.eos);
    for (int i = 0; i <= k; ++i) a.dec_pos.push_back(i);
    a.dec_len[b] = k + 1;
    ts += n, tt += k + 1, tgt_at += k;
  }
  a.ts = ts, a.tt = tt;
  bool ok = true;  // false when an attention call could not allocate its scratch
  // pass 2
  a.enc.resize(c.encoder_layers);
  std::vector<float> x(size_t(ts) * M);
  embed(x.data(), batch.src.data(), a.src_pos.data(), at(a.src_embed), positions_.data(), ts, c.src_vocab, M, variant);
  for (int l = 0; l < c.encoder_layers; ++l) {
    const EncIndex& e = a.enc_index[l];
    EncActs& L = a.enc[l];
    L.x = x;
    resize_ln(L.self.ln, ts, M);
    L.self.out.resize(size_t(ts) * M);
    layer_norm_forward_f32(L.self.ln.out.data(), L.self.ln.mean.data(), L.self.ln.rstd.data(), L.x.data(),
                           at(e.ln1.scale), at(e.ln1.bias), kLayerNormEps, ts, M, variant);
    ok = attention_block(L.self, L.self.ln.out.data(), L.self.ln.out.data(), a.src_at, batch.src_lens, a.src_at,
                    batch.src_lens, mh_params(e.self, tensors_, P), score_params(e.self, tensors_, P, c),
                    MaskKind::kNone, M, H, variant, train, keep_weights) && ok;
    L.x1.resize(size_t(ts) * M);
    residual_forward_f32(L.x1.data(), L.x.data(), L.self.out.data(), ts * M, variant);
    ffn_block(x.data(), L.ffn, L.x1.data(), at(e.ffn.W1), at(e.ffn.b1), at(e.ffn.W2), at(e.ffn.b2), at(e.ln2.scale),
              at(e.ln2.bias), ts, M, F, variant);
  }
  a.enc_x_last = x;
  resize_ln(a.enc_ln, ts, M);
  layer_norm_forward_f32(a.enc_ln.out.data(), a.enc_ln.mean.data(), a.enc_ln.rstd.data(), a.enc_x_last.data(),
                         at(a.enc_ln_scale), at(a.enc_ln_bias), kLayerNormEps, ts, M, variant);
  // pass 3
  a.dec.resize(c.decoder_layers);
  std::vector<float> y(size_t(tt) * M);
  embed(y.data(), a.dec_ids.data(), a.dec_pos.data(), at(a.tgt_embed), positions_.data(), tt, V, M, variant);
  for (int l = 0; l < c.decoder_layers; ++l) {
    const DecIndex& d = a.dec_index[l];
    DecActs& L = a.dec[l];
    L.y = y;
    resize_ln(L.self.ln, tt, M);
    L.self.out.resize(size_t(tt) * M);
    layer_norm_forward_f32(L.self.ln.out.data(), L.self.ln.mean.data(), L.self.ln.rstd.data(), L.y.data(),
                           at(d.ln1.scale), at(d.ln1.bias), kLayerNormEps, tt, M, variant);
    ok = attention_block(L.self, L.self.ln.out.data(), L.self.ln.out.data(), a.dec_at, a.dec_len, a.dec_at, a.dec_len,
                    mh_params(d.self, tensors_, P), score_params(d.self, tensors_, P, c), MaskKind::kCausal, M, H,
                    variant, train, keep_weights) && ok;
    L.y1.resize(size_t(tt) * M);
    residual_forward_f32(L.y1.data(), L.y.data(), L.self.out.data(), tt * M, variant);
    resize_ln(L.cross.ln, tt, M);
    L.cross.out.resize(size_t(tt) * M);
    layer_norm_forward_f32(L.cross.ln.out.data(), L.cross.ln.mean.data(), L.cross.ln.rstd.data(), L.y1.data(),
                           at(d.ln2.scale), at(d.ln2.bias), kLayerNormEps, tt, M, variant);
    ok = attention_block(L.cross, L.cross.ln.out.data(), a.enc_ln.out.data(), a.dec_at, a.dec_len, a.src_at,
                    batch.src_lens, mh_params(d.cross, tensors_, P), score_params(d.cross, tensors_, P, c),
                    MaskKind::kNone, M, H, variant, train, keep_weights) && ok;
    L.y2.resize(size_t(tt) * M);
    residual_forward_f32(L.y2.data(), L.y1.data(), L.cross.out.data(), tt * M, variant);
    ffn_block(y.data(), L.ffn, L.y2.data(), at(d.ffn.W1), at(d.ffn.b1), at(d.ffn.W2), at(d.ffn.b2), at(d.ln3.scale),
              at(d.ln3.bias), tt, M, F, variant);
  }
  a.dec_y_last = y;
  resize_ln(a.dec_ln, tt, M);
  layer_norm_forward_f32(a.dec_ln.out.data(), a.dec_ln.mean.data(), a.dec_ln.rstd.data(), a.dec_y_last.data(),
                         at(a.dec_ln_scale), at(a.dec_ln_bias), kLayerNormEps, tt, M, variant);
  a.logits.resize(size_t(tt) * V);
  dense_forward_f32(a.logits.data(), a.dec_ln.out.data(), at(a.out_W), at(a.out_b), tt, M, V, variant);
  // pass 4
  a.ce_max.resize(tt), a.ce_sum.resize(tt), a.losses.resize(tt);
  cross_entropy_forward_f32(a.losses.data(), a.ce_max.data(), a.ce_sum.data(), a.logits.data(), a.targets.data(), tt,
                            V, kNoIgnore, variant);
  // The mean of the rows' losses in double (no row is ignored): finer than the op's float mean, which the
  // gradient check's central differences need.
  double sum = 0;
  for (float l : a.losses) sum += l;
  return ok ? sum / tt : NAN;
}

double Seq2SeqModel::loss(const Seq2SeqBatch& batch, Variant variant) {
  assert(check_batch(batch).empty());
  return forward(batch, variant, false, false);
}

// ---- backward ---------------------------------------------------------------------------------------------

namespace {

// Through x_out = x + branch(LN x): given dout [T][M] (d x_out), dx = dout + d(LN x) via the branch's d(LN out).
// residual_backward seeds dx and dbranch with dout; the branch backward then accumulates into dln; the layer
// norm's backward accumulates into dx.
void ln_backward(float* dx, float* dscale, float* dbias, const float* dln, const float* x, const LnActs& ln,
                 const float* scale, int t, int m, Variant variant) {
  layer_norm_backward_f32(dx, dscale, dbias, dln, x, ln.mean.data(), ln.rstd.data(), scale, t, m, variant);
}

}  // namespace

// False when a sentence's multi-head backward could not allocate its scratch.
static bool attention_block_backward(float* dx, float* dcontext, const AttnActs& acts, const float* dout,
                                     const float* x, const float* context, const std::vector<int32_t>& q_at,
                                     const std::vector<int32_t>& q_len, const std::vector<int32_t>& c_at,
                                     const std::vector<int32_t>& c_len, const MultiHeadParams& p,
                                     const MultiHeadGrads& dp, const ScoreParams& s, const ScoreGrads& ds,
                                     MaskKind mask_kind, int m, int heads, Variant variant) {
  MaskParams mask;
  mask.kind = mask_kind;
  const size_t B = q_at.size();
  std::atomic<bool> ok{true};  // the parts may run on the engine's threads
  auto range = [&](const MultiHeadGrads& g, const ScoreGrads& gs, size_t b0, size_t b1) {
    for (size_t b = b0; b < b1 && ok.load(std::memory_order_relaxed); ++b) {
      const size_t q0 = size_t(q_at[b]) * m, c0 = size_t(c_at[b]) * m;
      if (!multi_head_attention_backward_f32(dx + q0, dcontext + c0, g, gs, dout + q0,
                                             acts.saved.data() + acts.saved_at[b], x + q0, context + c0, p, s, mask,
                                             q_len[b], c_len[b], m, heads, variant))
        ok.store(false, std::memory_order_relaxed);
    }
  };
  const int parts = sentence_parts(B, variant);
  // A sentence's dx/dcontext rows are its own; the block's parameter gradients are shared by all sentences.
  const size_t mm = size_t(m) * m, dh = size_t(m / heads), da = size_t(s.da);
  std::vector<std::pair<float*, size_t>> shared;
  for (const DenseGrads* d : {&dp.q, &dp.k, &dp.v, &dp.o}) shared.push_back({d->dW, mm}), shared.push_back({d->db, size_t(m)});
  shared.push_back({ds.dW, dh * dh});
  shared.push_back({ds.dWq, da * dh});
  shared.push_back({ds.dWk, da * dh});
  shared.push_back({ds.dv, da});
  accumulate_in_parts(parts, shared, [&](int part, float* const* g) {
    MultiHeadGrads gp;
    DenseGrads* dense[4] = {&gp.q, &gp.k, &gp.v, &gp.o};
    for (int i = 0; i < 4; ++i) dense[i]->dW = g[2 * i], dense[i]->db = g[2 * i + 1];
    ScoreGrads gs;
    gs.dW = g[8], gs.dWq = g[9], gs.dWk = g[10], gs.dv = g[11];
    range(gp, gs, sentence_split(B, parts, part), sentence_split(B, parts, part + 1));
  });
  return ok.load();
}

// d x_in from d x_out through x_out = x_in + FFN(LN x_in) (the FFN's parameter gradients accumulated).
static void ffn_block_backward(float* dx_in, const float* dout, const FfnActs& f, const float* x_in, const float* W1,
                               const float* W2, const float* scale, float* dW1, float* db1, float* dW2, float* db2,
                               float* dscale, float* dbias, int t, int m, int ff, Variant variant) {
  std::vector<float> dbranch(size_t(t) * m, 0.0f), dact(size_t(t) * ff, 0.0f), dpre(size_t(t) * ff, 0.0f),
      dln(size_t(t) * m, 0.0f);
  std::fill(dx_in, dx_in + size_t(t) * m, 0.0f);
  // Rows r0..r1 per part; the six parameter gradients are shared by all rows.
  const int parts = row_parts(t, m, ff, variant);
  const std::vector<std::pair<float*, size_t>> shared = {
      {dW2, size_t(ff) * m}, {db2, size_t(m)}, {dW1, size_t(m) * ff}, {db1, size_t(ff)}, {dscale, size_t(m)}, {dbias, size_t(m)}};
  accumulate_in_parts(parts, shared, [&](int part, float* const* g) {
    const int r0 = split_point(t, parts, part, 4), r1 = split_point(t, parts, part + 1, 4), n = r1 - r0;
    if (n <= 0) return;
    const size_t xm = size_t(r0) * m, xf = size_t(r0) * ff;
    residual_backward_f32(dx_in + xm, dbranch.data() + xm, dout + xm, n * m, variant);
    dense_backward_f32(dact.data() + xf, g[0], g[1], dbranch.data() + xm, f.act.data() + xf, W2, n, ff, m, variant);
    gelu_backward_f32(dpre.data() + xf, dact.data() + xf, f.pre.data() + xf, n * ff, variant);
    dense_backward_f32(dln.data() + xm, g[2], g[3], dpre.data() + xf, f.ln.out.data() + xm, W1, n, m, ff, variant);
    layer_norm_backward_f32(dx_in + xm, g[4], g[5], dln.data() + xm, x_in + xm, f.ln.mean.data() + r0,
                            f.ln.rstd.data() + r0, scale, n, m, variant);
  });
}

// The forward's passes in reverse: loss -> logits -> decoder (layers L-1..0) -> d enc (accumulated by every
// cross-attention) -> encoder (layers L-1..0) -> embeddings.
bool Seq2SeqModel::backward(const Seq2SeqBatch& batch, Variant variant) {
  Activations& a = *acts_;
  const Seq2SeqConfig& c = config_;
  const int M = c.d_model, H = c.heads, F = c.d_ff, V = c.tgt_vocab, ts = a.ts, tt = a.tt;
  const float* P = params_.data();
  float* G = grads_.data();
  auto at = [&](int index) { return P + tensors_[index].offset; };
  auto grad = [&](int index) { return G + tensors_[index].offset; };
  const size_t TM = size_t(tt) * M, SM = size_t(ts) * M;

  std::vector<float> dlogits(size_t(tt) * V, 0.0f);
  cross_entropy_backward_f32(dlogits.data(), 1.0f, a.logits.data(), a.ce_max.data(), a.ce_sum.data(), a.targets.data(),
                             tt, V, kNoIgnore, variant);
  std::vector<float> dln(TM, 0.0f), dy(TM, 0.0f);
  dense_backward_f32(dln.data(), grad(a.out_W), grad(a.out_b), dlogits.data(), a.dec_ln.out.data(), at(a.out_W), tt, M, V,
                     variant);
  ln_backward(dy.data(), grad(a.dec_ln_scale), grad(a.dec_ln_bias), dln.data(), a.dec_y_last.data(), a.dec_ln,
              at(a.dec_ln_scale), tt, M, variant);

  std::vector<float> denc(SM, 0.0f), dtmp(TM), dbranch(TM), dlnq(TM);
  for (int l = c.decoder_layers - 1; l >= 0; --l) {
    const DecIndex& d = a.dec_index[l];
    const DecActs& L = a.dec[l];
    // FFN: dy (d y3) -> d y2
    ffn_block_backward(dtmp.data(), dy.data(), L.ffn, L.y2.data(), at(d.ffn.W1), at(d.ffn.W2), at(d.ln3.scale),
                       grad(d.ffn.W1), grad(d.ffn.b1), grad(d.ffn.W2), grad(d.ffn.b2), grad(d.ln3.scale),
                       grad(d.ln3.bias), tt, M, F, variant);
    // cross-attention: d y2 -> d y1 (and d enc)
    std::fill(dy.begin(), dy.end(), 0.0f);
    std::fill(dbranch.begin(), dbranch.end(), 0.0f);
    residual_backward_f32(dy.data(), dbranch.data(), dtmp.data(), tt * M, variant);
    std::fill(dlnq.begin(), dlnq.end(), 0.0f);
    if (!attention_block_backward(dlnq.data(), denc.data(), L.cross, dbranch.data(), L.cross.ln.out.data(),
                                 a.enc_ln.out.data(), a.dec_at, a.dec_len, a.src_at, batch.src_lens,
                                 mh_params(d.cross, tensors_, P), mh_grads(d.cross, tensors_, G),
                                 score_params(d.cross, tensors_, P, c), score_grads(d.cross, tensors_, G),
                                 MaskKind::kNone, M, H, variant))
      return false;
    ln_backward(dy.data(), grad(d.ln2.scale), grad(d.ln2.bias), dlnq.data(), L.y1.data(), L.cross.ln, at(d.ln2.scale), tt,
                M, variant);
    // causal self-attention: d y1 -> d y (the layer's input); dx and dcontext are the same buffer
    std::swap(dy, dtmp);
    std::fill(dy.begin(), dy.end(), 0.0f);
    std::fill(dbranch.begin(), dbranch.end(), 0.0f);
    residual_backward_f32(dy.data(), dbranch.data(), dtmp.data(), tt * M, variant);
    std::fill(dlnq.begin(), dlnq.end(), 0.0f);
    if (!attention_block_backward(dlnq.data(), dlnq.data(), L.self, dbranch.data(), L.self.ln.out.data(),
                                 L.self.ln.out.data(), a.dec_at, a.dec_len, a.dec_at, a.dec_len,
                                 mh_params(d.self, tensors_, P), mh_grads(d.self, tensors_, G),
                                 score_params(d.self, tensors_, P, c), score_grads(d.self, tensors_, G),
                                 MaskKind::kCausal, M, H, variant))
      return false;
    ln_backward(dy.data(), grad(d.ln1.scale), grad(d.ln1.bias), dlnq.data(), L.y.data(), L.self.ln, at(d.ln1.scale), tt,
                M, variant);
  }
  // target embeddings: y0 = sqrt(M) E[ids] + PE
  const float scale = std::sqrt(float(M));
  for (float& g : dy) g *= scale;
  embedding_backward_f32(grad(a.tgt_embed), dy.data(), a.dec_ids.data(), tt, V, M, variant);

  // encoder
  std::vector<float> dx(SM, 0.0f), sx(SM), sbranch(SM), slnq(SM);
  ln_backward(dx.data(), grad(a.enc_ln_scale), grad(a.enc_ln_bias), denc.data(), a.enc_x_last.data(), a.enc_ln,
              at(a.enc_ln_scale), ts, M, variant);
  for (int l = c.encoder_layers - 1; l >= 0; --l) {
    const EncIndex& e = a.enc_index[l];
    const EncActs& L = a.enc[l];
    ffn_block_backward(sx.data(), dx.data(), L.ffn, L.x1.data(), at(e.ffn.W1), at(e.ffn.W2), at(e.ln2.scale),
                       grad(e.ffn.W1), grad(e.ffn.b1), grad(e.ffn.W2), grad(e.ffn.b2), grad(e.ln2.scale),
                       grad(e.ln2.bias), ts, M, F, variant);
    std::fill(dx.begin(), dx.end(), 0.0f);
    std::fill(sbranch.begin(), sbranch.end(), 0.0f);
    residual_backward_f32(dx.data(), sbranch.data(), sx.data(), ts * M, variant);
    std::fill(slnq.begin(), slnq.end(), 0.0f);
    if (!attention_block_backward(slnq.data(), slnq.data(), L.self, sbranch.data(), L.self.ln.out.data(),
                                 L.self.ln.out.data(), a.src_at, batch.src_lens, a.src_at, batch.src_lens,
                                 mh_params(e.self, tensors_, P), mh_grads(e.self, tensors_, G),
                                 score_params(e.self, tensors_, P, c), score_grads(e.self, tensors_, G),
                                 MaskKind::kNone, M, H, variant))
      return false;
    ln_backward(dx.data(), grad(e.ln1.scale), grad(e.ln1.bias), slnq.data(), L.x.data(), L.self.ln, at(e.ln1.scale), ts,
                M, variant);
  }
  for (float& g : dx) g *= scale;
  embedding_backward_f32(grad(a.src_embed), dx.data(), batch.src.data(), ts, c.src_vocab, M, variant);
  return true;
}

float Seq2SeqModel::forward_backward(const Seq2SeqBatch& batch, Variant variant) {
  assert(check_batch(batch).empty());
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  const float loss = float(forward(batch, variant, true, false));
  if (std::isnan(loss)) return loss;  // no scratch for attention: no gradient
  if (!backward(batch, variant)) return NAN;  // likewise in the backward: no update
  return loss;
}

Seq2SeqStep Seq2SeqModel::train_step(const Seq2SeqBatch& batch, const AdamWConfig& optimizer, Variant variant) {
  Seq2SeqStep r;
  r.loss = forward_backward(batch, variant);
  r.step = step_;
  if (std::isnan(r.loss)) return r;  // nothing updated
  std::vector<AdamWTensor> ts;
  ts.reserve(tensors_.size());
  for (const Seq2SeqTensor& t : tensors_) {
    ts.push_back({params_.data() + t.offset, grads_.data() + t.offset, adam_m_.data() + t.offset,
                  adam_v_.data() + t.offset, t.count, t.matrix});
  }
  r.step = ++step_;
  r.lr = adamw_learning_rate(optimizer, r.step);
  r.grad_norm = adamw_step_f32(ts, optimizer, r.step);
  return r;
}

// ---- greedy decoding --------------------------------------------------------------------------------------

// Greedy decoding with cached keys and values: one full forward with no target gives the encoder's output; each
// decoder layer then keeps its self-attention's keys and values of the positions so far and the cross-attention's
// keys and values of the source (projected once), so each new token runs one row through the decoder (per head
// attention_f32 over the cached rows: row t may see positions 0..t, the causal rule). The final pass, over every
// generated position, runs the whole model again and keeps the attention weights when asked.
bool Seq2SeqModel::translate(const std::vector<int32_t>& src, int max_tokens, bool attention, bool steps, Variant variant,
                             Seq2SeqTranslation* out, std::string* error) {
  const Seq2SeqConfig& c = config_;
  Seq2SeqBatch batch;
  batch.src = src;
  batch.src_lens = {int32_t(src.size())};
  batch.tgt_lens = {0};
  max_tokens = std::min(max_tokens, c.max_len);
  if (max_tokens < 1) {
    *error = "seq2seq: maxTokens is " + std::to_string(max_tokens) + ", at least 1";
    return false;
  }
  const std::string bad = check_batch(batch);
  if (!bad.empty()) {
    *error = bad;
    return false;
  }
  const char* const no_scratch = "seq2seq: the attention kernels could not allocate their scratch (the WASM heap is full)";
  out->tokens.clear();
  out->logits.clear();
  if (std::isnan(forward(batch, variant, false, false))) {  // the encoder's output: acts_->enc_ln.out [n][M]
    *error = no_scratch;
    return false;
  }
  const int V = c.tgt_vocab, M = c.d_model, H = c.heads, dh = M / H, F = c.d_ff, n = int(src.size());
  const int L = c.decoder_layers, cap = c.max_len;
  const float* P = params_.data();
  auto at = [&](int index) { return P + tensors_[index].offset; };
  // caches per layer, head-major: self [H][cap][dh] (rows 0..t filled), cross [H][n][dh]
  std::vector<float> self_k(size_t(L) * H * cap * dh), self_v(self_k.size());
  std::vector<float> cross_k(size_t(L) * H * n * dh), cross_v(cross_k.size());
  std::vector<float> proj(size_t(n) * M);
  auto to_heads = [&](float* dst, const float* row_major, int rows, int stride_rows) {
    for (int h = 0; h < H; ++h)
      for (int r = 0; r < rows; ++r)
        std::memcpy(dst + (size_t(h) * stride_rows + r) * dh, row_major + size_t(r) * M + h * dh, sizeof(float) * dh);
  };
  for (int l = 0; l < L; ++l) {
    const MultiHeadParams p = mh_params(acts_->dec_index[l].cross, tensors_, P);
    gemm_f32(proj.data(), acts_->enc_ln.out.data(), p.k.W, p.k.b, n, M, M, variant);
    to_heads(cross_k.data() + size_t(l) * H * n * dh, proj.data(), n, n);
    gemm_f32(proj.data(), acts_->enc_ln.out.data(), p.v.W, p.v.b, n, M, M, variant);
    to_heads(cross_v.data() + size_t(l) * H * n * dh, proj.data(), n, n);
  }
  std::vector<float> y(M), y1(M), y2(M), q(M), k(M), v(M), z(M), o(M), logits(V);
  LnActs ln;
  resize_ln(ln, 1, M);
  FfnActs ffn;
  MaskParams none;
  for (int t = 0; t < max_tokens; ++t) {
    const int32_t id = t == 0 ? c.bos : out->tokens.back(), pos = t;
    embed(y.data(), &id, &pos, at(acts_->tgt_embed), positions_.data(), 1, V, M, variant);
    for (int l = 0; l < L; ++l) {
      const DecIndex& d = acts_->dec_index[l];
      // masked self-attention over positions 0..t
      layer_norm_forward_f32(ln.out.data(), ln.mean.data(), ln.rstd.data(), y.data(), at(d.ln1.scale),
                             at(d.ln1.bias), kLayerNormEps, 1, M, variant);
      MultiHeadParams p = mh_params(d.self, tensors_, P);
      ScoreParams sp = score_params(d.self, tensors_, P, c);
      gemm_f32(q.data(), ln.out.data(), p.q.W, p.q.b, 1, M, M, variant);
      gemm_f32(k.data(), ln.out.data(), p.k.W, p.k.b, 1, M, M, variant);
      gemm_f32(v.data(), ln.out.data(), p.v.W, p.v.b, 1, M, M, variant);
      float* sk = self_k.data() + size_t(l) * H * cap * dh;
      float* sv = self_v.data() + size_t(l) * H * cap * dh;
      to_heads(sk + size_t(t) * dh, k.data(), 1, cap);
      to_heads(sv + size_t(t) * dh, v.data(), 1, cap);
      for (int h = 0; h < H; ++h) {
        if (!attention_f32(z.data() + h * dh, nullptr, q.data() + h * dh, sk + size_t(h) * cap * dh,
                           sv + size_t(h) * cap * dh, sp, none, 1, 1, t + 1, dh, dh, variant)) {
          *error = no_scratch;
          return false;
        }
      }
      gemm_f32(o.data(), z.data(), p.o.W, p.o.b, 1, M, M, variant);
      residual_forward_f32(y1.data(), y.data(), o.data(), M, variant);
      // cross-attention over the cached source keys and values
      layer_norm_forward_f32(ln.out.data(), ln.mean.data(), ln.rstd.data(), y1.data(), at(d.ln2.scale),
                             at(d.ln2.bias), kLayerNormEps, 1, M, variant);
      p = mh_params(d.cross, tensors_, P);
      sp = score_params(d.cross, tensors_, P, c);
      gemm_f32(q.data(), ln.out.data(), p.q.W, p.q.b, 1, M, M, variant);
      const float* ck = cross_k.data() + size_t(l) * H * n * dh;
      const float* cv = cross_v.data() + size_t(l) * H * n * dh;
      for (int h = 0; h < H; ++h) {
        if (!attention_f32(z.data() + h * dh, nullptr, q.data() + h * dh, ck + size_t(h) * n * dh,
                           cv + size_t(h) * n * dh, sp, none, 1, 1, n, dh, dh, variant)) {
          *error = no_scratch;
          return false;
        }
      }
      gemm_f32(o.data(), z.data(), p.o.W, p.o.b, 1, M, M, variant);
      residual_forward_f32(y2.data(), y1.data(), o.data(), M, variant);
      ffn_block(y.data(), ffn, y2.data(), at(d.ffn.W1), at(d.ffn.b1), at(d.ffn.W2), at(d.ffn.b2), at(d.ln3.scale),
                at(d.ln3.bias), 1, M, F, variant);
    }
    layer_norm_forward_f32(ln.out.data(), ln.mean.data(), ln.rstd.data(), y.data(), at(acts_->dec_ln_scale),
                           at(acts_->dec_ln_bias), kLayerNormEps, 1, M, variant);
    dense_forward_f32(logits.data(), ln.out.data(), at(acts_->out_W), at(acts_->out_b), 1, M, V, variant);
    out->logits.insert(out->logits.end(), logits.begin(), logits.end());
    const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out->tokens.push_back(next);
    if (next == c.eos) break;
  }
  out->encoder.clear(), out->decoder.clear(), out->cross.clear();
  out->encoder_steps.clear(), out->decoder_steps.clear(), out->cross_steps.clear();
  if (attention) {
    // m = the generated tokens: the decoder inputs <bos>, y_1..y_{m-1}
    batch.tgt.assign(out->tokens.begin(), out->tokens.end() - 1);
    batch.tgt_lens = {int32_t(out->tokens.size() - 1)};
    if (std::isnan(forward(batch, variant, false, true))) {
      *error = "seq2seq: the attention kernels could not allocate their scratch (the WASM heap is full)";
      return false;
    }
    for (const EncActs& L : acts_->enc) out->encoder.push_back(L.self.weights[0]);
    for (const DecActs& L : acts_->dec) {
      out->decoder.push_back(L.self.weights[0]);
      out->cross.push_back(L.cross.weights[0]);
    }
    if (steps) {
      // The projections as multi_head_attention_f32 makes them (gemm_f32, same variant): the same bits.
      const int M = c.d_model, n = int(src.size()), m = acts_->tt;
      const float* P = params_.data();
      auto project = [&](Seq2SeqBlockSteps* s, const AttnIndex& a, const float* x, int nq, const float* context,
                         int nk, bool cross) {
        s->x.assign(x, x + size_t(nq) * M);
        if (cross) s->context.assign(context, context + size_t(nk) * M);
        s->q.resize(size_t(nq) * M), s->k.resize(size_t(nk) * M), s->v.resize(size_t(nk) * M);
        gemm_f32(s->q.data(), x, P + tensors_[a.qW].offset, P + tensors_[a.qb].offset, nq, M, M, variant);
        gemm_f32(s->k.data(), context, P + tensors_[a.kW].offset, P + tensors_[a.kb].offset, nk, M, M, variant);
        gemm_f32(s->v.data(), context, P + tensors_[a.vW].offset, P + tensors_[a.vb].offset, nk, M, M, variant);
      };
      for (int l = 0; l < c.encoder_layers; ++l) {
        const float* x = acts_->enc[l].self.ln.out.data();
        out->encoder_steps.emplace_back();
        project(&out->encoder_steps.back(), acts_->enc_index[l].self, x, n, x, n, false);
      }
      for (int l = 0; l < c.decoder_layers; ++l) {
        const float* y = acts_->dec[l].self.ln.out.data();
        out->decoder_steps.emplace_back();
        project(&out->decoder_steps.back(), acts_->dec_index[l].self, y, m, y, m, false);
        out->cross_steps.emplace_back();
        project(&out->cross_steps.back(), acts_->dec_index[l].cross, acts_->dec[l].cross.ln.out.data(), m,
                acts_->enc_ln.out.data(), n, true);
      }
    }
  }
  return true;
}

}  // namespace attn
