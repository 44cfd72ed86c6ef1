// Arithmetic on operands of different dtypes (converted to result_type first) and on integer
// tensors: plain loops, never recorded (integers carry no gradient). Integer + - * wrap around in
// two's complement, computed in the unsigned type of the same width (signed overflow would be
// undefined behaviour).
#include <type_traits>

#include "ops/kernels.hpp"

namespace ag::detail {

namespace {

template <class T> T apply(Arith k, T x, T y) {
  if constexpr (std::is_same_v<T, bool>) {  // PyTorch's bool arithmetic: + is or, * is and
    return k == Arith::max || k == Arith::add ? (x || y) : (x && y);
  } else if constexpr (std::is_floating_point_v<T>) {  // floats never reach here (dispatch_all instantiates it)
    return x;
  } else {
    using U = std::make_unsigned_t<T>;
    const U ux = static_cast<U>(x), uy = static_cast<U>(y);
    switch (k) {
      case Arith::add: return static_cast<T>(static_cast<U>(ux + uy));
      case Arith::sub: return static_cast<T>(static_cast<U>(ux - uy));
      case Arith::mul: return static_cast<T>(static_cast<U>(ux * uy));
      case Arith::max: return x >= y ? x : y;
      case Arith::min: return x <= y ? x : y;
      default: return x;  // div never reaches here (true division runs in float32)
    }
  }
}

// r = x op y elementwise with numpy broadcasting, x and y of the same integer (or bool) dtype.
Tensor int_kernel(const char* op, const Tensor& x, const Tensor& y, Arith k) {
  return dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const Shape xs = x.shape(), ys = y.shape();
    const Shape os = broadcast_shapes(op, xs, ys);
    Tensor r = empty_tensor<T>(os);
    T* pr = data<T>(r);
    const T* px = data<T>(x);
    const T* py = data<T>(y);
    for_each_broadcast<2>(os, {xs, ys}, [&](std::size_t i, const std::array<std::size_t, 2>& o) {
      pr[i] = apply<T>(k, px[o[0]], py[o[1]]);
    });
    return r;
  });
}

const char* arith_name(Arith k) {
  switch (k) {
    case Arith::add: return "add";
    case Arith::sub: return "sub";
    case Arith::mul: return "mul";
    case Arith::div: return "div";
    case Arith::max: return "maximum";
    case Arith::min: return "minimum";
  }
  return "?";
}

}  // namespace

Promoted promote_arith(const Tensor& a, const Tensor& b, Arith k) {
  const char* op = arith_name(k);
  DType r = result_type(op, a, b);
  if (k == Arith::div && !is_floating(r)) r = f32;  // true division (PyTorch): integers give float32
  if (r == bool_ && k == Arith::sub)  // as in PyTorch (+ and * of bools are or / and)
    throw DtypeError(fmt::format("sub: bool {} minus bool {} is not defined (use logical_xor, or convert with "
                                 ".to(ag::i64))",
                                 shape_str(a.shape()), shape_str(b.shape())));
  Promoted p{as_dtype(op, a, r), as_dtype(op, b, r), Tensor()};
  if (!is_floating(r)) p.result = int_kernel(op, p.a, p.b, k);
  return p;
}

}  // namespace ag::detail

namespace ag {

Tensor detail::int_scalar(const Tensor& a, std::int64_t s, ScalarOp k) {
  const char* op = k == ScalarOp::rsub ? "rsub" : k == ScalarOp::mul ? "mul" : k == ScalarOp::sub ? "sub" : "add";
  require_defined(op, a);
  const double d = static_cast<double>(s);
  if (is_floating(a.dtype())) {  // the scalar takes the tensor's floating dtype
    switch (k) {
      case ScalarOp::add: return add(a, d);
      case ScalarOp::sub: return sub(a, scalar(d, a.dtype()));
      case ScalarOp::rsub: return rsub(d, a);
      case ScalarOp::mul: return mul(a, d);
    }
  }
  // integer tensor: the scalar takes its dtype (a weak scalar, as in PyTorch); bool becomes int64
  const Tensor x = a.dtype() == bool_ ? convert(op, a, i64) : a;
  const Tensor c = dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    // wraps like the arithmetic: the scalar reduced modulo 2^bits, as a C++ cast does
    return Tensor(xt::xarray<T>(static_cast<T>(s)));
  });
  switch (k) {
    case ScalarOp::add: return int_kernel(op, x, c, Arith::add);
    case ScalarOp::sub: return int_kernel(op, x, c, Arith::sub);
    case ScalarOp::rsub: return int_kernel(op, c, x, Arith::sub);
    case ScalarOp::mul: return int_kernel(op, x, c, Arith::mul);
  }
  return x;
}

}  // namespace ag
