#pragma once
// Shared helpers for the gradcheck tests: seeded float64 inputs and report inspection.
#include <cstdint>
#include <string>
#include <vector>

#include "ag/ag.hpp"
#include "ag/gradcheck.hpp"

namespace gc_test {

using ag::Tensor;
using Tensors = std::vector<Tensor>;

// Uniform float64 values in [lo, hi), requires_grad set.
inline Tensor input(const ag::Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0,
                    bool requires_grad = true) {
  ag::Generator gen(seed);
  Tensor t = ag::uniform(shape, lo, hi, gen, ag::f64);
  if (requires_grad) t.requires_grad_();
  return t;
}

inline bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// The first row of the first "worst entries" table: the output and input multi-indices.
inline std::string first_table_row(const std::string& report) {
  const auto h = report.find("output idx");
  if (h == std::string::npos) return "";
  const auto start = report.find('\n', h) + 1;
  return report.substr(start, report.find('\n', start) - start);
}

// "[r, c]" of the largest element of a 2-D tensor (flat row-major argmax).
inline std::string argmax_index(const Tensor& t) {
  const auto& v = t.value<double>();
  std::size_t best = 0;
  for (std::size_t k = 1; k < v.size(); ++k)
    if (v.data()[k] > v.data()[best]) best = k;
  const std::size_t cols = t.shape()[1];
  return "[" + std::to_string(best / cols) + ", " + std::to_string(best % cols) + "]";
}

// ---- deliberately wrong ops -----------------------------------------------------------------------
// exp whose VJP flips the sign: -g·y instead of g·y.
inline Tensor exp_sign_flipped(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return ag::exp(x); });
  return ag::record("exp_sign_flipped", {x}, y,
                    [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads { return {-(g * c.output())}; },
                    ag::keep_output);
}

// sin whose VJP is twice too large: 2·g·cos(x).
inline Tensor sin_times_two(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return ag::sin(x); });
  return ag::record("sin_times_two", {x}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {2.0 * g * ag::cos(c.input(0))};
  });
}

// a·b with the partials swapped: {g·a, g·b} instead of {g·b, g·a}.
inline Tensor mul_swapped(const Tensor& a, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return a * b; });
  return ag::record("mul_swapped", {a, b}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {g * c.input(0), g * c.input(1)};
  });
}

// a·b that forgets b's partial (returns no gradient for b).
inline Tensor mul_missing_b(const Tensor& a, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return a * b; });
  return ag::record("mul_missing_b", {a, b}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {g * c.input(1), Tensor()};
  });
}

// "Missing unbroadcast", realistically: the engine sums broadcast gradients back by itself, so a VJP
// that simply returns g is right. The bug that survives is a VJP that reduces by hand over the wrong
// axis: x [n, d] + bias [d] must sum g over axis 0 (the batch); this one sums over axis 1. Its
// gradient has shape [n], which the engine only accepts when n == d — the classic bug that square
// test shapes hide, and the shapes its test uses ([3, 3] + [3]).
inline Tensor add_bias_wrong_axis(const Tensor& x, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return x + b; });
  return ag::record("add_bias_wrong_axis", {x, b}, y, [](const ag::VjpContext&, const Tensor& g) -> ag::Grads {
    return {g, ag::sum(g, {1})};
  });
}

// The other half of a broadcast bug: the VJP reduces over the batch itself and then broadcasts the
// result back to g's shape, so the engine's reduction adds it up a second time (n × too large).
inline Tensor add_bias_reduced_twice(const Tensor& x, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return x + b; });
  return ag::record("add_bias_reduced_twice", {x, b}, y, [](const ag::VjpContext&, const Tensor& g) -> ag::Grads {
    return {g, ag::broadcast_to(ag::sum(g, {0}, true), g.shape())};
  });
}

// x [2, d] + bias [d] whose bias VJP takes 2 × the first row of g instead of the sum of its rows: a
// shortcut that is right whenever all rows of g are equal (as with loss = sum(y)).
inline Tensor add_bias_first_row(const Tensor& x, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return x + b; });
  return ag::record("add_bias_first_row", {x, b}, y, [](const ag::VjpContext&, const Tensor& g) -> ag::Grads {
    return {g, ag::matmul(Tensor({{2.0, 0.0}}, ag::f64), g)};  // [1, 2]·[2, d] = 2·g[0]
  });
}

// The same wrong axis where the partials depend on position: a [n, n] * b [n] whose VJP for b sums
// g·a over axis 1 instead of axis 0 (the rows, along which b is broadcast).
inline Tensor mul_bias_wrong_axis(const Tensor& a, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return a * b; });
  return ag::record("mul_bias_wrong_axis", {a, b}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {g * c.input(1), ag::sum(g * c.input(0), {1})};
  });
}

// A user's hypot(a, b) = sqrt(a² + b²) with a [n, n], b [n] broadcast over the rows; its VJP for b
// sums g·b/y over axis 1 instead of axis 0.
inline Tensor hypot_wrong_axis(const Tensor& a, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return ag::sqrt(a * a + b * b); });
  return ag::record("hypot_wrong_axis", {a, b}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    const Tensor& y = c.output();
    return {g * c.input(0) / y, ag::sum(g * c.input(1) / y, {1})};
  }, ag::keep_output);
}

// a [2, 3] * b [3] whose VJP for b sums g·a over axis 1 (keeping it) and broadcasts the result back
// to g's shape, so the engine's own reduction over axis 0 adds up row totals: the shape is right
// whatever the sizes, so the bug survives non-square tests.
inline Tensor mul_bias_summed_back(const Tensor& a, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return a * b; });
  return ag::record("mul_bias_summed_back", {a, b}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {g * c.input(1), ag::broadcast_to(ag::sum(g * c.input(0), {1}, true), g.shape())};
  });
}

// x + 1 whose VJP returns ones whatever g is.
inline Tensor add_one_ignores_g(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return x + 1.0; });
  return ag::record("add_one_ignores_g", {x}, y, [](const ag::VjpContext& c, const Tensor&) -> ag::Grads {
    return {ag::ones_like(c.input(0))};
  });
}

// x·w whose VJP for w is transposed: gᵀ·x instead of xᵀ·g (same shape when w is square).
inline Tensor matmul_transposed_dw(const Tensor& x, const Tensor& w) {
  Tensor y = ag::no_grad([&] { return ag::matmul(x, w); });
  return ag::record("matmul_transposed_dw", {x, w}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {ag::matmul_t(g, c.input(1), false, true), ag::matmul_t(g, c.input(0), true, false)};
  });
}

}  // namespace gc_test
