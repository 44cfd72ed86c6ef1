// Forward values of every op in ops.hpp against direct computation, and hand-computed gradients
// (fan-out, broadcasting, scalars on either side, reductions and shape ops). float64 throughout.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "autograd/check_values.hpp"

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

const std::vector<double> kA = {0.5, -1.25, 2.0, 3.5, -0.75, 1.0};  // [2,3]
const std::vector<double> kB = {2.0, 0.5, -4.0, 1.5, 3.0, -2.5};    // [2,3]

// [n,1] column from a flat list
ag::Tensor column(const std::vector<double>& v, bool rg = false) {
  xt::xarray<double> a = xt::xarray<double>::from_shape({v.size(), std::size_t{1}});
  std::copy(v.begin(), v.end(), a.begin());
  return ag::Tensor(std::move(a), rg);
}

ag::Tensor t23(const std::vector<double>& v, bool rg = false) {
  return ag::Tensor({{v[0], v[1], v[2]}, {v[3], v[4], v[5]}}, ag::f64, rg);
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

TEST_CASE("sign and step are values without history") {
  ag::Tensor x({-2.0, 0.0, 3.0}, ag::f64, true);
  ag::Tensor s = ag::sign(x);
  check_values(s, {3}, {-1.0, 0.0, 1.0});
  CHECK_FALSE(s.requires_grad());
  CHECK(s.is_leaf());
  ag::Tensor st = ag::step(x);
  check_values(st, {3}, {0.0, 0.0, 1.0});
  CHECK_FALSE(st.requires_grad());
  CHECK(st.dtype() == ag::f64);
  // the kinks: abs'(0) = 0 and relu'(0) = 0
  ag::Tensor z({0.0, 0.0}, ag::f64, true);
  (ag::abs(z) + ag::relu(z)).sum().backward();
  check_values(z.grad(), {2}, {0.0, 0.0});
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

TEST_CASE("reshape with -1 keeps row-major order and its gradient") {
  ag::Tensor x = ag::arange(12.0, ag::f64).detach().requires_grad_();
  ag::Tensor r = x.reshape({3, -1});
  check_values(r, {3, 4}, values_of(x));
  CHECK(ag::reshape(x, {-1, 2, 3}).shape() == ag::Shape{2, 2, 3});
  CHECK(ag::reshape(x, {12}).shape() == ag::Shape{12});
  CHECK(ag::reshape(ag::scalar(5.0), {1, 1}).shape() == ag::Shape{1, 1});
  CHECK(ag::reshape(ag::ones({1, 1}), {}).dim() == 0);
  // L = Σ w ⊙ reshape(x) -> grad is w flattened
  ag::Tensor w = ag::arange(100.0, 112.0, 1.0, ag::f64).reshape({3, 4});
  (r * w).sum().backward();
  check_values(x.grad(), {12}, values_of(w));
}

TEST_CASE("permute and transpose move values and gradients") {
  // x[i,j,k] = 12i + 4j + k, shape [2,3,4]
  ag::Tensor x = ag::arange(24.0, ag::f64).reshape({2, 3, 4}).detach().requires_grad_();
  ag::Tensor p = ag::permute(x, {2, 0, 1});  // p[k,i,j] = x[i,j,k]
  REQUIRE(p.shape() == ag::Shape{4, 2, 3});
  const auto& pv = p.value<double>();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(pv(k, i, j) == 12.0 * i + 4.0 * j + k);
  CHECK(ag::permute(x, {-1, 0, 1}).shape() == ag::Shape{4, 2, 3});

  ag::Tensor t = ag::transpose(x, 0, 2);  // t[k,j,i]
  REQUIRE(t.shape() == ag::Shape{4, 3, 2});
  CHECK(t.value<double>()(3, 1, 1) == 12.0 + 4.0 + 3.0);
  ag::Tensor full_t = ag::transpose(x);  // reverses all axes
  CHECK(full_t.shape() == ag::Shape{4, 3, 2});
  CHECK(values_of(full_t) == values_of(t));

  ag::Tensor m({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, ag::f64);
  check_values(m.t(), {3, 2}, {1, 4, 2, 5, 3, 6});
  check_values(ag::transpose(m, -1, -2), {3, 2}, {1, 4, 2, 5, 3, 6});

  // gradient of L = Σ w ⊙ permute(x): w permuted back
  ag::Tensor w = ag::arange(24.0, ag::f64).reshape({4, 2, 3}) * 0.5;
  (p * w).sum().backward();
  const auto& g = x.grad().value<double>();
  const auto& wv = w.value<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(g(i, j, k) == wv(k, i, j));

  x.zero_grad();
  ag::Tensor w2 = ag::arange(24.0, ag::f64).reshape({4, 3, 2});
  (t * w2).sum().backward();
  const auto& g2 = x.grad().value<double>();
  const auto& w2v = w2.value<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(g2(i, j, k) == w2v(k, j, i));
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
