// T tokens (<= maxTokens), L layers, H heads, D0 input width, Dl layer width, F feed-forward width,
// E sentence embedding width, V vocabulary rows.
//
// Universal Sentence Encoder lite, run on the engine's kernels, with everything a reader may want to see:
// the pieces, the input embeddings with the timing signal, every layer's and head's attention weights,
// every layer's hidden states and the sentence embedding. What the graph computes, op by op, is written
// down in docs/MODEL.md; the weights come from scripts/convert-model.mjs (safetensors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "attn/attention.h"
#include "attn/safetensors.h"
#include "attn/tokenizer.h"

namespace attn {

struct EncoderLayer {
  int d_in = 0, d_attn = 0, d_out = 0, heads = 0, d_ff = 0;  // d_attn = width of each of Q, K, V
  float attention_scale = 0;                                 // q is multiplied by it before q.k
  // Kernels are stored packed for gemm_f32_packed (attn/gemm_packed.h), once, at load; shapes are unpacked.
  std::vector<float> norm_scale, norm_bias;                  // [d_in]
  std::vector<float> qkv, qkv_bias;                          // packed [d_in][3 d_attn], [3 d_attn]: Q | K | V
  std::vector<float> out, out_bias;                          // packed [d_attn][d_out], [d_out]
  std::vector<float> residual, residual_bias;                // packed [d_in][d_out], [d_out]; empty when d_in == d_out
  std::vector<float> ffn_norm_scale, ffn_norm_bias;          // [d_out]
  std::vector<float> ffn1, ffn1_bias;                        // packed [d_out][F], [F]
  std::vector<float> ffn2, ffn2_bias;                        // packed [F][d_out], [d_out]
};

// Which parts of EncoderResult a forward pass keeps. The embedding is always computed (it is the end of the
// pass); without attention, the layers run the no-weights attention kernel and keep no [H][T][T] weights.
struct EncoderOutputs {
  bool input = true;
  bool attention = true;
  bool hidden = true;
};

struct EncoderResult {
  std::vector<int32_t> ids;                    // [T], after the clip
  int tokens_before_clip = 0;                  // > T when truncated
  bool truncated = false;
  std::vector<float> input;                    // [T][D0]: scale * token embedding + timing signal (or empty)
  std::vector<std::vector<float>> attention;   // per layer [H][T][T] (or no layers when not asked for)
  std::vector<std::vector<float>> hidden;      // per layer [T][Dl], the layer's output (or no layers)
  std::vector<float> embedding;                // [E], L2-normalised
};

class EncoderModel {
 public:
  // The most tokens a model file may ask for (config maxTokens; USE lite asks for 128). Every size of a run is
  // counted in 64 bits anyway (forward_bytes): this bound only keeps a file from promising what no 2 GiB heap
  // can run (with attention kept, 16,384 tokens need H x 1 GiB per layer, refused by forward).
  static constexpr int kMaxTokens = 16384;

  // Loads from a safetensors file in data[0, size) (copied: the bytes may be freed afterwards).
  // Returns false with a message when the file is invalid or not this model.
  bool load(const uint8_t* data, size_t size, std::string* error);

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const std::vector<EncoderLayer>& layers() const { return layers_; }
  int vocab_rows() const { return vocab_rows_; }
  int input_dims() const { return d0_; }
  int embedding_dims() const { return d_embedding_; }
  int max_tokens() const { return max_tokens_; }
  // "int8", "float16", "bfloat16" or "float32": the file's weight type (that of its embedding table).
  std::string weight_dtype() const {
    if (token_embedding_dtype_ == DType::kI8) return "int8";
    if (token_embedding_dtype_ == DType::kF16) return "float16";
    return token_embedding_dtype_ == DType::kBF16 ? "bfloat16" : "float32";
  }

  // ids [T'] -> result, clipping to max_tokens as the graph does. Returns false with a message for no ids or
  // an id outside [0, V). `keep` says which of input, attention and hidden to keep (all by default).
  // Returns false with a message, never aborting, when the run needs more memory than the heap can give.
  bool forward(const std::vector<int32_t>& ids, Variant variant, EncoderResult* out, std::string* error,
               EncoderOutputs keep = {}) const;
  // An upper bound of the bytes forward() allocates for T tokens (already clipped): scratch, kept results and
  // attention_f32's workspace, in 64 bits (saturating).
  uint64_t forward_bytes(int t, Variant variant, EncoderOutputs keep) const;

 private:
  Tokenizer tokenizer_;
  std::vector<EncoderLayer> layers_;
  // [V][D0] as stored in the file (F32, F16, BF16 or I8 with [V] scales): a row is converted when a token uses
  // it, so the table stays half (a quarter) the size, and is written once, with a 16-bit (8-bit) file.
  std::vector<uint8_t> token_embedding_;
  std::vector<uint8_t> token_embedding_scales_;  // I8 only: [V][D0 / block] little-endian F32
  size_t token_embedding_block_ = 0;
  DType token_embedding_dtype_ = DType::kF32;
  std::vector<float> inv_timescales_;     // [D0/2]
  std::vector<float> timing_;             // [timing_rows_][D0]: the timing signal, computed once at load
  int timing_rows_ = 0;                   // maxTokens, unless that table would exceed 16 MiB
  std::vector<float> pool_kernel_, pool_bias_;  // packed [Dl][E], [E]
  int vocab_rows_ = 0, d0_ = 0, d_embedding_ = 0, max_tokens_ = 0;
  float input_scale_ = 1, layer_norm_epsilon_ = 0, l2_epsilon_ = 0;
};

}  // namespace attn
