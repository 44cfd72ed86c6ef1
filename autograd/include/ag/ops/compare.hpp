#pragma once
// Comparisons and logical ops (bool masks, not differentiated) and the selections built on them:
// maximum, minimum, clamp, where. Numpy broadcasting; operands of two dtypes are compared in
// their result_type (ag/dtype.hpp).
#include <cstdint>
#include <optional>
#include <type_traits>

#include "ag/detail/int_scalar.hpp"
#include "ag/tensor.hpp"

namespace ag {

// ---- comparisons (non-differentiable) ------------------------------------------------------------
// bool masks, broadcasting; no history. A double scalar is compared in a floating tensor's dtype,
// or as a double with an integer tensor; a C++ integer scalar exactly.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);

inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator==(const Tensor& a, double s) { return eq(a, s); }
inline Tensor operator!=(const Tensor& a, double s) { return ne(a, s); }
inline Tensor operator<(const Tensor& a, double s) { return lt(a, s); }
inline Tensor operator<=(const Tensor& a, double s) { return le(a, s); }
inline Tensor operator>(const Tensor& a, double s) { return gt(a, s); }
inline Tensor operator>=(const Tensor& a, double s) { return ge(a, s); }
inline Tensor operator==(double s, const Tensor& a) { return eq(a, s); }
inline Tensor operator!=(double s, const Tensor& a) { return ne(a, s); }
inline Tensor operator<(double s, const Tensor& a) { return gt(a, s); }
inline Tensor operator<=(double s, const Tensor& a) { return ge(a, s); }
inline Tensor operator>(double s, const Tensor& a) { return lt(a, s); }
inline Tensor operator>=(double s, const Tensor& a) { return le(a, s); }

#define AG_INT_COMPARISON(name, op, flipped)                                                           \
  template <class I, detail::if_int_scalar<I> = 0> Tensor name(const Tensor& a, I s) {                   \
    return detail::name##_int(a, static_cast<std::int64_t>(s));                                       \
  }                                                                                                   \
  template <class I, detail::if_int_scalar<I> = 0> Tensor operator op(const Tensor& a, I s) {            \
    return detail::name##_int(a, static_cast<std::int64_t>(s));                                       \
  }                                                                                                   \
  template <class I, detail::if_int_scalar<I> = 0> Tensor operator op(I s, const Tensor& a) {            \
    return detail::flipped##_int(a, static_cast<std::int64_t>(s));                                    \
  }
AG_INT_COMPARISON(eq, ==, eq)
AG_INT_COMPARISON(ne, !=, ne)
AG_INT_COMPARISON(lt, <, gt)
AG_INT_COMPARISON(le, <=, ge)
AG_INT_COMPARISON(gt, >, lt)
AG_INT_COMPARISON(ge, >=, le)
#undef AG_INT_COMPARISON

// ---- logical (non-differentiable) -------------------------------------------------------------------
// Any dtypes, nonzero read as true; bool results, broadcasting.
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);
// PyTorch's mask operators, for bool tensors only (DtypeError otherwise: no bitwise integer ops).
Tensor operator&(const Tensor& a, const Tensor& b);
Tensor operator|(const Tensor& a, const Tensor& b);
Tensor operator^(const Tensor& a, const Tensor& b);
Tensor operator~(const Tensor& a);

// ---- selections -------------------------------------------------------------------------------------
// maximum/minimum/where take operands of any dtypes, computed in their result_type.
// Ties (a == b) send half of g to each operand.
Tensor maximum(const Tensor& a, const Tensor& b);  // d/da = [a > b] + ½[a = b]
Tensor minimum(const Tensor& a, const Tensor& b);  // d/da = [a < b] + ½[a = b]
// min(max(x, lo), hi); an omitted (or infinite) bound does not clip. d = g·[lo <= x <= hi].
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// cond ? a : b, broadcasting all three. cond is a mask of any dtype (nonzero = true; bool from a
// comparison) and is not differentiated; g flows to a where cond holds and to b elsewhere.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace ag
