// The README's "Writing your own module" examples (quoted there verbatim: install.readme_snippet).
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include <doctest/doctest.h>

#include "ag/nn.hpp"

namespace {

// A layer with state that is not trained: a running mean of its inputs (a buffer).
struct Center : ag::nn::Module {
  ag::Tensor running_mean, seen;
  explicit Center(std::size_t features) {
    running_mean = register_buffer("running_mean", ag::zeros({features}));
    seen = register_buffer("seen", ag::zeros({}, ag::i64));  // an int64 counter
  }
  ag::Tensor forward(const ag::Tensor& x) override {
    if (is_training()) {
      ag::NoGradGuard no_grad;  // buffers change in place, outside the graph
      running_mean.copy_(running_mean * 0.9 + x.mean({0}) * 0.1);
      seen.copy_(seen + 1);
    }
    return x - running_mean;
  }
  std::string type_name() const override { return "Center"; }
};

// A module taking and returning two tensors: (x, h) -> (y, h').
struct Cell : ag::nn::Module {
  std::shared_ptr<ag::nn::Dense> wx, wh;
  Cell(std::size_t in, std::size_t hidden) {
    wx = register_module("wx", std::make_shared<ag::nn::Dense>(in, hidden));
    wh = register_module("wh", std::make_shared<ag::nn::Dense>(hidden, hidden, false));
  }
  std::size_t num_inputs() const override { return 2; }
  ag::TensorList forward_list(const ag::TensorList& in) override {
    ag::Tensor h = ag::tanh((*wx)(in[0]) + (*wh)(in[1]));
    return {h, h};
  }
  std::pair<ag::Tensor, ag::Tensor> operator()(const ag::Tensor& x, const ag::Tensor& h) {
    ag::TensorList out = call({x, h});  // hooks and summary() see this call
    return {out[0], out[1]};
  }
  std::string type_name() const override { return "Cell"; }
};

}  // namespace

TEST_CASE("README module: buffers") {
  Center c(2);
  c(ag::tensor({{1.0, 2.0}, {3.0, 4.0}}));
  CHECK(c.state_dict().size() == 2);  // running_mean and seen: saved and loaded with the model
  CHECK(c.seen.item<std::int64_t>() == 1);
  CHECK(c.running_mean.to_vector<double>()[1] == doctest::Approx(0.3));
}

TEST_CASE("README module: a multi-tensor module and hooks") {
  Cell cell(3, 4);
  ag::Tensor h = ag::zeros({1, 4});
  ag::Tensor x = ag::ones({1, 3});
  for (int t = 0; t < 5; ++t) std::tie(std::ignore, h) = cell(x, h);

  // Look inside: what a layer computed, and the gradient norm at its output.
  std::map<std::string, ag::Tensor> features;
  std::map<std::string, double> grad_norms;
  for (auto& [name, m] : cell.named_modules()) {
    m->register_forward_hook([&, name = name](ag::nn::Module&, const ag::TensorList&, const ag::TensorList& out) {
      features[name] = out[0];
    });
    m->register_full_backward_hook([&, name = name](ag::nn::Module&, const ag::TensorList&, const ag::TensorList& grad_out) {
      grad_norms[name] = ag::norm(grad_out[0]).item();
    });
  }
  auto [y, h2] = cell(x, h);
  y.sum().backward();
  CHECK(features["wx"].shape() == ag::Shape{1, 4});
  CHECK(grad_norms.count("wh") == 1);
  CHECK(h2.shape() == ag::Shape{1, 4});
}
