#pragma once
// Reductions over all elements or over axes (negative axes count from the end). Integer and bool
// inputs: sum gives int64 (counting a mask), mean float32, max/min/argmax/argmin any dtype.
#include "ag/ops/sort.hpp"  // ag::max(x, int axis): the overload with indices
#include "ag/tensor.hpp"

namespace ag {

// ---- reductions --------------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // over all elements -> 0-d
Tensor sum(const Tensor& x, const Axes& axes, bool keepdims = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Axes& axes, bool keepdims = false);

// max/min: the gradient goes to the selected element; ties split it evenly among the elements
// equal to the result. NaN propagates. Empty reductions are a ValueError.
Tensor max(const Tensor& x);  // over all elements -> 0-d
Tensor max(const Tensor& x, const Axes& axes, bool keepdims = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, const Axes& axes, bool keepdims = false);
// torch.max(x, dim) / torch.min(x, dim), values and indices with the gradient to the returned index:
// ag::max(x, 1) / max_with_indices (ag/ops/sort.hpp). A braced list, ag::max(x, {1}), means the above.

// Index of the first maximum/minimum (numpy), non-differentiable, as int64 (any input dtype).
// They feed one_hot, take_along_axis and eq(argmax(logits, 1), labels) directly. argmax(x) is the
// flat (row-major) index as a 0-d tensor.
Tensor argmax(const Tensor& x);
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);
Tensor argmin(const Tensor& x);
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);
// Variance Σ(x - mean)²/(n - 1) when unbiased, /n otherwise; std = √var with
// d = g·(x - mean)/((n - 1)·std), taken as 0 where std = 0 (a constant group), as in PyTorch.
// n - 1 = 0 with unbiased is a ValueError. The all-elements form is unbiased; for the biased one
// pass every axis (a bool overload would capture var(x, {0}) as unbiased = false).
Tensor var(const Tensor& x);
Tensor var(const Tensor& x, const Axes& axes, bool unbiased = true, bool keepdims = false);
Tensor std(const Tensor& x);
Tensor std(const Tensor& x, const Axes& axes, bool unbiased = true, bool keepdims = false);
// L2 norm √Σx²; d = g·x/‖x‖, taken as 0 where ‖x‖ = 0.
Tensor norm(const Tensor& x);
Tensor norm(const Tensor& x, const Axes& axes, bool keepdims = false);

}  // namespace ag
