// M rows of A and C, K inner dims, N columns of B and C.
//
// REFERENCE implementation: written to be read, not to be fast. Eigen in double (inputs widened, product
// accumulated in double, rounded once), no intrinsics. gemm_f32__scalar and gemm_f32__wasmsimd are tested
// against this file.
#include <cassert>

#include <Eigen/Core>

#include "attn/attention.h"

namespace attn {

// c [M][N]; a [M][K]; b [K][N]; bias [N] or nullptr.
// C = A . B (+ bias broadcast over the rows), every row-major.
void gemm_f32__reference(float* c, const float* a, const float* b, const float* bias, int m, int k, int n) {
  assert(c && a && b && m > 0 && k > 0 && n > 0);
  using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const MatrixD A = Eigen::Map<const MatrixF>(a, m, k).cast<double>();
  const MatrixD B = Eigen::Map<const MatrixF>(b, k, n).cast<double>();
  MatrixD C = A * B;
  if (bias) C.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, n).cast<double>();
  Eigen::Map<MatrixF>(c, m, n) = C.cast<float>();
}

}  // namespace attn
