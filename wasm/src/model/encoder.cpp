// T tokens, H heads, Dh head dims, Din/Dout layer widths, F feed-forward width, E embedding width.
//
// The Universal Sentence Encoder lite forward pass (docs/MODEL.md has the graph op by op):
//   x0 = 2 * Emb[ids] + timing           timing[p] = concat(sin(p * inv), cos(p * inv))
//   per layer:  h = LN(x);  [Q|K|V] = h.Wqkv + b;  per head A = softmax((Q * scale) K^T);  O = A V
//               y = concat(O).Wo + bo + (Din != Dout ? x.Wr + br : x)
//               x' = y + relu(LN(y).W1 + b1).W2 + b2
//   pool: e = tanh(mean_t(x_L).Wt + bt);  embedding = e / sqrt(max(|e|^2, eps))
// Dense layers run on gemm_f32_packed (weights packed once, at load) and attention on attention_f32 (kDot on
// pre-scaled queries, as the graph multiplies q by the scale before q.k). multi_head_attention_f32 does not
// fit: layer 0's QKV is fused, and its output projection widens 256 -> 512.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "attn/gemm_packed.h"
#include "attn/model.h"
#include "attn/safetensors.h"
#include "buffer.h"
#include "json.h"

namespace attn {

namespace {

// A float buffer of the forward pass whose contents start undefined: each use below writes it whole before
// reading it, so std::vector's zero fill (about 4 MiB per 128-token run, 0.7 ms of memset in V8) is skipped.
// take() returns nullptr when the memory cannot be had (the module has no exceptions: a vector would abort).
class Scratch {
 public:
  float* take(uint64_t n) {
    if (n > data_.size() && !data_.allocate(n)) {
      size_ = 0;
      return nullptr;
    }
    size_ = static_cast<size_t>(n);
    return data_.data();
  }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float* begin() { return data_.data(); }
  float* end() { return data_.data() + size_; }
  size_t size() const { return size_; }

 private:
  Buffer<float> data_;
  size_t size_ = 0;
};

// The scratch of one forward pass, reused by every layer (each sized for the largest layer that takes it).
struct Workspace {
  Scratch x, h, qkv, q, k, v, o, concat, y, f, res;
};

bool fail(std::string* error, const std::string& message) {
  if (error) *error = "model: " + message;
  return false;
}

// Sum of v[0..d), in double, over 4 interleaved partial sums (independent chains, so the adds overlap).
double sum4(const float* v, int d) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int j = 0;
  for (; j + 4 <= d; j += 4) {
    s0 += v[j];
    s1 += v[j + 1];
    s2 += v[j + 2];
    s3 += v[j + 3];
  }
  for (; j < d; ++j) s0 += v[j];
  return (s0 + s1) + (s2 + s3);
}

// out [T][D] = LN(x [T][D]) * scale + bias; mean and variance accumulated in double.
// pass 1: mean; pass 2: variance = mean of squared deviations; pass 3: normalise, scale, shift.
void layer_norm(float* out, const float* x, const float* scale, const float* bias, float eps, int t, int d) {
  for (int i = 0; i < t; ++i) {
    const float* row = x + static_cast<size_t>(i) * d;
    const double mean = sum4(row, d) / d;
    double v0 = 0, v1 = 0, v2 = 0, v3 = 0;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      v0 += (row[j] - mean) * (row[j] - mean);
      v1 += (row[j + 1] - mean) * (row[j + 1] - mean);
      v2 += (row[j + 2] - mean) * (row[j + 2] - mean);
      v3 += (row[j + 3] - mean) * (row[j + 3] - mean);
    }
    for (; j < d; ++j) v0 += (row[j] - mean) * (row[j] - mean);
    const double var = ((v0 + v1) + (v2 + v3)) / d;
    const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
    float* o = out + static_cast<size_t>(i) * d;
    for (j = 0; j < d; ++j) o[j] = static_cast<float>((row[j] - mean) * inv * scale[j] + bias[j]);
  }
}

// row [2 half] = concat(sin(p * inv[0..half)), cos(p * inv[0..half))): the timing signal of position p.
void timing_row(float* row, int p, const float* inv, int half) {
  for (int i = 0; i < half; ++i) {
    const float angle = static_cast<float>(p) * inv[i];
    row[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    row[half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
  }
}

// Rows of the timing table kept from load: every position, unless a (hostile) config makes that over 16 MiB;
// positions past it are computed per run, with the same function.
constexpr size_t kTimingTableFloats = size_t(1) << 22;

// Reads a [K][N] kernel and packs it for gemm_f32_packed one row of the file at a time: no float32 copy of
// the whole kernel.
bool read_packed(const SafeTensors& file, const std::string& name, int k, int n, std::vector<float>* out,
                 std::string* error) {
  FloatRows rows;
  if (!file.float_rows(name, {k, n}, &rows, error)) return false;
  out->resize(gemm_f32_packed_size(k, n));
  std::vector<float> row(n);
  for (int kk = 0; kk < k; ++kk) {
    rows.read(kk, row.data());
    gemm_f32_pack_row(out->data(), row.data(), kk, k, n);
  }
  return true;
}

const json::Value* member(const json::Value& config, const char* key, std::string* error) {
  const json::Value* v = config.find(key);
  if (!v) fail(error, std::string("the config has no '") + key + "'");
  return v;
}

}  // namespace

bool EncoderModel::load(const uint8_t* data, size_t size, std::string* error) {
  SafeTensors file;
  if (!SafeTensors::parse(data, size, &file, error)) return false;
  auto meta = file.metadata().find("config");
  if (meta == file.metadata().end()) return fail(error, "the file has no __metadata__.config (not a model file)");
  json::Value config;
  std::string json_error;
  if (!json::parse(meta->second.data(), meta->second.size(), &config, &json_error) || !config.is_object()) {
    return fail(error, "__metadata__.config is not a JSON object: " + json_error);
  }
  const json::Value *layers = member(config, "layers", error), *heads = member(config, "heads", error),
                    *scales = member(config, "attentionScales", error),
                    *eps = member(config, "layerNormEpsilon", error), *max_tokens = member(config, "maxTokens", error),
                    *l2 = member(config, "l2Epsilon", error), *input_scale = member(config, "inputEmbeddingScale", error);
  if (!layers || !heads || !scales || !eps || !max_tokens || !l2 || !input_scale) return false;
  if (!layers->is_uint() || layers->uinteger < 1 || layers->uinteger > 64 || !heads->is_array() ||
      heads->array.size() != layers->uinteger || !scales->is_array() || scales->array.size() != layers->uinteger ||
      !max_tokens->is_uint() || max_tokens->uinteger < 1 || !eps->is_number() ||
      !l2->is_number() || !input_scale->is_number()) {
    return fail(error, "__metadata__.config has missing or inconsistent fields");
  }
  if (max_tokens->uinteger > static_cast<uint64_t>(kMaxTokens)) {
    return fail(error, "__metadata__.config maxTokens " + std::to_string(max_tokens->uinteger) + " is over the limit of " +
                           std::to_string(kMaxTokens));
  }
  max_tokens_ = static_cast<int>(max_tokens->uinteger);
  layer_norm_epsilon_ = static_cast<float>(eps->number);
  l2_epsilon_ = static_cast<float>(l2->number);
  input_scale_ = static_cast<float>(input_scale->number);

  // Shapes come from the file, and each is checked against the ones before it.
  auto shape_of = [&](const std::string& name, size_t rank, std::vector<int64_t>* shape) {
    const TensorInfo* t = file.find(name);
    if (!t) return fail(error, "the file has no tensor '" + name + "'");
    if (t->shape.size() != rank) return fail(error, "tensor '" + name + "' is not of rank " + std::to_string(rank));
    for (int64_t d : t->shape)
      if (d <= 0 || d > (1 << 24)) return fail(error, "tensor '" + name + "' has a bad dimension");
    *shape = t->shape;
    return true;
  };
  std::vector<int64_t> s;
  if (!shape_of("embeddings.token", 2, &s)) return false;
  vocab_rows_ = static_cast<int>(s[0]);
  d0_ = static_cast<int>(s[1]);
  if (d0_ % 2) return fail(error, "the embedding width " + std::to_string(d0_) + " is odd");
  FloatRows embedding;
  if (!file.float_rows("embeddings.token", s, &embedding, error)) return false;
  token_embedding_dtype_ = embedding.dtype;
  token_embedding_.assign(embedding.data, embedding.data + dtype_size(embedding.dtype) * embedding.rows * embedding.cols);
  token_embedding_block_ = embedding.block;
  token_embedding_scales_.assign(
      embedding.scales, embedding.scales + (embedding.scales ? 4 * embedding.rows * (embedding.cols / embedding.block) : 0));
  if (!file.read_f32("embeddings.timing_inv_timescales", {d0_ / 2}, &inv_timescales_, error)) return false;
  // The timing signal of positions 0 .. maxTokens-1 is the same for every run: computed once, here.
  timing_rows_ = static_cast<int>(std::min(static_cast<size_t>(max_tokens_), kTimingTableFloats / d0_));
  timing_.resize(static_cast<size_t>(timing_rows_) * d0_);
  for (int p = 0; p < timing_rows_; ++p) {
    timing_row(&timing_[static_cast<size_t>(p) * d0_], p, inv_timescales_.data(), d0_ / 2);
  }

  layers_.assign(layers->uinteger, EncoderLayer());
  int width = d0_;
  for (size_t l = 0; l < layers_.size(); ++l) {
    EncoderLayer& L = layers_[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    L.d_in = width;
    if (!shape_of(p + "attention.qkv.kernel", 2, &s)) return false;
    if (s[0] != width || s[1] % 3) return fail(error, p + "attention.qkv.kernel does not take the layer's width");
    L.d_attn = static_cast<int>(s[1] / 3);
    const json::Value& h = heads->array[l];
    if (!h.is_uint() || h.uinteger < 1 || L.d_attn % h.uinteger) {
      return fail(error, "config heads[" + std::to_string(l) + "] does not divide " + std::to_string(L.d_attn));
    }
    L.heads = static_cast<int>(h.uinteger);
    if (!scales->array[l].is_number()) return fail(error, "config attentionScales has a non-number");
    L.attention_scale = static_cast<float>(scales->array[l].number);
    if (!shape_of(p + "attention.output.kernel", 2, &s)) return false;
    L.d_out = static_cast<int>(s[1]);
    if (!shape_of(p + "ffn.conv1.kernel", 2, &s)) return false;
    L.d_ff = static_cast<int>(s[1]);
    const int din = L.d_in, da = L.d_attn, dout = L.d_out, dff = L.d_ff;
    bool ok = file.read_f32(p + "attention_norm.scale", {din}, &L.norm_scale, error) &&
              file.read_f32(p + "attention_norm.bias", {din}, &L.norm_bias, error) &&
              read_packed(file, p + "attention.qkv.kernel", din, 3 * da, &L.qkv, error) &&
              file.read_f32(p + "attention.qkv.bias", {3 * da}, &L.qkv_bias, error) &&
              read_packed(file, p + "attention.output.kernel", da, dout, &L.out, error) &&
              file.read_f32(p + "attention.output.bias", {dout}, &L.out_bias, error) &&
              file.read_f32(p + "ffn_norm.scale", {dout}, &L.ffn_norm_scale, error) &&
              file.read_f32(p + "ffn_norm.bias", {dout}, &L.ffn_norm_bias, error) &&
              read_packed(file, p + "ffn.conv1.kernel", dout, dff, &L.ffn1, error) &&
              file.read_f32(p + "ffn.conv1.bias", {dff}, &L.ffn1_bias, error) &&
              read_packed(file, p + "ffn.conv2.kernel", dff, dout, &L.ffn2, error) &&
              file.read_f32(p + "ffn.conv2.bias", {dout}, &L.ffn2_bias, error);
    if (!ok) return false;
    if (din != dout) {
      ok = read_packed(file, p + "residual_projection.kernel", din, dout, &L.residual, error) &&
           file.read_f32(p + "residual_projection.bias", {dout}, &L.residual_bias, error);
      if (!ok) return false;
    }
    width = dout;
  }
  if (!shape_of("pooler.tanh.kernel", 2, &s)) return false;
  if (s[0] != width) return fail(error, "pooler.tanh.kernel does not take the last layer's width");
  d_embedding_ = static_cast<int>(s[1]);
  if (!read_packed(file, "pooler.tanh.kernel", width, d_embedding_, &pool_kernel_, error) ||
      !file.read_f32("pooler.tanh.bias", {d_embedding_}, &pool_bias_, error)) {
    return false;
  }

  // The tokenizer: scores F64 [P], piece_offsets I32 [P + 1] (ascending, ending at the byte count), bytes U8.
  const TensorInfo* scores = file.find("tokenizer.scores");
  const TensorInfo* offsets = file.find("tokenizer.piece_offsets");
  const TensorInfo* bytes = file.find("tokenizer.piece_bytes");
  if (!scores || !offsets || !bytes) return fail(error, "the file has no tokenizer.{scores,piece_offsets,piece_bytes}");
  if (scores->dtype != DType::kF64 || offsets->dtype != DType::kI32 || bytes->dtype != DType::kU8 ||
      scores->shape.size() != 1 || offsets->shape.size() != 1 || bytes->shape.size() != 1 ||
      offsets->shape[0] != scores->shape[0] + 1) {
    return fail(error, "the tokenizer tensors must be F64 [P], I32 [P + 1] and U8 [B]");
  }
  const size_t np = static_cast<size_t>(scores->shape[0]);
  if (np > static_cast<size_t>(vocab_rows_)) return fail(error, "the tokenizer has more pieces than embeddings");
  std::vector<double> score_values(np);
  if (np > 0) std::memcpy(score_values.data(), file.bytes(*scores), 8 * np);
  std::vector<int32_t> off(np + 1);
  std::memcpy(off.data(), file.bytes(*offsets), 4 * (np + 1));
  const auto* piece_bytes = reinterpret_cast<const char*>(file.bytes(*bytes));
  std::vector<std::string> pieces(np);
  if (off[0] != 0 || off[np] != bytes->shape[0]) return fail(error, "tokenizer.piece_offsets do not span the bytes");
  // Every offset checked before any is used: ascending from 0 to B keeps each piece inside the bytes.
  for (size_t i = 0; i < np; ++i) {
    if (off[i + 1] < off[i]) return fail(error, "tokenizer.piece_offsets go backwards at " + std::to_string(i));
  }
  for (size_t i = 0; i < np; ++i) pieces[i].assign(piece_bytes + off[i], piece_bytes + off[i + 1]);
  return tokenizer_.init(std::move(pieces), std::move(score_values), error);
}

namespace {

// x [T][D0] = scale * Emb[ids[p]] + timing[p]: emb [V][D0] as stored (F32, F16 or BF16), one row converted per
// token; timing [rows][D0] computed at load, positions past it computed here (a config whose table would be
// over 16 MiB).
void embed_forward(float* x, const int32_t* ids, int t, const FloatRows& table, float scale, const float* timing,
                   int timing_rows, const float* inv_timescales, int d0) {
  std::vector<float> late(d0), embedded(d0);
  for (int p = 0; p < t; ++p) {
    table.read(ids[p], embedded.data());
    const float* tp = timing + static_cast<size_t>(p) * d0;
    if (p >= timing_rows) {  // only with a config whose table would be too large
      timing_row(late.data(), p, inv_timescales, d0 / 2);
      tp = late.data();
    }
    float* row = x + static_cast<size_t>(p) * d0;
    for (int i = 0; i < d0; ++i) row[i] = scale * embedded[i] + tp[i];
  }
}

// y [T][Dout] = concat_heads(softmax((LN(x) Wq * scale) (LN(x) Wk)^T) (LN(x) Wv)) Wo + bo + residual(x);
// x [T][Din]; weights [H][T][T] or nullptr; residual = x (Din == Dout) or x Wr + br.
// pass 1: h = LN(x) [T][Din]; qkv = h Wqkv + b [T][3 Da]; split into q, k, v [H][T][Dh], q pre-scaled
// pass 2: o = attention(q, k, v) [H][T][Dh], every head (kDot: the scale is in q; one sentence, no mask)
// pass 3: concat [T][Da] = heads side by side; y = concat Wo + bo + residual
bool attention_block_forward(float* y, float* weights, const float* x, const EncoderLayer& L, float eps, int t,
                             Variant variant, Workspace& w) {
  const int din = L.d_in, da = L.d_attn, dout = L.d_out, H = L.heads, dh = L.d_attn / L.heads;
  const uint64_t T = static_cast<uint64_t>(t), per_head = T * dh;
  float* h = w.h.take(T * din);
  float* qkv = w.qkv.take(T * 3 * da);
  float* qh = w.q.take(H * per_head);
  float* kh = w.k.take(H * per_head);
  float* vh = w.v.take(H * per_head);
  float* o = w.o.take(H * per_head);
  float* concat = w.concat.take(T * da);
  float* res = din != dout ? w.res.take(T * dout) : nullptr;
  if (!h || !qkv || !qh || !kh || !vh || !o || !concat || (din != dout && !res)) return false;
  layer_norm(h, x, L.norm_scale.data(), L.norm_bias.data(), eps, t, din);  // pass 1
  gemm_f32_packed(qkv, h, L.qkv.data(), L.qkv_bias.data(), t, din, 3 * da, variant);
  for (int head = 0; head < H; ++head) {
    for (int p = 0; p < t; ++p) {
      const float* row = qkv + static_cast<size_t>(p) * 3 * da + static_cast<size_t>(head) * dh;
      const size_t at = head * per_head + static_cast<size_t>(p) * dh;
      for (int j = 0; j < dh; ++j) {
        qh[at + j] = row[j] * L.attention_scale;
        kh[at + j] = row[da + j];
        vh[at + j] = row[2 * da + j];
      }
    }
  }
  ScoreParams score;  // pass 2
  score.score = Score::kDot;
  if (!attention_f32(o, weights, qh, kh, vh, score, MaskParams(), H, t, t, dh, dh, variant)) return false;
  for (int head = 0; head < H; ++head)  // pass 3
    for (int p = 0; p < t; ++p)
      std::memcpy(concat + static_cast<size_t>(p) * da + head * dh, o + head * per_head + static_cast<size_t>(p) * dh,
                  sizeof(float) * dh);
  gemm_f32_packed(y, concat, L.out.data(), L.out_bias.data(), t, da, dout, variant);
  const size_t n = static_cast<size_t>(T * dout);
  if (din != dout) {
    gemm_f32_packed(res, x, L.residual.data(), L.residual_bias.data(), t, din, dout, variant);
    for (size_t i = 0; i < n; ++i) y[i] += res[i];
  } else {
    for (size_t i = 0; i < n; ++i) y[i] += x[i];
  }
  return true;
}

// out [T][Dout] = y + relu(LN(y) W1 + b1) W2 + b2; y [T][Dout], W1 [Dout][F], W2 [F][Dout].
// pass 1: h = LN(y) [T][Dout]; pass 2: f = relu(h W1 + b1) [T][F]; pass 3: out = f W2 + b2 + y.
bool ffn_block_forward(float* out, const float* y, const EncoderLayer& L, float eps, int t, Variant variant,
                       Workspace& w) {
  const int dout = L.d_out, dff = L.d_ff;
  float* h = w.h.take(static_cast<uint64_t>(t) * dout);
  float* f = w.f.take(static_cast<uint64_t>(t) * dff);
  if (!h || !f) return false;
  layer_norm(h, y, L.ffn_norm_scale.data(), L.ffn_norm_bias.data(), eps, t, dout);  // pass 1
  gemm_f32_packed(f, h, L.ffn1.data(), L.ffn1_bias.data(), t, dout, dff, variant);  // pass 2
  for (size_t i = 0, n = static_cast<size_t>(t) * dff; i < n; ++i) f[i] = f[i] > 0 ? f[i] : 0;
  gemm_f32_packed(out, f, L.ffn2.data(), L.ffn2_bias.data(), t, dff, dout, variant);  // pass 3
  for (size_t i = 0, n = static_cast<size_t>(t) * dout; i < n; ++i) out[i] += y[i];
  return true;
}

// embedding [E] = e / sqrt(max(|e|^2, eps)), e = tanh(mean_t(x) Wt + bt); x [T][Dl], Wt packed [Dl][E].
// pass 1: mean over the T positions (double); pass 2: tanh layer; pass 3: L2 normalisation (double).
void pool_forward(float* embedding, const float* x, const float* kernel, const float* bias, float l2_eps, int t,
                  int dl, int de, Variant variant) {
  std::vector<float> mean(dl);
  for (int j = 0; j < dl; ++j) {  // pass 1
    double sum = 0;
    for (int p = 0; p < t; ++p) sum += x[static_cast<size_t>(p) * dl + j];
    mean[j] = static_cast<float>(sum / t);
  }
  gemm_f32_packed(embedding, mean.data(), kernel, bias, 1, dl, de, variant);  // pass 2
  double norm2 = 0;
  for (int i = 0; i < de; ++i) {
    embedding[i] = std::tanh(embedding[i]);
    norm2 += static_cast<double>(embedding[i]) * embedding[i];
  }
  const double inv_norm = 1.0 / std::sqrt(std::max(norm2, static_cast<double>(l2_eps)));  // pass 3
  for (int i = 0; i < de; ++i) embedding[i] = static_cast<float>(embedding[i] * inv_norm);
}

}  // namespace

uint64_t EncoderModel::forward_bytes(int t, Variant variant, EncoderOutputs keep) const {
  const uint64_t T = static_cast<uint64_t>(t);
  uint64_t floats = T * d0_ + (keep.input ? T * d0_ : 0), scratch = 0, attention = 0;
  for (const EncoderLayer& L : layers_) {
    const uint64_t widest = std::max(L.d_in, L.d_out);
    // x, h, qkv, q, k, v, o, concat, y, f, res of this layer (the largest layer sets each Scratch's size)
    scratch = std::max(scratch, T * (2 * widest + 3 * L.d_attn + 4 * uint64_t(L.d_attn) + 2 * L.d_out + L.d_ff));
    if (keep.attention) floats += uint64_t(L.heads) * T * T;
    if (keep.hidden) floats += T * L.d_out;
    ScoreParams score;
    score.score = Score::kDot;
    const int dh = L.d_attn / L.heads;
    attention = std::max(attention, attention_f32_workspace_bytes(score, L.heads, t, t, dh, dh, variant));
  }
  return add_sat(4 * (floats + scratch), attention);
}

// ids [T'] -> ids [T] (clipped at maxTokens), input [T][D0], per layer attention [H][T][T] and hidden [T][Dl],
// embedding [E]: embed_forward, then per layer attention_block_forward and ffn_block_forward, then pool_forward.
// Every size is counted in 64 bits first (forward_bytes) and refused when over the 2 GiB heap; each buffer is
// checked when taken, so a run too large for the memory left is an error, never an abort.
bool EncoderModel::forward(const std::vector<int32_t>& all_ids, Variant variant, EncoderResult* out,
                           std::string* error, EncoderOutputs keep) const {
  if (layers_.empty()) return fail(error, "no model is loaded");
  if (all_ids.empty()) return fail(error, "there are no tokens to encode");
  for (int32_t id : all_ids) {
    if (id < 0 || id >= vocab_rows_) {
      return fail(error, "token id " + std::to_string(id) + " is outside [0, " + std::to_string(vocab_rows_) + ")");
    }
  }
  EncoderResult r;
  r.tokens_before_clip = static_cast<int>(all_ids.size());
  r.truncated = r.tokens_before_clip > max_tokens_;  // ClipToMaxLength keeps positions < maxTokens
  const int t = r.truncated ? max_tokens_ : r.tokens_before_clip;
  const uint64_t bytes = forward_bytes(t, variant, keep);
  auto out_of_memory = [&] {
    return fail(error, "a run of " + std::to_string(t) + " tokens needs " + std::to_string(bytes >> 20) +
                           " MiB, more than the WASM heap (2048 MiB at most) can give");
  };
  if (bytes > kMaxBufferBytes) return out_of_memory();
  r.ids.assign(all_ids.begin(), all_ids.begin() + t);

  Workspace w;
  float* x = w.x.take(static_cast<uint64_t>(t) * d0_);
  if (!x) return out_of_memory();
  const FloatRows table{token_embedding_dtype_, token_embedding_.data(),
                        token_embedding_scales_.empty() ? nullptr : token_embedding_scales_.data(),
                        static_cast<size_t>(vocab_rows_), static_cast<size_t>(d0_), token_embedding_block_};
  embed_forward(x, r.ids.data(), t, table, input_scale_, timing_.data(), timing_rows_, inv_timescales_.data(), d0_);
  if (keep.input) r.input.assign(x, x + static_cast<size_t>(t) * d0_);
  for (const EncoderLayer& L : layers_) {
    const uint64_t T = static_cast<uint64_t>(t);
    std::vector<float> weights(keep.attention ? static_cast<size_t>(L.heads * T * T) : 0);
    float* y = w.y.take(T * L.d_out);
    if (!y || !attention_block_forward(y, keep.attention ? weights.data() : nullptr, w.x.data(), L,
                                       layer_norm_epsilon_, t, variant, w))
      return out_of_memory();
    x = w.x.take(T * std::max(L.d_in, L.d_out));  // grows only: x's rows are read above, written below
    if (!x || !ffn_block_forward(x, y, L, layer_norm_epsilon_, t, variant, w)) return out_of_memory();
    if (keep.attention) r.attention.push_back(std::move(weights));
    if (keep.hidden) r.hidden.emplace_back(x, x + static_cast<size_t>(T * L.d_out));
  }
  r.embedding.resize(d_embedding_);
  pool_forward(r.embedding.data(), w.x.data(), pool_kernel_.data(), pool_bias_.data(), l2_epsilon_, t,
               layers_.back().d_out, d_embedding_, variant);
  *out = std::move(r);
  return true;
}

}  // namespace attn
