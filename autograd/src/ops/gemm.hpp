#pragma once
// C = op(A)·op(B) + beta·C for row-major A, B, C (op transposes when its flag is set). m·n·k up to
// 1024 runs a plain loop that adds in order of the inner index; larger products call cblas.
namespace ag::detail {

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc, float beta = 0.0f);
void gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb,
          double* c, int ldc, double beta = 0.0);

}  // namespace ag::detail
