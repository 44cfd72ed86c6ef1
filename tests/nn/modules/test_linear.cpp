// Dense against hand-computed values: forward, gradients, initialisation, error messages.
#include <cmath>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("Dense: y = x·W + b with W [in, out]") {
  nn::Dense d(3, 2, /*bias*/ true, nn::Init::glorot_uniform, ag::f64);
  CHECK(d.weight().shape() == ag::Shape{3, 2});
  CHECK(d.bias().shape() == ag::Shape{2});
  check_values(d.bias(), {2}, {0, 0});  // bias starts at zero
  set_values(d.weight(), {1, 2, 3, 4, 5, 6});  // [[1,2],[3,4],[5,6]]
  set_values(d.bias(), {0.5, -1});
  ag::Tensor x({{1, 0, -1}, {2, 1, 0}}, ag::f64);
  ag::Tensor y = d(x);
  // row 0: [1-5, 2-6] + b = [-3.5, -5]; row 1: [2+3, 4+4] + b = [5.5, 7]
  check_values(y, {2, 2}, {-3.5, -5, 5.5, 7});
  y.sum().backward();
  // dW = xᵀ·1: column sums of x repeated over out; db = N
  check_values(d.weight().grad(), {3, 2}, {3, 3, 1, 1, -1, -1});
  check_values(d.bias().grad(), {2}, {2, 2});
  // a single row [in] gives [out]
  check_values(d(ag::Tensor({1, 0, -1}, ag::f64)), {2}, {-3.5, -5});

  nn::Dense nb(3, 2, /*bias*/ false);
  CHECK_FALSE(nb.bias().defined());
  CHECK(nb.named_parameters().size() == 1);
  CHECK(nb.describe() == "Dense(3 -> 2, no bias)");
}

TEST_CASE("Dense: initialisation is seeded and has the documented scale") {
  ag::Generator g1(11), g2(11);
  nn::Dense a(200, 300, g1), b(200, 300, g2);
  CHECK(values(a.weight()) == values(b.weight()));  // same seed, same weights
  const double limit = std::sqrt(6.0 / 500.0);
  double sq = 0, mx = 0;
  for (double v : values(a.weight())) {
    sq += v * v;
    mx = std::max(mx, std::abs(v));
  }
  CHECK(mx <= limit);
  CHECK(mx > 0.99 * limit);
  // U(-a, a) has variance a²/3
  CHECK(sq / 60000.0 == doctest::Approx(limit * limit / 3).epsilon(0.03));

  ag::Generator g3(12);
  nn::Dense h(400, 100, g3, true, nn::Init::he_normal);
  double s2 = 0, s1 = 0;
  for (double v : values(h.weight())) {
    s1 += v;
    s2 += v * v;
  }
  CHECK(std::abs(s1 / 40000.0) < 0.003);
  CHECK(std::sqrt(s2 / 40000.0) == doctest::Approx(std::sqrt(2.0 / 400.0)).epsilon(0.03));

  ag::Generator g4(13);
  nn::Dense hu(50, 10, g4, true, nn::Init::he_uniform);
  const double hl = std::sqrt(6.0 / 50.0);
  for (double v : values(hu.weight())) CHECK(std::abs(v) <= hl);
  // global generator: reproducible through manual_seed
  ag::manual_seed(21);
  nn::Dense c(4, 3);
  ag::manual_seed(21);
  nn::Dense e(4, 3);
  CHECK(values(c.weight()) == values(e.weight()));
}

TEST_CASE("Dense: wrong feature count or dtype names the layer and the shapes") {
  nn::Dense d(3, 4);
  std::string msg = error_of<ag::ShapeError>([&] { d(ag::ones({2, 5})); });
  CHECK(contains(msg, "Dense(3 -> 4)"));
  CHECK(contains(msg, "[2, 5]"));
  CHECK(contains(msg, "expected 3"));
  msg = error_of<ag::DtypeError>([&] { d(ag::ones({2, 3}, ag::f64)); });
  CHECK(contains(msg, "Dense(3 -> 4)"));
  CHECK(contains(msg, "float64"));
  CHECK(contains(error_of<ag::ShapeError>([&] { d(ag::scalar(1.0)); }), "[]"));
  CHECK_THROWS_AS(nn::Dense(0, 3), ag::ValueError);

  nn::Sequential seq(std::make_shared<nn::Dense>(2, 3), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Dense>(4, 1));
  msg = error_of<ag::ShapeError>([&] { seq(ag::ones({5, 2})); });
  CHECK(contains(msg, "Sequential layer 2 (Dense(4 -> 1))"));
  CHECK(contains(msg, "[5, 3]"));
}
