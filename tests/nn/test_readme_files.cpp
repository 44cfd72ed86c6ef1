// The README's "Saving, loading and sharing models" snippet (an excerpt of this test), checked.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <doctest/doctest.h>

#include "ag/io.hpp"
#include "ag/nn.hpp"

namespace nn = ag::nn;

TEST_CASE("README: files other programs read") {
  ag::Generator gen(0);
  nn::Sequential model(std::make_shared<nn::Dense>(4, 8, gen), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::Dense>(8, 3, gen));
  // PyTorch: model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
  //          model.load_state_dict(safetensors.torch.load_file("mlp.safetensors"))
  nn::save_state(model, "mlp.safetensors");
  nn::LoadResult r = nn::load_state(model, "mlp.safetensors");  // strict: all names, shapes, dtypes
  auto file = ag::io::load_safetensors("mlp.safetensors");       // "0.weight" [8, 4], "0.bias" [8], ...

  ag::io::save_npy("x.npy", ag::randn({2, 4}, gen));             // numpy.load("x.npy")
  ag::Tensor x = ag::io::load_npy("x.npy");                      // np.save'd arrays: C or Fortran order

  CHECK(r.missing.empty());
  CHECK(file.tensors[0].first == "0.weight");
  CHECK(file.tensors[0].second.shape() == ag::Shape{8, 4});
  CHECK(model(x).shape() == ag::Shape{2, 3});
  std::remove("mlp.safetensors");
  std::remove("x.npy");
}

TEST_CASE("README: resumable training") {
  ag::Generator gen(0);
  ag::Tensor x = ag::randn({64, 4}, gen);
  nn::Dataset train(x, ag::argmax(x, 1));  // 4 classes: which feature is largest
  auto make = [&gen] {
    return nn::Sequential(std::make_shared<nn::Dense>(4, 8, gen), std::make_shared<nn::ReLU>(),
                          std::make_shared<nn::Dropout>(0.1), std::make_shared<nn::Dense>(8, 4, gen));
  };
  nn::Sequential model = make(), model2 = make();
  nn::Adam opt(model.parameters(), 0.01), opt2(model2.parameters(), 0.01);
  nn::FitOptions o;
  o.verbosity = nn::Verbosity::silent;
  o.epochs = 3;
  nn::ModelCheckpointOptions best;
  best.save_best_only = true;  // monitor "val_loss" by default; "loss" here
  best.monitor = "loss";
  best.weights_only = true;    // the model's state only, as .safetensors (PyTorch's layout)

  o.callbacks = {std::make_shared<nn::ModelCheckpoint>("run.ckpt"),  // every epoch and the last
                 std::make_shared<nn::ModelCheckpoint>("best.safetensors", best)};
  nn::fit(model, nn::CrossEntropyLoss(), opt, train, o);    // stopped after 3 of 6 epochs
  // ... later, in a process set up the same way (model, optimizer, callbacks, options):
  o.epochs = 6;
  o.resume_from = "run.ckpt";
  nn::History h = nn::fit(model2, nn::CrossEntropyLoss(), opt2, train, o);  // epochs 4 to 6

  CHECK(h.epochs() == 6);
  CHECK(h.loss[5] < h.loss[0]);
  std::remove("run.ckpt");
  std::remove("best.safetensors");
}

// The .npz lines proposed for the same README section (an excerpt of this test case): a state
// dict and named arrays as NumPy archives.
TEST_CASE("README: NumPy .npz archives") {
#ifdef TAPEGRAD_HAVE_LIBZIP
  ag::Generator gen(0);
  nn::Sequential model(std::make_shared<nn::Dense>(4, 8, gen), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::Dense>(8, 3, gen));
  nn::save_state(model, "mlp.npz");  // NumPy: dict(np.load("mlp.npz")) -> "0.weight" (8, 4), ...
  ag::io::save_npz("arrays.npz", {{"w", ag::randn({3, 2}, gen)}, {"step", ag::scalar(7, ag::i64)}},
                   /*compressed=*/true);  // what np.savez_compressed writes
  ag::io::NamedTensors arrays = ag::io::load_npz("arrays.npz");  // [("w", [3, 2]), ("step", [])], in order

  const ag::io::NamedTensors state = ag::io::load_npz("mlp.npz");
  REQUIRE(state.size() == 4);
  CHECK(state[0].first == "0.weight");
  CHECK(state[0].second.shape() == ag::Shape{8, 4});
  CHECK(nn::load_state(model, "mlp.npz").missing.empty());
  REQUIRE(arrays.size() == 2);
  CHECK(arrays[0].first == "w");
  CHECK(arrays[0].second.shape() == ag::Shape{3, 2});
  CHECK(arrays[1].first == "step");
  CHECK(arrays[1].second.to_vector<std::int64_t>() == std::vector<std::int64_t>{7});
  std::remove("mlp.npz");
  std::remove("arrays.npz");
#else
  CHECK_THROWS_AS(ag::io::load_npz("arrays.npz"), ag::IOError);  // built without libzip
#endif
}
