// max/min, argmax/argmin, var/std, norm, logsumexp, softmax and log_softmax: forward values in
// float32 and float64 against hand-computed values, gradients by hand, stability, error paths.
#include <cmath>
#include <limits>

#include "autograd/ops_test_util.hpp"

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

TEST_CASE("max and min gradients go to the selected elements; ties split evenly") {
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

TEST_CASE("argmax and argmin: first extreme, integer values in the input dtype, no history") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make(kM, {2, 3}, d, true);
    ag::Tensor am = ag::argmax(x, 1);
    check(am, {2}, {1, 0}, 0);  // first of the tied 3s
    CHECK(am.dtype() == d);
    CHECK_FALSE(am.requires_grad());
    check(ag::argmin(x, 1), {2}, {0, 1}, 0);
    check(ag::argmax(x, 0), {3}, {1, 0, 0}, 0);
    check(ag::argmin(x, -2, true), {1, 3}, {0, 1, 1}, 0);
    check(ag::argmax(x), {}, {1}, 0);  // flat index
    check(ag::argmin(x), {}, {4}, 0);
  }
  // the argmax feeds accuracy: mean(eq(argmax(logits, 1), labels))
  ag::Tensor logits = make({0.1, 2, -1, 3, 0, 1, 0, 0, 5}, {3, 3});
  ag::Tensor labels = make({1, 2, 2}, {3});
  check(ag::mean(ag::eq(ag::argmax(logits, 1), labels)), {}, {2.0 / 3}, 1e-7);
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

TEST_CASE("logsumexp is stable and its gradient is the softmax") {
  for (ag::DType d : opt::kDtypes) {
    check(ag::logsumexp(make({1, 2, 3}, {3}, d)), {}, {3.40760596444438}, opt::tol(d));
    check(ag::logsumexp(make({1000, 1000}, {2}, d)), {}, {1000 + std::log(2.0)}, opt::tol(d));
    check(ag::logsumexp(make({-1000, -1000}, {2}, d)), {}, {-1000 + std::log(2.0)}, opt::tol(d));
    check(ag::logsumexp(make({1, 2, 3, 0, 0, 0}, {2, 3}, d), {1}, true), {2, 1},
          {3.40760596444438, std::log(3.0)}, opt::tol(d));
    check(ag::logsumexp(make({1, 0, 2, 0, 3, 0}, {3, 2}, d), {0}), {2}, {3.40760596444438, std::log(3.0)},
          opt::tol(d));
  }
  const double inf = std::numeric_limits<double>::infinity();
  check(ag::logsumexp(make({-inf, -inf}, {2})), {}, {-inf}, 0);
  ag::Tensor x = make({1, 2, 3}, {3}, ag::f64, true);
  ag::logsumexp(x).backward();
  check(x.grad(), {3}, {0.09003057317038046, 0.24472847105479767, 0.6652409557748219}, 1e-14);
  ag::Tensor big = make({1000, -1000, 0}, {3}, ag::f64, true);
  ag::logsumexp(big).backward();
  check(big.grad(), {3}, {1, 0, 0}, 1e-15);
}

TEST_CASE("softmax and log_softmax values along any axis") {
  const std::vector<double> p = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
  for (ag::DType d : opt::kDtypes) {
    check(ag::softmax(make({1, 2, 3}, {3}, d)), {3}, p, opt::tol(d));
    check(ag::log_softmax(make({1, 2, 3}, {3}, d)), {3},
          {std::log(p[0]), std::log(p[1]), std::log(p[2])}, opt::tol(d));
    // axis 0 of [3,2]: the first column is (1, 2, 3), the second constant
    ag::Tensor x = make({1, 5, 2, 5, 3, 5}, {3, 2}, d);
    check(ag::softmax(x, 0), {3, 2}, {p[0], 1.0 / 3, p[1], 1.0 / 3, p[2], 1.0 / 3}, opt::tol(d));
    check(ag::log_softmax(x, -2), {3, 2},
          {std::log(p[0]), -std::log(3.0), std::log(p[1]), -std::log(3.0), std::log(p[2]), -std::log(3.0)},
          opt::tol(d));
    CHECK(ag::softmax(x, 0).dtype() == d);
  }
  CHECK_THROWS_AS(ag::softmax(make({1}, {})), ag::ShapeError);
  CHECK_THROWS_AS(ag::log_softmax(make({1, 2}, {2}), 1), ag::ShapeError);
}

TEST_CASE("softmax and log_softmax are finite at ±1000 with finite gradients") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({1000, -1000, 0, -1000, 1000, 1000}, {2, 3}, d, true);
    check(ag::softmax(x), {2, 3}, {1, 0, 0, 0, 0.5, 0.5}, opt::tol(d));
    ag::Tensor ls = ag::log_softmax(x);
    check(ls, {2, 3}, {0, -2000, -1000, -2000 - std::log(2.0), -std::log(2.0), -std::log(2.0)}, opt::tol(d));
    (ls * make({1, 2, 3, 1, 0, 0}, {2, 3}, d)).sum().backward();
    // d = g - softmax·Σg: row 0 Σg = 6, row 1 Σg = 1
    check(x.grad(), {2, 3}, {1 - 6, 2, 3, 1, -0.5, -0.5}, opt::tol(d));
    x.zero_grad();
    (ag::softmax(x) * make({1, 2, 3, 1, 0, 4}, {2, 3}, d)).sum().backward();
    // d = y·(g - Σg·y): row 0 y = e0 -> 0; row 1: y = (0, .5, .5), Σg·y = 2 -> (0, -1, 1)
    check(x.grad(), {2, 3}, {0, 0, 0, 0, -1, 1}, opt::tol(d));
  }
}

TEST_CASE("softmax gradients: hand values, and the fused and create_graph paths agree") {
  const std::vector<double> p = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
  ag::Tensor x = make({1, 2, 3}, {3}, ag::f64, true);
  // d softmax_0 / dx = p0·(e0 - p)
  ag::select(ag::softmax(x), 0, 0).backward();
  check(x.grad(), {3}, {p[0] * (1 - p[0]), -p[0] * p[1], -p[0] * p[2]}, 1e-14);
  // Σ log_softmax = Σx - 3·lse: d = 1 - 3p
  x.zero_grad();
  ag::log_softmax(x).sum().backward();
  check(x.grad(), {3}, {1 - 3 * p[0], 1 - 3 * p[1], 1 - 3 * p[2]}, 1e-14);
  ag::Tensor w = make({0.3, -1, 2, 0.5, 1, -2}, {3, 2});
  ag::Tensor z = make({0.2, -0.4, 1.1, 0.7, -1.3, 0.05}, {3, 2}, ag::f64, true);
  for (int axis : {0, 1}) {
    for (auto op : {+[](const ag::Tensor& t, int a) { return ag::softmax(t, a); },
                    +[](const ag::Tensor& t, int a) { return ag::log_softmax(t, a); }}) {
      const ag::Tensor g1 = ag::grad({(op(z, axis) * w).sum()}, {z})[0];
      const ag::Tensor g2 = ag::grad({(op(z, axis) * w).sum()}, {z}, {}, std::nullopt, true)[0];
      CHECK(g2.requires_grad());
      check(g2, {3, 2}, vals(g1), 1e-14);
    }
  }
}
