// N positions, D dims.
//
// REFERENCE implementation (and the only one: it is not on a hot path). Computed in double, rounded once.
#include <cassert>
#include <cmath>

#include "attn/attention.h"

namespace attn {

// out [N][D]. For position p and pair index i (columns 2i and 2i+1):
//   angle = p / 10000^(2i/D);  PE[p][2i] = sin(angle);  PE[p][2i+1] = cos(angle)
// For odd D the last column (2i = D-1) holds a sine.
void positional_encoding_f32(float* out, int n, int d) {
  assert(out && n >= 0 && d > 0);
  for (int p = 0; p < n; ++p) {
    for (int c = 0; c < d; ++c) {
      const int two_i = c - (c % 2);
      const double angle = double(p) / std::pow(10000.0, double(two_i) / double(d));
      out[size_t(p) * d + c] = float(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
}

}  // namespace attn
