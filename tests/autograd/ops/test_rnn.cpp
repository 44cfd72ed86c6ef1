// The fused recurrent gate ops against the same step composed of elementwise ops: values, and
// gradients of the first-order loop and of the create_graph path.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

ag::TensorList lstm_composed(const ag::Tensor& a, const ag::Tensor& c) {
  const std::vector<ag::Tensor> p = ag::split(a, 4, -1);
  const ag::Tensor c2 = ag::sigmoid(p[1]) * c + ag::sigmoid(p[0]) * ag::tanh(p[2]);
  return {ag::concat({ag::sigmoid(p[3]) * ag::tanh(c2), c2}, 1)};
}
ag::Tensor gru_composed(const ag::Tensor& gx, const ag::Tensor& gh, const ag::Tensor& h) {
  const std::vector<ag::Tensor> x = ag::split(gx, 3, -1), g = ag::split(gh, 3, -1);
  const ag::Tensor r = ag::sigmoid(x[0] + g[0]), z = ag::sigmoid(x[1] + g[1]);
  const ag::Tensor n = ag::tanh(x[2] + r * g[2]);
  return (1.0 - z) * n + z * h;
}

void check_close(const ag::Tensor& a, const ag::Tensor& b, double eps) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i] == doctest::Approx(y[i]).epsilon(eps));
}

}  // namespace

TEST_CASE("lstm_gates and gru_gates equal the composed step: values, first- and second-order gradients") {
  ag::Generator gen(21);
  for (ag::DType d : {ag::f32, ag::f64}) {
    const double eps = d == ag::f32 ? 1e-5 : 1e-13;
    ag::Tensor a = (ag::randn({3, 12}, gen, d) * 2.0).requires_grad_(), c = ag::randn({3, 3}, gen, d).requires_grad_();
    ag::Tensor w = ag::randn({3, 6}, gen, d);  // a fixed cotangent
    const ag::Tensor fused = ag::lstm_gates(a, c), composed = lstm_composed(a, c)[0];
    check_close(fused, composed, eps);
    for (bool create_graph : {false, true}) {
      const auto gf = ag::grad({ag::sum(fused * w)}, {a, c}, {}, true, create_graph);
      const auto gc = ag::grad({ag::sum(composed * w)}, {a, c}, {}, true, create_graph);
      check_close(gf[0], gc[0], eps);
      check_close(gf[1], gc[1], eps);
    }

    ag::Tensor gx = ag::randn({2, 9}, gen, d).requires_grad_(), gh = ag::randn({2, 9}, gen, d).requires_grad_(),
               h = ag::randn({2, 3}, gen, d).requires_grad_();
    ag::Tensor v = ag::randn({2, 3}, gen, d);
    const ag::Tensor gf_out = ag::gru_gates(gx, gh, h), gc_out = gru_composed(gx, gh, h);
    check_close(gf_out, gc_out, eps);
    for (bool create_graph : {false, true}) {
      const auto gf = ag::grad({ag::sum(gf_out * v)}, {gx, gh, h}, {}, true, create_graph);
      const auto gc = ag::grad({ag::sum(gc_out * v)}, {gx, gh, h}, {}, true, create_graph);
      for (int i = 0; i < 3; ++i) check_close(gf[i], gc[i], eps);
    }
  }
}

TEST_CASE("lstm_gates and gru_gates: bad shapes and dtypes name the op and the shapes") {
  auto msg = [](auto f) -> std::string {
    try {
      f();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  CHECK_THROWS_AS(ag::lstm_gates(ag::zeros({2, 7}), ag::zeros({2, 2})), ag::ShapeError);
  CHECK(msg([] { ag::lstm_gates(ag::zeros({2, 7}), ag::zeros({2, 2})); }) ==
        "lstm_gates: gates [2, 7] and c [2, 2] do not fit: expected [B, 4·H] and [B, H]");
  CHECK_THROWS_AS(ag::lstm_gates(ag::zeros({3, 8}), ag::zeros({2, 2})), ag::ShapeError);
  CHECK_THROWS_AS(ag::lstm_gates(ag::zeros({8}), ag::zeros({2})), ag::ShapeError);
  CHECK_THROWS_AS(ag::lstm_gates(ag::zeros({2, 8}), ag::zeros({2, 2}, ag::f64)), ag::DtypeError);
  CHECK(msg([] { ag::gru_gates(ag::zeros({2, 6}), ag::zeros({2, 3}), ag::zeros({2, 2})); }) ==
        "gru_gates: gates [2, 6] and gh [2, 3] and h [2, 2] do not fit: expected [B, 3·H] and [B, H]");
  CHECK_THROWS_AS(ag::gru_gates(ag::zeros({2, 6}), ag::zeros({2, 6}), ag::zeros({2, 2}, ag::f64)), ag::DtypeError);
  CHECK_THROWS_AS(ag::lstm_gates(ag::zeros({2, 8}, ag::i64), ag::zeros({2, 2}, ag::i64)), ag::DtypeError);
}

TEST_CASE("lstm_gates in float32: saturating, tiny and NaN pre-activations (the kernels' own e^v and tanh)") {
  // One row, H = 4: gates i, f, g, o take the same four values in each column position
  // (-100, -1e-6, 0.3, 100), so every sigmoid and tanh meets both saturations, the small-|v|
  // series and the exponential branch; a NaN in c comes out as NaN in c' and h'.
  const std::vector<double> v{-100.0, -1e-6, 0.3, 100.0};
  std::vector<double> a;
  for (int gate = 0; gate < 4; ++gate) a.insert(a.end(), v.begin(), v.end());
  const std::vector<double> c{0.5, -2.0, 1e-7, std::nan("")};
  const ag::Tensor y32 = ag::lstm_gates(ag::tensor(a, {1, 16}).to(ag::f32), ag::tensor(c, {1, 4}).to(ag::f32));
  const std::vector<float> got = y32.to_vector<float>();
  auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  for (std::size_t j = 0; j < 4; ++j) {
    const double c2 = sig(v[j]) * c[j] + sig(v[j]) * std::tanh(v[j]), h2 = sig(v[j]) * std::tanh(c2);
    INFO("column " << j);
    if (std::isnan(c[j])) {
      CHECK(std::isnan(got[j]));
      CHECK(std::isnan(got[4 + j]));
      continue;
    }
    CHECK(got[j] == doctest::Approx(h2).epsilon(1e-6));
    CHECK(got[4 + j] == doctest::Approx(c2).epsilon(1e-6));
  }
}
