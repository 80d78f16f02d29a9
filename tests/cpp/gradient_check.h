// Helpers of the *_backward tests: float64 central differences of a double loss, and the relative error
// TinyGPT uses (max abs error divided by the largest |gradient| in the tensor).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <random>
#include <vector>

namespace attn::test {

// d loss / d p[e] for every e, by (loss(p + h) - loss(p - h)) / 2h in double; p is restored.
inline std::vector<double> central_differences(std::vector<double>& p, const std::function<double()>& loss,
                                               double h = 1e-6) {
  std::vector<double> g(p.size());
  for (size_t e = 0; e < p.size(); ++e) {
    const double x = p[e];
    p[e] = x + h;
    const double up = loss();
    p[e] = x - h;
    const double down = loss();
    p[e] = x;
    g[e] = (up - down) / (2 * h);
  }
  return g;
}

// max_e |got[e] - want[e]| / max(max_e |want[e]|, floor): the error relative to the tensor's scale.
template <typename A, typename B>
double relative_error(const std::vector<A>& got, const std::vector<B>& want, double floor = 1e-12) {
  double err = 0.0, scale = floor;
  for (size_t e = 0; e < want.size(); ++e) {
    err = std::max(err, std::abs(double(got[e]) - double(want[e])));
    scale = std::max(scale, std::abs(double(want[e])));
  }
  return err / scale;
}

inline std::vector<double> uniform(std::mt19937& rng, size_t n, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> out(n);
  for (auto& x : out) x = u(rng);
  return out;
}

// Round to float32 and back, so the float variants and the double reference see the same inputs.
inline std::vector<double> rounded(std::vector<double> v) {
  for (auto& x : v) x = double(float(x));
  return v;
}

inline std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t e = 0; e < a.size(); ++e) s += a[e] * b[e];
  return s;
}

}  // namespace attn::test
