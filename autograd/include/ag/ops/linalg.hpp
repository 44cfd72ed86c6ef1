#pragma once
// Matrix products (BLAS-backed) and the dense layer's x·W + b.
#include "ag/tensor.hpp"

namespace ag {

// ---- linear algebra ----------------------------------------------------------------------------
// numpy matmul semantics: 1-D·1-D -> 0-d; 2-D·2-D; 1-D is promoted on the left/right and the
// added axis removed; N-D batches broadcast over the leading dims. BLAS-backed.
Tensor matmul(const Tensor& a, const Tensor& b);
// op(a)·op(b) where op transposes the last two axes when its flag is set (no copy is made).
// a and b must be at least 2-D. This is the primitive behind matmul and its VJP.
Tensor matmul_t(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
// y = x·W + b for x:[M, K], W:[K, N], b:[N] as one op (a dense layer); other shapes: matmul + add.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

}  // namespace ag
