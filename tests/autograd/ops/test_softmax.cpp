// The exp-normalisation family (ag/ops/softmax.hpp): logsumexp, softmax, log_softmax: stability,
// values along any axis, and the fused and create_graph gradient paths.
#include <cmath>
#include <limits>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::vals;

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

TEST_CASE("logsumexp with a +inf term is +inf (not NaN)") {
  // Issue 14 item 5: the max shift gave inf - inf = NaN; only the all -inf case was handled.
  const double inf = std::numeric_limits<double>::infinity();
  check(ag::logsumexp(make({inf, 1.0}, {2})), {}, {inf}, 0);
  check(ag::logsumexp(make({-inf, -inf}, {2})), {}, {-inf}, 0);
  check(ag::logsumexp(make({1.0, inf, -inf, 2.0}, {2, 2}), {1}), {2}, {inf, 2.0}, 0);
}
