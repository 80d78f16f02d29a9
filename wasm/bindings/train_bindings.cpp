// B sentences, Ts / Tt source / target ids of a batch, L layers, H heads, n / m source / generated tokens.
//
// The Embind layer of the encoder-decoder and its trainer (wasm/include/attn/seq2seq.h): converts arguments,
// copies results out into fresh JS typed arrays, nothing else. Models live in a handle table (JS never owns an
// Embind object); seq2seqFree(handle) releases one. Nothing throws across the boundary: every function returns
// an object whose `error` is a message ("" on success). The JS library (web/src/lib/translator/) validates
// first; the C++ checks the batch again (check_batch) so that a bad call cannot read outside the model.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attn/seq2seq.h"

namespace {

using emscripten::typed_memory_view;
using emscripten::val;

std::map<int, std::unique_ptr<attn::Seq2SeqModel>>& models() {
  static std::map<int, std::unique_ptr<attn::Seq2SeqModel>> table;
  return table;
}
int next_handle = 1;
const char* const kNoScratch = "seq2seq: the attention kernels could not allocate their scratch (the WASM heap is full)";

val error_result(const std::string& message) {
  val r = val::object();
  r.set("error", message);
  return r;
}

val ok_result() {
  val r = val::object();
  r.set("error", std::string());
  return r;
}

attn::Seq2SeqModel* lookup(int handle) {
  auto it = models().find(handle);
  return it == models().end() ? nullptr : it->second.get();
}

template <typename T>
val copy_array(const char* type, const T* data, size_t n) {
  return val::global(type).new_(typed_memory_view(n, data));
}

int add_model(std::unique_ptr<attn::Seq2SeqModel> model) {
  const int handle = next_handle++;
  models()[handle] = std::move(model);
  return handle;
}

// {handle, error}: seeded random weights. config: {srcVocab, tgtVocab, dModel, heads, dFF, encoderLayers,
// decoderLayers, maxLen, score (0..3), da, bos, eos, seed}.
val seq2seq_create(val c) {
  attn::Seq2SeqConfig config;
  config.src_vocab = c["srcVocab"].as<int>();
  config.tgt_vocab = c["tgtVocab"].as<int>();
  config.d_model = c["dModel"].as<int>();
  config.heads = c["heads"].as<int>();
  config.d_ff = c["dFF"].as<int>();
  config.encoder_layers = c["encoderLayers"].as<int>();
  config.decoder_layers = c["decoderLayers"].as<int>();
  config.max_len = c["maxLen"].as<int>();
  config.score = attn::Score(c["score"].as<int>());
  config.da = c["da"].as<int>();
  config.bos = c["bos"].as<int>();
  config.eos = c["eos"].as<int>();
  config.seed = c["seed"].as<uint32_t>();
  auto model = std::make_unique<attn::Seq2SeqModel>();
  std::string error;
  if (!model->init(config, &error)) return error_result(error);
  val r = ok_result();
  r.set("handle", add_model(std::move(model)));
  return r;
}

// {handle, error}: a safetensors file in [ptr, ptr + size) (copied; JS frees it afterwards).
val seq2seq_load(uintptr_t ptr, double size) {
  if (ptr == 0 || !(size >= 0)) return error_result("seq2seqLoad: no bytes");
  auto model = std::make_unique<attn::Seq2SeqModel>();
  std::string error;
  if (!model->load(reinterpret_cast<const uint8_t*>(ptr), size_t(size), &error)) return error_result(error);
  val r = ok_result();
  r.set("handle", add_model(std::move(model)));
  return r;
}

// The configuration, the file's metadata strings, the step count and the tensors' names and shapes.
val seq2seq_info(int handle) {
  const attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqInfo: no model with handle " + std::to_string(handle));
  const attn::Seq2SeqConfig& c = m->config();
  val r = ok_result();
  r.set("srcVocab", c.src_vocab);
  r.set("tgtVocab", c.tgt_vocab);
  r.set("dModel", c.d_model);
  r.set("heads", c.heads);
  r.set("dFF", c.d_ff);
  r.set("encoderLayers", c.encoder_layers);
  r.set("decoderLayers", c.decoder_layers);
  r.set("maxLen", c.max_len);
  r.set("score", std::string(attn::score_name(c.score)));
  r.set("da", c.da);
  r.set("bos", c.bos);
  r.set("eos", c.eos);
  r.set("seed", c.seed);
  r.set("steps", m->steps_taken());
  r.set("parameterCount", double(m->parameter_count()));
  val meta = val::object();
  for (const auto& [k, v] : m->metadata()) meta.set(k, v);
  r.set("metadata", meta);
  val tensors = val::array();
  int i = 0;
  for (const attn::Seq2SeqTensor& t : m->tensors()) {
    val shape = val::array();
    for (size_t d = 0; d < t.shape.size(); ++d) shape.set(d, double(t.shape[d]));
    val entry = val::object();
    entry.set("name", t.name);
    entry.set("shape", shape);
    tensors.set(i++, entry);
  }
  r.set("tensors", tensors);
  return r;
}

// batch: {src, srcLengths, tgt, tgtLengths} (Int32Arrays or arrays of numbers).
attn::Seq2SeqBatch to_batch(const val& b) {
  attn::Seq2SeqBatch batch;
  batch.src = emscripten::convertJSArrayToNumberVector<int32_t>(b["src"]);
  batch.src_lens = emscripten::convertJSArrayToNumberVector<int32_t>(b["srcLengths"]);
  batch.tgt = emscripten::convertJSArrayToNumberVector<int32_t>(b["tgt"]);
  batch.tgt_lens = emscripten::convertJSArrayToNumberVector<int32_t>(b["tgtLengths"]);
  return batch;
}

// optimizer: {lr, beta1, beta2, eps, weightDecay, clipNorm, warmupSteps, decaySteps, minLrRatio}.
attn::AdamWConfig to_optimizer(const val& o) {
  attn::AdamWConfig c;
  c.lr = o["lr"].as<float>();
  c.beta1 = o["beta1"].as<float>();
  c.beta2 = o["beta2"].as<float>();
  c.eps = o["eps"].as<float>();
  c.weight_decay = o["weightDecay"].as<float>();
  c.clip_norm = o["clipNorm"].as<float>();
  c.warmup_steps = o["warmupSteps"].as<int>();
  c.decay_steps = o["decaySteps"].as<int>();
  c.min_lr_ratio = o["minLrRatio"].as<float>();
  return c;
}

// {loss, gradNorm, lr, step, error}: one whole training step (forward, backward, AdamW) in one call.
val seq2seq_train_step(int handle, val batch_value, val optimizer, int variant) {
  attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqTrainStep: no model with handle " + std::to_string(handle));
  if (variant != 0 && variant != 1) return error_result("seq2seqTrainStep: unknown variant " + std::to_string(variant));
  const attn::Seq2SeqBatch batch = to_batch(batch_value);
  const std::string bad = m->check_batch(batch);
  if (!bad.empty()) return error_result(bad);
  const attn::Seq2SeqStep s = m->train_step(batch, to_optimizer(optimizer), attn::Variant(variant));
  if (s.loss != s.loss) return error_result(kNoScratch);
  val r = ok_result();
  r.set("loss", s.loss);
  r.set("gradNorm", s.grad_norm);
  r.set("lr", s.lr);
  r.set("step", s.step);
  return r;
}

// {loss, error}: the batch's mean loss, no update.
val seq2seq_loss(int handle, val batch_value, int variant) {
  attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqLoss: no model with handle " + std::to_string(handle));
  if (variant != 0 && variant != 1) return error_result("seq2seqLoss: unknown variant " + std::to_string(variant));
  const attn::Seq2SeqBatch batch = to_batch(batch_value);
  const std::string bad = m->check_batch(batch);
  if (!bad.empty()) return error_result(bad);
  const double loss = m->loss(batch, attn::Variant(variant));
  if (loss != loss) return error_result(kNoScratch);
  val r = ok_result();
  r.set("loss", loss);
  return r;
}

// {loss, gradients: {name: Float32Array}, error}: the batch's loss and gradient, no update (for oracles).
val seq2seq_gradients(int handle, val batch_value, int variant) {
  attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqGradients: no model with handle " + std::to_string(handle));
  if (variant != 0 && variant != 1) return error_result("seq2seqGradients: unknown variant " + std::to_string(variant));
  const attn::Seq2SeqBatch batch = to_batch(batch_value);
  const std::string bad = m->check_batch(batch);
  if (!bad.empty()) return error_result(bad);
  const float loss = m->forward_backward(batch, attn::Variant(variant));
  if (loss != loss) return error_result(kNoScratch);
  val r = ok_result();
  r.set("loss", loss);
  val grads = val::object();
  for (const attn::Seq2SeqTensor& t : m->tensors()) {
    grads.set(t.name, copy_array("Float32Array", m->grads().data() + t.offset, t.count));
  }
  r.set("gradients", grads);
  return r;
}

// {parameters: {name: Float32Array}, error}: copies of every weight.
val seq2seq_parameters(int handle) {
  attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqParameters: no model with handle " + std::to_string(handle));
  val r = ok_result();
  val params = val::object();
  for (const attn::Seq2SeqTensor& t : m->tensors()) {
    params.set(t.name, copy_array("Float32Array", m->params().data() + t.offset, t.count));
  }
  r.set("parameters", params);
  return r;
}

val layer_arrays(const std::vector<std::vector<float>>& layers) {
  val arrays = val::array();
  for (size_t l = 0; l < layers.size(); ++l) arrays.set(l, copy_array("Float32Array", layers[l].data(), layers[l].size()));
  return arrays;
}

val block_steps(const std::vector<attn::Seq2SeqBlockSteps>& blocks) {
  val arrays = val::array();
  for (size_t l = 0; l < blocks.size(); ++l) {
    const attn::Seq2SeqBlockSteps& b = blocks[l];
    val o = val::object();
    o.set("x", copy_array("Float32Array", b.x.data(), b.x.size()));
    o.set("context", b.context.empty() ? val::null() : copy_array("Float32Array", b.context.data(), b.context.size()));
    o.set("q", copy_array("Float32Array", b.q.data(), b.q.size()));
    o.set("k", copy_array("Float32Array", b.k.data(), b.k.size()));
    o.set("v", copy_array("Float32Array", b.v.data(), b.v.size()));
    arrays.set(l, o);
  }
  return arrays;
}

// {tokens: Int32Array, attention: {encoder, decoder, cross} (per layer Float32Array) or null, steps: {encoder,
// decoder, cross} (per layer {x, context, q, k, v}: Float32Array [rows][M], context null but for cross) or null,
// error}.
val seq2seq_translate(int handle, val src, int max_tokens, bool attention, bool steps, int variant) {
  attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqTranslate: no model with handle " + std::to_string(handle));
  if (variant != 0 && variant != 1) return error_result("seq2seqTranslate: unknown variant " + std::to_string(variant));
  attn::Seq2SeqTranslation t;
  std::string error;
  if (!m->translate(emscripten::convertJSArrayToNumberVector<int32_t>(src), max_tokens, attention,
                    attention && steps, attn::Variant(variant), &t, &error)) {
    return error_result(error);
  }
  val r = ok_result();
  r.set("tokens", copy_array("Int32Array", t.tokens.data(), t.tokens.size()));
  // { encoder, decoder, cross } of one conversion applied to the three kinds of blocks.
  auto by_kind = [](auto convert, const auto& encoder, const auto& decoder, const auto& cross) {
    val o = val::object();
    o.set("encoder", convert(encoder));
    o.set("decoder", convert(decoder));
    o.set("cross", convert(cross));
    return o;
  };
  r.set("attention", attention ? by_kind(layer_arrays, t.encoder, t.decoder, t.cross) : val::null());
  r.set("steps", attention && steps ? by_kind(block_steps, t.encoder_steps, t.decoder_steps, t.cross_steps)
                                    : val::null());
  return r;
}

// {bytes: Uint8Array, error}: the weights as safetensors; metadata: an object of strings stored beside the
// configuration (the vocabularies, the training run's settings).
val seq2seq_save(int handle, val metadata) {
  const attn::Seq2SeqModel* m = lookup(handle);
  if (!m) return error_result("seq2seqSave: no model with handle " + std::to_string(handle));
  std::map<std::string, std::string> meta;
  const val keys = val::global("Object").call<val>("keys", metadata);
  const unsigned n = keys["length"].as<unsigned>();
  for (unsigned i = 0; i < n; ++i) {
    const std::string key = keys[i].as<std::string>();
    meta[key] = metadata[key].as<std::string>();
  }
  const std::vector<uint8_t> bytes = m->save(meta);
  val r = ok_result();
  r.set("bytes", copy_array("Uint8Array", bytes.data(), bytes.size()));
  return r;
}

bool seq2seq_free(int handle) { return models().erase(handle) > 0; }

}  // namespace

EMSCRIPTEN_BINDINGS(attn_train) {
  emscripten::function("seq2seqCreate", &seq2seq_create);
  emscripten::function("seq2seqLoad", &seq2seq_load);
  emscripten::function("seq2seqInfo", &seq2seq_info);
  emscripten::function("seq2seqTrainStep", &seq2seq_train_step);
  emscripten::function("seq2seqLoss", &seq2seq_loss);
  emscripten::function("seq2seqGradients", &seq2seq_gradients);
  emscripten::function("seq2seqParameters", &seq2seq_parameters);
  emscripten::function("seq2seqTranslate", &seq2seq_translate);
  emscripten::function("seq2seqSave", &seq2seq_save);
  emscripten::function("seq2seqFree", &seq2seq_free);
}
