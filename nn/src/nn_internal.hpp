#pragma once
// Helpers shared by the nn .cpp files (not installed).
#include <utility>

#include <fmt/core.h>

#include "ag/ag.hpp"

namespace ag::nn::detail {

// Calls f(T{}) with T = float or double according to d.
template <class F> decltype(auto) dispatch(DType d, F&& f) {
  if (d == f32) return std::forward<F>(f)(float{});
  return std::forward<F>(f)(double{});
}

// A new tensor of `shape` (values uninitialised) and a pointer to its data.
template <class T> Tensor empty(const Shape& shape) {
  return Tensor(xt::xarray<T>::from_shape(shape));
}
template <class T> T* data_of(Tensor& t) { return t.mutable_value<T>().data(); }

// a.shape() == b.shape() without copying either shape
inline bool same_shape(const Tensor& a, const Tensor& b) {
  const std::size_t n = a.dim();
  if (n != b.dim()) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (a.size(static_cast<int>(i)) != b.size(static_cast<int>(i))) return false;
  return true;
}

inline void require_defined(const char* who, const Tensor& t, const char* what) {
  if (!t.defined()) throw ValueError(fmt::format("{}: {} is undefined", who, what));
}

}  // namespace ag::nn::detail
