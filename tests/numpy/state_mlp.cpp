// For the PyTorch cross-check (torch_check.py): a 4 -> 8 (ReLU) -> 3 MLP, the same architecture as
// torch.nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)), moved through .safetensors files.
//   state_mlp load STATE X.npy Y.npy         load STATE (PyTorch layout), write model(X)
//   state_mlp save SEED STATE X.npy Y.npy    initialise from SEED, save STATE, write model(X)
#include <cstdio>
#include <exception>
#include <string>

#include "ag/io.hpp"
#include "ag/nn.hpp"

namespace nn = ag::nn;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "load" && argc == 5) || (mode == "save" && argc == 6))) {
    std::fprintf(stderr, "usage: state_mlp load STATE X.npy Y.npy | state_mlp save SEED STATE X.npy Y.npy\n");
    return 2;
  }
  try {
    ag::Generator gen(mode == "save" ? std::stoull(argv[2]) : 1);
    nn::Sequential model(std::make_shared<nn::Dense>(4, 8, gen), std::make_shared<nn::ReLU>(),
                         std::make_shared<nn::Dense>(8, 3, gen));
    const int a = mode == "save" ? 3 : 2;
    if (mode == "load")
      nn::load_state(model, argv[a]);
    else
      nn::save_state(model, argv[a]);
    model.eval();
    ag::io::save_npy(argv[a + 2], model(ag::io::load_npy(argv[a + 1])));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "state_mlp: %s\n", e.what());
    return 1;
  }
  return 0;
}
