// The p-norm, outer, masked_fill and cosine_similarity (autograd/src/ops/misc.cpp): values, gradients, overloads.
// Reference values from python3's math module.
#include <cmath>
#include <limits>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::kA;
using opt::make;
using opt::t23;
using opt::vals;

namespace {
const double kInf = std::numeric_limits<double>::infinity();
}

TEST_CASE("norm p: values and gradients for p = 1, 1.5, 2, 3, inf") {
  struct Case {
    double p, value;
    std::vector<double> grad;
  };
  const std::vector<Case> cases = {
      {1.0, 7.0, {1.0, -1.0}},
      {1.5, 5.584250376480029, {0.7329564758289749, -0.8463452372482761}},
      {2.0, 5.0, {0.6, -0.8}},
      {3.0, 4.497941445275415, {0.4448513517305355, -0.7908468475209521}},
      {kInf, 4.0, {0.0, -1.0}},
  };
  for (const Case& c : cases) {
    for (ag::DType d : opt::kDtypes) {
      INFO("p = " << c.p << " " << ag::dtype_name(d));
      ag::Tensor x = make({3.0, -4.0}, {2}, d, true);
      ag::Tensor y = ag::norm(x, c.p);
      CHECK(y.dtype() == d);
      check(y, {}, {c.value}, d == ag::f32 ? 1e-6 : 1e-14);
      y.backward();
      check(x.grad(), {2}, c.grad, d == ag::f32 ? 1e-6 : 1e-14);
    }
  }
  // over axes, keepdims: rows [3, -4] and [1, 0]
  const ag::Tensor m = make({3.0, -4.0, 1.0, 0.0}, {2, 2});
  check(ag::norm(m, 3.0, {1}), {2}, {4.497941445275415, 1.0}, 1e-14);
  check(ag::norm_p(m, 3.0, {-1}, true), {2, 1}, {4.497941445275415, 1.0}, 1e-14);
  check(ag::norm(m, kInf, {0}), {2}, {3.0, 4.0}, 0);
  check(ag::norm(m, 1, {0, 1}), {}, {8.0}, 0);
  check(ag::norm_p(m, 3.0, {}), {2, 2}, {3.0, 4.0, 1.0, 0.0}, 0);  // no axes: |x| (as norm(x, {}))
  // inf-norm ties share the gradient, as max
  ag::Tensor t = make({-2.0, 2.0, 1.0}, {3}, ag::f64, true);
  ag::norm(t, kInf).backward();
  check(t.grad(), {3}, {-0.5, 0.5, 0.0}, 0);
}

TEST_CASE("norm p = 2 is the L2 norm, and a braced axis list still means axes") {
  const ag::Tensor x = t23(kA);
  check(ag::norm(x, 2.0), {}, vals(ag::norm(x)), 1e-15);
  check(ag::norm(x, 2), {}, vals(ag::norm(x)), 1e-15);
  check(ag::norm(x, 2.0, {1}), {2}, vals(ag::norm(x, {1})), 1e-15);
  // norm(x, {0}) and norm(x, {1}) are L2 over that axis, not p = 0 / p = 1 over everything
  const ag::Tensor n0 = ag::norm(x, {0});
  check(n0, {3}, {std::hypot(0.5, 3.5), std::hypot(-1.25, -0.75), std::hypot(2.0, 1.0)}, 1e-15);
  const ag::Tensor n1 = ag::norm(x, {1}, true);
  check(n1, {2, 1}, {std::sqrt(0.25 + 1.5625 + 4.0), std::sqrt(12.25 + 0.5625 + 1.0)}, 1e-15);
  check(ag::norm(x, {0, 1}), {}, vals(ag::norm(x)), 1e-15);
}

TEST_CASE("norm p: zero gradient where the norm is 0, no overflow or underflow") {
  for (double p : {1.0, 1.5, 2.0, 3.0, kInf}) {
    INFO("p = " << p);
    ag::Tensor z = ag::zeros({2, 3}, ag::f64, true);
    ag::Tensor y = ag::norm(z, p, {1});
    check(y, {2}, {0.0, 0.0}, 0);
    y.sum().backward();
    check(z.grad(), {2, 3}, std::vector<double>(6, 0.0), 0);
    // one group zero, the other not
    ag::Tensor w = make({0, 0, 0, 1, -2, 2}, {2, 3}, ag::f64, true);
    ag::norm(w, p, {1}).sum().backward();
    for (std::size_t i = 0; i < 3; ++i) CHECK(vals(w.grad())[i] == 0.0);
    for (std::size_t i = 3; i < 6; ++i) CHECK(std::isfinite(vals(w.grad())[i]));
  }
  check(ag::norm(make({1e200, 1e200}, {2}), 3.0), {}, {1.2599210498948731e+200}, 1e-14);
  check(ag::norm(make({1e-200, 1e-200}, {2}), 3.0), {}, {1.2599210498948731e-200}, 1e-14);
  CHECK(std::isinf(ag::norm(make({kInf, 1.0}, {2}), 3.0).item()));
  CHECK(std::isnan(ag::norm(make({std::nan(""), 1.0}, {2}), 3.0).item()));
}

TEST_CASE("outer: values and gradients") {
  ag::Tensor a = make({1, 2, 3}, {3}, ag::f64, true), b = make({4, 5}, {2}, ag::f64, true);
  ag::Tensor y = ag::outer(a, b);
  check(y, {3, 2}, {4, 5, 8, 10, 12, 15}, 0);
  (y * make({1, 2, 3, 4, 5, 6}, {3, 2})).sum().backward();
  check(a.grad(), {3}, {14, 32, 50}, 0);  // Σ_j g_ij·b_j
  check(b.grad(), {2}, {22, 28}, 0);      // Σ_i g_ij·a_i
  check(ag::outer(make({2}, {1}, ag::f32), make({1, -1}, {2}, ag::f32)), {1, 2}, {2, -2}, 0);
  CHECK(ag::outer(ag::zeros({0}), ag::zeros({3})).shape() == ag::Shape{0, 3});
}

TEST_CASE("masked_fill: values, broadcast masks of any dtype, gradient where the mask is 0") {
  ag::Tensor x = t23(kA, true);
  ag::Tensor y = ag::masked_fill(x, make({1, 0, 0, 1, 0, 1}, {2, 3}), -9.0);
  check(y, {2, 3}, {-9, -1.25, 2.0, -9, -0.75, -9}, 0);
  y.sum().backward();
  check(x.grad(), {2, 3}, {0, 1, 1, 0, 1, 0}, 0);
  // a row mask [3], a column mask [2, 1], a 0-d mask; nonzero (2, -0.5, NaN) counts as true
  check(ag::masked_fill(x, make({0, 2, 0}, {3}), 0.0), {2, 3}, {0.5, 0, 2.0, 3.5, 0, 1.0}, 0);
  check(ag::masked_fill(x, make({0, -0.5}, {2, 1}), 1.0), {2, 3}, {0.5, -1.25, 2.0, 1, 1, 1}, 0);
  check(ag::masked_fill(x, make({std::nan("")}, {}), 4.0), {2, 3}, std::vector<double>(6, 4.0), 0);
  check(ag::masked_fill(x, ag::scalar(0.0, ag::f64), 4.0), {2, 3}, kA, 0);
  // a float32 mask on float64 values (the mask's dtype does not matter); the result keeps x's dtype
  const ag::Tensor r = ag::masked_fill(x, make({1, 0, 0}, {3}, ag::f32), 0.25);
  CHECK(r.dtype() == ag::f64);
  check(r, {2, 3}, {0.25, -1.25, 2.0, 0.25, -0.75, 1.0}, 0);
  // float32 values: the fill value takes their dtype
  check(ag::masked_fill(make(kA, {2, 3}, ag::f32), make({1, 0, 0}, {3}), 0.1), {2, 3}, {0.1f, -1.25, 2.0, 0.1f, -0.75, 1.0}, 0);
  // the mask is not differentiated, even when it requires grad
  ag::Tensor mask = make({1, 0, 1}, {3}, ag::f64, true);
  ag::Tensor z = t23(kA, true);
  ag::masked_fill(z, mask, 3.0).sum().backward();
  CHECK_FALSE(mask.grad().defined());
  check(z.grad(), {2, 3}, {0, 1, 0, 0, 1, 0}, 0);
}

TEST_CASE("cosine_similarity: values along an axis, broadcasting, gradient (b̂ - cos·â)/‖a‖") {
  // rows (1, 2, 2)·(2, 1, -2) = 0 -> 0, (3, 4, 0)·(6, 8, 0) -> 1; axis 0: columns
  ag::Tensor a = make({1, 2, 2, 3, 4, 0}, {2, 3}, ag::f64, true);
  ag::Tensor b = make({2, 1, -2, 6, 8, 0}, {2, 3}, ag::f64, true);
  check(ag::cosine_similarity(a, b), {2}, {0.0, 1.0}, 1e-15);
  check(ag::cosine_similarity(a, b, 0), {3},
        {(2 + 18) / (std::sqrt(10.0) * std::sqrt(40.0)), (2 + 32) / (std::sqrt(20.0) * std::sqrt(65.0)), -1.0},
        1e-15);
  CHECK(ag::cosine_similarity(a, b, -2).shape() == ag::Shape{3});
  // [2, 3] with [3]: each row against the same vector
  const ag::Tensor v = make({1, 0, 0}, {3});
  check(ag::cosine_similarity(a, v), {2}, {1.0 / 3.0, 0.6}, 1e-15);
  // 1-D inputs give a 0-d result
  check(ag::cosine_similarity(make({1, 1}, {2}), make({1, 0}, {2})), {}, {1 / std::sqrt(2.0)}, 1e-15);
  // gradient of row 0 w.r.t. a: (b̂ - cos·â)/‖a‖ with cos = 0 -> b/(‖a‖‖b‖) = b/9
  ag::cosine_similarity(a, b).sum().backward();
  const std::vector<double> ga = vals(a.grad());
  for (std::size_t j = 0; j < 3; ++j) CHECK(ga[j] == doctest::Approx(vals(b)[j] / 9.0).epsilon(1e-14));
  // row 1 is parallel: cos = 1 is a maximum, the gradient is 0
  for (std::size_t j = 3; j < 6; ++j) CHECK(std::abs(ga[j]) < 1e-15);
  // finite for huge vectors: each side is divided by its own norm first (‖a‖·‖b‖ would be inf)
  check(ag::cosine_similarity(make({1e200, 1e200}, {2}), make({1e200, 0}, {2})), {}, {1 / std::sqrt(2.0)}, 1e-14);
}

TEST_CASE("cosine_similarity: a zero vector gives 0 (norms clamped at eps), float32, errors") {
  ag::Tensor z = ag::zeros({2, 3}, ag::f64, true);
  ag::Tensor b = make({1, 2, 3, -1, 0, 1}, {2, 3}, ag::f64, true);
  ag::Tensor c = ag::cosine_similarity(z, b);
  check(c, {2}, {0.0, 0.0}, 0);
  c.sum().backward();
  for (double v : vals(z.grad())) CHECK(std::isfinite(v));
  check(b.grad(), {2, 3}, std::vector<double>(6, 0.0), 0);  // b's side: â = 0 -> 0
  // each norm is clamped on its own: tiny vectors below eps are not normalised
  check(ag::cosine_similarity(make({1e-9, 0}, {2}), make({1, 0}, {2}), -1, 1e-8), {}, {0.1}, 1e-12);
  // float32 in, float32 out; |cos| <= 1 up to rounding
  ag::Tensor f = ag::cosine_similarity(make({0.1, 0.2, 0.3}, {3}, ag::f32), make({0.2, 0.4, 0.6}, {3}, ag::f32));
  CHECK(f.dtype() == ag::f32);
  CHECK(f.item() == doctest::Approx(1.0).epsilon(1e-6));

  const ag::Tensor x = ag::zeros({2, 3});
  std::string msg = opt::message_of([&] { ag::cosine_similarity(x, ag::zeros({2, 3}, ag::f64)); });
  CHECK(msg.find("cosine_similarity") != std::string::npos);
  CHECK(msg.find("float64") != std::string::npos);
  CHECK_THROWS_AS(ag::cosine_similarity(x, ag::zeros({2, 3}, ag::f64)), ag::DtypeError);
  msg = opt::message_of([&] { ag::cosine_similarity(x, ag::zeros({4})); });
  CHECK(msg.find("cosine_similarity") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(msg.find("[4]") != std::string::npos);
  CHECK_THROWS_AS(ag::cosine_similarity(x, ag::zeros({4})), ag::ShapeError);
  msg = opt::message_of([&] { ag::cosine_similarity(x, x, 2); });
  CHECK(msg.find("cosine_similarity: axis 2") != std::string::npos);
  CHECK_THROWS_AS(ag::cosine_similarity(x, x, -3), ag::ShapeError);
  CHECK_THROWS_AS(ag::cosine_similarity(ag::scalar(1.0), ag::scalar(2.0)), ag::ShapeError);
  CHECK_THROWS_AS(ag::cosine_similarity(x, x, -1, -1e-8), ag::ValueError);
  CHECK_THROWS_AS(ag::cosine_similarity(x, ag::Tensor()), ag::ValueError);
  msg = opt::message_of([&] { ag::cosine_similarity(ag::zeros({3}, ag::i64), ag::zeros({3}, ag::i64)); });
  CHECK(msg.find("cosine_similarity") != std::string::npos);
}
