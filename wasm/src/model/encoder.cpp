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
#include "json.h"

namespace attn {

namespace {

// A float buffer of the forward pass whose contents start undefined: each use below writes it whole before
// reading it, so std::vector's zero fill (about 4 MiB per 128-token run, 0.7 ms of memset in V8) is skipped.
class Scratch {
 public:
  float* take(size_t n) {
    if (n > capacity_) {
      data_.reset(new float[n]);
      capacity_ = n;
    }
    size_ = n;
    return data_.get();
  }
  float* data() { return data_.get(); }
  float* begin() { return data_.get(); }
  float* end() { return data_.get() + size_; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<float[]> data_;
  size_t capacity_ = 0, size_ = 0;
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
  const TensorInfo* t = file.find_float(name, {k, n}, error);
  if (!t) return false;
  out->resize(gemm_f32_packed_size(k, n));
  std::vector<float> row(n);
  const size_t row_bytes = dtype_size(t->dtype) * n;
  for (int kk = 0; kk < k; ++kk) {
    to_f32(t->dtype, file.bytes(*t) + row_bytes * kk, n, row.data());
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
      !max_tokens->is_uint() || max_tokens->uinteger < 1 || max_tokens->uinteger > 65536 || !eps->is_number() ||
      !l2->is_number() || !input_scale->is_number()) {
    return fail(error, "__metadata__.config has missing or inconsistent fields");
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
  const TensorInfo* embedding = file.find_float("embeddings.token", s, error);
  if (!embedding) return false;
  token_embedding_dtype_ = embedding->dtype;
  token_embedding_.assign(file.bytes(*embedding), file.bytes(*embedding) + (embedding->end - embedding->begin));
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
  r.ids.assign(all_ids.begin(), all_ids.begin() + (r.truncated ? max_tokens_ : r.tokens_before_clip));
  const int t = static_cast<int>(r.ids.size());

  // Input: x0 = scale * Emb[id] + timing[p], p = 0 .. T-1 (timing from the table made at load).
  Scratch x;
  x.take(static_cast<size_t>(t) * d0_);
  std::vector<float> late, embedded(d0_);
  const size_t row_bytes = dtype_size(token_embedding_dtype_) * d0_;
  for (int p = 0; p < t; ++p) {
    to_f32(token_embedding_dtype_, token_embedding_.data() + row_bytes * r.ids[p], d0_, embedded.data());
    const float* e = embedded.data();
    const float* timing;
    if (p < timing_rows_) {
      timing = &timing_[static_cast<size_t>(p) * d0_];
    } else {  // only with a config whose table would be too large
      late.resize(d0_);
      timing_row(late.data(), p, inv_timescales_.data(), d0_ / 2);
      timing = late.data();
    }
    float* row = x.data() + static_cast<size_t>(p) * d0_;
    for (int i = 0; i < d0_; ++i) row[i] = input_scale_ * e[i] + timing[i];
  }
  if (keep.input) r.input.assign(x.begin(), x.end());

  Scratch h, qkv, q, k, v, o, concat, y, f, res;
  for (const EncoderLayer& L : layers_) {
    const int din = L.d_in, da = L.d_attn, dout = L.d_out, dh = L.d_attn / L.heads, H = L.heads;
    // pass 1: pre-norm, fused QKV projection [T][3 Da], split into heads [H][T][Dh]; q pre-scaled.
    h.take(static_cast<size_t>(t) * din);
    layer_norm(h.data(), x.data(), L.norm_scale.data(), L.norm_bias.data(), layer_norm_epsilon_, t, din);
    qkv.take(static_cast<size_t>(t) * 3 * da);
    gemm_f32_packed(qkv.data(), h.data(), L.qkv.data(), L.qkv_bias.data(), t, din, 3 * da, variant);
    if (keep.layer_inputs) r.layer_inputs.emplace_back(h.begin(), h.end());
    if (keep.qkv) r.qkv.emplace_back(qkv.begin(), qkv.end());
    const size_t per_head = static_cast<size_t>(t) * dh;
    float* qh = q.take(H * per_head);
    float* kh = k.take(H * per_head);
    float* vh = v.take(H * per_head);
    for (int head = 0; head < H; ++head) {
      for (int p = 0; p < t; ++p) {
        const float* row = qkv.data() + static_cast<size_t>(p) * 3 * da + static_cast<size_t>(head) * dh;
        const size_t at = head * per_head + static_cast<size_t>(p) * dh;
        for (int j = 0; j < dh; ++j) {
          qh[at + j] = row[j] * L.attention_scale;
          kh[at + j] = row[da + j];
          vh[at + j] = row[2 * da + j];
        }
      }
    }
    // pass 2: softmax(q k^T) and weights . v, every head; no padding in a single sentence, so no mask.
    std::vector<float> weights(keep.attention ? static_cast<size_t>(H) * t * t : 0);
    o.take(H * per_head);
    ScoreParams score;
    score.score = Score::kDot;
    attention_f32(o.data(), keep.attention ? weights.data() : nullptr, q.data(), k.data(), v.data(), score,
                  MaskParams(), H, t, t, dh, dh, variant);
    // pass 3: heads side by side [T][Da], output projection, residual (projected when the width changes).
    concat.take(static_cast<size_t>(t) * da);
    for (int head = 0; head < H; ++head)
      for (int p = 0; p < t; ++p)
        std::memcpy(concat.data() + static_cast<size_t>(p) * da + head * dh,
                    o.data() + head * per_head + static_cast<size_t>(p) * dh, sizeof(float) * dh);
    float* yd = y.take(static_cast<size_t>(t) * dout);
    gemm_f32_packed(yd, concat.data(), L.out.data(), L.out_bias.data(), t, da, dout, variant);
    if (din != dout) {
      float* rd = res.take(static_cast<size_t>(t) * dout);
      gemm_f32_packed(rd, x.data(), L.residual.data(), L.residual_bias.data(), t, din, dout, variant);
      for (size_t i = 0; i < y.size(); ++i) yd[i] += rd[i];
    } else {
      const float* xd = x.data();
      for (size_t i = 0; i < y.size(); ++i) yd[i] += xd[i];
    }
    // pass 4: pre-norm feed-forward with ReLU, residual.
    h.take(static_cast<size_t>(t) * dout);
    layer_norm(h.data(), y.data(), L.ffn_norm_scale.data(), L.ffn_norm_bias.data(), layer_norm_epsilon_, t, dout);
    f.take(static_cast<size_t>(t) * L.d_ff);
    gemm_f32_packed(f.data(), h.data(), L.ffn1.data(), L.ffn1_bias.data(), t, dout, L.d_ff, variant);
    for (float& value : f) value = value > 0 ? value : 0;
    float* xd = x.take(static_cast<size_t>(t) * dout);
    gemm_f32_packed(xd, f.data(), L.ffn2.data(), L.ffn2_bias.data(), t, L.d_ff, dout, variant);
    for (size_t i = 0; i < x.size(); ++i) xd[i] += yd[i];
    if (keep.attention) r.attention.push_back(std::move(weights));
    if (keep.hidden) r.hidden.emplace_back(x.begin(), x.end());
  }

  // Pooling: mean over the T positions, tanh layer, L2 normalisation.
  const int dl = layers_.back().d_out;
  std::vector<float> mean(dl);
  for (int j = 0; j < dl; ++j) {
    double sum = 0;
    for (int p = 0; p < t; ++p) sum += x.data()[static_cast<size_t>(p) * dl + j];
    mean[j] = static_cast<float>(sum / t);
  }
  r.embedding.resize(d_embedding_);
  gemm_f32_packed(r.embedding.data(), mean.data(), pool_kernel_.data(), pool_bias_.data(), 1, dl, d_embedding_,
                  variant);
  double norm2 = 0;
  for (float& value : r.embedding) {
    value = std::tanh(value);
    norm2 += static_cast<double>(value) * value;
  }
  const double inv_norm = 1.0 / std::sqrt(std::max(norm2, static_cast<double>(l2_epsilon_)));
  for (float& value : r.embedding) value = static_cast<float>(value * inv_norm);
  *out = std::move(r);
  return true;
}

}  // namespace attn
