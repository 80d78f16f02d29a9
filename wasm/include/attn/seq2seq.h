// B sentences in a batch, n source tokens and m decoder positions of one sentence (m = its target tokens + 1),
// Ts = sum n and Tt = sum m over the batch, L layers, H heads, M model dims, Dh = M/H, F feed-forward dims,
// A additive hidden dims, Vs / Vt source / target vocabulary rows.
//
// A small transformer encoder-decoder built from the engine's training ops (attn/backward.h), trained in one
// call per step (train_step: forward, backward, AdamW) and run by greedy decoding with every layer's attention.
// Pre-norm layers (Xiong et al. 2020), which train without a careful warm-up at this size:
//   encoder:  x0 = sqrt(M) E_src[ids] + PE;  x' = x + MHA(LN1 x, LN1 x);  x'' = x' + FFN(LN2 x');  enc = LN(x_L)
//   decoder:  y0 = sqrt(M) E_tgt[<bos> t..] + PE;  y' = y + MHA_causal(LN1 y);  y'' = y' + MHA(LN2 y', enc);
//             y''' = y'' + FFN(LN3 y'');  logits = LN(y_L) Wout + bout (a separate output projection)
//   FFN(x) = gelu(x W1 + b1) W2 + b2 (GELU, smooth: central differences check it); every MHA uses the model's score function (all four: attn::Score).
// A batch packs its sentences back to back with no padding: the dense layers, layer norms and the loss run over
// all Ts or Tt rows at once, the attention per sentence over its own n or m rows. The loss is the mean token
// cross-entropy of the targets t_1..t_k, <eos> of every sentence.
// Weights are read and written as safetensors (names in docs/TRANSLATOR.md), the configuration and any
// caller's strings (the vocabularies) in its __metadata__.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attn/adamw.h"
#include "attn/attention.h"

namespace attn {

struct Seq2SeqConfig {
  int src_vocab = 0, tgt_vocab = 0;  // Vs, Vt
  int d_model = 32, heads = 4, d_ff = 64, encoder_layers = 2, decoder_layers = 2;
  int max_len = 32;  // the longest source or decoder sequence (the positional table's rows)
  Score score = Score::kScaledDot;
  int da = 0;        // A for the additive score (0: Dh)
  int bos = 1, eos = 2;  // target ids of <bos> and <eos>
  uint32_t seed = 1;     // the initial weights' seed
};

// Sentences packed back to back. tgt holds the target tokens without <bos> and <eos> (the model adds them).
struct Seq2SeqBatch {
  std::vector<int32_t> src;       // [Ts]
  std::vector<int32_t> src_lens;  // [B], each >= 1
  std::vector<int32_t> tgt;       // [sum k]
  std::vector<int32_t> tgt_lens;  // [B], each >= 0 (m = k + 1 <= max_len)
};

struct Seq2SeqStep {
  float loss = 0;         // the mean token cross-entropy before the update
  double grad_norm = 0;   // the global gradient norm before clipping
  float lr = 0;           // the learning rate of this step
  int step = 0;           // 1-based count of steps taken, this one included
};

// Greedy decoding of one sentence: tokens y_1..y_m (the last is <eos> unless max_tokens was reached), and when
// asked, every layer's attention: encoder [H][n][n], decoder [H][m][m] (causal; row i is the position that
// produced y_{i+1}, over the inputs <bos>, y_1..y_i), cross [H][m][n].
// With steps, each attention block's own numbers in that final pass: x = the block's input after its layer norm
// [nq][M], context = the keys' and values' source [nk][M] (the encoder's output, cross-attention only; else x),
// q = x Wq + bq [nq][M], k = context Wk + bk, v = context Wv + bv [nk][M] (head h owns columns h*Dh..).
struct Seq2SeqBlockSteps {
  std::vector<float> x, context, q, k, v;
};
struct Seq2SeqTranslation {
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // [m][Vt]: the logits each token was chosen from (argmax)
  std::vector<std::vector<float>> encoder, decoder, cross;
  std::vector<Seq2SeqBlockSteps> encoder_steps, decoder_steps, cross_steps;  // per layer, when asked
};

struct Seq2SeqTensor {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0, count = 0;  // in floats, into params() / grads()
  bool matrix = false;           // two-dimensional: AdamW decays it
};

class Seq2SeqModel {
 public:
  Seq2SeqModel();
  ~Seq2SeqModel();
  Seq2SeqModel(const Seq2SeqModel&) = delete;
  Seq2SeqModel& operator=(const Seq2SeqModel&) = delete;

  // Seeded random weights (Xavier-uniform matrices from a xorshift stream: the same bits on every build).
  bool init(const Seq2SeqConfig& config, std::string* error);
  // Weights and configuration from a safetensors file written by save() (copied).
  bool load(const uint8_t* data, size_t size, std::string* error);
  // The weights as a safetensors file; `metadata` is stored beside the configuration.
  std::vector<uint8_t> save(const std::map<std::string, std::string>& metadata) const;
  // The __metadata__ strings of the loaded file (the configuration's keys included); empty after init().
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const Seq2SeqConfig& config() const { return config_; }
  const std::vector<Seq2SeqTensor>& tensors() const { return tensors_; }
  const Seq2SeqTensor* find(const std::string& name) const;
  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }
  const std::vector<float>& grads() const { return grads_; }
  size_t parameter_count() const { return params_.size(); }
  int steps_taken() const { return step_; }

  // A message when the batch does not fit the model (ids out of range, lengths that do not add up, too long).
  std::string check_batch(const Seq2SeqBatch& batch) const;
  // The batch's mean loss (forward only), accumulated in double; NaN when an attention call could not allocate
  // its scratch (then forward_backward leaves grads() zero and train_step updates nothing).
  double loss(const Seq2SeqBatch& batch, Variant variant);
  // Zeroes grads(), then forward and backward: grads() holds d(mean loss)/d(params). Returns the loss.
  float forward_backward(const Seq2SeqBatch& batch, Variant variant);
  // One whole training step: forward_backward, then AdamW (moments kept in the model) at step steps_taken()+1.
  Seq2SeqStep train_step(const Seq2SeqBatch& batch, const AdamWConfig& optimizer, Variant variant);
  // Greedy decoding of src (ids in [0, Vs), 1 <= n <= max_len) for at most max_tokens tokens (<= max_len);
  // steps (with attention only) also fills the blocks' inputs and projections.
  bool translate(const std::vector<int32_t>& src, int max_tokens, bool attention, bool steps, Variant variant,
                 Seq2SeqTranslation* out, std::string* error);

  struct Activations;  // the forward pass's saved tensors (seq2seq.cpp)

 private:
  void build_tensors();
  double forward(const Seq2SeqBatch& batch, Variant variant, bool train, bool keep_weights);
  // False when an attention block's backward could not allocate its scratch (the gradients are then partial).
  bool backward(const Seq2SeqBatch& batch, Variant variant);

  Seq2SeqConfig config_;
  std::vector<Seq2SeqTensor> tensors_;
  std::vector<float> params_, grads_, adam_m_, adam_v_;
  std::vector<float> positions_;  // [max_len][M]
  std::map<std::string, std::string> metadata_;
  int step_ = 0;
  Activations* acts_;
};

// "dot", "scaled_dot", "general", "additive" <-> Score (the op spec's names, web/src/lib/backends/wasm.js).
const char* score_name(Score score);
bool score_from_name(const std::string& name, Score* score);

}  // namespace attn
