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

TEST_CASE("GELU, ELU, Softplus, SiLU, LogSigmoid: values, describe(), gradcheck in a model") {
  ag::Tensor x({{-2, -0.5, 0, 1.5}}, ag::f64);
  const double k = std::sqrt(2 / 3.14159265358979323846);
  std::vector<double> gelu, gelu_tanh, elu, softplus, silu, logsig;
  for (double v : values(x)) {
    gelu.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    gelu_tanh.push_back(0.5 * v * (1 + std::tanh(k * (v + 0.044715 * v * v * v))));
    elu.push_back(v > 0 ? v : 0.5 * (std::exp(v) - 1));
    softplus.push_back(2 * v > 1 ? v : std::log(1 + std::exp(2 * v)) / 2);  // β = 2, threshold 1
    silu.push_back(v / (1 + std::exp(-v)));
    logsig.push_back(-std::log(1 + std::exp(-v)));
  }
  check_values(nn::GELU()(x), {1, 4}, gelu);
  check_values(nn::GELU(ag::GeluApprox::tanh)(x), {1, 4}, gelu_tanh);
  check_values(nn::ELU(0.5)(x), {1, 4}, elu);
  check_values(nn::ELU()(x), {1, 4}, values(ag::elu(x)));
  check_values(nn::Softplus(2.0, 1.0)(x), {1, 4}, softplus);
  check_values(nn::Softplus()(x), {1, 4}, values(ag::softplus(x)));
  check_values(nn::SiLU()(x), {1, 4}, silu);
  check_values(nn::LogSigmoid()(x), {1, 4}, logsig);
  // float32 in, float32 out
  CHECK(nn::SiLU()(ag::Tensor({1.0, 2.0})).dtype() == ag::f32);

  CHECK(nn::GELU().describe() == "GELU(approximate='none')");
  CHECK(nn::GELU(ag::GeluApprox::tanh).describe() == "GELU(approximate='tanh')");
  CHECK(nn::ELU().describe() == "ELU(alpha=1)");
  CHECK(nn::ELU(0.5).describe() == "ELU(alpha=0.5)");
  CHECK(nn::Softplus().describe() == "Softplus(beta=1, threshold=20)");
  CHECK(nn::Softplus(2, 1.5).describe() == "Softplus(beta=2, threshold=1.5)");
  CHECK(nn::SiLU().describe() == "SiLU");
  CHECK(nn::LogSigmoid().describe() == "LogSigmoid");
  CHECK(nn::GELU(ag::GeluApprox::tanh).approximate() == ag::GeluApprox::tanh);
  CHECK(nn::ELU(0.3).alpha() == 0.3);
  CHECK(nn::Softplus(2, 3).beta() == 2);
  CHECK(nn::Softplus(2, 3).threshold() == 3);
  // a bad beta fails where the layer is built
  CHECK(contains(error_of<ag::ValueError>([] { nn::Softplus(0.0); }), "Softplus: beta"));

  ag::Generator gen(11);
  nn::Sequential model(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::GELU>(),
                       std::make_shared<nn::Dense>(4, 4, gen), std::make_shared<nn::SiLU>(),
                       std::make_shared<nn::Dense>(4, 4, gen), std::make_shared<nn::ELU>(0.7),
                       std::make_shared<nn::Dense>(4, 4, gen), std::make_shared<nn::Softplus>(1.5),
                       std::make_shared<nn::Dense>(4, 2, gen), std::make_shared<nn::LogSigmoid>());
  const ag::Tensor in = ag::randn({5, 3}, gen, ag::f64);
  CHECK(nn::gradcheck_module(model, [&](nn::Module& m) { return ag::sum(m(in)); }));
}
