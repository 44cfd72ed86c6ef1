// The README's "Convolutional networks" and "Recurrent networks" snippets (excerpts of this file),
// run with their shapes and values checked.
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "ag/nn.hpp"

namespace nn = ag::nn;

TEST_CASE("README: a convolutional network") {
  ag::Generator gen(0);
  nn::Sequential model(
      std::make_shared<nn::Conv2d>(1, 8, 3, gen, ag::Conv2dOptions().padding(1)), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(2),                                            // [N, 8, 4, 4]
      std::make_shared<nn::Conv2d>(8, 16, 3, gen, ag::Conv2dOptions().padding("same")), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(),  // [N, 16]
      std::make_shared<nn::Dense>(16, 10, gen));
  std::string table = nn::summary(model, {64, 1, 8, 8});             // shapes and parameter counts
  ag::Tensor x = ag::randn({64, 1, 8, 8}, gen);
  ag::Tensor loss = nn::cross_entropy(model(x), ag::tensor(std::vector<std::int64_t>(64, 3), {64}));
  loss.backward();                                                   // every weight gets a gradient
  ag::Tensor y = ag::conv2d(x, ag::randn({4, 1, 3, 3}, gen), {}, /*stride=*/2, /*padding=*/1);  // [64, 4, 4, 4]

  CHECK(table.find("Output shape: [64, 10]") != std::string::npos);
  CHECK(table.find("Total params: 1418") != std::string::npos);  // 80 + 1168 + 170
  CHECK(y.shape() == ag::Shape{64, 4, 4, 4});
  for (const ag::Tensor& p : model.parameters()) CHECK(p.grad().defined());
}

TEST_CASE("README: a recurrent network, trained by truncated backpropagation through time") {
  ag::Generator gen(1);
  nn::LSTM lstm(nn::LSTMOptions(/*input_size=*/4, /*hidden_size=*/16).num_layers(2).batch_first(true), gen);
  nn::Dense head(16, 1, gen);
  std::vector<ag::Tensor> params = lstm.parameters();
  for (const ag::Tensor& p : head.parameters()) params.push_back(p);
  nn::Adam opt(params, 0.01);
  ag::Tensor series = ag::randn({8, 64, 4}, gen);                    // [batch, time, features]
  ag::Tensor h, c;                                                   // undefined: zeros
  double first = 0, last = 0;
  for (int epoch = 0; epoch < 30; ++epoch) {
    h = c = ag::Tensor();
    for (std::ptrdiff_t t = 0; t + 16 < 64; t += 16) {               // chunks of 16 steps
      ag::Tensor x = ag::slice(series, 1, t, t + 16);
      ag::Tensor target = ag::slice(ag::slice(series, 1, t + 1, t + 17), 2, 0, 1);  // next step, feature 0
      auto [y, h_n, c_n] = lstm(x, h, c);                            // y [8, 16, 16]
      ag::Tensor loss = nn::mse_loss(head(y), target);
      opt.zero_grad();
      loss.backward();
      opt.step();
      h = h_n.detach();                                              // carry the state, cut the graph
      c = c_n.detach();
      (epoch == 0 && t == 0 ? first : last) = loss.item();
    }
  }
  CHECK(last < first);
}
