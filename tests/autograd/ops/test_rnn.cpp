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

namespace {

// The sequence written step by step with lstm_composed (elementwise ops), independent of both
// lstm_gates and lstm_sequence: [T, B, 2H] of [h_t | c_t].
ag::Tensor lstm_sequence_reference(const ag::Tensor& gx, const ag::Tensor& w, const ag::Tensor& h0,
                                   const ag::Tensor& c0, bool reverse) {
  const std::size_t T = gx.size(0);
  const auto H = static_cast<std::ptrdiff_t>(h0.size(1));
  ag::Tensor h = h0, c = c0;
  std::vector<ag::Tensor> out(T);
  for (std::size_t s = 0; s < T; ++s) {
    const std::size_t t = reverse ? T - 1 - s : s;
    const ag::Tensor a = ag::select(gx, 0, static_cast<std::ptrdiff_t>(t)) + ag::matmul(h, ag::transpose(w, 0, 1));
    out[t] = lstm_composed(a, c)[0];
    h = ag::slice(out[t], 1, 0, H);
    c = ag::slice(out[t], 1, H, 2 * H);
  }
  return ag::stack(out, 0);
}

}  // namespace

TEST_CASE("lstm_sequence equals the step-by-step composition: values, gradients of every input, second order") {
  ag::Generator gen(5);
  for (ag::DType dt : {ag::f64, ag::f32})
    for (bool reverse : {false, true}) {
      INFO((dt == ag::f64 ? "float64" : "float32") << (reverse ? " reverse" : " forward"));
      const std::size_t T = 5, B = 3, H = 4;
      ag::Tensor gx = ag::randn({T, B, 4 * H}, gen, dt).requires_grad_();
      ag::Tensor w = (0.5 * ag::randn({4 * H, H}, gen, dt)).detach().requires_grad_();
      ag::Tensor h0 = ag::randn({B, H}, gen, dt).requires_grad_(), c0 = ag::randn({B, H}, gen, dt).requires_grad_();
      const ag::Tensor u = ag::randn({T, B, 2 * H}, gen, dt);  // a cotangent touching every h_t and c_t
      const ag::Tensor fused = ag::lstm_sequence(gx, w, h0, c0, reverse);
      const ag::Tensor ref = lstm_sequence_reference(gx, w, h0, c0, reverse);
      const double eps = dt == ag::f64 ? 1e-12 : 2e-5;
      check_close(fused, ref, eps);
      const auto gf = ag::grad({ag::sum(fused * u)}, {gx, w, h0, c0});
      const auto gr = ag::grad({ag::sum(ref * u)}, {gx, w, h0, c0});
      for (std::size_t k = 0; k < 4; ++k) check_close(gf[k], gr[k], dt == ag::f64 ? 1e-10 : 1e-4);
      if (dt != ag::f64) continue;
      // second order: d/dw of <dL/dgx, v> through the create_graph VJP
      const ag::Tensor v = ag::randn({T, B, 4 * H}, gen, dt);
      const auto g1f = ag::grad({ag::sum(ag::lstm_sequence(gx, w, h0, c0, reverse) * u)}, {gx}, {}, true, true);
      const auto g1r = ag::grad({ag::sum(lstm_sequence_reference(gx, w, h0, c0, reverse) * u)}, {gx}, {}, true, true);
      const auto g2f = ag::grad({ag::sum(g1f[0] * v)}, {w, c0});
      const auto g2r = ag::grad({ag::sum(g1r[0] * v)}, {w, c0});
      for (std::size_t k = 0; k < 2; ++k) check_close(g2f[k], g2r[k], 1e-10);
    }
}

TEST_CASE("lstm_sequence: one tape node per sequence, and bad shapes and dtypes name the op") {
  ag::Tensor gx = ag::randn({6, 2, 8}).requires_grad_(), w = ag::randn({8, 2}).requires_grad_();
  const std::size_t before = ag::live_node_count();
  ag::Tensor y = ag::lstm_sequence(gx, w, ag::zeros({2, 2}), ag::zeros({2, 2}));
  CHECK(ag::live_node_count() - before == 1);
  CHECK(y.shape() == ag::Shape{6, 2, 4});
  auto msg = [](auto f) -> std::string {
    try {
      f();
    } catch (const ag::ShapeError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(msg([] { ag::lstm_sequence(ag::zeros({6, 2, 8}), ag::zeros({8, 3}), ag::zeros({2, 2}), ag::zeros({2, 2})); }) ==
        "lstm_sequence: gx [6, 2, 8], w_hh [8, 3], h0 [2, 2] and c0 [2, 2] do not fit: expected [T, B, 4H] (T >= 1), "
        "[4H, H], [B, H] and [B, H]");
  CHECK_THROWS_AS(ag::lstm_sequence(ag::zeros({0, 2, 8}), ag::zeros({8, 2}), ag::zeros({2, 2}), ag::zeros({2, 2})),
                  ag::ShapeError);
  CHECK_THROWS_AS(ag::lstm_sequence(ag::zeros({6, 3, 8}), ag::zeros({8, 2}), ag::zeros({2, 2}), ag::zeros({2, 2})),
                  ag::ShapeError);
  CHECK_THROWS_AS(ag::lstm_sequence(ag::zeros({6, 2, 8}), ag::zeros({8, 2}), ag::zeros({2, 2}), ag::zeros({2, 2}, ag::f64)),
                  ag::DtypeError);
  CHECK_THROWS_AS(ag::lstm_sequence(ag::zeros({6, 2, 8}, ag::i64), ag::zeros({8, 2}, ag::i64), ag::zeros({2, 2}, ag::i64),
                                    ag::zeros({2, 2}, ag::i64)),
                  ag::DtypeError);
}
