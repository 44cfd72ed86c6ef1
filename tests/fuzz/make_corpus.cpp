// Writes the seed corpus of fuzz_model_file into the directory given as argv[1]: valid files made
// with nn::save / nn::save_optimizer (so they follow the format as the library writes it), each
// loaded back as a check. Usage: fuzz_make_corpus <dir>
#include <cstdio>
#include <exception>
#include <string>

#include "fuzz_util.hpp"

namespace nn = ag::nn;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    // the fuzz target's model, in both dtypes
    auto m32 = fuzz::make_model(ag::f32, 1), m64 = fuzz::make_model(ag::f64, 2);
    nn::save(*m32, dir + "/model_f32.tgp");
    nn::save(*m64, dir + "/model_f64.tgp");
    // optimizer states for it, after a step
    for (auto& p : m32->parameters()) p.set_grad(ag::full(p.shape(), 0.25, p.dtype()));
    nn::Adam adam(m32->parameters(), 1e-3, nn::Betas{}, 1e-8, 0.0, true);
    adam.step();
    nn::save_optimizer(adam, dir + "/adam.tgp");
    nn::SGD sgd(m32->parameters(), 0.1, 0.9);
    sgd.step();
    nn::save_optimizer(sgd, dir + "/sgd.tgp");
    // a 0-d, an empty and a rank-3 entry; and a file with no entries
    nn::save_tensors(dir + "/odd_shapes.tgp",
                     {{"scalar", ag::scalar(2.5, ag::f64)}, {"empty", ag::zeros({0, 3})},
                      {"cube", ag::ones({2, 1, 2}, ag::f64)}},
                     nn::FileKind::parameters, "Odd");
    nn::save_tensors(dir + "/no_entries.tgp", {}, nn::FileKind::optimizer, "SGD");
    // every file is a valid input: it loads back
    auto check = fuzz::make_model(ag::f32);
    nn::load(*check, dir + "/model_f32.tgp");
    auto check64 = fuzz::make_model(ag::f64);
    nn::load(*check64, dir + "/model_f64.tgp");
    nn::Adam adam2(check->parameters(), 1e-3, nn::Betas{}, 1e-8, 0.0, true);
    nn::load_optimizer(adam2, dir + "/adam.tgp");
    nn::SGD sgd2(check->parameters(), 0.1, 0.9);
    nn::load_optimizer(sgd2, dir + "/sgd.tgp");
    if (nn::load_tensors(dir + "/odd_shapes.tgp").entries.size() != 3) return 1;
    if (!nn::load_tensors(dir + "/no_entries.tgp").entries.empty()) return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
