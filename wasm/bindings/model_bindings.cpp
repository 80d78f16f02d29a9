// T tokens, L layers, H heads, D widths, E embedding width.
//
// The Embind layer of the model (wasm/include/attn/model.h): converts arguments, copies results out into
// fresh JS typed arrays (new Float32Array(typed_memory_view(...)) copies), nothing else. Models live in a
// handle table so that JS never owns an Embind object that needs .delete(); `modelFree(handle)` releases one.
// Nothing throws across the boundary: every function returns an object whose `error` is a message ("" on
// success). Text arrives NFKC-normalised by web/src/lib/model/index.js, as the original tokenizer does.
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attn/model.h"

namespace {

using emscripten::typed_memory_view;
using emscripten::val;

std::map<int, std::unique_ptr<attn::EncoderModel>>& models() {
  static std::map<int, std::unique_ptr<attn::EncoderModel>> table;
  return table;
}
int next_handle = 1;

val error_result(const std::string& message) {
  val r = val::object();
  r.set("error", message);
  return r;
}

const attn::EncoderModel* lookup(int handle) {
  auto it = models().find(handle);
  return it == models().end() ? nullptr : it->second.get();
}

template <typename T>
val copy_array(const char* type, const T* data, size_t n) {
  return val::global(type).new_(typed_memory_view(n, data));
}

// The piece of each id; "<id N>" for the embedding rows the vocabulary has no piece for (Tokenizer::piece),
// as the WebGPU path does.
val pieces_of(const attn::EncoderModel& model, const std::vector<int32_t>& ids) {
  val pieces = val::array();
  for (size_t i = 0; i < ids.size(); ++i) pieces.set(i, model.tokenizer().piece(ids[i]));
  return pieces;
}

// {handle, error: ""}: `item` kept in `table` under a new handle (modelFree / tensorsClose release it).
template <typename T>
val store(std::map<int, std::unique_ptr<T>>& table, int* next, std::unique_ptr<T> item) {
  const int handle = (*next)++;
  table[handle] = std::move(item);
  val r = val::object();
  r.set("error", std::string());
  r.set("handle", handle);
  return r;
}

// {handle, error}: parses and copies the safetensors file in [ptr, ptr + size) (JS frees it afterwards).
val model_load(uintptr_t ptr, double size) {
  if (ptr == 0 || !(size >= 0)) return error_result("modelLoad: no bytes");
  auto model = std::make_unique<attn::EncoderModel>();
  std::string error;
  if (!model->load(reinterpret_cast<const uint8_t*>(ptr), static_cast<size_t>(size), &error)) {
    return error_result(error);
  }
  return store(models(), &next_handle, std::move(model));
}

// {layers, heads: [per layer], dims: [per layer output], inputDims, headDims, vocabSize, pieces, maxTokens,
//  embeddingDims, dtype, error}
val model_info(int handle) {
  const attn::EncoderModel* m = lookup(handle);
  if (!m) return error_result("modelInfo: no model with handle " + std::to_string(handle));
  val heads = val::array(), dims = val::array(), head_dims = val::array();
  for (size_t l = 0; l < m->layers().size(); ++l) {
    heads.set(l, m->layers()[l].heads);
    dims.set(l, m->layers()[l].d_out);
    head_dims.set(l, m->layers()[l].d_attn / m->layers()[l].heads);
  }
  val r = val::object();
  r.set("error", std::string());
  r.set("layers", static_cast<int>(m->layers().size()));
  r.set("heads", heads);
  r.set("dims", dims);
  r.set("headDims", head_dims);
  r.set("inputDims", m->input_dims());
  r.set("vocabSize", m->vocab_rows());
  r.set("pieces", m->tokenizer().size());
  r.set("maxTokens", m->max_tokens());
  r.set("embeddingDims", m->embedding_dims());
  r.set("dtype", m->weight_dtype());
  return r;
}

// {ids: Int32Array, pieces: string[], error} for NFKC-normalised text (all tokens, not clipped).
val model_tokenize(int handle, const std::string& normalized) {
  const attn::EncoderModel* m = lookup(handle);
  if (!m) return error_result("modelTokenize: no model with handle " + std::to_string(handle));
  std::vector<int32_t> ids;
  std::string error;
  if (!m->tokenizer().encode(normalized, &ids, &error)) return error_result(error);
  val r = val::object();
  r.set("error", std::string());
  r.set("ids", copy_array("Int32Array", ids.data(), ids.size()));
  r.set("pieces", pieces_of(*m, ids));
  return r;
}

// Bits of `outputs` (model/index.js OUTPUT_BITS): which results become JS arrays; the others are null.
constexpr int kOutputEmbedding = 1, kOutputAttention = 2, kOutputHidden = 4, kOutputInput = 8;

val layer_arrays(const std::vector<std::vector<float>>& layers) {
  val arrays = val::array();
  for (size_t l = 0; l < layers.size(); ++l) arrays.set(l, copy_array("Float32Array", layers[l].data(), layers[l].size()));
  return arrays;
}

val run_ids(const attn::EncoderModel& m, const std::vector<int32_t>& ids, int variant, int outputs) {
  if (variant != 0 && variant != 1) return error_result("modelRun: unknown variant " + std::to_string(variant));
  attn::EncoderOutputs keep;
  keep.input = (outputs & kOutputInput) != 0;
  keep.attention = (outputs & kOutputAttention) != 0;
  keep.hidden = (outputs & kOutputHidden) != 0;
  // Counted before the run: more than the heap has room for is an error here, not an abort inside.
  const int t = static_cast<int>(std::min<size_t>(ids.size(), static_cast<size_t>(m.max_tokens())));
  const uint64_t bytes = m.forward_bytes(t, static_cast<attn::Variant>(variant), keep);
  if (!ids.empty() && double(bytes) > double(uint64_t(1) << 31) - double(mallinfo().uordblks)) {
    return error_result("model: a run of " + std::to_string(t) + " tokens needs " + std::to_string(bytes >> 20) +
                        " MiB, more than the WASM heap (2048 MiB at most) has room for");
  }
  attn::EncoderResult out;
  std::string error;
  if (!m.forward(ids, static_cast<attn::Variant>(variant), &out, &error, keep)) return error_result(error);
  val r = val::object();
  r.set("error", std::string());
  r.set("ids", copy_array("Int32Array", out.ids.data(), out.ids.size()));
  r.set("pieces", pieces_of(m, out.ids));
  r.set("truncated", out.truncated);
  r.set("tokensBeforeClip", out.tokens_before_clip);
  r.set("inputEmbeddings", keep.input ? copy_array("Float32Array", out.input.data(), out.input.size()) : val::null());
  r.set("attention", keep.attention ? layer_arrays(out.attention) : val::null());
  r.set("hidden", keep.hidden ? layer_arrays(out.hidden) : val::null());
  r.set("embedding", (outputs & kOutputEmbedding) != 0
                         ? copy_array("Float32Array", out.embedding.data(), out.embedding.size())
                         : val::null());
  return r;
}

// The forward pass on piece ids (an array of numbers or an Int32Array).
val model_run_ids(int handle, val ids, int variant, int outputs) {
  const attn::EncoderModel* m = lookup(handle);
  if (!m) return error_result("modelRunIds: no model with handle " + std::to_string(handle));
  const unsigned n = ids["length"].as<unsigned>();
  std::vector<int32_t> values(n);
  for (unsigned i = 0; i < n; ++i) values[i] = ids[i].as<int32_t>();
  return run_ids(*m, values, variant, outputs);
}

bool model_free(int handle) { return models().erase(handle) > 0; }

// The ids' pieces ("<id N>" for rows without one), for runs whose ids did not come from this tokenizer.
val model_pieces(int handle, val ids) {
  const attn::EncoderModel* m = lookup(handle);
  if (!m) return val::array();
  const unsigned n = ids["length"].as<unsigned>();
  std::vector<int32_t> values(n);
  for (unsigned i = 0; i < n; ++i) values[i] = ids[i].as<int32_t>();
  return pieces_of(*m, values);
}

// --- The safetensors reader for JS (web/src/lib/model/tensors.js): the one validated reader
// (attn::SafeTensors) over a file JS keeps in the heap until tensorsClose; every other backend's model
// (the WebGPU encoder) reads its weights through it, converted to float32 here.
std::map<int, std::unique_ptr<attn::SafeTensors>>& readers() {
  static std::map<int, std::unique_ptr<attn::SafeTensors>> table;
  return table;
}
int next_reader = 1;

// {handle, error}: parses the file in [ptr, ptr + size), which must stay in the heap until tensorsClose.
val tensors_open(uintptr_t ptr, double size) {
  if (ptr == 0 || !(size >= 0)) return error_result("tensorsOpen: no bytes");
  auto reader = std::make_unique<attn::SafeTensors>();
  std::string error;
  if (!attn::SafeTensors::parse(reinterpret_cast<const uint8_t*>(ptr), static_cast<size_t>(size), reader.get(),
                                &error)) {
    return error_result(error);
  }
  return store(readers(), &next_reader, std::move(reader));
}

// {tensors: {name: {dtype, shape}}, metadata: {key: value}, error}
val tensors_info(int handle) {
  auto it = readers().find(handle);
  if (it == readers().end()) return error_result("tensorsInfo: no reader with handle " + std::to_string(handle));
  val tensors = val::object();
  for (const attn::TensorInfo& t : it->second->tensors()) {
    val shape = val::array();
    for (size_t i = 0; i < t.shape.size(); ++i) shape.set(i, double(t.shape[i]));
    val entry = val::object();
    entry.set("dtype", std::string(attn::dtype_name(t.dtype)));
    entry.set("shape", shape);
    tensors.set(t.name, entry);
  }
  val metadata = val::object();
  for (const auto& [key, value] : it->second->metadata()) metadata.set(key, value);
  val r = val::object();
  r.set("error", std::string());
  r.set("tensors", tensors);
  r.set("metadata", metadata);
  return r;
}

// {data: Float32Array, error}: tensor `name`, which must have exactly `shape` (an array of numbers) and be
// F32, F16, BF16 or I8 + scales, as float32 (SafeTensors::read_f32).
val tensors_read_f32(int handle, const std::string& name, val shape) {
  auto it = readers().find(handle);
  if (it == readers().end()) return error_result("tensorsRead: no reader with handle " + std::to_string(handle));
  const unsigned n = shape["length"].as<unsigned>();
  std::vector<int64_t> dims(n);
  for (unsigned i = 0; i < n; ++i) dims[i] = static_cast<int64_t>(shape[i].as<double>());
  std::vector<float> data;
  std::string error;
  if (!it->second->read_f32(name, dims, &data, &error)) return error_result(error);
  val r = val::object();
  r.set("error", std::string());
  r.set("data", copy_array("Float32Array", data.data(), data.size()));
  return r;
}

bool tensors_close(int handle) { return readers().erase(handle) > 0; }

}  // namespace

EMSCRIPTEN_BINDINGS(attn_model) {
  emscripten::function("modelLoad", &model_load);
  emscripten::function("modelInfo", &model_info);
  emscripten::function("modelTokenize", &model_tokenize);
  emscripten::function("modelRunIds", &model_run_ids);
  emscripten::function("modelFree", &model_free);
  emscripten::function("modelPieces", &model_pieces);
  emscripten::function("tensorsOpen", &tensors_open);
  emscripten::function("tensorsInfo", &tensors_info);
  emscripten::function("tensorsRead", &tensors_read_f32);
  emscripten::function("tensorsClose", &tensors_close);
}
