#pragma once
// Helpers shared by the op .cpp files (not installed): dtype dispatch, checks, shape utilities.
#include <string>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/autograd.hpp"
#include "ag/ops.hpp"

namespace ag::detail {

// The public kernel helpers (ag/extend.hpp) under the names the op sources use.
using ag::data;
using ag::dispatch;
using ag::dispatch_all;
using ag::empty_tensor;
using ag::shape_ref;
using ag::ShapeRef;

template <class T> Tensor wrap(xt::xarray<T>&& v) { return make_tensor<T>(std::move(v)); }

// A tensor whose xarray<T> is evaluated in place from an xtensor expression.
template <class T, class E> Tensor wrap_expr(E&& e) {
  return Tensor(new_impl(std::in_place_type<xt::xarray<T>>, std::forward<E>(e)));
}

inline void require_defined(const char* op, const Tensor& t) {
  if (!t.defined()) throw ValueError(fmt::format("{}: got an undefined tensor", op));
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  require_defined(op, a);
  require_defined(op, b);
  if (a.dtype() != b.dtype())
    throw DtypeError(fmt::format("{}: dtype mismatch {} {} vs {} {} (convert with .to(ag::f64))", op,
                                 dtype_name(a.dtype()), shape_str(a.shape()),
                                 dtype_name(b.dtype()), shape_str(b.shape())));
}

// The dtype arithmetic on a and b runs in (ag::result_type), with a DtypeError naming `op` and
// both shapes for float32 with float64 (dtype.cpp: the one promotion rule).
DType result_type(const char* op, const Tensor& a, const Tensor& b);
// x's values converted to d, not recorded (every dtype change goes through it): to an integer
// dtype truncates toward zero, and NaN, infinities and out-of-range values are a ValueError
// naming `op`; to bool, nonzero is true.
Tensor convert(const char* op, const Tensor& x, DType d);
// x itself if it has dtype d, else convert(op, x, d).
inline Tensor as_dtype(const char* op, const Tensor& x, DType d) { return x.dtype() == d ? x : convert(op, x, d); }

template <class S> Shape to_shape(const S& s) { return Shape(s.begin(), s.end()); }

template <class S1, class S2> bool same_shape(const S1& a, const S2& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Flat (row-major) index -> multi-index of `shape` (the one unravel: anomaly messages, gradcheck).
inline Shape unravel_index(std::size_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return idx;
}

// Whether `from` broadcasts to `to` (numpy rules: aligned on the right, each axis equal or 1).
template <class S1, class S2> bool broadcastable_to(const S1& from, const S2& to) {
  if (from.size() > to.size()) return false;
  for (std::size_t k = 0, lead = to.size() - from.size(); k < from.size(); ++k)
    if (from[k] != to[lead + k] && from[k] != 1) return false;
  return true;
}

// Σ over the rows of a 2-D g ([M, N] -> [N]) as a plain loop, not recorded: for a VJP outside
// create_graph (the bias gradient of linear). Other ranks: sum(g, {0}).
Tensor sum_rows(const Tensor& g);

// Normalises possibly-negative axes against `ndim`; sorted and unique. ShapeError on bad axes.
std::vector<std::size_t> normalize_axes(const char* op, const Axes& axes, std::size_t ndim);
std::size_t normalize_axis(const char* op, int axis, std::size_t ndim);
// An axis for a new dimension (unsqueeze, stack): in [-(ndim+1), ndim] for an ndim-d input; the
// error names the input's rank and shape, not the rank of the result.
std::size_t normalize_new_axis(const char* op, int axis, const Shape& in_shape);

// On the first call (matmul): one stderr warning if OpenBLAS runs a generic kernel on an AVX2
// CPU (blas_check.cpp). Later calls cost one static-guard check.
void check_blas_once();

}  // namespace ag::detail
