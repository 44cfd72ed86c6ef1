// Second (and third) derivatives through ag::grad(create_graph=true), a full Hessian by hand, and the
// Hessian-vector product of a two-layer network against central differences of its gradient.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

namespace {

const std::vector<double> kX = {0.5, -1.0, 2.0, 0.1};

ag::Tensor x_leaf() { return ag::Tensor({0.5, -1.0, 2.0, 0.1}, ag::f64, true); }

// first derivative (differentiable) and second derivative of Σ f(x) elementwise
std::vector<ag::Tensor> first_and_second(const ag::Tensor& x, const ag::Tensor& y) {
  ag::Tensor d1 = ag::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  ag::Tensor d2 = ag::grad({d1.sum()}, {x}, {}, std::nullopt, true)[0];
  return {d1, d2};
}

std::vector<double> map(const std::function<double(double)>& f) {
  std::vector<double> r;
  for (double v : kX) r.push_back(f(v));
  return r;
}

}  // namespace

TEST_CASE("second derivative of x cubed is 6x") {
  ag::Tensor x = x_leaf();
  auto d = first_and_second(x, (x * x * x).sum());
  check_values(d[0], {4}, map([](double v) { return 3 * v * v; }));
  check_values(d[1], {4}, map([](double v) { return 6 * v; }));

  ag::Tensor x2 = x_leaf();
  auto p = first_and_second(x2, ag::pow(x2, 3.0).sum());
  check_values(p[0], {4}, map([](double v) { return 3 * v * v; }));
  check_values(p[1], {4}, map([](double v) { return 6 * v; }));
  // third derivative: 6
  ag::Tensor d3 = ag::grad({p[1].sum()}, {x2})[0];
  check_values(d3, {4}, {6.0, 6.0, 6.0, 6.0});
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("second derivative of sin is minus sin") {
  ag::Tensor x = x_leaf();
  auto d = first_and_second(x, ag::sin(x).sum());
  check_values(d[0], {4}, map([](double v) { return std::cos(v); }));
  check_values(d[1], {4}, map([](double v) { return -std::sin(v); }));
  ag::Tensor d3 = ag::grad({d[1].sum()}, {x})[0];
  check_values(d3, {4}, map([](double v) { return -std::cos(v); }));
}

TEST_CASE("second derivatives of ops that reuse their output") {
  SUBCASE("exp") {
    ag::Tensor x = x_leaf();
    auto d = first_and_second(x, ag::exp(x).sum());
    check_values(d[1], {4}, map([](double v) { return std::exp(v); }));
  }
  SUBCASE("tanh") {  // tanh'' = -2·tanh·(1 - tanh²)
    ag::Tensor x = x_leaf();
    auto d = first_and_second(x, ag::tanh(x).sum());
    check_values(d[1], {4}, map([](double v) {
                   const double t = std::tanh(v);
                   return -2 * t * (1 - t * t);
                 }));
  }
  SUBCASE("sigmoid") {  // σ'' = σ(1-σ)(1-2σ)
    ag::Tensor x = x_leaf();
    auto d = first_and_second(x, ag::sigmoid(x).sum());
    check_values(d[1], {4}, map([](double v) {
                   const double s = 1 / (1 + std::exp(-v));
                   return s * (1 - s) * (1 - 2 * s);
                 }));
  }
  SUBCASE("reciprocal") {  // (1/x)'' = 2/x³
    ag::Tensor x = x_leaf();
    auto d = first_and_second(x, (1.0 / x).sum());
    check_values(d[1], {4}, map([](double v) { return 2 / (v * v * v); }));
  }
  SUBCASE("log of a square") {  // log(x²)'' = -2/x²
    ag::Tensor x = x_leaf();
    auto d = first_and_second(x, ag::log(ag::square(x)).sum());
    check_values(d[1], {4}, map([](double v) { return -2 / (v * v); }));
  }
  SUBCASE("sqrt") {  // √u'' with u = x² + 1: d/dx = x/√u, d² = 1/u^{3/2}
    ag::Tensor x = x_leaf();
    auto d = first_and_second(x, ag::sqrt(x * x + 1.0).sum());
    check_values(d[1], {4}, map([](double v) { return 1 / std::pow(v * v + 1, 1.5); }));
  }
}

TEST_CASE("a mixed partial derivative through ag::grad") {
  // f = x²·y + sin(x·y): ∂²f/∂x∂y = 2x + cos(xy) - xy·sin(xy)
  ag::Tensor x = ag::scalar(0.7, ag::f64, true);
  ag::Tensor y = ag::scalar(-1.3, ag::f64, true);
  ag::Tensor f = x * x * y + ag::sin(x * y);
  ag::Tensor fx = ag::grad({f}, {x}, {}, std::nullopt, true)[0];
  ag::Tensor fxy = ag::grad({fx}, {y})[0];
  const double xv = 0.7, yv = -1.3;
  CHECK(fxy.item() == doctest::Approx(2 * xv + std::cos(xv * yv) - xv * yv * std::sin(xv * yv)).epsilon(1e-12));
}

TEST_CASE("full Hessian of a small function by hand") {
  // f(x) = x0²·x1 + x1³ + x0·x2  ->  H = [[2x1, 2x0, 1], [2x0, 6x1, 0], [1, 0, 0]]
  ag::Tensor x({1.5, -0.5, 2.0}, ag::f64, true);
  ag::Tensor w0 = ag::Tensor({1.0, 0.0, 0.0}, ag::f64), w1 = ag::Tensor({0.0, 1.0, 0.0}, ag::f64),
             w2 = ag::Tensor({0.0, 0.0, 1.0}, ag::f64);
  ag::Tensor x0 = (x * w0).sum(), x1 = (x * w1).sum(), x2 = (x * w2).sum();
  ag::Tensor f = x0 * x0 * x1 + x1 * x1 * x1 + x0 * x2;
  ag::Tensor g = ag::grad({f}, {x}, {}, std::nullopt, true)[0];
  check_values(g, {3}, {2 * 1.5 * -0.5 + 2.0, 1.5 * 1.5 + 3 * 0.25, 1.5});
  const std::vector<std::vector<double>> H = {{-1.0, 3.0, 1.0}, {3.0, -3.0, 0.0}, {1.0, 0.0, 0.0}};
  const ag::Tensor unit[3] = {w0, w1, w2};
  for (int i = 0; i < 3; ++i) {
    // row i of H: ∂g_i/∂x; the last row's graph is not needed afterwards
    ag::Tensor row = ag::grad({(g * unit[i]).sum()}, {x}, {}, /*retain_graph=*/i < 2)[0];
    check_values(row, {3}, H[i]);
  }
}

TEST_CASE("Hessian-vector product of a two-layer network matches central differences") {
  // loss(W1, W2) = mean((tanh(X·W1)·W2 - T)²), float64
  ag::Generator gen(1234);
  const ag::Tensor X = ag::randn({6, 3}, gen, ag::f64);
  const ag::Tensor T = ag::randn({6, 2}, gen, ag::f64);
  const ag::Tensor W1v = ag::randn({3, 4}, gen, ag::f64) * 0.7;
  const ag::Tensor W2v = ag::randn({4, 2}, gen, ag::f64) * 0.7;
  const ag::Tensor V1 = ag::randn({3, 4}, gen, ag::f64);  // direction v = (V1, V2)
  const ag::Tensor V2 = ag::randn({4, 2}, gen, ag::f64);

  auto loss = [&](const ag::Tensor& W1, const ag::Tensor& W2) {
    ag::Tensor r = ag::matmul(ag::tanh(ag::matmul(X, W1)), W2) - T;
    return ag::mean(r * r);
  };
  // gradient at (W1, W2) as plain values
  auto gradient = [&](const ag::Tensor& w1, const ag::Tensor& w2) {
    ag::Tensor W1 = w1.detach().requires_grad_(), W2 = w2.detach().requires_grad_();
    std::vector<ag::Tensor> g = ag::grad({loss(W1, W2)}, {W1, W2});
    return std::vector<std::vector<double>>{values_of(g[0]), values_of(g[1])};
  };

  // Hv = grad(<grad(loss, W), v>, W)
  ag::Tensor W1 = W1v.detach().requires_grad_(), W2 = W2v.detach().requires_grad_();
  std::vector<ag::Tensor> g = ag::grad({loss(W1, W2)}, {W1, W2}, {}, std::nullopt, /*create_graph=*/true);
  ag::Tensor gv = (g[0] * V1).sum() + (g[1] * V2).sum();
  std::vector<ag::Tensor> hv = ag::grad({gv}, {W1, W2});
  REQUIRE(hv[0].shape() == ag::Shape{3, 4});
  REQUIRE(hv[1].shape() == ag::Shape{4, 2});

  // (g(W + εv) - g(W - εv)) / 2ε
  const double eps = 1e-5;
  auto plus = gradient(W1v + V1 * eps, W2v + V2 * eps);
  auto minus = gradient(W1v - V1 * eps, W2v - V2 * eps);
  const std::vector<double> h1 = values_of(hv[0]), h2 = values_of(hv[1]);
  double scale = 0;
  for (double v : h1) scale = std::max(scale, std::abs(v));
  for (double v : h2) scale = std::max(scale, std::abs(v));
  REQUIRE(scale > 1e-3);  // a non-trivial curvature
  for (std::size_t i = 0; i < h1.size(); ++i) {
    const double fd = (plus[0][i] - minus[0][i]) / (2 * eps);
    CHECK_MESSAGE(std::abs(h1[i] - fd) < 1e-7 * (1 + scale), "W1 element " << i << ": " << h1[i] << " vs " << fd);
  }
  for (std::size_t i = 0; i < h2.size(); ++i) {
    const double fd = (plus[1][i] - minus[1][i]) / (2 * eps);
    CHECK_MESSAGE(std::abs(h2[i] - fd) < 1e-7 * (1 + scale), "W2 element " << i << ": " << h2[i] << " vs " << fd);
  }

  // the Hessian is symmetric: <u, H v> = <v, H u>
  const ag::Tensor U1 = ag::randn({3, 4}, gen, ag::f64), U2 = ag::randn({4, 2}, gen, ag::f64);
  ag::Tensor W1b = W1v.detach().requires_grad_(), W2b = W2v.detach().requires_grad_();
  std::vector<ag::Tensor> gb = ag::grad({loss(W1b, W2b)}, {W1b, W2b}, {}, std::nullopt, true);
  ag::Tensor gu = (gb[0] * U1).sum() + (gb[1] * U2).sum();
  std::vector<ag::Tensor> hu = ag::grad({gu}, {W1b, W2b});
  const double u_hv = (hv[0] * U1).sum().item() + (hv[1] * U2).sum().item();
  const double v_hu = (hu[0] * V1).sum().item() + (hu[1] * V2).sum().item();
  CHECK(u_hv == doctest::Approx(v_hu).epsilon(1e-10));
}

TEST_CASE("backward with create_graph records a differentiable grad") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  (x * x * x).sum().backward(ag::Tensor(), false, /*create_graph=*/true);
  ag::Tensor g = x.grad();  // 3x², with history
  REQUIRE(g.defined());
  CHECK(g.requires_grad());
  check_values(g, {2}, {3.0, 12.0});
  std::vector<ag::Tensor> h = ag::grad({g.sum()}, {x});
  check_values(h[0], {2}, {6.0, 12.0});
}
