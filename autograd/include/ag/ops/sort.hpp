#pragma once
// Ordering and selection along one axis: sort, argsort, topk, and max/min with their indices
// (torch.max(x, dim)). Negative axes count from the end; a 0-d tensor has no axis to order.
// Indices are exact non-negative integers (positions along the axis) without history; they are
// float64 tensors today and become int64 when the core has integer dtypes, so read them with
// to_xarray<double>() or item(). They feed take_along_axis / index_select directly.
// NaN is ordered as the largest value (PyTorch): last in an ascending sort, first in a descending
// one, and taken first by topk(largest = true); max/min_with_indices propagate NaN (the first NaN
// and its index), like ag::max / ag::min and torch.max(x, dim).
#include <cstddef>
#include <type_traits>

#include "ag/tensor.hpp"

namespace ag {

// Values and their positions along the axis (torch.return_types): auto [v, i] = ag::sort(x);
struct ValuesIndices {
  Tensor values;   // differentiable: d scatters g back to the source positions
  Tensor indices;  // not differentiated
};

// ---- sorting ------------------------------------------------------------------------------------
// Stable: equal values keep their order, also when descending. values = take_along_axis(x,
// indices, axis); d = g scattered back to the source positions (a permutation of g).
ValuesIndices sort(const Tensor& x, int axis = -1, bool descending = false);
// The indices of sort(x, axis, descending) alone (non-differentiable, no history).
Tensor argsort(const Tensor& x, int axis = -1, bool descending = false);
// The k largest (largest = true) or smallest values along axis and their positions. sorted: in
// order, largest first when largest; otherwise in order of position. Ties: the lower position
// first. k = 0 gives empty results; k > the axis' size is a ValueError. d = g scattered back to
// the selected positions (0 elsewhere).
ValuesIndices topk(const Tensor& x, std::size_t k, int axis = -1, bool largest = true, bool sorted = true);

// ---- max / min with indices (torch.max(x, dim)) ---------------------------------------------------
// The max (min) along one axis and the position of its first occurrence (with a NaN: the first
// NaN). d goes to that one position, as in PyTorch; max(x, axes) (reduce.hpp) splits ties evenly
// among the equal elements instead. An empty axis is a ValueError.
ValuesIndices max_with_indices(const Tensor& x, int axis, bool keepdims = false);
ValuesIndices min_with_indices(const Tensor& x, int axis, bool keepdims = false);

// The PyTorch spelling: ag::max(x, 1) = max_with_indices(x, 1), values and indices. A braced
// list keeps meaning axes, ag::max(x, {1}) is the values-only reduction of reduce.hpp (a braced
// list cannot deduce Axis, so this template never takes it).
namespace detail { ValuesIndices extreme_with_indices(const char* op, const Tensor& x, int axis, bool keepdims, bool take_max); }
template <class Axis, std::enable_if_t<std::is_integral_v<Axis> && !std::is_same_v<Axis, bool>, int> = 0>
ValuesIndices max(const Tensor& x, Axis axis, bool keepdims = false) {
  return detail::extreme_with_indices("max", x, static_cast<int>(axis), keepdims, true);
}
template <class Axis, std::enable_if_t<std::is_integral_v<Axis> && !std::is_same_v<Axis, bool>, int> = 0>
ValuesIndices min(const Tensor& x, Axis axis, bool keepdims = false) {
  return detail::extreme_with_indices("min", x, static_cast<int>(axis), keepdims, false);
}

// The method forms x.max(1) / x.min(1) (declared in ag/tensor.hpp).
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int>>
ValuesIndices Tensor::max(I axis, bool keepdims) const {
  return detail::extreme_with_indices("max", *this, static_cast<int>(axis), keepdims, true);
}
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int>>
ValuesIndices Tensor::min(I axis, bool keepdims) const {
  return detail::extreme_with_indices("min", *this, static_cast<int>(axis), keepdims, false);
}

}  // namespace ag
