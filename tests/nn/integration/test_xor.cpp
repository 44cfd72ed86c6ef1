// Integration: XOR learned to 100% accuracy by a small MLP and a hand-written training loop
// (forward, loss, zero_grad, backward, step), fixed seed.
#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("XOR: 2-8-1 tanh MLP, full batch, Adam, logits + bce_with_logits: 100% accuracy") {
  ag::Generator gen(2024);
  nn::Sequential model(std::make_shared<nn::Dense>(2, 8, gen), std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Dense>(8, 1, gen));
  nn::Adam opt(model.parameters(), 0.05);
  ag::Tensor x({{0, 0}, {0, 1}, {1, 0}, {1, 1}}, ag::f32);
  ag::Tensor y = ag::Tensor({0, 1, 1, 0}, ag::f32).reshape({4, 1});
  double loss = 0;
  for (int epoch = 0; epoch < 300; ++epoch) {
    opt.zero_grad();
    ag::Tensor l = nn::bce_with_logits(model(x), y);
    l.backward();
    opt.step();
    loss = l.item();
  }
  CHECK(loss < 0.05);
  const std::vector<double> p = values(ag::sigmoid(ag::no_grad([&] { return model(x); })));
  const std::vector<double> want = {0, 1, 1, 0};
  for (int i = 0; i < 4; ++i) CHECK_MESSAGE((p[i] > 0.5) == (want[i] > 0.5), "row " << i << " p=" << p[i]);
}

TEST_CASE("XOR: per-row SGD with momentum (the founding text's loop) reaches 100% accuracy") {
  ag::Generator gen(7);
  nn::Sequential model(std::make_shared<nn::Dense>(2, 8, gen), std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Dense>(8, 1, gen), std::make_shared<nn::Sigmoid>());
  nn::SGD opt(model.parameters(), 0.1, 0.9);
  const std::vector<std::vector<double>> rows = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  const std::vector<double> labels = {0, 1, 1, 0};
  double epoch_loss = 0;
  for (int epoch = 0; epoch < 500; ++epoch) {
    epoch_loss = 0;
    for (std::size_t i = 0; i < 4; ++i) {  // one row at a time
      ag::Tensor x({rows[i][0], rows[i][1]});
      ag::Tensor y({labels[i]});
      opt.zero_grad();
      ag::Tensor loss = nn::mse_loss(model(x), y);
      loss.backward();
      opt.step();
      epoch_loss += loss.item() / 4;
    }
  }
  CHECK(epoch_loss < 0.01);
  for (std::size_t i = 0; i < 4; ++i) {
    const double p = model(ag::Tensor({rows[i][0], rows[i][1]})).item();
    CHECK_MESSAGE((p > 0.5) == (labels[i] > 0.5), "row " << i << " p=" << p);
  }
}
