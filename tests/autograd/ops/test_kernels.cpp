// The plain-loop kernels behind broadcasting binary ops, sum_to and the fused unary VJPs, checked
// against values computed here element by element (every broadcast pattern the loops special-case).
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

namespace {

// a + 10·b for a of shape [2, 3] and b broadcast from `bs`, by explicit indexing.
std::vector<double> add_expected(const ag::Shape& bs, const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      const std::size_t bi = bs.size() == 2 && bs[0] == 2 ? i : 0;
      const std::size_t bj = !bs.empty() && bs.back() == 3 ? j : 0;
      const std::size_t ncol = !bs.empty() && bs.back() == 3 ? 3 : 1;
      r.push_back(a[i * 3 + j] + 10 * b[bi * ncol + bj]);
    }
  return r;
}

}  // namespace

TEST_CASE("binary broadcast kernels: scalar, row, column, both sides") {
  const std::vector<double> av = {1, 2, 3, 4, 5, 6};
  ag::Tensor a = ag::tensor({{1, 2, 3}, {4, 5, 6}}, ag::f64);
  struct Case { ag::Shape shape; std::vector<double> v; };
  for (const Case& c : {Case{{}, {7}}, Case{{1}, {7}}, Case{{1, 1}, {7}}, Case{{3}, {7, 8, 9}},
                        Case{{1, 3}, {7, 8, 9}}, Case{{2, 1}, {7, 8}}}) {
    CAPTURE(ag::shape_str(c.shape));
    xt::xarray<double> bx = xt::xarray<double>::from_shape(c.shape);
    std::copy(c.v.begin(), c.v.end(), bx.begin());
    ag::Tensor b(bx);
    const std::vector<double> want = add_expected(c.shape, av, c.v);
    check_values(a + b * 10.0, {2, 3}, want);
    check_values(b * 10.0 + a, {2, 3}, want);  // the broadcast operand on the left
    // non-commutative: the operand order must survive the swapped loop
    std::vector<double> diff(want.size());
    for (std::size_t i = 0; i < want.size(); ++i) diff[i] = (want[i] - av[i]) / 10 - av[i];
    check_values(b - a, {2, 3}, diff);
  }
}

TEST_CASE("binary broadcast kernels: mutual and leading-dim broadcasts") {
  ag::Tensor col = ag::tensor({{1}, {2}}, ag::f64);           // [2, 1]
  ag::Tensor row = ag::tensor({10, 20, 30}, ag::f64);          // [3]
  check_values(col + row, {2, 3}, {11, 21, 31, 12, 22, 32});   // both broadcast: generic walk
  ag::Tensor x = ag::arange(12, ag::f64).reshape({2, 3, 2});   // [2, 3, 2]
  ag::Tensor m = ag::tensor({{100, 200}, {300, 400}, {500, 600}}, ag::f64);  // [3, 2]: a row
  check_values(x + m, {2, 3, 2}, {100, 201, 302, 403, 504, 605, 106, 207, 308, 409, 510, 611});
  ag::Tensor c3 = ag::tensor({{{100}, {200}, {300}}}, ag::f64);  // [1, 3, 1]: neither row nor column
  check_values(x - c3, {2, 3, 2}, {-100, -99, -198, -197, -296, -295, -94, -93, -192, -191, -290, -289});
  CHECK_THROWS_AS(ag::add(ag::zeros({2, 3}), ag::zeros({2})), ag::ShapeError);
}

TEST_CASE("sum_to and sum over axis runs: rows, columns, middle axes, empty") {
  ag::Tensor x = ag::arange(24, ag::f64).reshape({2, 3, 4});
  check_values(ag::sum_to(x, {4}), {4}, {60, 66, 72, 78});
  check_values(ag::sum_to(x, {3, 1}), {3, 1}, {60, 92, 124});  // axes 0 and 2: not adjacent
  check_values(ag::sum_to(x, {3, 4}), {3, 4}, {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  check_values(ag::sum_to(x, {2, 1, 1}), {2, 1, 1}, {66, 210});
  check_values(ag::sum(x, {1}), {2, 4}, {12, 15, 18, 21, 48, 51, 54, 57});
  check_values(ag::sum(x, {0, 2}), {3}, {60, 92, 124});  // non-adjacent axes
  // empty input: zeros, also as a broadcast gradient
  ag::Tensor e = ag::zeros({0, 3}, ag::f64, true);
  ag::Tensor b = ag::ones({3}, ag::f64, true);
  check_values(ag::sum_to(e, {3}), {3}, {0, 0, 0});
  check_values(ag::sum(ag::zeros({0, 3, 2}, ag::f64), {0, 2}), {3}, {0, 0, 0});
  ag::sum(ag::add(e, b)).backward();
  check_values(b.grad(), {3}, {0, 0, 0});
}

TEST_CASE("fused unary VJPs: relu, sigmoid, tanh against the formulas") {
  ag::Tensor x = ag::tensor({-2.0, -0.5, 0.0, 0.5, 2.0}, ag::f64, true);
  ag::Tensor g = ag::tensor({1.0, -2.0, 3.0, 0.25, -1.5}, ag::f64);
  ag::relu(x).backward(g);
  check_values(x.grad(), {5}, {0, 0, 0, 0.25, -1.5});
  x.zero_grad();
  ag::sigmoid(x).backward(g);
  std::vector<double> want;
  const double xs[] = {-2.0, -0.5, 0.0, 0.5, 2.0}, gs[] = {1.0, -2.0, 3.0, 0.25, -1.5};
  for (int i = 0; i < 5; ++i) {
    const double s = 1 / (1 + std::exp(-xs[i]));
    want.push_back(gs[i] * s * (1 - s));
  }
  check_values(x.grad(), {5}, want);
  x.zero_grad();
  ag::tanh(x).backward(g);
  for (int i = 0; i < 5; ++i) want[i] = gs[i] * (1 - std::tanh(xs[i]) * std::tanh(xs[i]));
  check_values(x.grad(), {5}, want);
}
