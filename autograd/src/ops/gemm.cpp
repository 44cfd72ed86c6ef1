// Row-major GEMM for matmul, linear and (later) convolution: tiny products as plain loops, the
// rest through OpenBLAS' cblas ?gemm.
#include <algorithm>

#include <cblas.h>  // OpenBLAS' cblas; xtensor-blas is not included in this TU (enum clash)

#include "ops/gemm.hpp"

namespace ag::detail {

namespace {

// C = op(A)·op(B) + beta·C, row-major. Tiny products (the backprop tutorial's per-row SGD: [1,3]·[3,16])
// run a plain loop: a BLAS call costs ~900 instructions and a lock before its first multiply.
// One instantiation per (TA, TB). Every form computes c[i][j] = beta·c[i][j] + Σ_p a(i,p)·b(p,j),
// adding in order of p; the loop order follows the shape (per-row backward products are outer
// products, k = 1, or single columns, n = 1, where a vectorised row loop only costs overhead).
template <bool TA, bool TB, class T>
void small_gemm_t(int m, int n, int k, const T* a, int lda, const T* b, int ldb, T beta, T* c, int ldc) {
  const int bj_step = TB ? ldb : 1, bp_step = TB ? 1 : ldb;  // b(p, j) = b[p·bp_step + j·bj_step]
  for (int i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    auto a_ip = [&](int p) { return TA ? a[p * lda + i] : a[i * lda + p]; };
    if (k == 1) {  // outer product: xᵀ·g of one row
      const T ai = a_ip(0);
      if (beta == T(0)) for (int j = 0; j < n; ++j) ci[j] = ai * b[j * bj_step];
      else for (int j = 0; j < n; ++j) ci[j] = beta * ci[j] + ai * b[j * bj_step];
    } else if (TB || n == 1) {  // dot products with B's row j (Bᵀ) or with its one column
      for (int j = 0; j < n; ++j) {
        const T* bj = b + j * bj_step;
        T acc = beta == T(0) ? T(0) : beta * ci[j];
        for (int p = 0; p < k; ++p) acc += a_ip(p) * bj[p * bp_step];
        ci[j] = acc;
      }
    } else {  // rows of B scaled by a(i,p) and added: unit stride in j
      if (beta == T(0)) std::fill(ci, ci + n, T(0));
      else for (int j = 0; j < n; ++j) ci[j] *= beta;
      for (int p = 0; p < k; ++p) {
        const T aip = a_ip(p);
        const T* bp = b + p * ldb;
        for (int j = 0; j < n; ++j) ci[j] += aip * bp[j];
      }
    }
  }
}
template <class T>
void small_gemm(bool ta, bool tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T beta,
                T* c, int ldc) {
  if (!ta && !tb) small_gemm_t<false, false>(m, n, k, a, lda, b, ldb, beta, c, ldc);
  else if (!ta) small_gemm_t<false, true>(m, n, k, a, lda, b, ldb, beta, c, ldc);
  else if (!tb) small_gemm_t<true, false>(m, n, k, a, lda, b, ldb, beta, c, ldc);
  else small_gemm_t<true, true>(m, n, k, a, lda, b, ldb, beta, c, ldc);
}
constexpr long kSmallGemm = 1024;  // m·n·k up to this: plain loop

// Products with one row (m = 1), one column (n = 1) or rank one (k = 1) as BLAS level 2: ?gemm
// packs its operands first, which for an LSTM step at batch 1 ([1, 32]·[32, 128]) cost more than
// the arithmetic. Returns false when the shape is none of these.
template <class T, class Gemv, class Ger>
bool level2(bool ta, bool tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T beta, T* c,
            int ldc, Gemv gemv, Ger ger) {
  if (m == 1) {  // c[j] = Σ_p op(A)(0, p)·op(B)(p, j): c = op(B)ᵀ·a
    if (beta == T(0)) std::fill(c, c + n, T(0));  // c may hold NaN bits: never rely on 0·NaN
    const int inc_a = ta ? lda : 1;
    if (tb)  // B stored [n, k]
      gemv(CblasRowMajor, CblasNoTrans, n, k, T(1), b, ldb, a, inc_a, beta, c, 1);
    else  // B stored [k, n]
      gemv(CblasRowMajor, CblasTrans, k, n, T(1), b, ldb, a, inc_a, beta, c, 1);
    return true;
  }
  if (n == 1) {  // c[i] = Σ_p op(A)(i, p)·op(B)(p, 0): c = op(A)·b
    if (beta == T(0))
      for (int i = 0; i < m; ++i) c[static_cast<long>(i) * ldc] = T(0);
    const int inc_b = tb ? 1 : ldb;
    if (ta)  // A stored [k, m]
      gemv(CblasRowMajor, CblasTrans, k, m, T(1), a, lda, b, inc_b, beta, c, ldc);
    else  // A stored [m, k]
      gemv(CblasRowMajor, CblasNoTrans, m, k, T(1), a, lda, b, inc_b, beta, c, ldc);
    return true;
  }
  if (k == 1) {  // c = beta·c + op(A)(:, 0)·op(B)(0, :)
    for (int i = 0; i < m; ++i) {
      T* ci = c + static_cast<long>(i) * ldc;
      if (beta == T(0)) std::fill(ci, ci + n, T(0));
      else if (beta != T(1)) for (int j = 0; j < n; ++j) ci[j] *= beta;
    }
    ger(CblasRowMajor, m, n, T(1), a, ta ? 1 : lda, b, tb ? ldb : 1, c, ldc);
    return true;
  }
  return false;
}

}  // namespace

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc, float beta) {
  if (long(m) * n * k <= kSmallGemm) return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
  if (level2(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, cblas_sgemv, cblas_sger)) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
              1.0f, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb,
          double* c, int ldc, double beta) {
  if (long(m) * n * k <= kSmallGemm) return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
  if (level2(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, cblas_dgemv, cblas_dger)) return;
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
              1.0, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace ag::detail
