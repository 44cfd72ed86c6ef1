// summary(): rows in call order, output shapes, parameter counts, nesting.
#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("summary: layers, output shapes and parameter counts") {
  ag::Generator gen(5);
  nn::Sequential m(std::make_shared<nn::Dense>(3, 8, gen), std::make_shared<nn::ReLU>(),
                   std::make_shared<nn::Dense>(8, 2, gen), std::make_shared<nn::Softmax>());
  m.train();
  const std::string s = nn::summary(m, {5, 3});
  INFO(s);
  CHECK(contains(s, "Model: Sequential (input [5, 3], float32)"));
  CHECK(contains(s, "0 (Dense(3 -> 8))"));
  CHECK(contains(s, "1 (ReLU)"));
  CHECK(contains(s, "2 (Dense(8 -> 2))"));
  CHECK(contains(s, "3 (Softmax(axis=-1))"));
  CHECK(contains(s, "[5, 8]"));
  CHECK(contains(s, "32"));  // 3·8 + 8
  CHECK(contains(s, "18"));  // 8·2 + 2
  CHECK(contains(s, "Output shape: [5, 2]"));
  CHECK(contains(s, "Total params: 50"));
  CHECK(m.is_training());  // restored
  // rows appear in call order: the row of layer 0 comes before layer 2's
  CHECK(s.find("0 (Dense") < s.find("2 (Dense"));

  // nested modules are indented under their container; a user Module's own parameters get a row
  Net net(gen);
  const std::string t = nn::summary(net, {1, 3});
  INFO(t);
  CHECK(contains(t, "(root) (Net)"));
  CHECK(contains(t, "fc (Dense(3 -> 4))"));
  CHECK(contains(t, "layers (Sequential)"));
  CHECK(contains(t, "  layers.1 (Dense(4 -> 2, no bias))"));
  CHECK(contains(t, "Total params: 26"));
  // a wrong input shape propagates the layer's error
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::summary(m, {5, 4}); }), "Dense(3 -> 8)"));
}

TEST_CASE("summary: buffers are counted apart from the parameters") {
  ag::nn::Sequential m(std::make_shared<ag::nn::Dense>(3, 4), std::make_shared<ag::nn::BatchNorm1d>(4));
  const std::string s = ag::nn::summary(m, {2, 3});
  CHECK(contains(s, "Total params: 24"));  // 12 + 4 weights and biases, 4 + 4 affine
  CHECK(contains(s, "Buffers: 3 (9 elements)"));  // running_mean [4], running_var [4], num_batches_tracked []
  CHECK_FALSE(contains(ag::nn::summary(*std::make_shared<ag::nn::Dense>(3, 4), {2, 3}), "Buffers"));
}

namespace {
// (x, h) -> (y, h'): a module with two inputs and two outputs, around an Embedding whose ids
// must be in range (so zeros of a shape would not do for every input).
struct TwoInTwoOut : nn::Module {
  std::shared_ptr<nn::Embedding> emb;
  std::shared_ptr<nn::Dense> fc;
  explicit TwoInTwoOut(ag::Generator& gen) {
    emb = register_module("emb", std::make_shared<nn::Embedding>(5, 3, gen));
    fc = register_module("fc", std::make_shared<nn::Dense>(3, 3, gen));
  }
  std::size_t num_inputs() const override { return 2; }
  ag::TensorList forward_list(const ag::TensorList& in) override {
    ag::Tensor y = (*fc)((*emb)(in[0])) + in[1];
    return {y, ag::sum(y, {1})};
  }
  std::string type_name() const override { return "TwoInTwoOut"; }
};
}  // namespace

TEST_CASE("summary: on given inputs, several inputs and outputs") {
  ag::Generator gen(3);
  TwoInTwoOut m(gen);
  const ag::Tensor ids = ag::tensor(std::vector<std::int64_t>{4, 0}, {2});
  const std::string s = nn::summary(m, ag::TensorList{ids, ag::zeros({2, 3})});
  INFO(s);
  CHECK(contains(s, "Model: TwoInTwoOut (inputs [2] int64, [2, 3] float32)"));
  CHECK(contains(s, "emb (Embedding(5, 3))"));
  CHECK(contains(s, "Output shape: [2, 3], [2]"));
  CHECK(contains(s, "Total params: 27"));  // 5·3 + 3·3 + 3

  // one given tensor: the same table as for a shape, the values as given
  ag::Generator g2(5);
  nn::Sequential seq(std::make_shared<nn::Embedding>(4, 2, g2), std::make_shared<nn::ReLU>());
  const std::string t = nn::summary(seq, ag::tensor(std::vector<std::int64_t>{3, 1, 2}, {3}));
  INFO(t);
  CHECK(contains(t, "Model: Sequential (input [3], int64)"));
  CHECK(contains(t, "0 (Embedding(4, 2))"));
  CHECK(contains(t, "Output shape: [3, 2]"));
  // ids out of range: the layer's error, and the hooks are gone afterwards
  CHECK_THROWS_AS(nn::summary(seq, ag::tensor(std::vector<std::int64_t>{7}, {1})), ag::IndexError);
  CHECK(seq(ag::tensor(std::vector<std::int64_t>{1}, {1})).shape() == ag::Shape{1, 2});
}
