// Reductions (ag/ops/reduce.hpp): sum/mean, max/min (ties share the gradient), argmax/argmin,
// var/std and norm: values, axes, keepdims and gradients.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include "ag/ag.hpp"
#include "support/values.hpp"

using opt::kA;
using opt::kB;
using opt::t23;

TEST_CASE("sum and mean over all elements") {
  ag::Tensor x = t23(kA, true);
  double total = 0;
  for (double v : kA) total += v;
  ag::Tensor s = ag::sum(x);
  CHECK(s.dim() == 0);
  CHECK(s.item() == doctest::Approx(total));
  CHECK(x.sum().item() == doctest::Approx(total));
  ag::Tensor m = ag::mean(x);
  CHECK(m.dim() == 0);
  CHECK(m.item() == doctest::Approx(total / 6));
  CHECK(x.mean().item() == doctest::Approx(total / 6));
  m.backward();
  check_values(x.grad(), {2, 3}, std::vector<double>(6, 1.0 / 6));

  // float32 sums accumulate in double: 1e6 × 0.1f
  ag::Tensor f = ag::full({1000000}, 0.1, ag::f32);
  CHECK(ag::sum(f).item() == doctest::Approx(100000.0).epsilon(1e-6));
}

TEST_CASE("sum and mean over axes with negative axes and keepdims") {
  // x[i,j,k] = 12i + 4j + k, shape [2,3,4]
  ag::Tensor x = ag::arange(24.0, ag::f64).reshape({2, 3, 4});
  auto at = [](int i, int j, int k) { return 12.0 * i + 4.0 * j + k; };

  std::vector<double> s1;  // sum over axis 1 -> [2,4]
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) s1.push_back(at(i, 0, k) + at(i, 1, k) + at(i, 2, k));
  check_values(ag::sum(x, {1}), {2, 4}, s1);
  check_values(ag::sum(x, {-2}), {2, 4}, s1);
  check_values(ag::sum(x, {1}, true), {2, 1, 4}, s1);

  std::vector<double> s02;  // over axes 0 and 2 -> [3]
  for (int j = 0; j < 3; ++j) {
    double acc = 0;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) acc += at(i, j, k);
    s02.push_back(acc);
  }
  check_values(ag::sum(x, {0, 2}), {3}, s02);
  check_values(ag::sum(x, {-1, 0}), {3}, s02);  // order does not matter
  check_values(ag::sum(x, {2, 0}, true), {1, 3, 1}, s02);

  std::vector<double> m2;  // mean over the last axis -> [2,3]
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) m2.push_back((at(i, j, 0) + at(i, j, 1) + at(i, j, 2) + at(i, j, 3)) / 4);
  check_values(ag::mean(x, {-1}), {2, 3}, m2);
  check_values(ag::mean(x, {2}, true), {2, 3, 1}, m2);
  check_values(ag::mean(x, {0, 1, 2}), {}, {11.5});
  check_values(ag::sum(x, {}), {2, 3, 4}, values_of(x));  // no axes: unchanged
}

TEST_CASE("gradients of sum and mean over axes") {
  ag::Tensor x = ag::arange(24.0, ag::f64).reshape({2, 3, 4}).detach().requires_grad_();
  // L = Σ_{i,k} w_{ik} · (Σ_j x_ijk)  ->  dL/dx_ijk = w_ik
  ag::Tensor w = ag::arange(1.0, 9.0, 1.0, ag::f64).reshape({2, 4});
  (ag::sum(x, {1}) * w).sum().backward();
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) want.push_back(1.0 + 4 * i + k);
  check_values(x.grad(), {2, 3, 4}, want);

  x.zero_grad();
  // keepdims and a negative axis: L = Σ v_ij · mean_k x_ijk  ->  v_ij / 4
  ag::Tensor v = ag::arange(6.0, ag::f64).reshape({2, 3, 1});
  (ag::mean(x, {-1}, true) * v).sum().backward();
  want.clear();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) want.push_back((3.0 * i + j) / 4);
  check_values(x.grad(), {2, 3, 4}, want);

  x.zero_grad();
  // two axes: L = Σ_j u_j · Σ_{i,k} x_ijk  ->  u_j
  ag::Tensor u({1.0, -2.0, 0.5}, ag::f64);
  (ag::sum(x, {0, 2}) * u).sum().backward();
  want.clear();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) want.push_back(j == 0 ? 1.0 : j == 1 ? -2.0 : 0.5);
  check_values(x.grad(), {2, 3, 4}, want);
}

using opt::check;
using opt::make;
using opt::vals;

namespace {
// [[1, 3, 3], [2, 0, 1]]: a tie for the max of row 0
const std::vector<double> kM = {1, 3, 3, 2, 0, 1};
}  // namespace

TEST_CASE("max and min over all elements and over axes, with keepdims") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make(kM, {2, 3}, d);
    check(ag::max(x), {}, {3}, 0);
    check(ag::min(x), {}, {0}, 0);
    check(ag::max(x, {1}), {2}, {3, 2}, 0);
    check(ag::max(x, {-1}, true), {2, 1}, {3, 2}, 0);
    check(ag::min(x, {0}), {3}, {1, 0, 1}, 0);
    check(ag::min(x, {0}, true), {1, 3}, {1, 0, 1}, 0);
    check(ag::max(x, {0, 1}), {}, {3}, 0);
    CHECK(ag::max(x).dtype() == d);
  }
  // non-adjacent axes of a [2,2,3] tensor (values 0..11): max over {0, 2} -> [2]
  ag::Tensor t = ag::arange(12.0, ag::f64).reshape({2, 2, 3});
  check(ag::max(t, {0, 2}), {2}, {8, 11}, 0);
  check(ag::min(t, {0, 2}, true), {1, 2, 1}, {0, 3}, 0);
  check(ag::max(make({4}, {})), {}, {4}, 0);  // 0-d
  const std::vector<double> nan = vals(ag::max(make({1, NAN, 5}, {3})));
  CHECK(std::isnan(nan[0]));
}

TEST_CASE("max and min gradients go to the selected elements, ties split evenly") {
  ag::Tensor x = make(kM, {2, 3}, ag::f64, true);
  ag::max(x, {1}).sum().backward();
  check(x.grad(), {2, 3}, {0, 0.5, 0.5, 1, 0, 0}, 0);
  x.zero_grad();
  ag::max(x).backward();
  check(x.grad(), {2, 3}, {0, 0.5, 0.5, 0, 0, 0}, 0);
  x.zero_grad();
  (ag::min(x, {0}, true) * make({1, 2, 3}, {1, 3})).sum().backward();
  check(x.grad(), {2, 3}, {1, 0, 0, 0, 2, 3}, 0);
  x.zero_grad();
  // three-way tie in the overall min of [1, 1, 1, 2]
  ag::Tensor y = make({1, 1, 1, 2}, {4}, ag::f64, true);
  ag::min(y).backward();
  check(y.grad(), {4}, {1.0 / 3, 1.0 / 3, 1.0 / 3, 0}, 1e-15);
}

TEST_CASE("max/min errors name the op and the shape") {
  ag::Tensor e = ag::zeros({2, 0});
  CHECK_THROWS_AS(ag::max(e, {1}), ag::ValueError);
  CHECK_THROWS_AS(ag::min(e), ag::ValueError);
  const std::string msg = opt::message_of([&] { ag::max(e); });
  CHECK(msg.find("max") != std::string::npos);
  CHECK(msg.find("[2, 0]") != std::string::npos);
  CHECK_THROWS_AS(ag::max(ag::zeros({2, 3}), {2}), ag::ShapeError);
  CHECK_THROWS_AS(ag::max(ag::zeros({2, 3}), {1, -1}), ag::ShapeError);
}

TEST_CASE("argmax and argmin: first extreme, int64 indices, no history") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make(kM, {2, 3}, d, true);
    ag::Tensor am = ag::argmax(x, 1);
    check(am, {2}, {1, 0}, 0);  // first of the tied 3s
    CHECK(am.dtype() == ag::i64);
    CHECK_FALSE(am.requires_grad());
    check(ag::argmin(x, 1), {2}, {0, 1}, 0);
    check(ag::argmax(x, 0), {3}, {1, 0, 0}, 0);
    check(ag::argmin(x, -2, true), {1, 3}, {0, 1, 1}, 0);
    check(ag::argmax(x), {}, {1}, 0);  // flat index
    check(ag::argmin(x), {}, {4}, 0);
  }
  // the argmax feeds accuracy: mean(eq(argmax(logits, 1), labels)), labels int64 or (deprecated) float
  ag::Tensor logits = make({0.1, 2, -1, 3, 0, 1, 0, 0, 5}, {3, 3});
  check(ag::mean(ag::eq(ag::argmax(logits, 1), ag::tensor({1, 2, 2}, ag::i64))), {}, {2.0 / 3}, 1e-7);
  check(ag::mean(ag::eq(ag::argmax(logits, 1), make({1, 2, 2}, {3}))), {}, {2.0 / 3}, 1e-7);
  CHECK(ag::mean(ag::eq(ag::argmax(logits, 1), make({1, 2, 2}, {3}))).dtype() == ag::f32);
  // integer inputs: the index of the first extreme
  check(ag::argmax(ag::tensor({3, -7, 9, 9}, ag::i64)), {}, {2}, 0);
  check(ag::argmin(ag::tensor({{1, 0}, {0, 1}}, ag::u8), 1), {2}, {1, 0}, 0);
  CHECK_THROWS_AS(ag::argmax(ag::zeros({0})), ag::ValueError);
  CHECK_THROWS_AS(ag::argmax(ag::zeros({2}), 1), ag::ShapeError);
}

TEST_CASE("var and std: unbiased and biased, axes, keepdims, gradients") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({1, 2, 3, 4}, {4}, d);
    check(ag::var(x), {}, {5.0 / 3}, opt::tol(d));
    check(ag::var(x, {0}, false), {}, {1.25}, opt::tol(d));
    check(ag::std(x), {}, {std::sqrt(5.0 / 3)}, opt::tol(d));
    check(ag::std(x, {0}, false), {}, {std::sqrt(1.25)}, opt::tol(d));
    // [[1, 2, 6], [2, 4, 0]]: rows have mean 3 and 2
    ag::Tensor m = make({1, 2, 6, 2, 4, 0}, {2, 3}, d);
    check(ag::var(m, {1}), {2}, {7, 4}, opt::tol(d));
    check(ag::var(m, {1}, false, true), {2, 1}, {14.0 / 3, 8.0 / 3}, opt::tol(d));
    check(ag::var(m, {0}), {3}, {0.5, 2, 18}, opt::tol(d));
  }
  // d var/dx_i = 2(x_i - mean)/(n - 1)
  ag::Tensor x = make({1, 2, 3, 5}, {4}, ag::f64, true);
  ag::var(x).backward();
  check(x.grad(), {4}, {2 * (1 - 2.75) / 3, 2 * (2 - 2.75) / 3, 2 * (3 - 2.75) / 3, 2 * (5 - 2.75) / 3}, 1e-14);
  x.zero_grad();
  // d std/dx_i = (x_i - mean)/(n·std) for the biased estimate
  const double sd = std::sqrt((1.75 * 1.75 + 0.75 * 0.75 + 0.25 * 0.25 + 2.25 * 2.25) / 4);
  ag::std(x, {0}, false).backward();
  check(x.grad(), {4}, {-1.75 / (4 * sd), -0.75 / (4 * sd), 0.25 / (4 * sd), 2.25 / (4 * sd)}, 1e-14);
  CHECK_THROWS_AS(ag::var(make({1}, {1})), ag::ValueError);
  CHECK(ag::var(make({1}, {1}), {0}, false).item() == 0.0);
}

TEST_CASE("norm: values, axes, gradient x/|x| and 0 at the origin, no overflow") {
  for (ag::DType d : opt::kDtypes) {
    check(ag::norm(make({3, 4}, {2}, d)), {}, {5}, opt::tol(d));
    check(ag::norm(make({3, 4, 0, 0, 1, 0}, {3, 2}, d), {1}), {3}, {5, 0, 1}, opt::tol(d));
    check(ag::norm(make({3, 0, 4, 0}, {2, 2}, d), {0}, true), {1, 2}, {5, 0}, opt::tol(d));
  }
  ag::Tensor x = make({3, 4, 0, 0}, {2, 2}, ag::f64, true);
  ag::norm(x, {1}).sum().backward();
  check(x.grad(), {2, 2}, {0.6, 0.8, 0, 0}, 1e-15);  // the zero row gets 0, not NaN
  check(ag::norm(make({3e200, 4e200}, {2})), {}, {5e200}, 1e-15);
  check(ag::norm(make({3e-200, 4e-200}, {2})), {}, {5e-200}, 1e-15);
}

TEST_CASE("max/min with a NaN send the gradient to the NaN element, not NaN everywhere") {
  // Issue 14 item 8: hit = (x == max) was 0 everywhere for a NaN result, so 0/0 = NaN per element.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ag::Tensor x({1.0, nan, 3.0, 2.0}, ag::f64, true);
  ag::max(x).backward();
  opt::check(x.grad(), {4}, {0.0, 1.0, 0.0, 0.0}, 0);
  ag::Tensor y({{1.0, nan}, {4.0, 2.0}}, ag::f64, true);
  ag::min(y, {1}).sum().backward();
  opt::check(y.grad(), {2, 2}, {0.0, 1.0, 0.0, 1.0}, 0);
  ag::Tensor a({nan, 1.0}, ag::f64, true), b({0.0, nan}, ag::f64, true);
  ag::maximum(a, b).sum().backward();
  opt::check(a.grad(), {2}, {1.0, 0.0}, 0);
  opt::check(b.grad(), {2}, {0.0, 1.0}, 0);
}

TEST_CASE("std of a constant group has derivative 0 (as PyTorch), first and second order") {
  // Issue 14 item 7: the composed √var gave NaN (∞·0) where the header said 'infinite'.
  ag::Tensor x({{2.0, 2.0, 2.0}, {1.0, 2.0, 4.0}}, ag::f64, true);
  const ag::Tensor s = ag::std(x, {1});
  opt::check(s, {2}, {0.0, std::sqrt(7.0 / 3.0)}, 1e-12);
  const ag::Tensor g = ag::grad({ag::sum(s)}, {x}, {}, std::nullopt, true)[0];
  // row 1: (x - mean)/((n - 1)·std) with mean 7/3, std √(7/3)
  const double sd = std::sqrt(7.0 / 3.0), m = 7.0 / 3.0;
  opt::check(g, {2, 3}, {0.0, 0.0, 0.0, (1 - m) / (2 * sd), (2 - m) / (2 * sd), (4 - m) / (2 * sd)}, 1e-12);
  for (double v : opt::vals(ag::grad({ag::sum(g)}, {x})[0])) CHECK(std::isfinite(v));
  CHECK(std::string(opt::message_of([] { ag::std(ag::ones({1, 3}), {0}); })).find("std:") == 0);
}
