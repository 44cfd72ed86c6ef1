// The README's "Functions of functions" snippet (an excerpt of this test), run with its values checked.
#include <cmath>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

TEST_CASE("README: functions of functions") {
  ag::Tensor x = ag::Tensor({0.5, -1.0, 2.0}, ag::f64);
  auto f = [](const ag::Tensor& v) { return ag::sum(v * v * v); };      // Σ x³
  ag::Tensor H = ag::hessian(f, x);                                     // [3, 3]: diag(6x)
  auto [y, Jt] = ag::jvp([](const ag::Tensor& v) { return ag::exp(v); }, x, ag::ones({3}, ag::f64));
  ag::Tensor Hv = ag::hvp(f, x, ag::ones({3}, ag::f64)).product;        // H·1 = 6x

  ag::Tensor w = ag::randn({3, 3}, ag::f64).requires_grad_();
  ag::Tensor h = ag::checkpoint([&](const ag::Tensor& a) { return ag::tanh(ag::matmul(a, w)); },
                                ag::reshape(x, {1, 3}), {w});          // w: read by f, gets a gradient
  ag::sum(h).backward();                                                // replays the block
  check_values(H, {3, 3}, {3, 0, 0, 0, -6, 0, 0, 0, 12});
  check_values(Jt, {3}, {std::exp(0.5), std::exp(-1.0), std::exp(2.0)});
  check_values(y, {3}, {std::exp(0.5), std::exp(-1.0), std::exp(2.0)});
  check_values(Hv, {3}, {3, -6, 12});
  REQUIRE(w.grad().defined());
  CHECK(w.grad().shape() == ag::Shape{3, 3});
}
