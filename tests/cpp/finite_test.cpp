// N values.
//
// first_non_finite_f32 (wasm/include/attn/finite.h): the index of the first NaN or +-INFINITY wherever it stands
// (first value, inside and at the edges of a 64-value block, in the tail past the last whole block), -1 for
// finite inputs including the largest and the denormal values, and n = 0.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attn/finite.h"

namespace attn {
namespace {

std::vector<float> finite_values(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = std::sin(float(i)) * 1e3f;
  return x;
}

TEST(FirstNonFinite, AllFinite) {
  EXPECT_EQ(first_non_finite_f32(nullptr, 0), -1);
  for (size_t n : {1u, 3u, 4u, 63u, 64u, 65u, 200u, 4099u}) {
    std::vector<float> x = finite_values(n);
    x[n / 2] = std::numeric_limits<float>::max();
    x[0] = -std::numeric_limits<float>::max();
    x[n - 1] = std::numeric_limits<float>::denorm_min();
    EXPECT_EQ(first_non_finite_f32(x.data(), n), -1) << "n = " << n;
  }
}

TEST(FirstNonFinite, FindsTheFirstBadValue) {
  const float bad[] = {NAN, -NAN, INFINITY, -INFINITY};
  for (size_t n : {1u, 5u, 64u, 130u, 4099u}) {
    for (size_t at : {size_t(0), size_t(3), size_t(63), size_t(64), size_t(127), size_t(128), n - 1}) {
      if (at >= n) continue;
      for (float b : bad) {
        std::vector<float> x = finite_values(n);
        x[at] = b;
        if (at + 7 < n) x[at + 7] = NAN;  // a later bad value does not hide the first
        EXPECT_EQ(first_non_finite_f32(x.data(), n), long(at)) << "n = " << n << ", at " << at << ", value " << b;
      }
    }
  }
}

}  // namespace
}  // namespace attn
