// Comparisons (masks) and the selections built on them: maximum/minimum, clamp, where. Forward as
// plain loops; VJPs in ag ops (masks are constants).
#include <cmath>
#include <limits>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::map_binary;
using detail::map_unary;

namespace {

template <class T> T as01(bool b) { return b ? T(1) : T(0); }

}  // namespace

// ---- comparisons -----------------------------------------------------------------------------------
#define AG_COMPARISON(name, expr)                                                                  \
  Tensor name(const Tensor& a, const Tensor& b) {                                                  \
    return map_binary(#name, a, b, [](auto x, auto y) { return as01<decltype(x)>(expr); });        \
  }                                                                                                \
  Tensor name(const Tensor& a, double s) {                                                         \
    return map_unary(#name, a, [s](auto x) {                                                       \
      const auto y = static_cast<decltype(x)>(s);                                                  \
      return as01<decltype(x)>(expr);                                                              \
    });                                                                                            \
  }
AG_COMPARISON(eq, x == y)
AG_COMPARISON(ne, x != y)
AG_COMPARISON(lt, x < y)
AG_COMPARISON(le, x <= y)
AG_COMPARISON(gt, x > y)
AG_COMPARISON(ge, x >= y)
#undef AG_COMPARISON

// ---- maximum / minimum ------------------------------------------------------------------------------
namespace {

// The share of g going to a: [a wins] + ½[tie], in the broadcast output shape (a constant).
Tensor winner_share(const char* op, const Tensor& a, const Tensor& b, bool take_max) {
  return detail::piecewise_constant(op, {a, b}, map_binary(op, a, b, [take_max](auto x, auto y) {
    using T = decltype(x);
    if (x == y) return T(0.5);
    if (x != x) return T(1);  // a NaN wins (it is the result): the gradient goes to it
    if (y != y) return T(0);
    return as01<T>(take_max ? x > y : x < y);
  }));
}

Tensor extremum(const char* op, const Tensor& a, const Tensor& b, bool take_max) {
  OpScope mark(op);
  // NaN propagates: a NaN in either operand wins
  Tensor y = take_max ? map_binary(op, a, b, [](auto x, auto z) { return x >= z || x != x ? x : z; })
                      : map_binary(op, a, b, [](auto x, auto z) { return x <= z || x != x ? x : z; });
  return record(op, {a, b}, std::move(y), [op, take_max](const VjpContext& c, const Tensor& g) -> Grads {
    Tensor wa = winner_share(op, c.input(0), c.input(1), take_max);
    return {c.needs_grad(0) ? mul(g, wa) : Tensor(), c.needs_grad(1) ? mul(g, rsub(1.0, wa)) : Tensor()};
  });
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", a, b, false); }

// ---- clamp --------------------------------------------------------------------------------------------
Tensor clamp(const Tensor& x, std::optional<double> lo_in, std::optional<double> hi_in) {
  OpScope mark("clamp");
  detail::require_defined("clamp", x);
  const double inf = std::numeric_limits<double>::infinity();
  const double lo = lo_in.value_or(-inf), hi = hi_in.value_or(inf);
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    throw ValueError(fmt::format("clamp: need lo <= hi, got lo = {}, hi = {} for {}", lo, hi, shape_str(x.shape())));
  Tensor y = map_unary("clamp", x, [lo, hi](auto v) {
    using T = decltype(v);
    const double d = static_cast<double>(v);
    return d < lo ? static_cast<T>(lo) : d > hi ? static_cast<T>(hi) : v;
  });
  return record("clamp", {x}, std::move(y), [lo, hi](const VjpContext& c, const Tensor& g) -> Grads {
    Tensor inside = detail::piecewise_constant("clamp mask", {c.input(0)}, map_unary("clamp", c.input(0), [lo, hi](auto v) {
      const double d = static_cast<double>(v);
      return as01<decltype(v)>(d >= lo && d <= hi);
    }));
    return {mul(g, inside)};  // d = [lo <= x <= hi]
  });
}

// ---- where ----------------------------------------------------------------------------------------------
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  OpScope mark("where");
  detail::require_defined("where", cond);
  detail::check_same_dtype("where", a, b);
  const Shape cs = cond.shape(), as = a.shape(), bs = b.shape();
  const Shape os = broadcast_shapes("where", broadcast_shapes("where", cs, as), bs);
  // cond as a 0/1 mask in a's dtype (kept for the VJP; cond itself is not differentiated)
  Tensor m = dispatch(a.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(detail::shape_ref(cond));
    T* pr = detail::data<T>(r);
    dispatch(cond.dtype(), [&](auto u) {
      using U = decltype(u);
      const auto& cv = cond.value<U>();
      for (std::size_t i = 0; i < cv.size(); ++i) pr[i] = as01<T>(cv.data()[i] != U(0));
    });
    return r;
  });
  Tensor y = dispatch(a.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* pm = detail::data<T>(m);
    const T* pa = a.value<T>().data();
    const T* pb = b.value<T>().data();
    Tensor r = detail::empty_tensor<T>(detail::ShapeRef(os.begin(), os.end()));
    T* pr = detail::data<T>(r);
    // Fast path: each operand has the output's shape (step 1) or is one value (step 0).
    const std::size_t n = r.numel();
    auto step_of = [&](const Shape& s) { return s == os ? 1 : detail::prod(s) == 1 ? 0 : -1; };
    const int sm = step_of(cs), sa = step_of(as), sb = step_of(bs);
    if (sm >= 0 && sa >= 0 && sb >= 0) {
      for (std::size_t i = 0; i < n; ++i) pr[i] = pm[i * sm] != T(0) ? pa[i * sa] : pb[i * sb];
      return r;
    }
    detail::for_each_broadcast<3>(os, {cs, as, bs}, [&](std::size_t i, const std::array<std::size_t, 3>& o) {
      pr[i] = pm[o[0]] != T(0) ? pa[o[1]] : pb[o[2]];
    });
    return r;
  });
  return record("where", {a, b}, std::move(y), [m](const VjpContext& c, const Tensor& g) -> Grads {
    return {c.needs_grad(0) ? mul(g, m) : Tensor(), c.needs_grad(1) ? mul(g, rsub(1.0, m)) : Tensor()};
  });
}

}  // namespace ag
