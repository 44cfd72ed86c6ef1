// Activations (ag/ops/activation.hpp) against their closed forms and derivatives.
#include <cmath>
#include <functional>
#include <limits>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::vals;

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
  check_activation("gelu exact (default)", [](const ag::Tensor& x) { return ag::gelu(x); }, kXs,
                   [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); },
                   [](double v) {
                     return 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-v * v / 2) / std::sqrt(2 * 3.14159265358979323846);
                   });
  check_activation("gelu tanh", [](const ag::Tensor& x) { return ag::gelu(x, ag::GeluApprox::tanh); }, kXs,
                   [k](double v) { return 0.5 * v * (1 + std::tanh(k * (v + 0.044715 * v * v * v))); },
                   [k](double v) {
                     const double t = std::tanh(k * (v + 0.044715 * v * v * v));
                     return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
                   });
  check_activation("silu", [](const ag::Tensor& x) { return ag::silu(x); }, kXs,
                   [](double v) { return v / (1 + std::exp(-v)); },
                   [](double v) {
                     const double s = 1 / (1 + std::exp(-v));
                     return s * (1 + v * (1 - s));
                   });
  check_activation("log1p", [](const ag::Tensor& x) { return ag::log1p(x); }, {-0.5, -0.1, 0.0, 0.4, 2.0},
                   [](double v) { return std::log(1 + v); }, [](double v) { return 1 / (1 + v); });
  check_activation("expm1", [](const ag::Tensor& x) { return ag::expm1(x); }, kXs,
                   [](double v) { return std::exp(v) - 1; }, [](double v) { return std::exp(v); });
  check_activation("reciprocal", [](const ag::Tensor& x) { return ag::reciprocal(x); }, kXs,
                   [](double v) { return 1 / v; }, [](double v) { return -1 / (v * v); });
}

TEST_CASE("gelu and elu known values, softplus, log1p and expm1 in their hard ranges") {
  // the tanh approximation keeps the values gelu had before the exact form became the default
  check(ag::gelu(make({1.0, -0.5}, {2}), ag::GeluApprox::tanh), {2}, {0.8411919906082768, -0.15428599017485606}, 1e-14);
  // exact x·Φ(x); references from python3: 0.5 * x * math.erfc(-x / math.sqrt(2))
  check(ag::gelu(make({1.0, -0.5}, {2})), {2}, {0.8413447460685429, -0.15426876936299344}, 1e-14);
  check(ag::gelu(make({1.0, -0.5}, {2}), ag::GeluApprox::none), {2}, {0.8413447460685429, -0.15426876936299344}, 1e-14);
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

TEST_CASE("first-order and create_graph backward agree for elu and gelu (exact and tanh)") {
  // the first-order VJPs run a fused loop; under create_graph they are composed of ag ops
  for (auto op : {+[](const ag::Tensor& t) { return ag::elu(t, 0.7); }, +[](const ag::Tensor& t) { return ag::gelu(t); },
                  +[](const ag::Tensor& t) { return ag::gelu(t, ag::GeluApprox::tanh); }}) {
    ag::Tensor x = make(kXs, {kXs.size()}, ag::f64, true);
    const ag::Tensor g1 = ag::grad({op(x).sum()}, {x})[0];
    const ag::Tensor g2 = ag::grad({op(x).sum()}, {x}, {}, std::nullopt, true)[0];
    CHECK(g2.requires_grad());
    check(g2, {kXs.size()}, vals(g1), 1e-14);
  }
}

TEST_CASE("silu: known values, both tails finite, create_graph agrees, second derivative") {
  // x·σ(x) from python3: x / (1 + math.exp(-x))
  check(ag::silu(make({1.0, -0.5, 0.0}, {3})), {3}, {0.7310585786300049, -0.1887703343990727, 0.0}, 1e-14);
  for (ag::DType d : opt::kDtypes) {
    INFO(ag::dtype_name(d));
    // e^-x overflows to inf for x << 0: the value is -0 and the slope 0, never NaN; x >> 0: x and 1
    ag::Tensor x = make({-1000, -100, 100, 1000}, {4}, d, true);
    ag::Tensor y = ag::silu(x);
    check(y, {4}, {0, -100 * std::exp(-100.0), 100, 1000}, 4 * opt::tol(d));
    y.sum().backward();
    for (double v : vals(x.grad())) CHECK(std::isfinite(v));
    check(x.grad(), {4}, {0, 0, 1, 1}, 1e-6);
  }
  // the fused first-order VJP and the ag-op one under create_graph agree
  ag::Tensor x = make(kXs, {kXs.size()}, ag::f64, true);
  const ag::Tensor g1 = ag::grad({ag::silu(x).sum()}, {x})[0];
  const ag::Tensor g2 = ag::grad({ag::silu(x).sum()}, {x}, {}, std::nullopt, true)[0];
  CHECK(g2.requires_grad());
  check(g2, {kXs.size()}, vals(g1), 1e-14);
  // d² = σ'·(2 + x·(1 - 2σ)), σ' = σ(1 - σ)
  std::vector<double> want;
  for (double v : kXs) {
    const double s = 1 / (1 + std::exp(-v));
    want.push_back(s * (1 - s) * (2 + v * (1 - 2 * s)));
  }
  check(ag::grad({g2.sum()}, {x})[0], {kXs.size()}, want, 1e-12);
}
