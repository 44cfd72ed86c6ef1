#pragma once
// Plain-loop helpers for the ops beyond the core set: elementwise maps with broadcasting, axis
// blocks ([outer, k, inner] around reduced axes), integer index validation. No xtensor
// expression templates here, so the op files stay cheap to compile.
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include <xtensor/xmanipulation.hpp>

#include "core/internal.hpp"

namespace ag::detail {

inline std::size_t prod(const Shape& s, std::size_t first = 0, std::size_t last = std::size_t(-1)) {
  std::size_t p = 1;
  for (std::size_t i = first; i < s.size() && i < last; ++i) p *= s[i];
  return p;
}

inline std::vector<std::ptrdiff_t> signed_shape(const Shape& s) {
  return std::vector<std::ptrdiff_t>(s.begin(), s.end());
}

// Shape with `axes` (sorted, unique) set to 1 (keepdims) or removed.
inline Shape reduced_shape(const Shape& in, const std::vector<std::size_t>& axes, bool keepdims) {
  Shape out;
  for (std::size_t d = 0, a = 0; d < in.size(); ++d) {
    const bool reduced = a < axes.size() && axes[a] == d;
    if (reduced) ++a;
    if (!reduced) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

// Sum over sorted, unique axes, evaluated immediately (lazy axis reducers are slow in 0.24);
// the reduced axes are dropped. Defined in reduce.cpp for float and double.
template <class T> xt::xarray<T> sum_axes(const xt::xarray<T>& a, const std::vector<std::size_t>& axes);

inline std::vector<std::size_t> all_axes(std::size_t ndim) {
  std::vector<std::size_t> a(ndim);
  std::iota(a.begin(), a.end(), std::size_t{0});
  return a;
}

inline Axes to_axes(const std::vector<std::size_t>& a) { return Axes(a.begin(), a.end()); }

// ---- elementwise -------------------------------------------------------------------------------
// Calls f(i, off) for every element i of the row-major `out` shape, where off[n] is the offset of
// the matching element of input n, whose shape broadcasts to `out` (numpy rules, checked before).
template <std::size_t N, class F>
void for_each_broadcast(const Shape& out, const std::array<Shape, N>& in, F f) {
  const std::size_t nd = out.size();
  const std::size_t total = prod(out);
  if (total == 0) return;
  // strides of each input in output coordinates: 0 where the input is broadcast
  std::array<std::vector<std::size_t>, N> st;
  for (std::size_t n = 0; n < N; ++n) {
    st[n].assign(nd, 0);
    std::size_t s = 1;
    const std::size_t lead = nd - in[n].size();
    for (std::size_t d = in[n].size(); d-- > 0;) {
      st[n][lead + d] = in[n][d] == 1 ? 0 : s;
      s *= in[n][d];
    }
  }
  std::array<std::size_t, N> off{};
  if (nd == 0) {
    f(std::size_t{0}, off);
    return;
  }
  std::vector<std::size_t> idx(nd, 0);
  const std::size_t last = out[nd - 1];
  std::size_t i = 0;
  while (i < total) {
    std::array<std::size_t, N> o = off;
    for (std::size_t j = 0; j < last; ++j, ++i) {  // innermost axis
      f(i, o);
      for (std::size_t n = 0; n < N; ++n) o[n] += st[n][nd - 1];
    }
    // carry into the outer axes
    for (std::size_t d = nd - 1; d-- > 0;) {
      ++idx[d];
      for (std::size_t n = 0; n < N; ++n) off[n] += st[n][d];
      if (idx[d] < out[d]) break;
      for (std::size_t n = 0; n < N; ++n) off[n] -= st[n][d] * out[d];
      idx[d] = 0;
    }
  }
}

// The one elementwise kernel family: every elementwise op's forward (and the masks its VJP
// builds) runs through map_unary / map_binary, so all of them get the fast paths below.
// y = f(x) elementwise in x's dtype (plain loop; f gets and returns T).
template <class F> Tensor map_unary(const char* op, const Tensor& x, F f) {
  require_defined(op, x);
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& xv = x.value<T>();
    Tensor y = empty_tensor<T>(xv.shape());
    const T* px = xv.data();
    T* py = data<T>(y);
    for (std::size_t i = 0, n = xv.size(); i < n; ++i) py[i] = static_cast<T>(f(px[i]));
    return y;
  });
}

// How b's values repeat over the output `out` (b padded on the left with 1s to out's rank):
// b is one value, one row of out's trailing `inner` values (b = [1.., out[k..]]), one value per
// block of `inner` (b = [out[..k], 1..]), or something else (the generic walk).
enum class Repeat { scalar, row, column, other };
template <class S> Repeat repeat_of(const S& out, const S& b, std::size_t& inner) {
  const std::size_t nd = out.size(), lead = nd - b.size();
  auto dim = [&](std::size_t d) { return d < lead ? std::size_t{1} : b[d - lead]; };
  std::size_t first = 0, last = nd;  // b's first non-1 axis, one past its last
  while (first < nd && dim(first) == 1) ++first;
  if (first == nd) return Repeat::scalar;
  while (dim(last - 1) == 1) --last;
  bool row = true, column = true;
  for (std::size_t d = first; d < nd; ++d) row = row && dim(d) == out[d];
  for (std::size_t d = 0; d < last; ++d) column = column && dim(d) == out[d];
  inner = 1;
  for (std::size_t d = row ? first : last; d < nd; ++d) inner *= out[d];
  return row ? Repeat::row : column ? Repeat::column : Repeat::other;
}

// r[i] = f(a[i], b at i) where a has the output shape and b repeats as `rep` says. `swap` calls
// f(b, a) instead (b was the left operand). Plain loops the compiler can vectorise.
template <class T, class F>
void broadcast_loop(T* pr, const T* pa, const T* pb, std::size_t n, Repeat rep, std::size_t inner, bool swap, F f) {
  auto apply = [&](auto sw) {
    auto call = [&](T x, T y) { return static_cast<T>(decltype(sw)::value ? f(y, x) : f(x, y)); };
    if (rep == Repeat::scalar) {
      const T y = pb[0];
      for (std::size_t i = 0; i < n; ++i) pr[i] = call(pa[i], y);
    } else if (rep == Repeat::row) {
      for (std::size_t o = 0; o < n; o += inner)
        for (std::size_t i = 0; i < inner; ++i) pr[o + i] = call(pa[o + i], pb[i]);
    } else {  // column
      for (std::size_t o = 0, k = 0; o < n; o += inner, ++k) {
        const T y = pb[k];
        for (std::size_t i = 0; i < inner; ++i) pr[o + i] = call(pa[o + i], y);
      }
    }
  };
  if (swap) apply(std::true_type{});
  else apply(std::false_type{});
}

// y = f(a, b) with numpy broadcasting; checks dtypes and shapes first (ShapeError names the op).
// f maps two values of type T to one. Same shapes, a scalar, a trailing row ([M, N] op [N] or
// [1, N]) and a column ([M, N] op [M, 1]) on either side run plain loops; other broadcasts walk
// the output with per-input strides.
template <class F> Tensor map_binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_same_dtype(op, a, b);
  return dispatch(a.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& x = a.value<T>();
    const auto& y = b.value<T>();
    const T* px = x.data();
    const T* py = y.data();
    const auto& xs = x.shape();
    const auto& ys = y.shape();
    if (ag::detail::same_shape(xs, ys)) {  // qualified: ADL would also find xt::same_shape
      Tensor r = empty_tensor<T>(xs);
      T* pr = data<T>(r);
      for (std::size_t i = 0, n = x.size(); i < n; ++i) pr[i] = static_cast<T>(f(px[i], py[i]));
      return r;
    }
    // one operand already has the output's shape: the other repeats along it
    std::size_t inner = 1;
    if (ys.size() <= xs.size()) {
      const Repeat rep = repeat_of(xs, ys, inner);
      if (rep != Repeat::other) {
        Tensor r = empty_tensor<T>(xs);
        broadcast_loop(data<T>(r), px, py, x.size(), rep, inner, false, f);
        return r;
      }
    }
    if (xs.size() <= ys.size()) {
      const Repeat rep = repeat_of(ys, xs, inner);
      if (rep != Repeat::other) {
        Tensor r = empty_tensor<T>(ys);
        broadcast_loop(data<T>(r), py, px, y.size(), rep, inner, true, f);
        return r;
      }
    }
    const Shape as = to_shape(xs), bs = to_shape(ys);
    const Shape os = broadcast_shapes(op, as, bs);
    Tensor r = empty_tensor<T>(ShapeRef(os.begin(), os.end()));
    T* pr = data<T>(r);
    for_each_broadcast<2>(os, {as, bs}, [&](std::size_t i, const std::array<std::size_t, 2>& o) {
      pr[i] = static_cast<T>(f(px[o[0]], py[o[1]]));
    });
    return r;
  });
}

// ---- mixed dtypes (integer.cpp) ----------------------------------------------------------------
// Whether a and b are defined and of one floating dtype: the differentiable kernels' case.
inline bool same_floating(const Tensor& a, const Tensor& b) {
  return a.impl() && b.impl() && a.impl()->dtype() == b.impl()->dtype() && is_floating(a.impl()->dtype());
}
enum class Arith : unsigned char { add, sub, mul, div, max, min };
// Operands of other dtypes: a and b converted to result_type (div: float32 for integers), and, when
// that is an integer dtype, the result computed (wrapping). A defined `result` is the answer;
// otherwise run the floating op on a and b.
struct Promoted {
  Tensor a, b, result;
};
Promoted promote_arith(const Tensor& a, const Tensor& b, Arith k);

// An elementwise op named once: its profiler mark, its kernel's errors and its tape node all use
// `name` (three spellings could drift apart and mislabel the profiler silently).
template <class F, class Vjp>
Tensor unary_op(const char* name, const Tensor& x, F f, Vjp&& vjp, Keep keep = Keep::inputs) {
  OpScope mark(name);
  Tensor y = map_unary(name, x, f);
  return record(name, {x}, std::move(y), std::forward<Vjp>(vjp), keep);
}
template <class F, class Vjp>
Tensor binary_op(const char* name, const Tensor& a, const Tensor& b, F f, Vjp&& vjp, Keep keep = Keep::inputs) {
  OpScope mark(name);
  Tensor y = map_binary(name, a, b, f);
  return record(name, {a, b}, std::move(y), std::forward<Vjp>(vjp), keep);
}

// A value piecewise constant in the inputs (a mask, a sign, a winner's share), recorded when an
// input requires grad as a function of them whose derivative is 0 (zeros, not "unused"). A VJP
// built from it stays connected to its inputs under create_graph, so the second derivative of
// relu, abs, clamp, maximum, max... is 0, as with PyTorch's sgn and threshold_backward.
inline Tensor piecewise_constant(const char* op, std::initializer_list<detail::TensorRef> inputs, Tensor value) {
  return record(op, inputs, std::move(value), [](const VjpContext& c, const Tensor&) -> Grads {
    Grads zeros;
    for (std::size_t i = 0; i < c.num_inputs(); ++i)
      zeros.push_back(c.needs_grad(i) ? zeros_like(c.input(i)) : Tensor());
    return zeros;
  });
}

// ---- axis blocks -------------------------------------------------------------------------------
// A row-major array seen as [outer, k, inner] around one contiguous run of axes: element
// (o, j, i) sits at (o·k + j)·inner + i.
struct Blocks {
  std::size_t outer = 1, k = 1, inner = 1;
};

inline Blocks blocks_around(const Shape& s, std::size_t first, std::size_t last_incl) {
  return {prod(s, 0, first), prod(s, first, last_incl + 1), prod(s, last_incl + 1)};
}

// For a reduction over `axes` (sorted, unique): the values arranged so every reduction group is
// one [outer, k, inner] block. Contiguous axes need no copy; otherwise the reduced axes are
// moved last (one transposed copy) and inner = 1.
template <class T> struct Grouped {
  const T* data;
  Blocks b;
  xt::xarray<T> storage;  // the moved copy, when one was needed
};

template <class T> Grouped<T> group_axes(const xt::xarray<T>& x, const std::vector<std::size_t>& axes) {
  const Shape s = to_shape(x.shape());
  if (axes.empty()) return {x.data(), Blocks{prod(s), 1, 1}, {}};
  bool contiguous = true;
  for (std::size_t i = 1; i < axes.size(); ++i) contiguous = contiguous && axes[i] == axes[i - 1] + 1;
  if (contiguous) return {x.data(), blocks_around(s, axes.front(), axes.back()), {}};
  std::vector<std::size_t> perm;
  std::size_t k = 1;
  for (std::size_t d = 0, a = 0; d < s.size(); ++d) {
    if (a < axes.size() && axes[a] == d) ++a;
    else perm.push_back(d);
  }
  for (std::size_t a : axes) {
    perm.push_back(a);
    k *= s[a];
  }
  Grouped<T> g{nullptr, Blocks{prod(s) / std::max<std::size_t>(k, 1), k, 1}, xt::transpose(x, perm)};
  if (k == 0) g.b.outer = prod(reduced_shape(s, axes, false));
  g.data = g.storage.data();
  return g;
}

// out[o·inner + i] = f(pointer to the group's first element, k, stride = inner).
template <class T, class F>
xt::xarray<T> reduce_groups(const xt::xarray<T>& x, const std::vector<std::size_t>& axes, bool keepdims, F f) {
  const Shape out_shape = reduced_shape(to_shape(x.shape()), axes, keepdims);
  xt::xarray<T> out = xt::xarray<T>::from_shape(out_shape);
  const Grouped<T> g = group_axes(x, axes);
  const Blocks b = g.b;
  T* po = out.data();
  for (std::size_t o = 0; o < b.outer; ++o)
    for (std::size_t i = 0; i < b.inner; ++i)
      po[o * b.inner + i] = f(g.data + o * b.k * b.inner + i, b.k, b.inner);
  return out;
}

// ---- integer indices ---------------------------------------------------------------------------
// `where` describes the indexed range in messages, e.g. "axis 1 of [2, 3]" (see axis_desc).
std::string axis_desc(std::size_t axis, const Shape& x_shape);
// Indices held as exact integers in a float tensor (row-major order), each checked in [0, n).
std::vector<std::size_t> indices_from_tensor(const char* op, const Tensor& idx, std::size_t n,
                                             const std::string& where);
// Each index checked in [0, n).
void check_indices(const char* op, const std::vector<std::size_t>& idx, std::size_t n, const std::string& where);
// A python-style index (negative counts from the end) for a range of size n.
std::size_t wrap_index(const char* op, std::ptrdiff_t i, std::size_t n, const std::string& where);

// The primitive behind index_select, slice, select, split and concat's VJP: the [inner] rows of x
// at positions idx along `axis` (checked by the caller). Recorded under `op`; its VJP is
// index_add_axis, whose VJP is take_axis again (both linear).
Tensor take_axis(const char* op, const Tensor& x, std::size_t axis, std::vector<std::size_t> idx);
// Its adjoint: zeros with n entries along `axis`, g's rows added at positions idx.
Tensor index_add_axis(const Tensor& g, std::size_t axis, std::vector<std::size_t> idx, std::size_t n);

// The one constructor of index outputs (sort, argsort, topk, max/min with indices): a tensor of
// `shape` holding idx (row-major), without history. int64 once the core has integer dtypes;
// float64 until then (exact up to 2^53). Defined in sort.cpp.
Tensor index_tensor(const std::vector<std::int64_t>& idx, const Shape& shape);  // int64 (sort.cpp)

}  // namespace ag::detail
