#pragma once
// Matrix products (BLAS-backed), the dense layer's x·W + b, einsum, and matrix structure
// (triangles, diagonals).
#include <string>
#include <vector>

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

// Einstein summation (numpy/torch spelling): "ij,jk->ik" is a matmul, "bij,bjk->bik" a batched one,
// "i,i->" a dot product, "i,j->ij" an outer product, "ij->ji" a transpose, "ij->j" a column sum,
// "ii->i" a diagonal, "ii" a trace. Subscripts are letters (a-z, A-Z), one per axis of each
// operand. Without "->" the output is the letters used exactly once, in ASCII order (A-Z before
// a-z). Letters missing from the output are summed. A letter's sizes must agree exactly (no size-1
// broadcasting); '...' is not supported. Operands are contracted left to right, each pair as one
// batched matmul ([batch, free, summed]·[batch, summed, free]) after permute + reshape, so the
// gradients (of every order) are those of permute, reshape, sum and matmul.
Tensor einsum(const std::string& spec, const std::vector<Tensor>& operands);

// ---- matrix structure (the last two axes; leading axes are a batch) ----------------------------------
// Upper triangle: keeps x[..., i, j] where j - i >= k, zeros elsewhere (k > 0: above the diagonal,
// k < 0: below). Needs at least 2 dims. d = triu(g, k).
Tensor triu(const Tensor& x, int k = 0);
// Lower triangle: keeps x[..., i, j] where j - i <= k. d = tril(g, k).
Tensor tril(const Tensor& x, int k = 0);
// torch.diag: a 1-D x of length n becomes the (n + |k|)² matrix with x on diagonal k (k > 0 above
// the main one, k < 0 below); a 2-D x gives its diagonal k as 1-D (empty when k lies outside the
// matrix). d is the other direction: the diagonal of g / g placed on the diagonal.
Tensor diag(const Tensor& x, int k = 0);

}  // namespace ag
