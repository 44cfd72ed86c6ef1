// Writes the seed corpus of fuzz_model_file into the directory given as argv[1]: valid files made
// with nn::save / nn::save_optimizer (so they follow the format as the library writes it), each
// loaded back as a check; with more directories, .npy, .safetensors and .npz seeds too.
// Usage: fuzz_make_corpus <model dir> [<npy dir> <safetensors dir> [<npz dir>]]
#include <cstdio>
#include <exception>
#include <string>

#include "ag/io.hpp"
#include "fuzz_util.hpp"

namespace nn = ag::nn;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s <model corpus dir> [<npy corpus dir> <safetensors corpus dir> [<npz corpus dir>]]\n",
                 argv[0]);
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
    if (argc >= 4) {  // every dtype, a 0-d, an empty and a rank-3 tensor; metadata
      const std::string npy = argv[2], st = argv[3];
      const ag::io::NamedTensors ts = {
          {"w", ag::tensor(std::vector<float>{1.5f, -2.f, 0.f, 7.f, 1e-3f, 9.f}, {2, 3})},
          {"b", ag::tensor(std::vector<double>{0.25, -1.0}, {2})},
          {"n", ag::tensor(std::vector<std::int64_t>{42}, {})},
          {"i", ag::tensor(std::vector<std::int32_t>{-1, 2, 3, 4}, {2, 1, 2})},
          {"u", ag::tensor(std::vector<std::uint8_t>{0, 255}, {2})},
          {"m", ag::tensor(std::vector<bool>{true, false}, {2})},
          {"e", ag::zeros({0, 3})}};
      for (const auto& [name, t] : ts) {
        ag::io::save_npy(npy + "/" + name + ".npy", t);
        if (ag::io::load_npy(npy + "/" + name + ".npy").shape() != t.shape()) return 1;
      }
      ag::io::save_safetensors(st + "/all.safetensors", ts, {{"format", "pt"}});
      ag::io::save_safetensors(st + "/one.safetensors", {ts[0]});
      if (ag::io::load_safetensors(st + "/all.safetensors").tensors.size() != ts.size()) return 1;
#ifdef TAPEGRAD_HAVE_LIBZIP
      if (argc == 5) {  // stored and deflated archives of them, one member, none
        const std::string npz = argv[4];
        ag::io::save_npz(npz + "/all_stored.npz", ts);
        ag::io::save_npz(npz + "/all_deflated.npz", ts, true);
        ag::io::save_npz(npz + "/one_deflated.npz", {ts[0]}, true);
        ag::io::save_npz(npz + "/none.npz", {});
        if (ag::io::load_npz(npz + "/all_deflated.npz").size() != ts.size()) return 1;
      }
#endif
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
