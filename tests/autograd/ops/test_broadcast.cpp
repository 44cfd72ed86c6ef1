// Broadcasting (ag/ops/broadcast.hpp): broadcast gradients sum back to the operand shapes, and
// broadcast_to / sum_to are adjoint.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

using opt::column;
using opt::kA;
using opt::kB;
using opt::t23;

TEST_CASE("broadcasting gradients sum back to the operand shapes") {
  // [3,1]·[1,4] -> [3,4]; d/da_i = Σ_j b_j, d/db_j = Σ_i a_i
  ag::Tensor a = column({1.0, 2.0, -3.0}, true);
  ag::Tensor b({{0.5, -1.0, 2.0, 4.0}}, ag::f64, true);
  ag::Tensor y = a * b;
  CHECK(y.shape() == ag::Shape{3, 4});
  check_values(y, {3, 4}, {0.5, -1, 2, 4, 1, -2, 4, 8, -1.5, 3, -6, -12});
  y.sum().backward();
  check_values(a.grad(), {3, 1}, {5.5, 5.5, 5.5});
  check_values(b.grad(), {1, 4}, {0.0, 0.0, 0.0, 0.0});

  // with a weight so that no column sum vanishes: L = Σ w_ij·a_i·b_j
  ag::Tensor a2 = column({1.0, 2.0, -3.0}, true);
  ag::Tensor b2({{0.5, -1.0, 2.0, 4.0}}, ag::f64, true);
  ag::Tensor w = ag::arange(12.0, ag::f64).reshape({3, 4});
  (a2 * b2 * w).sum().backward();
  std::vector<double> da(3, 0.0), db(4, 0.0);
  const double av[3] = {1, 2, -3}, bv[4] = {0.5, -1, 2, 4};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      da[i] += (4 * i + j) * bv[j];
      db[j] += (4 * i + j) * av[i];
    }
  check_values(a2.grad(), {3, 1}, da);
  check_values(b2.grad(), {1, 4}, db);

  // rank broadcasting: [2,3] + [3] and [2,3] / [] (0-d)
  ag::Tensor m = t23(kA, true);
  ag::Tensor r({1.0, 2.0, 4.0}, ag::f64, true);
  ag::Tensor s = ag::scalar(2.0, ag::f64, true);
  ((m + r) / s).sum().backward();
  check_values(m.grad(), {2, 3}, std::vector<double>(6, 0.5));
  check_values(r.grad(), {3}, {1.0, 1.0, 1.0});
  double total = 0;
  for (std::size_t i = 0; i < 6; ++i) total += kA[i] + (i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 4);
  check_values(s.grad(), {}, {-total / 4.0});
}

TEST_CASE("broadcast_to and sum_to are adjoint") {
  ag::Tensor x = column({1.0, 2.0}, true);  // [2,1]
  ag::Tensor b = ag::broadcast_to(x, {3, 2, 4});
  REQUIRE(b.shape() == ag::Shape{3, 2, 4});
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 4; ++k) {
      CHECK(b.value<double>()(i, 0, k) == 1.0);
      CHECK(b.value<double>()(i, 1, k) == 2.0);
    }
  b.sum().backward();
  check_values(x.grad(), {2, 1}, {12.0, 12.0});

  ag::Tensor y = ag::arange(24.0, ag::f64).reshape({3, 2, 4}).detach().requires_grad_();
  ag::Tensor s = ag::sum_to(y, {2, 1});
  // s[j] = Σ_{i,k} (8i + 4j + k)
  double s0 = 0, s1 = 0;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 4; ++k) {
      s0 += 8 * i + k;
      s1 += 8 * i + 4 + k;
    }
  check_values(s, {2, 1}, {s0, s1});
  check_values(ag::sum_to(y, {4}), {4}, {60, 66, 72, 78});  // Σ_{i,j} (8i+4j+k) = 6k + 60
  (s * column({1.0, -1.0})).sum().backward();
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 4; ++k) want.push_back(j == 0 ? 1.0 : -1.0);
  check_values(y.grad(), {3, 2, 4}, want);
  CHECK(ag::broadcast_shapes("test", {3, 1, 4}, {2, 1}) == ag::Shape{3, 2, 4});
  CHECK(ag::broadcast_shapes("test", {}, {5}) == ag::Shape{5});
}
