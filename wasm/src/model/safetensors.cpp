// The safetensors reader: see wasm/include/attn/safetensors.h for the format and the checks.
#include "attn/safetensors.h"

#include <algorithm>
#include <cstring>

#include "json.h"

namespace attn {

namespace {

struct DTypeName {
  const char* name;
  DType dtype;
  size_t size;
};
constexpr DTypeName kDTypes[] = {
    {"F64", DType::kF64, 8}, {"F32", DType::kF32, 4}, {"F16", DType::kF16, 2}, {"BF16", DType::kBF16, 2},
    {"I64", DType::kI64, 8}, {"I32", DType::kI32, 4}, {"I16", DType::kI16, 2}, {"I8", DType::kI8, 1},
    {"U8", DType::kU8, 1},   {"BOOL", DType::kBool, 1},
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool fail(std::string* error, const std::string& message) {
  if (error) *error = "safetensors: " + message;
  return false;
}

}  // namespace

size_t dtype_size(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.size;
  return 0;
}

const char* dtype_name(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

size_t TensorInfo::count() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

bool SafeTensors::parse(const uint8_t* data, size_t size, SafeTensors* out, std::string* error) {
  *out = SafeTensors();
  if (data == nullptr || size < 8) {
    return fail(error, "the file is " + std::to_string(size) + " bytes, shorter than its 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  if (header_len > kMaxHeaderBytes) {
    return fail(error, "the header length " + std::to_string(header_len) + " is over the limit of " +
                           std::to_string(kMaxHeaderBytes) + " bytes (corrupt or not a safetensors file)");
  }
  if (header_len > size - 8) {
    return fail(error, "the header length " + std::to_string(header_len) + " exceeds the " +
                           std::to_string(size - 8) + " bytes after it (truncated file?)");
  }
  if (header_len < 2) return fail(error, "the header is " + std::to_string(header_len) + " bytes, too short");
  json::Value header;
  std::string json_error;
  if (!json::parse(reinterpret_cast<const char*>(data + 8), header_len, &header, &json_error)) {
    return fail(error, "the header is not valid JSON: " + json_error);
  }
  if (!header.is_object()) return fail(error, "the header is not a JSON object");

  out->data_ = data + 8 + header_len;
  out->data_size_ = size - 8 - header_len;
  // Names are unique: json::parse refuses a key repeated in one object (tensor names, __metadata__ keys and
  // the fields of a tensor entry alike), as the format's reference reader does.
  for (const auto& [name, entry] : header.object) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return fail(error, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.object) {
        if (!value.is_string()) return fail(error, "__metadata__." + key + " is not a string");
        out->metadata_[key] = value.string;
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) return fail(error, where + " is not an object");
    const json::Value* dtype = entry.find("dtype");
    const json::Value* shape = entry.find("shape");
    const json::Value* offsets = entry.find("data_offsets");
    if (!dtype || !dtype->is_string()) return fail(error, where + " has no dtype string");
    if (!shape || !shape->is_array()) return fail(error, where + " has no shape array");
    if (!offsets || !offsets->is_array() || offsets->array.size() != 2 || !offsets->array[0].is_uint() ||
        !offsets->array[1].is_uint()) {
      return fail(error, where + " has no data_offsets [begin, end] of two non-negative integers");
    }
    TensorInfo info;
    info.name = name;
    size_t elem = 0;
    for (const auto& d : kDTypes) {
      if (dtype->string == d.name) {
        info.dtype = d.dtype;
        elem = d.size;
      }
    }
    if (elem == 0) return fail(error, where + " has an unknown dtype '" + dtype->string + "'");
    // product(shape) * elem, saturating on overflow (then it cannot equal the span of the offsets).
    uint64_t bytes = elem;
    for (const auto& d : shape->array) {
      if (!d.is_uint()) return fail(error, where + " has a shape entry that is not a non-negative integer");
      if (d.uinteger > static_cast<uint64_t>(INT64_MAX)) return fail(error, where + " has a dimension over 2^63");
      info.shape.push_back(static_cast<int64_t>(d.uinteger));
      bytes = (d.uinteger == 0 || bytes <= UINT64_MAX / d.uinteger) ? bytes * d.uinteger : UINT64_MAX;
    }
    const uint64_t begin = offsets->array[0].uinteger;
    const uint64_t end = offsets->array[1].uinteger;
    if (begin > end) {
      return fail(error, where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                             "] that run backwards");
    }
    if (end > out->data_size_) {
      return fail(error, where + " ends at byte " + std::to_string(end) + " past the end of the data (" +
                             std::to_string(out->data_size_) + " bytes; truncated file?)");
    }
    if (end - begin != bytes) {
      return fail(error, where + " is " + dtype->string + " " + shape_text(info.shape) + " = " +
                             std::to_string(bytes) + " bytes but its data_offsets span " +
                             std::to_string(end - begin));
    }
    info.begin = static_cast<size_t>(begin);
    info.end = static_cast<size_t>(end);
    out->tensors_.push_back(std::move(info));
  }
  // No overlap and no hole: sorted by offset, each tensor starts where the previous one ends, and the last
  // ends at the end of the file.
  std::vector<const TensorInfo*> order;
  for (const auto& t : out->tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t at = 0;
  for (const TensorInfo* t : order) {
    if (t->begin < at) return fail(error, "tensor '" + t->name + "' overlaps the tensor before it");
    if (t->begin > at) {
      return fail(error, "bytes " + std::to_string(at) + " to " + std::to_string(t->begin) +
                             " of the data belong to no tensor");
    }
    at = t->end;
  }
  if (at != out->data_size_) {
    return fail(error, "the data is " + std::to_string(out->data_size_) + " bytes but the tensors cover " +
                           std::to_string(at));
  }
  return true;
}

const TensorInfo* SafeTensors::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

bool to_f32(DType dtype, const uint8_t* src, size_t n, float* out) {
  switch (dtype) {
    case DType::kF32:
      if (n) std::memcpy(out, src, 4 * n);  // out may be null when n == 0 (memcpy's UB, fuzz)
      return true;
    case DType::kF16:
      for (size_t i = 0; i < n; ++i) out[i] = half_to_float(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
      return true;
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint32_t bits = static_cast<uint32_t>(src[2 * i] | (src[2 * i + 1] << 8)) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
      return true;
    default:
      return false;
  }
}

bool SafeTensors::float_rows(const std::string& name, const std::vector<int64_t>& shape, FloatRows* out,
                             std::string* error) const {
  const TensorInfo* t = find(name);
  if (!t) return fail(error, "the file has no tensor '" + name + "'");
  if (t->shape != shape) {
    return fail(error, "tensor '" + name + "' has shape " + shape_text(t->shape) + " but " + shape_text(shape) +
                           " was expected");
  }
  const size_t cols = t->shape.empty() ? 1 : static_cast<size_t>(t->shape.back());
  const size_t rows = cols == 0 ? 0 : t->count() / cols;
  const uint8_t* scales = nullptr;
  size_t block = cols;
  if (t->dtype == DType::kI8) {
    const TensorInfo* s = find(name + ".scales");
    const size_t blocks = s && s->shape.size() == 2 ? static_cast<size_t>(s->shape[1]) : 0;
    if (!s || s->dtype != DType::kF32 || blocks == 0 || static_cast<size_t>(s->shape[0]) != rows || cols % blocks) {
      return fail(error, "tensor '" + name + "' is I8 but the file has no '" + name + ".scales' F32 [" +
                             std::to_string(rows) + ", blocks] with blocks dividing " + std::to_string(cols));
    }
    scales = bytes(*s);
    block = cols / blocks;
  } else if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16) {
    return fail(error, "tensor '" + name + "' is " + dtype_name(t->dtype) + ", not F32, F16, BF16 or I8 + scales");
  }
  *out = FloatRows{t->dtype, bytes(*t), scales, rows, cols, block};
  return true;
}

void FloatRows::read(size_t r, float* out) const {
  if (dtype != DType::kI8) {
    to_f32(dtype, data + dtype_size(dtype) * cols * r, cols, out);
    return;
  }
  const int8_t* q = reinterpret_cast<const int8_t*>(data) + cols * r;
  const uint8_t* row_scales = scales + 4 * (cols / block) * r;
  for (size_t b = 0; b < cols / block; ++b) {
    float scale;
    std::memcpy(&scale, row_scales + 4 * b, 4);
    for (size_t c = b * block; c < (b + 1) * block; ++c) out[c] = static_cast<float>(q[c]) * scale;
  }
}

bool SafeTensors::read_f32(const std::string& name, const std::vector<int64_t>& shape, std::vector<float>* out,
                           std::string* error) const {
  FloatRows rows;
  if (!float_rows(name, shape, &rows, error)) return false;
  out->resize(rows.rows * rows.cols);
  for (size_t r = 0; r < rows.rows; ++r) rows.read(r, out->data() + rows.cols * r);
  return true;
}

}  // namespace attn
