#pragma once
// Comparisons (0/1 masks, not differentiated) and the selections built on them: maximum,
// minimum, clamp, where. Same-dtype operands, numpy broadcasting.
#include <optional>

#include "ag/tensor.hpp"

namespace ag {

// ---- comparisons (non-differentiable) ------------------------------------------------------------
// 0/1 masks in the operands' dtype, broadcasting; no history, requires_grad false.
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

// Ties (a == b) send half of g to each operand.
Tensor maximum(const Tensor& a, const Tensor& b);  // d/da = [a > b] + ½[a = b]
Tensor minimum(const Tensor& a, const Tensor& b);  // d/da = [a < b] + ½[a = b]
// min(max(x, lo), hi); an omitted (or infinite) bound does not clip. d = g·[lo <= x <= hi].
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// cond ? a : b, broadcasting all three. cond is a mask of any dtype (nonzero = true) and is not
// differentiated; g flows to a where cond holds and to b elsewhere.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace ag
