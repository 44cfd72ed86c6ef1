// The same small program written against libtorch, for bench/compile-time.
#include <torch/torch.h>

#include <cstdio>

struct Mlp : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  Mlp() {
    fc1 = register_module("fc1", torch::nn::Linear(64, 128));
    fc2 = register_module("fc2", torch::nn::Linear(128, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2->forward(torch::relu(fc1->forward(x))); }
};

int main() {
  torch::manual_seed(1);
  Mlp model;
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  const torch::Tensor x = torch::rand({32, 64});
  const torch::Tensor y = torch::argmax(torch::randn({32, 10}), 1);
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(x), y);
    loss.backward();
    opt.step();
    if (step % 20 == 0) std::printf("step %d loss %.4f\n", step, loss.item<float>());
  }
  return 0;
}
