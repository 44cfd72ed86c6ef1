// Gradient clipping against hand-computed norms: 2-norm, 1-norm, inf-norm, and by value.
#include <limits>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("clip_grad_norm / clip_grad_value") {
  ag::Tensor a({3.0}, ag::f64, true), b({0.0, 0.0}, ag::f64, true), c({1.0}, ag::f64, true);
  a.set_grad(ag::Tensor({3.0}, ag::f64));
  b.set_grad(ag::Tensor({0.0, -4.0}, ag::f64));  // c has no grad: skipped
  const double total = nn::clip_grad_norm({a, b, c}, 1.0);
  CHECK(total == doctest::Approx(5.0));
  const double k = 1.0 / (5.0 + 1e-6);
  check_values(a.grad(), {1}, {3 * k});
  check_values(b.grad(), {2}, {0, -4 * k});
  CHECK_FALSE(c.grad().defined());
  // below the limit: unchanged, and the norm is still returned
  CHECK(nn::clip_grad_norm({a, b}, 10.0) == doctest::Approx(1.0).epsilon(1e-6));
  check_values(a.grad(), {1}, {3 * k});
  // inf-norm and 1-norm
  a.set_grad(ag::Tensor({3.0}, ag::f64));
  b.set_grad(ag::Tensor({0.0, -4.0}, ag::f64));
  CHECK(nn::clip_grad_norm({a, b}, 100.0, std::numeric_limits<double>::infinity()) == 4.0);
  CHECK(nn::clip_grad_norm({a, b}, 100.0, 1.0) == doctest::Approx(7.0));
  nn::clip_grad_value({a, b}, 2.5);
  check_values(a.grad(), {1}, {2.5});
  check_values(b.grad(), {2}, {0, -2.5});
  ag::Tensor f({1.0, 2.0}, ag::f32, true);
  f.set_grad(ag::Tensor({-3.0, 0.5}));
  nn::clip_grad_value({f}, 1.0);
  check_values(f.grad(), {2}, {-1.0, 0.5});
  CHECK_THROWS_AS(nn::clip_grad_norm({a}, -1.0), ag::ValueError);
  CHECK_THROWS_AS(nn::clip_grad_value({a}, -1.0), ag::ValueError);
}
