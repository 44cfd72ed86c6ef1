// Comparisons (masks) and the selections built on them: maximum/minimum, clamp, where. Forward as
// plain loops; VJPs in ag ops (masks are constants).
#include <cmath>
#include <limits>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::dispatch_all;
using detail::map_binary;
using detail::map_unary;

namespace {

template <class T> T as01(bool b) { return b ? T(1) : T(0); }

// r = f(x, y) as a bool tensor, x and y of one dtype, numpy broadcasting; same shapes and a
// one-value y run plain loops.
template <class F> Tensor bool_map(const char* op, const Tensor& x, const Tensor& y, F f) {
  return dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* px = detail::data<T>(x);
    const T* py = detail::data<T>(y);
    if (ag::same_shape(x, y) || y.numel() == 1) {
      Tensor r = detail::empty_tensor<bool>(detail::shape_ref(x));
      bool* pr = detail::data<bool>(r);
      const std::size_t n = x.numel(), step = ag::same_shape(x, y) ? 1 : 0;
      if (x.dim() >= y.dim()) {  // otherwise y's extra leading 1-axes give a larger rank
        for (std::size_t i = 0; i < n; ++i) pr[i] = f(px[i], py[i * step]);
        return r;
      }
    }
    const Shape xs = x.shape(), ys = y.shape();
    const Shape os = broadcast_shapes(op, xs, ys);
    Tensor r = detail::empty_tensor<bool>(os);
    bool* pr = detail::data<bool>(r);
    detail::for_each_broadcast<2>(os, {xs, ys}, [&](std::size_t i, const std::array<std::size_t, 2>& o) {
      pr[i] = f(px[o[0]], py[o[1]]);
    });
    return r;
  });
}

// Both operands converted to their result_type, then compared.
template <class F> Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
  OpScope mark(op);
  const DType r = detail::result_type(op, a, b);
  return bool_map(op, detail::as_dtype(op, a, r), detail::as_dtype(op, b, r), f);
}

// A scalar compared with a floating tensor in its dtype (as before), with an integer or bool
// tensor as a double (exact for all but int64 values beyond 2^53; integer scalars are exact).
template <class F> Tensor compare(const char* op, const Tensor& a, double s, F f) {
  OpScope mark(op);
  detail::require_defined(op, a);
  const DType d = is_floating(a.dtype()) ? a.dtype() : f64;
  return bool_map(op, detail::as_dtype(op, a, d), scalar(s, d), f);
}
template <class F> Tensor compare(const char* op, const Tensor& a, std::int64_t s, F f) {
  OpScope mark(op);
  detail::require_defined(op, a);
  if (is_floating(a.dtype())) return bool_map(op, a, scalar(static_cast<double>(s), a.dtype()), f);
  return bool_map(op, detail::as_dtype(op, a, i64), Tensor(xt::xarray<std::int64_t>(s)), f);
}

template <class T> bool truth(T v) { return v != T(0); }

}  // namespace

// ---- comparisons -----------------------------------------------------------------------------------
#define AG_COMPARISON(name, expr)                                                                       \
  Tensor name(const Tensor& a, const Tensor& b) {                                                       \
    return compare(#name, a, b, [](auto x, auto y) { return expr; });                                   \
  }                                                                                                     \
  Tensor name(const Tensor& a, double s) {                                                              \
    return compare(#name, a, s, [](auto x, auto y) { return expr; });                                   \
  }                                                                                                     \
  Tensor detail::name##_int(const Tensor& a, std::int64_t s) {                                          \
    return compare(#name, a, s, [](auto x, auto y) { return expr; });                                   \
  }
AG_COMPARISON(eq, x == y)
AG_COMPARISON(ne, x != y)
AG_COMPARISON(lt, x < y)
AG_COMPARISON(le, x <= y)
AG_COMPARISON(gt, x > y)
AG_COMPARISON(ge, x >= y)
#undef AG_COMPARISON

// ---- logical ---------------------------------------------------------------------------------------
// Nonzero is true, whatever the dtypes (no promotion needed: each side is read as a truth value).
namespace {
template <class F> Tensor logical(const char* op, const Tensor& a, const Tensor& b, F f) {
  OpScope mark(op);
  detail::require_defined(op, a);
  detail::require_defined(op, b);
  return bool_map(op, detail::as_dtype(op, a, bool_), detail::as_dtype(op, b, bool_), f);
}
void require_bool(const char* op, const Tensor& a) {
  detail::require_defined(op, a);
  if (a.dtype() != bool_)
    throw DtypeError(fmt::format("{}: takes bool masks, got {} {} (bitwise operators on integers are not "
                                 "supported; use logical_and/or/xor/not, which read nonzero as true)",
                                 op, dtype_name(a.dtype()), shape_str(a.shape())));
}
}  // namespace

Tensor logical_and(const Tensor& a, const Tensor& b) { return logical("logical_and", a, b, [](bool x, bool y) { return x && y; }); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return logical("logical_or", a, b, [](bool x, bool y) { return x || y; }); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return logical("logical_xor", a, b, [](bool x, bool y) { return x != y; }); }
Tensor logical_not(const Tensor& x) {
  OpScope mark("logical_not");
  detail::require_defined("logical_not", x);
  return dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<bool>(detail::shape_ref(x));
    bool* pr = detail::data<bool>(r);
    const T* px = detail::data<T>(x);
    for (std::size_t i = 0, n = x.numel(); i < n; ++i) pr[i] = !truth(px[i]);
    return r;
  });
}
Tensor operator&(const Tensor& a, const Tensor& b) {
  require_bool("operator&", a);
  require_bool("operator&", b);
  return logical_and(a, b);
}
Tensor operator|(const Tensor& a, const Tensor& b) {
  require_bool("operator|", a);
  require_bool("operator|", b);
  return logical_or(a, b);
}
Tensor operator^(const Tensor& a, const Tensor& b) {
  require_bool("operator^", a);
  require_bool("operator^", b);
  return logical_xor(a, b);
}
Tensor operator~(const Tensor& a) {
  require_bool("operator~", a);
  return logical_not(a);
}

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
  if (!detail::same_floating(a, b)) {
    detail::Promoted p = detail::promote_arith(a, b, take_max ? detail::Arith::max : detail::Arith::min);
    return p.result.defined() ? p.result : extremum(op, p.a, p.b, take_max);
  }
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
Tensor where(const Tensor& cond, const Tensor& a_in, const Tensor& b_in) {
  OpScope mark("where");
  detail::require_defined("where", cond);
  const DType rt = detail::result_type("where", a_in, b_in);
  const Tensor a = detail::as_dtype("where", a_in, rt), b = detail::as_dtype("where", b_in, rt);
  const Shape cs = cond.shape(), as = a.shape(), bs = b.shape();
  const Shape os = broadcast_shapes("where", broadcast_shapes("where", cs, as), bs);
  const Tensor mask = detail::as_dtype("where", cond, bool_);  // nonzero = true
  const bool* pm = detail::data<bool>(mask);
  Tensor y = dispatch_all(rt, [&](auto t) {
    using T = decltype(t);
    const T* pa = detail::data<T>(a);
    const T* pb = detail::data<T>(b);
    Tensor r = detail::empty_tensor<T>(detail::ShapeRef(os.begin(), os.end()));
    T* pr = detail::data<T>(r);
    // Fast path: each operand has the output's shape (step 1) or is one value (step 0).
    const std::size_t n = r.numel();
    auto step_of = [&](const Shape& s) { return s == os ? 1 : detail::prod(s) == 1 ? 0 : -1; };
    const int sm = step_of(cs), sa = step_of(as), sb = step_of(bs);
    if (sm >= 0 && sa >= 0 && sb >= 0) {
      for (std::size_t i = 0; i < n; ++i) pr[i] = pm[i * sm] ? pa[i * sa] : pb[i * sb];
      return r;
    }
    detail::for_each_broadcast<3>(os, {cs, as, bs}, [&](std::size_t i, const std::array<std::size_t, 3>& o) {
      pr[i] = pm[o[0]] ? pa[o[1]] : pb[o[2]];
    });
    return r;
  });
  if (!is_floating(rt) || !(a.requires_grad() || b.requires_grad())) return y;
  const Tensor m = detail::convert("where", mask, rt);  // cond as 0/1 in the values' dtype (a constant)
  return record("where", {a, b}, std::move(y), [m](const VjpContext& c, const Tensor& g) -> Grads {
    return {c.needs_grad(0) ? mul(g, m) : Tensor(), c.needs_grad(1) ? mul(g, rsub(1.0, m)) : Tensor()};
  });
}

}  // namespace ag
