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

  // Copies tensor `name` into `out` as float32, converting from F32, F16 or BF16, after checking that it
  // exists and has exactly `shape`. Returns false with a message naming the tensor otherwise.
  bool read_f32(const std::string& name, const std::vector<int64_t>& shape, std::vector<float>* out,
                std::string* error) const;

  // The tensor `name` after the same checks as read_f32 (F32, F16 or BF16 and exactly `shape`), for reading
  // it in parts with to_f32; null with a message otherwise.
  const TensorInfo* find_float(const std::string& name, const std::vector<int64_t>& shape, std::string* error) const;

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
