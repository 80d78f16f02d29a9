// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims, M model dims.
//
// The shared attention cases (tests/cases/attention_cases.json) and their input generator, exactly as
// tests/cases/README.md specifies (the JS twin is tests/js/case_inputs.js): mulberry32 over a uint32 state,
// value = float((2u - 1) * s) computed in double and rounded once, one stream per case in a fixed order.
#pragma once

#include <cstdint>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attn/attention.h"

namespace attn::test {

// mulberry32: the uniform u in [0, 1) of tests/cases/README.md.
class Mulberry32 {
 public:
  explicit Mulberry32(uint32_t seed) : state_(seed) {}
  double next_uniform() {
    state_ += 0x6D2B79F5u;
    uint32_t t = state_;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return double(t ^ (t >> 14)) / 4294967296.0;
  }
  // float32((2u - 1) * s), computed in double, rounded once.
  float next_value(double s) { return float((2.0 * next_uniform() - 1.0) * s); }
  std::vector<float> values(size_t n, double s) {
    std::vector<float> out(n);
    for (auto& x : out) x = next_value(s);
    return out;
  }
  std::vector<uint8_t> mask(size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& x : out) x = next_uniform() < 0.7 ? 1 : 0;
    return out;
  }

 private:
  uint32_t state_;
};

inline Score parse_score(const std::string& s) {
  if (s == "dot") return Score::kDot;
  if (s == "scaled_dot") return Score::kScaledDot;
  if (s == "general") return Score::kGeneral;
  if (s == "additive") return Score::kAdditive;
  throw std::invalid_argument("unknown score '" + s + "'");
}

inline MaskKind parse_mask(const std::string& s) {
  if (s == "none") return MaskKind::kNone;
  if (s == "causal") return MaskKind::kCausal;
  if (s == "explicit") return MaskKind::kExplicit;
  throw std::invalid_argument("unknown mask '" + s + "'");
}

// Score parameters of D dims (W, or Wq Wk v), drawn in the README's order; empty when unused.
struct ScoreInputs {
  std::vector<float> W, Wq, Wk, v;
  void draw(Mulberry32& rng, Score score, int dk, int da, double param_scale) {
    if (score == Score::kGeneral) W = rng.values(size_t(dk) * dk, param_scale);
    if (score == Score::kAdditive) {
      Wq = rng.values(size_t(da) * dk, param_scale);
      Wk = rng.values(size_t(da) * dk, param_scale);
      v = rng.values(size_t(da), param_scale);
    }
  }
  ScoreParams params(Score score, int da) const {
    ScoreParams p;
    p.score = score;
    p.W = W.empty() ? nullptr : W.data();
    p.Wq = Wq.empty() ? nullptr : Wq.data();
    p.Wk = Wk.empty() ? nullptr : Wk.data();
    p.v = v.empty() ? nullptr : v.data();
    p.da = score == Score::kAdditive ? da : 0;
    return p;
  }
};

struct AttentionCase {
  std::string name;
  int heads = 1, nq = 0, nk = 0, dk = 0, dv = 0, da = 0;
  Score score = Score::kScaledDot;
  MaskKind mask = MaskKind::kNone;
  uint32_t seed = 1;
  double scale = 1.0, param_scale = 0.5;
};

// gtest prints a case by its name (instead of its bytes).
inline void PrintTo(const AttentionCase& c, std::ostream* os) { *os << c.name; }

struct AttentionInputs {
  std::vector<float> q, k, v;
  ScoreInputs sp;
  std::vector<uint8_t> allowed;
  ScoreParams score_params(const AttentionCase& c) const { return sp.params(c.score, c.da); }
  MaskParams mask_params(const AttentionCase& c) const {
    MaskParams m;
    m.kind = c.mask;
    m.allowed = allowed.empty() ? nullptr : allowed.data();
    return m;
  }
};

// query [H*Tq*D], key [H*Tk*D], value [H*Tk*Dv] (scale); score params (paramScale); explicit mask [Tq*Tk].
inline AttentionInputs generate(const AttentionCase& c) {
  Mulberry32 rng(c.seed);
  AttentionInputs in;
  in.q = rng.values(size_t(c.heads) * c.nq * c.dk, c.scale);
  in.k = rng.values(size_t(c.heads) * c.nk * c.dk, c.scale);
  in.v = rng.values(size_t(c.heads) * c.nk * c.dv, c.scale);
  in.sp.draw(rng, c.score, c.dk, c.da, c.param_scale);
  if (c.mask == MaskKind::kExplicit) in.allowed = rng.mask(size_t(c.nq) * c.nk);
  return in;
}

struct MultiHeadCase {
  std::string name;
  int nq = 0, nk = 0, d_model = 0, heads = 1, da = 0;
  bool cross = false, bias = false;
  Score score = Score::kScaledDot;
  MaskKind mask = MaskKind::kNone;
  uint32_t seed = 1;
  double scale = 1.0, param_scale = 0.3;
};

inline void PrintTo(const MultiHeadCase& c, std::ostream* os) { *os << c.name; }

struct MultiHeadInputs {
  std::vector<float> x, context, Wq, Wk, Wv, Wo, bq, bk, bv, bo;
  ScoreInputs sp;
  std::vector<uint8_t> allowed;
  const float* context_ptr() const { return context.empty() ? x.data() : context.data(); }
  MultiHeadParams params() const {
    auto p = [](const std::vector<float>& x) { return x.empty() ? nullptr : x.data(); };
    MultiHeadParams m;
    m.q = {Wq.data(), p(bq)};
    m.k = {Wk.data(), p(bk)};
    m.v = {Wv.data(), p(bv)};
    m.o = {Wo.data(), p(bo)};
    return m;
  }
  ScoreParams score_params(const MultiHeadCase& c) const { return sp.params(c.score, c.da); }
  MaskParams mask_params(const MultiHeadCase& c) const {
    MaskParams m;
    m.kind = c.mask;
    m.allowed = allowed.empty() ? nullptr : allowed.data();
    return m;
  }
};

// x [Tq*M] (scale), context [Tk*M] (scale) when cross; Wq Wk Wv Wo [M*M] (paramScale); with bias bq bk bv bo
// [M] (paramScale); score params with D = M/H; explicit mask [Tq*Tk].
inline MultiHeadInputs generate(const MultiHeadCase& c) {
  Mulberry32 rng(c.seed);
  MultiHeadInputs in;
  const size_t m = size_t(c.d_model);
  in.x = rng.values(size_t(c.nq) * m, c.scale);
  if (c.cross) in.context = rng.values(size_t(c.nk) * m, c.scale);
  in.Wq = rng.values(m * m, c.param_scale);
  in.Wk = rng.values(m * m, c.param_scale);
  in.Wv = rng.values(m * m, c.param_scale);
  in.Wo = rng.values(m * m, c.param_scale);
  if (c.bias) {
    in.bq = rng.values(m, c.param_scale);
    in.bk = rng.values(m, c.param_scale);
    in.bv = rng.values(m, c.param_scale);
    in.bo = rng.values(m, c.param_scale);
  }
  in.sp.draw(rng, c.score, c.d_model / c.heads, c.da, c.param_scale);
  if (c.mask == MaskKind::kExplicit) in.allowed = rng.mask(size_t(c.nq) * c.nk);
  return in;
}

#ifndef ATTN_CASES_FILE
#define ATTN_CASES_FILE "tests/cases/attention_cases.json"
#endif

inline nlohmann::json load_cases_json(const std::string& path = ATTN_CASES_FILE) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

inline std::vector<AttentionCase> load_attention_cases(const std::string& path = ATTN_CASES_FILE) {
  std::vector<AttentionCase> out;
  const nlohmann::json doc = load_cases_json(path);  // kept alive: a range-for over a temporary's member dangles
  for (const auto& j : doc.at("attention")) {
    AttentionCase c;
    c.name = j.at("name").get<std::string>();
    c.heads = j.value("heads", 1);
    c.nq = j.at("nq").get<int>();
    c.nk = j.at("nk").get<int>();
    c.dk = j.at("dk").get<int>();
    c.dv = j.at("dv").get<int>();
    c.da = j.value("da", 0);
    c.score = parse_score(j.at("score").get<std::string>());
    c.mask = parse_mask(j.at("mask").get<std::string>());
    c.seed = j.at("seed").get<uint32_t>();
    c.scale = j.value("scale", 1.0);
    c.param_scale = j.value("paramScale", 0.5);
    out.push_back(c);
  }
  return out;
}

inline std::vector<MultiHeadCase> load_multi_head_cases(const std::string& path = ATTN_CASES_FILE) {
  std::vector<MultiHeadCase> out;
  const nlohmann::json doc = load_cases_json(path);
  for (const auto& j : doc.at("multiHead")) {
    MultiHeadCase c;
    c.name = j.at("name").get<std::string>();
    c.nq = j.at("nq").get<int>();
    c.cross = j.value("cross", false);
    c.nk = j.value("nk", c.nq);
    if (!c.cross) c.nk = c.nq;
    c.d_model = j.at("dModel").get<int>();
    c.heads = j.at("heads").get<int>();
    c.bias = j.value("bias", false);
    c.da = j.value("da", 0);
    c.score = parse_score(j.at("score").get<std::string>());
    c.mask = parse_mask(j.at("mask").get<std::string>());
    c.seed = j.at("seed").get<uint32_t>();
    c.scale = j.value("scale", 1.0);
    c.param_scale = j.value("paramScale", 0.3);
    out.push_back(c);
  }
  return out;
}

}  // namespace attn::test
