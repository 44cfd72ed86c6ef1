// The reverse sweep: only inputs that require grad get one, fan-out and reused intermediates
// accumulate through every path. float64 throughout.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

using opt::kA;
using opt::kB;
using opt::t23;

TEST_CASE("only inputs that require grad receive one") {
  ag::Tensor a = t23(kA, true), b = t23(kB, false);
  (a * b).sum().backward();
  check_values(a.grad(), {2, 3}, kB);
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("fan-out accumulates the gradient of a tensor used twice") {
  // y = x·x + 3x  ->  dy/dx = 2x + 3
  ag::Tensor x({1.0, -2.0, 0.5}, ag::f64, true);
  (x * x + x * 3.0).sum().backward();
  check_values(x.grad(), {3}, {5.0, -1.0, 4.0});

  // x + x: both operands of one op are the same tensor
  ag::Tensor z({1.0, 2.0}, ag::f64, true);
  (z + z).sum().backward();
  check_values(z.grad(), {2}, {2.0, 2.0});
}

TEST_CASE("reused intermediate tensors accumulate through every path") {
  // h = x², y = h·h + sin(h) + h  ->  dy/dx = (2h + cos h + 1)·2x
  ag::Tensor x({0.5, -1.5, 2.0}, ag::f64, true);
  ag::Tensor h = ag::square(x);
  ag::Tensor y = (h * h + ag::sin(h) + h).sum();
  y.backward();
  std::vector<double> want;
  for (double v : {0.5, -1.5, 2.0}) {
    const double hv = v * v;
    want.push_back((2 * hv + std::cos(hv) + 1) * 2 * v);
  }
  check_values(x.grad(), {3}, want);

  // a diamond: u = 2a, v = u + a, w = u·v  ->  dw/da = 2v + 3u = 12a
  ag::Tensor a({1.0, -3.0}, ag::f64, true);
  ag::Tensor u = a * 2.0;
  ag::Tensor v = u + a;
  (u * v).sum().backward();
  check_values(a.grad(), {2}, {12.0, -36.0});
}
