#pragma once
// The entry points behind the C++-integer-scalar overloads of + - * and the comparisons
// (ag/ops/elementwise.hpp, ag/ops/compare.hpp): an integer scalar keeps an integer tensor's dtype
// and is compared exactly.
#include <cstdint>
#include <type_traits>

#include "ag/tensor.hpp"

namespace ag::detail {
enum class ScalarOp : unsigned char { add, sub, rsub, mul };
Tensor int_scalar(const Tensor& a, std::int64_t s, ScalarOp k);
template <class I> using if_int_scalar = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int>;
Tensor eq_int(const Tensor& a, std::int64_t s);
Tensor ne_int(const Tensor& a, std::int64_t s);
Tensor lt_int(const Tensor& a, std::int64_t s);
Tensor le_int(const Tensor& a, std::int64_t s);
Tensor gt_int(const Tensor& a, std::int64_t s);
Tensor ge_int(const Tensor& a, std::int64_t s);
}  // namespace ag::detail
