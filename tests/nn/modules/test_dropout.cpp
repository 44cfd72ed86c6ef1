// Dropout: the inverted-dropout mask, seeding, eval mode.
#include <cstdint>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("Dropout: inverted scaling in training, identity in eval") {
  nn::Dropout d(0.25, std::uint64_t{7});
  ag::Tensor x = ag::full({100, 100}, 2.0, ag::f64, true);
  ag::Tensor y = d(x);
  std::size_t zeros = 0;
  for (double v : values(y)) {
    CHECK((v == 0.0 || v == doctest::Approx(2.0 / 0.75)));
    zeros += v == 0.0;
  }
  // 10000 Bernoulli(0.25) draws: 2500 ± 43 (1 sd)
  CHECK(zeros > 2300);
  CHECK(zeros < 2700);
  y.sum().backward();
  const std::vector<double> g = values(x.grad()), yv = values(y);
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(yv[i] / 2.0));  // mask

  nn::Dropout same(0.25, std::uint64_t{7});
  CHECK(values(same(x)) == yv);  // same seed, same mask
  d.eval();
  ag::Tensor ye = d(x);
  CHECK(ye.id() == x.id());
  nn::Dropout all(1.0, std::uint64_t{1});
  for (double v : values(all(x))) CHECK(v == 0.0);
  nn::Dropout none(0.0);
  CHECK(values(none(x)) == values(x));
  CHECK_THROWS_AS(nn::Dropout(1.5), ag::ValueError);
  CHECK_THROWS_AS(nn::Dropout(-0.1), ag::ValueError);
  ag::Generator gen(3);
  nn::Dropout shared(0.5, gen);
  ag::Tensor a = shared(x), b = shared(x);
  CHECK(values(a) != values(b));  // the shared generator advances
}
