// A safetensors reader: an 8-byte little-endian header length H, H bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the data.
//
// parse() validates everything before anything is read: the header length against the file and a bound,
// the JSON, every dtype, shape and offset (inside the data, size = product(shape) * dtype size, no overlap,
// no hole), and never reads outside [data, data + size). Errors are returned as messages, never thrown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attn {

enum class DType : int32_t { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// Bytes per element; the name as written in headers ("F32", ...).
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  size_t begin = 0;  // byte offsets into the data section
  size_t end = 0;
  size_t count() const;  // product of the shape (1 for a scalar)
};

// A float tensor [rows][cols] (cols = its last dimension, rows = the product of the others), read a row at a
// time. F32, F16 and BF16 hold the values. An I8 tensor `X` is a float tensor when the file also holds
// `X.scales`, F32 [rows][blocks] with blocks dividing cols: each row is cut into `blocks` blocks of
// B = cols / blocks values, and X[r][c] = int8 X[r][c] * scales[r][c / B] (absmax scales per block, as
// scripts/convert-model.mjs writes them); without that tensor an I8 tensor is not a float tensor.
struct FloatRows {
  DType dtype = DType::kF32;
  const uint8_t* data = nullptr;    // rows * cols values of dtype, little-endian
  const uint8_t* scales = nullptr;  // I8 only: [rows][cols / block] little-endian F32 (memcpy: may be unaligned)
  size_t rows = 0, cols = 0;
  size_t block = 0;                 // I8 only: values per scale (divides cols)
  // out[0, cols) <- row r (< rows) as float32.
  void read(size_t r, float* out) const;
};

class SafeTensors {
 public:
  // 1 MiB: the project's model header is ~4 KB, and the JSON reader holds ~60x the header's size in
  // memory, so a larger bound would let a hostile header exhaust the 2 GiB WASM heap.
  static constexpr uint64_t kMaxHeaderBytes = 1u << 20;

  // Parses the file in data[0, size). The bytes must outlive this object: tensors are views into them.
  // Returns false with a message in `error` when the file is not a valid safetensors file.
  static bool parse(const uint8_t* data, size_t size, SafeTensors* out, std::string* error);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const TensorInfo* find(const std::string& name) const;
  // The tensor's bytes (end - begin of them).
  const uint8_t* bytes(const TensorInfo& info) const { return data_ + info.begin; }

  // Copies tensor `name` into `out` as float32, converting from F32, F16, BF16 or I8 + scales (FloatRows),
  // after checking that it
  // exists and has exactly `shape`. Returns false with a message naming the tensor otherwise.
  bool read_f32(const std::string& name, const std::vector<int64_t>& shape, std::vector<float>* out,
                std::string* error) const;

  // The tensor `name` after the same checks as read_f32 (a float tensor of exactly `shape`), as rows to read
  // one at a time with FloatRows::read; false with a message otherwise.
  bool float_rows(const std::string& name, const std::vector<int64_t>& shape, FloatRows* out,
                  std::string* error) const;

 private:
  const uint8_t* data_ = nullptr;  // start of the data section
  size_t data_size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// IEEE half -> float (exact).
float half_to_float(uint16_t h);

// out[0, n) <- the n little-endian F32, F16 or BF16 values at src, as float32 (exact). Other dtypes: false.
bool to_f32(DType dtype, const uint8_t* src, size_t n, float* out);

}  // namespace attn
