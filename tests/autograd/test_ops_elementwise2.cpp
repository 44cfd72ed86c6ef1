// Comparisons, maximum/minimum, clamp, where and the activations: forward values (float32 and
// float64) against hand-computed or closed-form values, gradients by hand, and error paths.
#include <cmath>
#include <functional>
#include <limits>

#include "autograd/ops_test_util.hpp"

using opt::check;
using opt::make;
using opt::vals;

TEST_CASE("comparisons give 0/1 masks in the input dtype, without history") {
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
    CHECK(m.dtype() == d);
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

namespace {

// y = op(x) against f elementwise, and d(sum y)/dx against df, in both dtypes.
void check_activation(const char* what, const std::function<ag::Tensor(const ag::Tensor&)>& op,
                      const std::vector<double>& xs, const std::function<double(double)>& f,
                      const std::function<double(double)>& df) {
  INFO(what);
  for (ag::DType d : opt::kDtypes) {
    INFO(ag::dtype_name(d));
    ag::Tensor x = make(xs, {xs.size()}, d, true);
    std::vector<double> want, dwant;
    for (double v : vals(x)) {  // float32 inputs are rounded first
      want.push_back(f(v));
      dwant.push_back(df(v));
    }
    ag::Tensor y = op(x);
    CHECK(y.dtype() == d);
    check(y, {xs.size()}, want, 4 * opt::tol(d));
    y.sum().backward();
    check(x.grad(), {xs.size()}, dwant, 4 * opt::tol(d));
  }
}

const std::vector<double> kXs = {-2.5, -0.7, -0.1, 0.3, 1.0, 3.0};

}  // namespace

TEST_CASE("activations match their closed forms and derivatives") {
  check_activation("leaky_relu", [](const ag::Tensor& x) { return ag::leaky_relu(x); }, kXs,
                   [](double v) { return v > 0 ? v : 0.01 * v; }, [](double v) { return v > 0 ? 1.0 : 0.01; });
  check_activation("leaky_relu 0.2", [](const ag::Tensor& x) { return ag::leaky_relu(x, 0.2); }, kXs,
                   [](double v) { return v > 0 ? v : 0.2 * v; }, [](double v) { return v > 0 ? 1.0 : 0.2; });
  check_activation("elu 1.5", [](const ag::Tensor& x) { return ag::elu(x, 1.5); }, kXs,
                   [](double v) { return v > 0 ? v : 1.5 * (std::exp(v) - 1); },
                   [](double v) { return v > 0 ? 1.0 : 1.5 * std::exp(v); });
  check_activation("softplus", [](const ag::Tensor& x) { return ag::softplus(x); }, kXs,
                   [](double v) { return std::log(1 + std::exp(v)); },
                   [](double v) { return 1 / (1 + std::exp(-v)); });
  const double k = std::sqrt(2 / 3.14159265358979323846);
  check_activation("gelu", [](const ag::Tensor& x) { return ag::gelu(x); }, kXs,
                   [k](double v) { return 0.5 * v * (1 + std::tanh(k * (v + 0.044715 * v * v * v))); },
                   [k](double v) {
                     const double t = std::tanh(k * (v + 0.044715 * v * v * v));
                     return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
                   });
  check_activation("log1p", [](const ag::Tensor& x) { return ag::log1p(x); }, {-0.5, -0.1, 0.0, 0.4, 2.0},
                   [](double v) { return std::log(1 + v); }, [](double v) { return 1 / (1 + v); });
  check_activation("expm1", [](const ag::Tensor& x) { return ag::expm1(x); }, kXs,
                   [](double v) { return std::exp(v) - 1; }, [](double v) { return std::exp(v); });
  check_activation("reciprocal", [](const ag::Tensor& x) { return ag::reciprocal(x); }, kXs,
                   [](double v) { return 1 / v; }, [](double v) { return -1 / (v * v); });
}

TEST_CASE("gelu and elu known values; softplus, log1p and expm1 in their hard ranges") {
  check(ag::gelu(make({1.0, -0.5}, {2})), {2}, {0.8411919906082768, -0.15428599017485606}, 1e-14);
  check(ag::elu(make({-1.0}, {1})), {1}, {std::exp(-1.0) - 1}, 1e-14);
  // softplus(±1000) without overflow: 1000 and e^-1000 (underflows to 0); gradient σ(x)
  ag::Tensor x = make({-1000, 1000}, {2}, ag::f64, true);
  ag::Tensor y = ag::softplus(x);
  check(y, {2}, {0, 1000}, 0);
  y.sum().backward();
  check(x.grad(), {2}, {0, 1}, 0);
  for (ag::DType d : opt::kDtypes) {
    // log(1 + 1e-10) loses every digit when formed as 1 + x first; log1p keeps them
    check(ag::log1p(make({1e-10}, {1}, d)), {1}, {1e-10 - 5e-21}, opt::tol(d) * 1e-10);
    check(ag::expm1(make({1e-10}, {1}, d)), {1}, {1e-10 + 5e-21}, opt::tol(d) * 1e-10);
  }
}

TEST_CASE("first-order and create_graph backward agree for elu and gelu") {
  // the first-order VJPs run a fused loop; under create_graph they are composed of ag ops
  for (auto op : {+[](const ag::Tensor& t) { return ag::elu(t, 0.7); }, +[](const ag::Tensor& t) { return ag::gelu(t); }}) {
    ag::Tensor x = make(kXs, {kXs.size()}, ag::f64, true);
    const ag::Tensor g1 = ag::grad({op(x).sum()}, {x})[0];
    const ag::Tensor g2 = ag::grad({op(x).sum()}, {x}, {}, std::nullopt, true)[0];
    CHECK(g2.requires_grad());
    check(g2, {kXs.size()}, vals(g1), 1e-14);
  }
}
