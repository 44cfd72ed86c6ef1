// Dtypes: names, the promotion rule, the checked conversion every dtype change goes through, and
// the errors for ops given a dtype they do not take.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/internal.hpp"

namespace ag {

const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    case DType::i32: return "int32";
    case DType::u8: return "uint8";
    case DType::b8: return "bool";
  }
  return "?";
}

namespace {
// bool < uint8 < int32 < int64 < float32 < float64
int rank(DType d) {
  switch (d) {
    case DType::b8: return 0;
    case DType::u8: return 1;
    case DType::i32: return 2;
    case DType::i64: return 3;
    case DType::f32: return 4;
    case DType::f64: return 5;
  }
  return 0;
}
}  // namespace

DType result_type(DType a, DType b) {
  if (a == b) return a;
  if (is_floating(a) && is_floating(b))
    throw DtypeError(fmt::format("result_type: {} and {} do not mix implicitly (convert one with .to())",
                                 dtype_name(a), dtype_name(b)));
  return rank(a) >= rank(b) ? a : b;
}

namespace detail {

thread_local const char* current_op = nullptr;

void throw_not_floating(DType d) {
  throw DtypeError(fmt::format("{}: takes float32 or float64 tensors, got {} (convert with .to(ag::f32))",
                               current_op ? current_op : "op", dtype_name(d)));
}

void TensorImpl::check_grad_dtype() const {
  if (!is_floating(dtype()))
    throw DtypeError(fmt::format("requires_grad: only float32/float64 tensors can require grad, got {}",
                                 dtype_name(dtype())));
}

DType result_type(const char* op, const Tensor& a, const Tensor& b) {
  require_defined(op, a);
  require_defined(op, b);
  const DType da = a.dtype(), db = b.dtype();
  if (da != db && is_floating(da) && is_floating(db))
    throw DtypeError(fmt::format("{}: dtype mismatch {} {} vs {} {} (float32 and float64 do not mix "
                                 "implicitly: convert one with .to())",
                                 op, dtype_name(da), shape_str(a.shape()), dtype_name(db), shape_str(b.shape())));
  return ag::result_type(da, db);
}

namespace {

// The open interval of doubles whose truncation fits T (checked before the cast: casting NaN or an
// out-of-range value to an integer type is undefined behaviour).
template <class T> bool fits(double v) {
  if constexpr (std::is_same_v<T, std::int64_t>) return v > -9223372036854777856.0 && v < 9223372036854775808.0;
  else return v > static_cast<double>(std::numeric_limits<T>::min()) - 1.0 &&
              v < static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
}

template <class To, class From> void convert_values(const char* op, const From* src, To* dst, std::size_t n,
                                                    const Tensor& x) {
  if constexpr (std::is_same_v<To, bool>) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i] != From(0);
  } else if constexpr (std::is_same_v<From, bool> || std::is_floating_point_v<To>) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<To>(src[i]);
  } else {  // to an integer type: every value must fit (integers are compared exactly)
    for (std::size_t i = 0; i < n; ++i) {
      bool ok;
      if constexpr (std::is_floating_point_v<From>) {
        ok = fits<To>(static_cast<double>(src[i]));
      }
      else {  // From is int64, int32 or uint8: exact in int64
        const auto v = static_cast<std::int64_t>(src[i]);
        ok = v >= static_cast<std::int64_t>(std::numeric_limits<To>::min()) &&
             v <= static_cast<std::int64_t>(std::numeric_limits<To>::max());
      }
      if (!ok)
        throw ValueError(fmt::format("{}: value {} at flat index {} of {} {} does not fit {}", op, src[i], i,
                                     dtype_name(x.dtype()), shape_str(x.shape()), dtype_name(dtype_of<To>::value)));
      dst[i] = static_cast<To>(src[i]);
    }
  }
}

}  // namespace

Tensor convert(const char* op, const Tensor& x, DType d) {
  require_defined(op, x);
  return dispatch_all(d, [&](auto t) {
    using To = decltype(t);
    Tensor y = empty_tensor<To>(shape_ref(x));
    To* dst = data<To>(y);
    dispatch_all(x.dtype(), [&](auto u) {
      using From = decltype(u);
      convert_values<To>(op, data<From>(x), dst, x.numel(), x);
    });
    return y;
  });
}

}  // namespace detail
}  // namespace ag
