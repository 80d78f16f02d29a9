// N elements.
//
// Allocation that can fail without ending the instance. The module is built with -fno-exceptions, so a
// std::vector that cannot grow calls abort() and the WASM instance is dead for every later call. Every buffer
// whose size depends on the caller's input (sizes, text length, a model file) comes from here instead: sizes
// are computed in 64 bits with an explicit limit, and malloc's null is turned into `false` (then a message).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <utility>

namespace attn {

// The most one buffer may hold: the WASM heap is at most 2 GiB (MAXIMUM_MEMORY), so nothing larger can exist.
constexpr uint64_t kMaxBufferBytes = uint64_t(1) << 31;

// *out = product of dims, or false when it exceeds `limit` (so no product of a few int dims can wrap).
inline bool checked_product(uint64_t* out, std::initializer_list<uint64_t> dims, uint64_t limit = kMaxBufferBytes) {
  uint64_t n = 1;
  for (uint64_t d : dims) {
    if (d != 0 && n > limit / d) return false;
    n *= d;
  }
  *out = n;
  return n <= limit;
}

// a + b and a * b, saturating at UINT64_MAX (for byte totals that are then compared with a limit).
inline uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
inline uint64_t mul_sat(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

// T [N] from malloc; contents start undefined unless assign() is used. Movable, not copyable.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~Buffer() { std::free(p_); }

  // Room for n elements (the old contents are dropped); false, holding nothing, when that cannot be had.
  bool allocate(uint64_t n) {
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
    if (n == 0) return true;
    if (n > kMaxBufferBytes / sizeof(T) || n > SIZE_MAX / sizeof(T)) return false;
    p_ = static_cast<T*>(std::malloc(static_cast<std::size_t>(n) * sizeof(T)));
    if (p_) n_ = static_cast<std::size_t>(n);
    return p_ != nullptr;
  }
  // allocate(n), then every element = value.
  bool assign(uint64_t n, const T& value) {
    if (!allocate(n)) return false;
    for (std::size_t i = 0; i < n_; ++i) p_[i] = value;
    return true;
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace attn
