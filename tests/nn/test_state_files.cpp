// save_state / load_state: .safetensors and .npz files with PyTorch's names and layouts (Dense
// weights transposed to Linear's [out, in]), round trips of every layer kind with buffers, and
// mismatch reports that change nothing.
#include <cstdio>
#include <string>

#include <doctest/doctest.h>

#include "ag/io.hpp"
#include "ag/nn.hpp"
#include "support/module_util.hpp"

namespace nn = ag::nn;
using nn_test::contains;
using nn_test::error_of;

namespace {
std::vector<float> vals(const ag::Tensor& t) { return t.to_vector<float>(); }
}  // namespace

TEST_CASE("save_state: PyTorch's names and Linear's [out, in] layout, load_state restores exactly") {
  const std::string path = "state_test_mlp.safetensors";
  ag::Generator gen(3);
  nn::Sequential a(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::ReLU>(),
                   std::make_shared<nn::BatchNorm1d>(4), std::make_shared<nn::Dense>(4, 2, gen));
  a.train();
  a(ag::randn({8, 3}, gen));  // running statistics move
  nn::save_state(a, path, nn::StateLayout::pytorch, {{"format", "pt"}});

  const ag::io::SafetensorsFile f = ag::io::load_safetensors(path);
  CHECK(f.metadata.at("format") == "pt");
  std::map<std::string, ag::Tensor> m(f.tensors.begin(), f.tensors.end());
  REQUIRE(m.count("0.weight"));
  CHECK(m["0.weight"].shape() == ag::Shape{4, 3});  // torch.nn.Linear(3, 4).weight
  CHECK(vals(m["0.weight"]) == vals(ag::transpose(static_cast<nn::Dense&>(*a[0]).weight())));
  CHECK(m["0.bias"].shape() == ag::Shape{4});
  CHECK(m["3.weight"].shape() == ag::Shape{2, 4});
  CHECK(m.count("2.running_mean") == 1);
  CHECK(m["2.num_batches_tracked"].dtype() == ag::i64);

  ag::Generator other(99);
  nn::Sequential b(std::make_shared<nn::Dense>(3, 4, other), std::make_shared<nn::ReLU>(),
                   std::make_shared<nn::BatchNorm1d>(4), std::make_shared<nn::Dense>(4, 2, other));
  const nn::LoadResult r = nn::load_state(b, path);
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  a.eval();
  b.eval();
  const ag::Tensor x = ag::randn({5, 3}, gen);
  CHECK(vals(a(x)) == vals(b(x)));

  // tapegrad's own layout: no transpose
  nn::save_state(a, path, nn::StateLayout::tapegrad);
  CHECK(ag::io::load_safetensors(path).tensors[0].second.shape() == ag::Shape{3, 4});
  std::remove(path.c_str());
}

TEST_CASE("save_state: conv, recurrent, embedding and norm layers keep their names and shapes") {
  const std::string path = "state_test_layers.safetensors";
  ag::Generator gen(5);
  struct Net : nn::Module {
    std::shared_ptr<nn::Conv2d> conv;
    std::shared_ptr<nn::LSTM> lstm;
    std::shared_ptr<nn::Embedding> emb;
    std::shared_ptr<nn::LayerNorm> norm;
    explicit Net(ag::Generator& g) {
      conv = register_module("conv", std::make_shared<nn::Conv2d>(2, 3, 3, g));
      lstm = register_module("lstm", std::make_shared<nn::LSTM>(nn::LSTMOptions(4, 5), g));
      emb = register_module("emb", std::make_shared<nn::Embedding>(6, 4, g));
      norm = register_module("norm", std::make_shared<nn::LayerNorm>(ag::Shape{5}));
    }
    std::string type_name() const override { return "Net"; }
  };
  Net a(gen);
  nn::save_state(a, path);
  std::map<std::string, ag::Shape> shapes;
  for (const auto& [n, t] : ag::io::load_safetensors(path).tensors) shapes[n] = t.shape();
  CHECK(shapes.at("conv.weight") == ag::Shape{3, 2, 3, 3});
  CHECK(shapes.at("lstm.weight_ih_l0") == ag::Shape{20, 4});
  CHECK(shapes.at("emb.weight") == ag::Shape{6, 4});
  CHECK(shapes.at("norm.weight") == ag::Shape{5});
  ag::Generator g2(6);
  Net b(g2);
  nn::load_state(b, path);
  CHECK(vals(b.lstm->layer_parameters(0)[1]) == vals(a.lstm->layer_parameters(0)[1]));
  CHECK(vals(b.conv->weight()) == vals(a.conv->weight()));
  std::remove(path.c_str());
}

TEST_CASE("load_state: mismatches are reported together and change nothing, non-strict loads the rest") {
  const std::string path = "state_test_mismatch.safetensors";
  ag::Generator gen(8);
  nn::Sequential a(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::Dense>(4, 2, gen));
  nn::save_state(a, path);
  nn::Sequential wrong(std::make_shared<nn::Dense>(3, 5, gen), std::make_shared<nn::Dense>(5, 2, gen),
                       std::make_shared<nn::Dense>(2, 2, gen));
  const auto before = vals(static_cast<nn::Dense&>(*wrong[2]).weight());
  const std::string msg = error_of<ag::ValueError>([&] { nn::load_state(wrong, path); });
  CHECK(contains(msg, "'0.weight' has shape [3, 4] in the state dict but [3, 5] in the module"));
  CHECK(contains(msg, "the file stores them transposed"));
  CHECK(contains(msg, "'1.weight' has shape"));
  CHECK(contains(msg, "missing: '2.weight', '2.bias'"));
  CHECK(contains(msg, "nothing was loaded"));
  CHECK(vals(static_cast<nn::Dense&>(*wrong[2]).weight()) == before);

  nn::Sequential bigger(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::Dense>(4, 2, gen),
                        std::make_shared<nn::Dense>(2, 2, gen));
  const nn::LoadResult r = nn::load_state(bigger, path, /*strict=*/false);
  CHECK(r.missing == std::vector<std::string>{"2.weight", "2.bias"});
  CHECK(vals(static_cast<nn::Dense&>(*bigger[0]).weight()) == vals(static_cast<nn::Dense&>(*a[0]).weight()));
  CHECK_THROWS_AS(nn::save_state(a, "model.pt"), ag::ValueError);
  std::remove(path.c_str());
  CHECK_THROWS_AS(nn::load_state(a, path), ag::IOError);  // gone
}

TEST_CASE("save_state / load_state: a .npz path writes and reads a NumPy archive with PyTorch's names") {
  const std::string path = "state_test_mlp.npz";
  ag::Generator gen(4);
  nn::Sequential a(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::ReLU>(),
                   std::make_shared<nn::BatchNorm1d>(4), std::make_shared<nn::Dense>(4, 2, gen));
  a.train();
  a(ag::randn({8, 3}, gen));
  // .npz has no metadata
  const std::string msg = error_of<ag::ValueError>([&] { nn::save_state(a, path, nn::StateLayout::pytorch, {{"k", "v"}}); });
  CHECK(contains(msg, "no place for metadata"));
#ifdef TAPEGRAD_HAVE_LIBZIP
  nn::save_state(a, path);
  const ag::io::NamedTensors f = ag::io::load_npz(path);
  std::vector<std::string> names;
  for (const auto& [name, t] : f) names.push_back(name);
  std::vector<std::string> want;
  for (const auto& [name, t] : a.state_dict()) want.push_back(name);
  CHECK(names == want);  // state_dict order, PyTorch's names
  std::map<std::string, ag::Tensor> m(f.begin(), f.end());
  CHECK(m["0.weight"].shape() == ag::Shape{4, 3});  // torch.nn.Linear(3, 4).weight
  CHECK(vals(m["0.weight"]) == vals(ag::transpose(static_cast<nn::Dense&>(*a[0]).weight())));
  CHECK(m["2.num_batches_tracked"].dtype() == ag::i64);

  ag::Generator other(98);
  nn::Sequential b(std::make_shared<nn::Dense>(3, 4, other), std::make_shared<nn::ReLU>(),
                   std::make_shared<nn::BatchNorm1d>(4), std::make_shared<nn::Dense>(4, 2, other));
  const nn::LoadResult r = nn::load_state(b, path);
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  a.eval();
  b.eval();
  const ag::Tensor x = ag::randn({5, 3}, gen);
  CHECK(vals(a(x)) == vals(b(x)));
  std::remove(path.c_str());
#else
  CHECK(contains(error_of<ag::IOError>([&] { nn::save_state(a, path); }), "built without"));
#endif
}
