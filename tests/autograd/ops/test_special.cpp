// Special functions and the activations on them (autograd/src/ops/special.cpp): erf, erfc,
// gelu (exact and tanh), softplus with β and threshold, log_sigmoid. Reference values from
// python3's math module (math.erf, math.erfc, math.log1p, math.exp).
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::vals;

namespace {

const std::vector<double> kXs = {-3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.5};

// y = op(x) and d(Σy)/dx against reference lists, in both dtypes (float32: rounded inputs, so
// the references are compared with float32's tolerance).
template <class Op>
void check_values_and_slope(const char* what, Op op, const std::vector<double>& xs, const std::vector<double>& want,
                            const std::vector<double>& dwant) {
  INFO(what);
  for (ag::DType d : opt::kDtypes) {
    INFO(ag::dtype_name(d));
    ag::Tensor x = make(xs, {xs.size()}, d, true);
    ag::Tensor y = op(x);
    CHECK(y.dtype() == d);
    check(y, {xs.size()}, want, d == ag::f32 ? 1e-6 : 1e-14);
    y.sum().backward();
    check(x.grad(), {xs.size()}, dwant, d == ag::f32 ? 1e-6 : 1e-14);
  }
}

// d²(Σ op(x))/dx² elementwise through create_graph
template <class Op> ag::Tensor second_derivative(Op op, const ag::Tensor& x) {
  const ag::Tensor g = ag::grad({ag::sum(op(x))}, {x}, {}, std::nullopt, true)[0];
  return ag::grad({ag::sum(g)}, {x})[0];
}

}  // namespace

TEST_CASE("erf and erfc: known values and slopes") {
  const double c = 2.0 / std::sqrt(3.14159265358979323846);
  std::vector<double> slope;
  for (double v : kXs) slope.push_back(c * std::exp(-v * v));
  std::vector<double> neg_slope;
  for (double v : slope) neg_slope.push_back(-v);
  check_values_and_slope("erf", [](const ag::Tensor& x) { return ag::erf(x); }, kXs,
                         {-0.9999779095030014, -0.8427007929497149, -0.5204998778130465, 0.0, 0.2763263901682369,
                          0.8427007929497149, 0.999593047982555},
                         slope);
  check_values_and_slope("erfc", [](const ag::Tensor& x) { return ag::erfc(x); }, kXs,
                         {1.9999779095030015, 1.842700792949715, 1.5204998778130465, 1.0, 0.7236736098317631,
                          0.15729920705028513, 0.0004069520174449589},
                         neg_slope);
  // erfc keeps its relative accuracy where 1 - erf(x) cancels
  check(ag::erfc(make({5.0, 10.0}, {2})), {2}, {1.5374597944280351e-12, 2.088487583762545e-45}, 1e-13);
  // d² erf = -2x·(2/√π)e^(-x²)
  ag::Tensor x = make({-1.0, 0.5}, {2}, ag::f64, true);
  check(second_derivative([](const ag::Tensor& t) { return ag::erf(t); }, x), {2},
        {2.0 * c * std::exp(-1.0), -1.0 * c * std::exp(-0.25)}, 1e-14);
}

TEST_CASE("gelu exact: known values, slopes, second derivative and the left tail") {
  const std::vector<double> want = {-0.004049694094890287, -0.15865525393145707, -0.15426876936299344, 0.0,
                                    0.14967658142073093,   0.8413447460685429,   2.4844758366855597};
  const std::vector<double> dwant = {-0.011945647204183927, -0.08331547058768629, 0.13250487534383712, 0.5,
                                     0.695373354883636,     1.0833154705876864,   1.037611085908145};
  check_values_and_slope("gelu", [](const ag::Tensor& x) { return ag::gelu(x); }, kXs, want, dwant);
  check_values_and_slope("gelu none", [](const ag::Tensor& x) { return ag::gelu(x, ag::GeluApprox::none); }, kXs,
                         want, dwant);
  // gelu(-10) = -10·Φ(-10) ≈ -7.6e-23: the erfc form keeps it (1 + erf(-10/√2) would give -0)
  check(ag::gelu(make({-10.0}, {1})), {1}, {-7.619853024160593e-23}, 1e-13);
  // d² = φ(x)·(2 - x²)
  const double inv = 1.0 / std::sqrt(2 * 3.14159265358979323846);
  ag::Tensor x = make({-1.5, 0.0, 2.0}, {3}, ag::f64, true);
  std::vector<double> d2;
  for (double v : vals(x)) d2.push_back(inv * std::exp(-v * v / 2) * (2 - v * v));
  check(second_derivative([](const ag::Tensor& t) { return ag::gelu(t); }, x), {3}, d2, 1e-13);
  // the two forms differ (by up to 4.7e-4, at x ≈ ±2.7), and agree at 0 and far out
  const ag::Tensor e = ag::gelu(make({-2.0, 0.0, 2.0, 8.0}, {4})), t = ag::gelu(make({-2.0, 0.0, 2.0, 8.0}, {4}), ag::GeluApprox::tanh);
  CHECK(std::abs(vals(e)[0] - vals(t)[0]) > 1e-5);
  CHECK(vals(e)[1] == vals(t)[1]);
  CHECK(vals(e)[3] == doctest::Approx(vals(t)[3]).epsilon(1e-14));
}

TEST_CASE("log_sigmoid: values and slope σ(-x), finite for any x") {
  const std::vector<double> xs = {-1000.0, -20.0, -1.0, 0.0, 1.0, 20.0, 1000.0};
  ag::Tensor x = make(xs, {xs.size()}, ag::f64, true);
  ag::Tensor y = ag::log_sigmoid(x);
  check(y, {xs.size()},
        {-1000.0, -20.000000002061153, -1.3132616875182228, -0.6931471805599453, -0.31326168751822286,
         -2.061153620314381e-09, 0.0},
        1e-14);
  y.sum().backward();
  check(x.grad(), {xs.size()},
        {1.0, 0.9999999979388463, 0.7310585786300049, 0.5, 0.2689414213699951, 2.0611536181902037e-09, 0.0}, 1e-14);
  // = -softplus(-x)
  ag::Tensor z = make({-3.0, -0.2, 0.7, 4.0}, {4});
  check(ag::log_sigmoid(z), {4}, vals(ag::neg(ag::softplus(ag::neg(z)))), 1e-15);
  // float32 keeps its dtype, and σ(-x) does not overflow either
  ag::Tensor f = make({-100.0, 30.0}, {2}, ag::f32, true);
  ag::Tensor yf = ag::log_sigmoid(f);
  CHECK(yf.dtype() == ag::f32);
  check(yf, {2}, {-100.0, -9.357622968839737e-14}, 1e-6);
  yf.sum().backward();
  check(f.grad(), {2}, {1.0, 9.357622968839299e-14}, 1e-6);
}

TEST_CASE("softplus with beta and threshold: PyTorch's semantics") {
  // β = 2, threshold 5: (1/2)·log(1 + e^(2x)) up to x = 2.5, then x itself
  ag::Tensor x = make({-1.0, 0.0, 1.0, 2.4, 2.6, 3.0}, {6}, ag::f64, true);
  ag::Tensor y = ag::softplus(x, 2.0, 5.0);
  check(y, {6}, {0.06346400552148625, 0.34657359027997264, 1.0634640055214863, 2.404098033669134, 2.6, 3.0}, 1e-14);
  y.sum().backward();
  std::vector<double> d;
  for (double v : {-1.0, 0.0, 1.0, 2.4}) d.push_back(1 / (1 + std::exp(-2 * v)));
  d.push_back(1.0);
  d.push_back(1.0);
  check(x.grad(), {6}, d, 1e-14);

  // softplus(x) is β = 1, threshold 20: x itself past 20 (21, not 21 + 7.6e-10), the smooth form
  // at 20 and below (βx > threshold is strict)
  ag::Tensor big = make({20.0, 21.0}, {2}, ag::f64, true);
  ag::Tensor yb = ag::softplus(big);
  check(yb, {2}, {20.0 + std::log1p(std::exp(-20.0)), 21.0}, 0);
  yb.sum().backward();
  check(big.grad(), {2}, {1 / (1 + std::exp(-20.0)), 1.0}, 1e-15);
  check(ag::softplus(make({21.0}, {1}), 1.0, std::numeric_limits<double>::infinity()), {1},
        {21.000000000758256}, 1e-15);  // no threshold: the smooth value

  // negative β: (1/β)·log(1 + e^(βx)) < 0 is a smooth min(x, 0); βx > threshold for x < -20/1.5
  check(ag::softplus(make({-1.0, 0.0, 2.0, -14.0}, {4}), -1.5), {4},
        {-1.0 + std::log1p(std::exp(-1.5)) / -1.5, std::log(2.0) / -1.5, std::log1p(std::exp(-3.0)) / -1.5, -14.0},
        1e-14);

  // second derivative β·σ(βx)(1 - σ(βx)) below the threshold, 0 past it
  ag::Tensor t = make({0.5, 3.0}, {2}, ag::f64, true);
  const double s = 1 / (1 + std::exp(-1.0));
  check(second_derivative([](const ag::Tensor& v) { return ag::softplus(v, 2.0, 5.0); }, t), {2},
        {2.0 * s * (1 - s), 0.0}, 1e-14);
  // the fused first-order VJP and the create_graph one agree
  ag::Tensor w = make({-2.0, 0.1, 2.4, 2.6}, {4}, ag::f64, true);
  const ag::Tensor g1 = ag::grad({ag::sum(ag::softplus(w, 2.0, 5.0))}, {w})[0];
  const ag::Tensor g2 = ag::grad({ag::sum(ag::softplus(w, 2.0, 5.0))}, {w}, {}, std::nullopt, true)[0];
  check(g2, {4}, vals(g1), 1e-15);
}
