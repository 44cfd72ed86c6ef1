// Comparisons and selections (ag/ops/compare.hpp): masks, maximum/minimum, clamp, where.
#include <cmath>
#include <functional>
#include <limits>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::vals;

TEST_CASE("comparisons give bool masks, without history") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor a = make({1, 2, 3}, {3}, d, true), b = make({3, 2, 1}, {3}, d);
    check(ag::eq(a, b), {3}, {0, 1, 0}, 0);
    check(ag::ne(a, b), {3}, {1, 0, 1}, 0);
    check(ag::lt(a, b), {3}, {1, 0, 0}, 0);
    check(ag::le(a, b), {3}, {1, 1, 0}, 0);
    check(ag::gt(a, b), {3}, {0, 0, 1}, 0);
    check(ag::ge(a, b), {3}, {0, 1, 1}, 0);
    check(a == b, {3}, {0, 1, 0}, 0);
    check(a != b, {3}, {1, 0, 1}, 0);
    check(a < b, {3}, {1, 0, 0}, 0);
    check(a <= b, {3}, {1, 1, 0}, 0);
    check(a > b, {3}, {0, 0, 1}, 0);
    check(a >= b, {3}, {0, 1, 1}, 0);
    // with a scalar on either side
    check(ag::eq(a, 2.0), {3}, {0, 1, 0}, 0);
    check(a == 2.0, {3}, {0, 1, 0}, 0);
    check(2.0 == a, {3}, {0, 1, 0}, 0);
    check(a != 2.0, {3}, {1, 0, 1}, 0);
    check(a < 2.0, {3}, {1, 0, 0}, 0);
    check(2.0 < a, {3}, {0, 0, 1}, 0);
    check(a <= 2.0, {3}, {1, 1, 0}, 0);
    check(2.0 <= a, {3}, {0, 1, 1}, 0);
    check(a > 2.0, {3}, {0, 0, 1}, 0);
    check(2.0 > a, {3}, {1, 0, 0}, 0);
    check(a >= 2.0, {3}, {0, 1, 1}, 0);
    check(2.0 >= a, {3}, {1, 1, 0}, 0);
    ag::Tensor m = ag::gt(a, b);
    CHECK(m.dtype() == ag::bool_);
    CHECK((a == 2.0).dtype() == ag::bool_);
    CHECK_FALSE(m.requires_grad());
    CHECK(m.is_leaf());
  }
}

TEST_CASE("comparisons broadcast and reject mixed dtypes and shapes") {
  ag::Tensor col = make({1, 2}, {2, 1}), row = make({0, 1, 2}, {3});
  check(ag::ge(col, row), {2, 3}, {1, 1, 0, 1, 1, 1}, 0);
  check(ag::eq(make({2}, {}), row), {3}, {0, 0, 1}, 0);
  CHECK_THROWS_AS(ag::eq(col, make({1, 2}, {2, 1}, ag::f32)), ag::DtypeError);
  const std::string msg = opt::message_of([&] { ag::lt(make({1, 2}, {2}), row); });
  CHECK(msg.find("lt") != std::string::npos);
  CHECK(msg.find("[2]") != std::string::npos);
  CHECK(msg.find("[3]") != std::string::npos);
  CHECK_THROWS_AS(ag::lt(make({1, 2}, {2}), row), ag::ShapeError);
}

TEST_CASE("maximum and minimum: values, ties share the gradient, broadcasting") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor a = make({1, 5, 3}, {3}, d, true), b = make({2, 5, 1}, {3}, d, true);
    ag::Tensor y = ag::maximum(a, b);
    check(y, {3}, {2, 5, 3}, 0);
    CHECK(y.dtype() == d);
    y.sum().backward();
    check(a.grad(), {3}, {0, 0.5, 1}, 0);
    check(b.grad(), {3}, {1, 0.5, 0}, 0);
    a.zero_grad();
    b.zero_grad();
    ag::Tensor z = ag::minimum(a, b);
    check(z, {3}, {1, 5, 1}, 0);
    (z * make({1, 2, 3}, {3}, d)).sum().backward();
    check(a.grad(), {3}, {1, 1, 0}, 0);
    check(b.grad(), {3}, {0, 1, 3}, 0);
  }
  // [2,3] against a row [3]: b's gradient sums over the broadcast rows
  ag::Tensor a = make({0, 4, 1, 3, -1, 2}, {2, 3}, ag::f64, true), b = make({1, 1, 1}, {3}, ag::f64, true);
  ag::Tensor y = ag::maximum(a, b);
  check(y, {2, 3}, {1, 4, 1, 3, 1, 2}, 0);
  y.sum().backward();
  check(a.grad(), {2, 3}, {0, 1, 0.5, 1, 0, 1}, 0);
  check(b.grad(), {3}, {1, 1, 0.5}, 0);
  // NaN propagates from either side
  const std::vector<double> v = vals(ag::maximum(make({NAN, 1}, {2}), make({0, NAN}, {2})));
  CHECK(std::isnan(v[0]));
  CHECK(std::isnan(v[1]));
  CHECK_THROWS_AS(ag::maximum(a, make({1, 2}, {2})), ag::ShapeError);
  CHECK_THROWS_AS(ag::minimum(a, make({1, 1, 1}, {3}, ag::f32)), ag::DtypeError);
}

TEST_CASE("clamp: bounds, omitted bounds, gradient inside the interval") {
  const double inf = std::numeric_limits<double>::infinity();
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({-2, -0.5, 0.5, 2}, {4}, d, true);
    ag::Tensor y = ag::clamp(x, -1.0, 1.0);
    check(y, {4}, {-1, -0.5, 0.5, 1}, 0);
    y.sum().backward();
    check(x.grad(), {4}, {0, 1, 1, 0}, 0);
    check(ag::clamp(x, 0.0, std::nullopt), {4}, {0, 0, 0.5, 2}, 0);
    check(ag::clamp(x, std::nullopt, 0.0), {4}, {-2, -0.5, 0, 0}, 0);
    check(ag::clamp(x, -inf, 1.0), {4}, {-2, -0.5, 0.5, 1}, 0);
    check(ag::clamp(x, std::nullopt, std::nullopt), {4}, {-2, -0.5, 0.5, 2}, 0);
  }
  // a value exactly on a bound keeps its gradient (the interval is closed)
  ag::Tensor x = make({1, 3}, {2}, ag::f64, true);
  ag::clamp(x, 1.0, 2.0).sum().backward();
  check(x.grad(), {2}, {1, 0}, 0);
  CHECK_THROWS_AS(ag::clamp(x, 2.0, 1.0), ag::ValueError);
  CHECK_THROWS_AS(ag::clamp(x, NAN, 1.0), ag::ValueError);
}

TEST_CASE("where picks a or b and routes the gradient accordingly") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor a = make({1, 2, 3}, {3}, d, true), b = make({-1, -2, -3}, {3}, d, true);
    ag::Tensor c = make({1, 0, 1}, {3}, d);
    ag::Tensor y = ag::where(c, a, b);
    check(y, {3}, {1, -2, 3}, 0);
    (y * make({10, 20, 30}, {3}, d)).sum().backward();
    check(a.grad(), {3}, {10, 0, 30}, 0);
    check(b.grad(), {3}, {0, 20, 0}, 0);
  }
  // cond [2,1] (float32, nonzero = true) with a [3] and a 0-d b: all three broadcast to [2,3]
  ag::Tensor c = make({0, 2.5}, {2, 1}, ag::f32);
  ag::Tensor a = make({1, 2, 3}, {3}, ag::f64, true), b = make({7}, {}, ag::f64, true);
  ag::Tensor y = ag::where(c, a, b);
  check(y, {2, 3}, {7, 7, 7, 1, 2, 3}, 0);
  y.sum().backward();
  check(a.grad(), {3}, {1, 1, 1}, 0);
  check(b.grad(), {}, {3}, 0);
  CHECK_THROWS_AS(ag::where(c, a, make({1}, {1}, ag::f32)), ag::DtypeError);
  CHECK_THROWS_AS(ag::where(make({1, 0}, {2}), a, b), ag::ShapeError);
}
