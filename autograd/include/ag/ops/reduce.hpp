#pragma once
// Reductions over all elements or over axes (negative axes count from the end). Integer and bool
// inputs: sum gives int64 (counting a mask), mean float32, max/min/argmax/argmin any dtype.
#include <type_traits>

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
// p-norm (Σ|x|^p)^(1/p) for finite p >= 1, max|x| for p = inf (ties share the gradient, as
// max); p = 2 is norm(x) above. d = g·sign(x)·(|x|/‖x‖)^(p-1), taken as 0 where ‖x‖ = 0. p < 1
// or NaN is a ValueError. As for sum, {} means no axes (|x| elementwise); omit axes for all.
Tensor norm_p(const Tensor& x, double p);
Tensor norm_p(const Tensor& x, double p, const Axes& axes, bool keepdims = false);
// The same as norm(x, p[, axes, keepdims]). A template on p's type so that a braced axis list
// still means axes: norm(x, {0}) is the L2 norm over axis 0 (a braced list deduces no P), while
// with a plain `double p` parameter {0} would convert to p = 0.
template <class P, std::enable_if_t<std::is_arithmetic_v<P> && !std::is_same_v<P, bool>, int> = 0>
inline Tensor norm(const Tensor& x, P p) {
  return norm_p(x, static_cast<double>(p));
}
template <class P, std::enable_if_t<std::is_arithmetic_v<P> && !std::is_same_v<P, bool>, int> = 0>
inline Tensor norm(const Tensor& x, P p, const Axes& axes, bool keepdims = false) {
  return norm_p(x, static_cast<double>(p), axes, keepdims);
}

// Cosine similarity along `axis`: Σ a·b / (max(‖a‖, ε)·max(‖b‖, ε)), each norm clamped on its
// own (PyTorch >= 1.12), so the result stays in [-1, 1] and a zero vector gives 0. a and b
// broadcast (numpy rules) and must share a floating dtype; the axis counts in the broadcast shape
// and is removed. Composed of norm, clamp, div, mul and sum: d/da = (b̂ - cos·â)/max(‖a‖, ε)
// (â = a/‖a‖) where ‖a‖ > ε. eps must be >= 0.
Tensor cosine_similarity(const Tensor& a, const Tensor& b, int axis = -1, double eps = 1e-8);

// Product Π x; d = g·Π_{j≠i} x_j, exact with zeros (one zero in a group: only that element gets
// a gradient; two or more: none), and at every order (the VJP is a polynomial in x, no division).
// Empty groups give 1.
Tensor prod(const Tensor& x);  // over all elements -> 0-d
Tensor prod(const Tensor& x, const Axes& axes, bool keepdims = false);

// ---- scans along one axis (negative counts from the end); the result has x's shape ------------
Tensor cumsum(const Tensor& x, int axis);   // y_k = Σ_{j<=k} x_j; d = g summed from the end (reversed cumsum)
// y_k = Π_{j<=k} x_j; d_k = Σ_{i>=k} g_i·Π_{j<=i, j≠k} x_j, exact with zeros and at every order
// (products before k times a reversed linear scan; no division).
Tensor cumprod(const Tensor& x, int axis);

}  // namespace ag
