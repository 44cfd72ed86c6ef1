#pragma once
// Selecting entries by integer index (never differentiated with respect to the indices).
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

// ---- indexing ---------------------------------------------------------------------------------------
// Index convention: indices are a std::vector<std::size_t>, or an int64/int32/uint8 Tensor (what
// argmax and sort return; float tensors of exact integers are still accepted, deprecated; bool is
// a DtypeError). A negative, out-of-range (or fractional) index is an IndexError naming the op,
// the index and the shape. The indices are never differentiated.

// Entries of x at `indices` along axis: the axis gets length indices.size(). Tensor indices
// must be 1-D. d: g's rows are added back at their indices (repeats accumulate).
Tensor index_select(const Tensor& x, int axis, const std::vector<std::size_t>& indices);
Tensor index_select(const Tensor& x, int axis, const Tensor& indices);
inline Tensor index_select(const Tensor& x, int axis, std::initializer_list<std::size_t> indices) {
  return index_select(x, axis, std::vector<std::size_t>(indices));
}
// numpy.take_along_axis: out[..., j, ...] = x[..., indices[..., j, ...], ...] along axis.
// indices has x's rank and x's sizes on every other axis; the result has indices' shape.
// NLL: take_along_axis(log_probs [N, C], labels reshaped to [N, 1], 1) -> [N, 1].
Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis);
Tensor gather(const Tensor& x, int axis, const Tensor& indices);  // torch.gather = take_along_axis
// Non-differentiable: the multi-indices of the nonzero (true) elements of x, any dtype, in
// row-major order, as int64 [count, x.dim()] (torch.nonzero). E.g. the positions of a mask.
Tensor nonzero(const Tensor& x);
// Non-differentiable: indices of any shape -> shape + [num_classes], 1 at the index, else 0.
Tensor one_hot(const Tensor& indices, std::size_t num_classes, DType dtype = f32);
Tensor one_hot(const std::vector<std::size_t>& indices, std::size_t num_classes, DType dtype = f32);
inline Tensor one_hot(std::initializer_list<std::size_t> indices, std::size_t num_classes, DType dtype = f32) {
  return one_hot(std::vector<std::size_t>(indices), num_classes, dtype);
}

}  // namespace ag
