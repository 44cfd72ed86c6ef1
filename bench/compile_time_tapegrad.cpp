// A small user program for bench/compile-time: the public headers, a model, a training loop.
// Only its compile time is measured (it is also a working program: it prints the loss).
#include <ag/ag.hpp>
#include <ag/nn.hpp>

#include <cstdio>
#include <memory>

struct Mlp : ag::nn::Module {
  std::shared_ptr<ag::nn::Dense> fc1, fc2;
  Mlp() {
    fc1 = register_module("fc1", std::make_shared<ag::nn::Dense>(64, 128));
    fc2 = register_module("fc2", std::make_shared<ag::nn::Dense>(128, 10));
  }
  ag::Tensor forward(const ag::Tensor& x) override { return (*fc2)(ag::relu((*fc1)(x))); }
  std::string type_name() const override { return "Mlp"; }
};

int main() {
  ag::manual_seed(1);
  Mlp model;
  ag::nn::SGD opt(model.parameters(), 0.01, 0.9);
  const ag::Tensor x = ag::rand({32, 64});
  const ag::Tensor y = ag::argmax(ag::randn({32, 10}), 1);
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    ag::Tensor loss = ag::nn::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    if (step % 20 == 0) std::printf("step %d loss %.4f\n", step, loss.item());
  }
  return 0;
}
