// Activation layers against hand-computed values.
#include <cmath>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("activations: values") {
  ag::Tensor x({{-2, -0.5, 0, 1.5}}, ag::f64);
  check_values(nn::ReLU()(x), {1, 4}, {0, 0, 0, 1.5});
  check_values(nn::LeakyReLU(0.1)(x), {1, 4}, {-0.2, -0.05, 0, 1.5});
  check_values(nn::LeakyReLU()(x), {1, 4}, {-0.02, -0.005, 0, 1.5});
  check_values(nn::Sigmoid()(x), {1, 4},
               {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5, 1 / (1 + std::exp(-1.5))});
  check_values(nn::Tanh()(x), {1, 4}, {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(1.5)});
}

TEST_CASE("Softmax / LogSoftmax: rows sum to 1, stable for large inputs") {
  ag::Tensor z({{1, 2, 3}, {1000, 1000, 1000}, {-5, 0, 5}}, ag::f64);
  ag::Tensor p = nn::Softmax()(z);
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double t = std::exp(-10.0) + std::exp(-5.0) + 1.0;
  check_values(p, {3, 3},
               {std::exp(1.0) / s, std::exp(2.0) / s, std::exp(3.0) / s, 1. / 3, 1. / 3, 1. / 3,
                std::exp(-10.0) / t, std::exp(-5.0) / t, 1 / t});
  check_values(ag::sum(p, {1}), {3}, {1, 1, 1});
  ag::Tensor lp = nn::LogSoftmax()(z);
  check_values(lp, {3, 3}, {1 - std::log(s), 2 - std::log(s), 3 - std::log(s), -std::log(3.0),
                            -std::log(3.0), -std::log(3.0), -10 - std::log(t), -5 - std::log(t),
                            -std::log(t)});
  // axis 0: columns sum to 1
  check_values(ag::sum(nn::Softmax(0)(z), {0}), {3}, {1, 1, 1});
  // float32 with large logits stays finite
  ag::Tensor p32 = nn::Softmax()(ag::Tensor({{100, 200, 300}}, ag::f32));
  for (double v : values(p32)) CHECK(std::isfinite(v));
  check_values(ag::sum(p32, {1}), {1}, {1}, 1e-6);
}
