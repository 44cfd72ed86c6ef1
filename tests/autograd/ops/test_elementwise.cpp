// Elementwise ops (ag/ops/elementwise.hpp): forward values against direct computation and
// hand-computed gradients (scalars on either side, unary closed forms). float64 unless stated.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <functional>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

using opt::kA;
using opt::kB;
using opt::t23;

namespace {

std::vector<double> map(const std::vector<double>& v, const std::function<double(double)>& f) {
  std::vector<double> r;
  for (double x : v) r.push_back(f(x));
  return r;
}

// Checks y = op(x) elementwise against f and dy/dx (through sum) against df.
void check_unary(const char* what, const std::function<ag::Tensor(const ag::Tensor&)>& op,
                 const std::vector<double>& xs, const std::function<double(double)>& f,
                 const std::function<double(double)>& df) {
  INFO(what);
  xt::xarray<double> xv = xt::xarray<double>::from_shape({xs.size()});
  std::copy(xs.begin(), xs.end(), xv.begin());
  ag::Tensor x(std::move(xv), true);
  ag::Tensor y = op(x);
  CHECK(y.dtype() == ag::f64);
  check_values(y, {xs.size()}, map(xs, f));
  y.sum().backward();
  check_values(x.grad(), {xs.size()}, map(xs, df));
}



}  // namespace

TEST_CASE("binary ops forward values match direct computation") {
  ag::Tensor a = t23(kA), b = t23(kB);
  std::vector<double> add, sub, mul, div;
  for (std::size_t i = 0; i < 6; ++i) {
    add.push_back(kA[i] + kB[i]);
    sub.push_back(kA[i] - kB[i]);
    mul.push_back(kA[i] * kB[i]);
    div.push_back(kA[i] / kB[i]);
  }
  check_values(ag::add(a, b), {2, 3}, add);
  check_values(a + b, {2, 3}, add);
  check_values(ag::sub(a, b), {2, 3}, sub);
  check_values(a - b, {2, 3}, sub);
  check_values(ag::mul(a, b), {2, 3}, mul);
  check_values(a * b, {2, 3}, mul);
  check_values(ag::div(a, b), {2, 3}, div);
  check_values(a / b, {2, 3}, div);
  check_values(-a, {2, 3}, map(kA, [](double v) { return -v; }));
  check_values(ag::neg(a), {2, 3}, map(kA, [](double v) { return -v; }));
}

TEST_CASE("pow forward values for tensor and scalar exponents") {
  ag::Tensor a({0.5, 2.0, 3.0}, ag::f64), b({2.0, -1.0, 0.5}, ag::f64);
  check_values(ag::pow(a, b), {3}, {0.25, 0.5, std::sqrt(3.0)});
  check_values(ag::pow(a, 3.0), {3}, {0.125, 8.0, 27.0});
  check_values(ag::pow(a, -0.5), {3}, {std::pow(0.5, -0.5), std::pow(2.0, -0.5), std::pow(3.0, -0.5)});
  check_values(ag::pow(2.0, b), {3}, {4.0, 0.5, std::sqrt(2.0)});
  CHECK_THROWS_AS(ag::pow(-2.0, b), ag::ValueError);
}

TEST_CASE("scalar forms on both sides of + - * /") {
  ag::Tensor a({1.0, -2.0, 4.0}, ag::f64);
  check_values(a + 3.0, {3}, {4.0, 1.0, 7.0});
  check_values(3.0 + a, {3}, {4.0, 1.0, 7.0});
  check_values(a - 3.0, {3}, {-2.0, -5.0, 1.0});
  check_values(3.0 - a, {3}, {2.0, 5.0, -1.0});
  check_values(a * 2.5, {3}, {2.5, -5.0, 10.0});
  check_values(2.5 * a, {3}, {2.5, -5.0, 10.0});
  check_values(a / 4.0, {3}, {0.25, -0.5, 1.0});
  check_values(4.0 / a, {3}, {4.0, -2.0, 1.0});
  check_values(ag::add(a, 1.0), {3}, {2.0, -1.0, 5.0});
  check_values(ag::mul(a, -1.0), {3}, {-1.0, 2.0, -4.0});
  check_values(ag::rsub(1.0, a), {3}, {0.0, 3.0, -3.0});
  check_values(ag::rdiv(2.0, a), {3}, {2.0, -1.0, 0.5});
  // the scalar takes the tensor's dtype
  ag::Tensor f({1.0, 2.0});
  CHECK((f * 0.1).dtype() == ag::f32);
  CHECK((0.1 / f).dtype() == ag::f32);
}

TEST_CASE("gradients of scalars on both sides of + - * /") {
  const std::vector<double> xs = {1.0, -2.0, 4.0};
  check_unary("x + 3", [](const ag::Tensor& x) { return x + 3.0; }, xs,
              [](double v) { return v + 3; }, [](double) { return 1.0; });
  check_unary("3 + x", [](const ag::Tensor& x) { return 3.0 + x; }, xs,
              [](double v) { return 3 + v; }, [](double) { return 1.0; });
  check_unary("x - 3", [](const ag::Tensor& x) { return x - 3.0; }, xs,
              [](double v) { return v - 3; }, [](double) { return 1.0; });
  check_unary("3 - x", [](const ag::Tensor& x) { return 3.0 - x; }, xs,
              [](double v) { return 3 - v; }, [](double) { return -1.0; });
  check_unary("x * 3", [](const ag::Tensor& x) { return x * 3.0; }, xs,
              [](double v) { return v * 3; }, [](double) { return 3.0; });
  check_unary("3 * x", [](const ag::Tensor& x) { return 3.0 * x; }, xs,
              [](double v) { return 3 * v; }, [](double) { return 3.0; });
  check_unary("x / 4", [](const ag::Tensor& x) { return x / 4.0; }, xs,
              [](double v) { return v / 4; }, [](double) { return 0.25; });
  check_unary("4 / x", [](const ag::Tensor& x) { return 4.0 / x; }, xs,
              [](double v) { return 4 / v; }, [](double v) { return -4 / (v * v); });
}

TEST_CASE("unary ops forward and gradient match closed forms") {
  const std::vector<double> xs = {-1.5, -0.3, 0.4, 1.2, 2.5};
  const std::vector<double> pos = {0.2, 0.9, 1.5, 3.0, 7.0};
  check_unary("neg", [](const ag::Tensor& x) { return ag::neg(x); }, xs,
              [](double v) { return -v; }, [](double) { return -1.0; });
  check_unary("exp", [](const ag::Tensor& x) { return ag::exp(x); }, xs,
              [](double v) { return std::exp(v); }, [](double v) { return std::exp(v); });
  check_unary("log", [](const ag::Tensor& x) { return ag::log(x); }, pos,
              [](double v) { return std::log(v); }, [](double v) { return 1 / v; });
  check_unary("sqrt", [](const ag::Tensor& x) { return ag::sqrt(x); }, pos,
              [](double v) { return std::sqrt(v); }, [](double v) { return 0.5 / std::sqrt(v); });
  check_unary("abs", [](const ag::Tensor& x) { return ag::abs(x); }, xs,
              [](double v) { return std::abs(v); }, [](double v) { return v > 0 ? 1.0 : -1.0; });
  check_unary("sin", [](const ag::Tensor& x) { return ag::sin(x); }, xs,
              [](double v) { return std::sin(v); }, [](double v) { return std::cos(v); });
  check_unary("cos", [](const ag::Tensor& x) { return ag::cos(x); }, xs,
              [](double v) { return std::cos(v); }, [](double v) { return -std::sin(v); });
  check_unary("tanh", [](const ag::Tensor& x) { return ag::tanh(x); }, xs,
              [](double v) { return std::tanh(v); },
              [](double v) { return 1 - std::tanh(v) * std::tanh(v); });
  check_unary("sigmoid", [](const ag::Tensor& x) { return ag::sigmoid(x); }, xs,
              [](double v) { return 1 / (1 + std::exp(-v)); },
              [](double v) { const double s = 1 / (1 + std::exp(-v)); return s * (1 - s); });
  check_unary("relu", [](const ag::Tensor& x) { return ag::relu(x); }, xs,
              [](double v) { return v > 0 ? v : 0.0; }, [](double v) { return v > 0 ? 1.0 : 0.0; });
  check_unary("square", [](const ag::Tensor& x) { return ag::square(x); }, xs,
              [](double v) { return v * v; }, [](double v) { return 2 * v; });
  check_unary("pow(x, 3)", [](const ag::Tensor& x) { return ag::pow(x, 3.0); }, xs,
              [](double v) { return v * v * v; }, [](double v) { return 3 * v * v; });
  check_unary("pow(x, 0)", [](const ag::Tensor& x) { return ag::pow(x, 0.0); }, xs,
              [](double) { return 1.0; }, [](double) { return 0.0; });
  check_unary("pow(x, 0.5)", [](const ag::Tensor& x) { return ag::pow(x, 0.5); }, pos,
              [](double v) { return std::sqrt(v); }, [](double v) { return 0.5 / std::sqrt(v); });
  check_unary("pow(3, x)", [](const ag::Tensor& x) { return ag::pow(3.0, x); }, xs,
              [](double v) { return std::pow(3.0, v); },
              [](double v) { return std::pow(3.0, v) * std::log(3.0); });
}

TEST_CASE("sigmoid is finite for large magnitudes") {
  ag::Tensor x({-800.0, -40.0, 0.0, 40.0, 800.0}, ag::f64, true);
  ag::Tensor y = ag::sigmoid(x);
  check_values(y, {5}, {0.0, 1 / (1 + std::exp(40.0)), 0.5, 1 / (1 + std::exp(-40.0)), 1.0}, 1e-12);
  y.sum().backward();
  for (double g : values_of(x.grad())) CHECK(std::isfinite(g));
  CHECK(values_of(x.grad())[2] == doctest::Approx(0.25));
}

TEST_CASE("sign and step have derivative 0 and keep second derivatives of piecewise-linear ops connected") {
  ag::Tensor x({-2.0, 0.0, 3.0}, ag::f64, true);
  ag::Tensor s = ag::sign(x);
  check_values(s, {3}, {-1.0, 0.0, 1.0});
  ag::Tensor st = ag::step(x);
  check_values(st, {3}, {0.0, 0.0, 1.0});
  CHECK(st.dtype() == ag::f64);
  // recorded (as PyTorch's sign) with a zero derivative
  CHECK(s.requires_grad());
  (s + st).sum().backward();
  check_values(x.grad(), {3}, {0.0, 0.0, 0.0});
  // without a tensor that requires grad they are plain values
  CHECK_FALSE(ag::sign(ag::Tensor({1.0}, ag::f64)).requires_grad());
  // the kinks: abs'(0) = 0 and relu'(0) = 0
  ag::Tensor z({0.0, 0.0}, ag::f64, true);
  (ag::abs(z) + ag::relu(z)).sum().backward();
  check_values(z.grad(), {2}, {0.0, 0.0});
}

// Issue 14 item 9: ag::grad of a piecewise-linear function with create_graph carried no graph,
// so a second ag::grad threw "does not require grad". The Hessian is 0 where it is linear.
TEST_CASE("second derivatives of piecewise-linear ops are zeros, not an error") {
  ag::Tensor x({-1.5, 0.5, 2.0}, ag::f64, true);
  ag::Tensor y({0.3, 0.7, -1.0}, ag::f64, true);
  using F = std::function<ag::Tensor(const ag::Tensor&)>;
  const std::vector<std::pair<const char*, F>> fs = {
      {"relu", [](const ag::Tensor& t) { return ag::relu(t); }},
      {"abs", [](const ag::Tensor& t) { return ag::abs(t); }},
      {"leaky_relu", [](const ag::Tensor& t) { return ag::leaky_relu(t, 0.2); }},
      {"clamp", [](const ag::Tensor& t) { return ag::clamp(t, -1.0, 1.0); }},
      {"maximum", [&](const ag::Tensor& t) { return ag::maximum(t, y); }},
      {"minimum", [&](const ag::Tensor& t) { return ag::minimum(t, y); }},
      {"max", [](const ag::Tensor& t) { return ag::max(t, {0}, true); }},
      {"min", [](const ag::Tensor& t) { return ag::min(t); }},
  };
  for (const auto& [name, f] : fs) {
    INFO(std::string(name));
    const ag::Tensor g = ag::grad({ag::sum(f(x))}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
    REQUIRE(g.requires_grad());
    const ag::Tensor h = ag::grad({ag::sum(g)}, {x})[0];
    check_values(h, {3}, {0.0, 0.0, 0.0});
  }
}

TEST_CASE("pow(a, b): the derivative of a^0 is 0, and d/db is 0 at a = 0 for b >= 0") {
  // Issue 14 item 7: d/da gave NaN and d/db -inf at a = b = 0, while pow(x, 0.0) gave 0.
  ag::Tensor a({0.0, 0.0, 0.0, 2.0}, ag::f64, true);
  ag::Tensor b({0.0, 2.0, 0.5, 0.0}, ag::f64, true);
  ag::pow(a, b).sum().backward();
  // d/da = b·a^(b-1): 0 (b = 0), 2·0 = 0, 0.5·0^-0.5 = inf (as in PyTorch), 0 (b = 0)
  check_values(a.grad(), {4}, {0.0, 0.0, std::numeric_limits<double>::infinity(), 0.0});
  // d/db = a^b·ln a: 0 where a = 0 (b >= 0); 2^0·ln 2 at a = 2
  check_values(b.grad(), {4}, {0.0, 0.0, 0.0, std::log(2.0)});
}

TEST_CASE("gradients of the binary tensor ops") {
  ag::Tensor a = t23(kA, true), b = t23(kB, true);
  SUBCASE("add") {
    (a + b).sum().backward();
    check_values(a.grad(), {2, 3}, std::vector<double>(6, 1.0));
    check_values(b.grad(), {2, 3}, std::vector<double>(6, 1.0));
  }
  SUBCASE("sub") {
    (a - b).sum().backward();
    check_values(a.grad(), {2, 3}, std::vector<double>(6, 1.0));
    check_values(b.grad(), {2, 3}, std::vector<double>(6, -1.0));
  }
  SUBCASE("mul") {
    (a * b).sum().backward();
    check_values(a.grad(), {2, 3}, kB);
    check_values(b.grad(), {2, 3}, kA);
  }
  SUBCASE("div") {
    (a / b).sum().backward();
    std::vector<double> da, db;
    for (std::size_t i = 0; i < 6; ++i) {
      da.push_back(1 / kB[i]);
      db.push_back(-kA[i] / (kB[i] * kB[i]));
    }
    check_values(a.grad(), {2, 3}, da);
    check_values(b.grad(), {2, 3}, db);
  }
  SUBCASE("pow") {
    ag::Tensor base({0.5, 2.0, 3.0}, ag::f64, true), ex({2.0, -1.0, 0.5}, ag::f64, true);
    ag::pow(base, ex).sum().backward();
    std::vector<double> db, de;
    const double bv[3] = {0.5, 2.0, 3.0}, ev[3] = {2.0, -1.0, 0.5};
    for (int i = 0; i < 3; ++i) {
      db.push_back(ev[i] * std::pow(bv[i], ev[i] - 1));
      de.push_back(std::pow(bv[i], ev[i]) * std::log(bv[i]));
    }
    check_values(base.grad(), {3}, db);
    check_values(ex.grad(), {3}, de);
  }
}

TEST_CASE("float32 ops keep float32") {
  ag::Tensor a({1.0, 2.0}, ag::f32, true), b({3.0, 4.0}, ag::f32, true);
  ag::Tensor y = ag::tanh(a * b + ag::exp(a) / b);
  CHECK(y.dtype() == ag::f32);
  y.sum().backward();
  CHECK(a.grad().dtype() == ag::f32);
  CHECK(b.grad().dtype() == ag::f32);
  // d/da tanh(ab + e^a/b) = (1 - y²)(b + e^a/b)
  for (int i = 0; i < 2; ++i) {
    const double av = i + 1.0, bv = i + 3.0;
    const double yv = std::tanh(av * bv + std::exp(av) / bv);
    CHECK(values_of(a.grad())[i] == doctest::Approx((1 - yv * yv) * (bv + std::exp(av) / bv)).epsilon(1e-4));
  }
}
