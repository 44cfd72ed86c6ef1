#pragma once
// A user's op library, as the installed harness sees it: ops written with ag::record / ag::op
// outside tapegrad, tested by test_my_ops.cpp with ag/doctest_op_table.hpp only.
#include <ag/ag.hpp>

namespace my {

using ag::Tensor;

// softclip(x, c) = c·tanh(x / c): d/dx = 1 - tanh²(x / c)
Tensor softclip(const Tensor& x, double c);
// a·s + b with broadcasting: d/da = s·g summed to a's shape, d/db = g summed to b's shape
Tensor scaled_add(const Tensor& a, const Tensor& b, double s);
// 1 where x > 0, else 0 (no gradient)
Tensor positive_mask(const Tensor& x);

}  // namespace my
