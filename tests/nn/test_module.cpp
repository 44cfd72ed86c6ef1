// Module: registration, recursive names, train/eval, zero_grad, to(dtype), subclassing.
#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("Module: named_parameters are recursive, dotted and in registration order") {
  ag::Generator gen(1);
  Net net(gen);
  auto np = net.named_parameters();
  std::vector<std::string> names;
  for (auto& p : np) names.push_back(p.first);
  // own parameters first, then children in registration order
  CHECK(names == std::vector<std::string>{"scale", "fc.weight", "fc.bias", "layers.1.weight"});
  CHECK(np[1].second.shape() == ag::Shape{3, 4});
  CHECK(np[3].second.shape() == ag::Shape{4, 2});
  CHECK(net.num_parameters() == 2 + 12 + 4 + 8);
  CHECK(net.parameters().size() == 4);
  for (auto& p : np) {
    CHECK(p.second.requires_grad());
    CHECK(p.second.is_leaf());
  }
  auto mods = net.named_modules();
  REQUIRE(mods.size() == 4);
  CHECK(mods[0].first == "fc");
  CHECK(mods[1].first == "layers");
  CHECK(mods[2].first == "layers.0");
  CHECK(mods[3].first == "layers.1");
  CHECK(mods[3].second->type_name() == "Dense");
}

TEST_CASE("Module: trainable_parameters are the parameters that require grad, in order") {
  ag::Generator gen(1);
  Net net(gen);
  CHECK(net.trainable_parameters().size() == 4);
  ag::Tensor(net.fc->weight()).requires_grad_(false);  // freeze the first layer
  ag::Tensor(net.fc->bias()).requires_grad_(false);
  auto named = net.named_trainable_parameters();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "scale");
  CHECK(named[1].first == "layers.1.weight");
  auto t = net.trainable_parameters();
  REQUIRE(t.size() == 2);
  CHECK(t[0].id() == net.scale.id());
  CHECK(t[1].id() == net.named_parameters()[3].second.id());
  CHECK(net.parameters().size() == 4);  // parameters() still lists every parameter (save/load)
  CHECK(net.num_parameters() == 2 + 12 + 4 + 8);
  for (auto& p : net.parameters()) p.requires_grad_(false);
  CHECK(net.trainable_parameters().empty());
  CHECK(net.named_trainable_parameters().empty());
  net.scale.requires_grad_(true);  // unfreezing brings it back
  REQUIRE(net.trainable_parameters().size() == 1);
  CHECK(net.trainable_parameters()[0].id() == net.scale.id());
}

TEST_CASE("Module: a user subclass computes its own forward and trains through backward") {
  ag::Generator gen(2);
  Net net(gen);
  net.to(ag::f64);
  ag::Tensor x({{0.5, -1.0, 2.0}}, ag::f64);
  ag::Tensor y = net(x);
  // by hand: tanh(x·W1 + b1)·W2 · scale
  ag::Tensor h = ag::tanh(ag::matmul(x, net.fc->weight()) + net.fc->bias());
  auto* d2 = dynamic_cast<nn::Dense*>((*net.layers)[1].get());
  REQUIRE(d2 != nullptr);
  ag::Tensor want = ag::matmul(h, d2->weight());
  check_values(y, {1, 2}, values(want));
  y.sum().backward();
  for (auto& p : net.named_parameters()) CHECK_MESSAGE(p.second.grad().defined(), p.first);
  // d(sum y)/d scale = the unscaled output
  check_values(net.scale.grad(), {2}, values(want));
  net.zero_grad();
  for (auto& p : net.named_parameters()) CHECK_FALSE(p.second.grad().defined());
}

TEST_CASE("Module: registration errors") {
  struct Bad : nn::Module {
    ag::Tensor forward(const ag::Tensor& x) override { return x; }
    std::string type_name() const override { return "Bad"; }
    void dup() {
      register_parameter("w", ag::zeros({2}));
      register_parameter("w", ag::zeros({2}));
    }
    void dotted() { register_parameter("a.b", ag::zeros({2})); }
    void non_leaf() {
      ag::Tensor a = ag::ones({2}, ag::f32, true);
      register_parameter("p", a * 2.0);
    }
    void null_module() { register_module("m", std::shared_ptr<nn::Dense>()); }
  };
  Bad b;
  CHECK(contains(error_of<ag::ValueError>([&] { b.dup(); }), "'w' is already registered"));
  CHECK(contains(error_of<ag::ValueError>([&] { b.dotted(); }), "invalid name 'a.b'"));
  CHECK(contains(error_of<ag::GradError>([&] { b.non_leaf(); }), "must be a leaf"));
  CHECK(contains(error_of<ag::ValueError>([&] { b.null_module(); }), "'m' is undefined"));
}

TEST_CASE("Module: tied parameters are listed once") {
  struct Tied : nn::Module {
    std::shared_ptr<nn::Dense> a;
    Tied() {
      a = register_module("a", std::make_shared<nn::Dense>(2, 2));
      register_module("b", a);  // the same layer twice
    }
    ag::Tensor forward(const ag::Tensor& x) override { return x; }
    std::string type_name() const override { return "Tied"; }
  };
  Tied t;
  auto np = t.named_parameters();
  REQUIRE(np.size() == 2);
  CHECK(np[0].first == "a.weight");
  CHECK(np[1].first == "a.bias");
  CHECK(t.num_parameters() == 6);
}

TEST_CASE("Module: train/eval is recursive") {
  auto drop = std::make_shared<nn::Dropout>(0.5, std::uint64_t{3});
  nn::Sequential outer(std::make_shared<nn::Sequential>(drop), std::make_shared<nn::ReLU>());
  CHECK(outer.is_training());
  CHECK(drop->is_training());
  outer.eval();
  CHECK_FALSE(outer.is_training());
  CHECK_FALSE(drop->is_training());
  ag::Tensor x = ag::ones({4, 4});
  CHECK(values(outer(x)) == values(x));  // dropout is the identity in eval mode
  outer.train();
  CHECK(drop->is_training());
}

TEST_CASE("Module: to(dtype) converts parameters in place, they stay leaves with requires_grad") {
  ag::Generator gen(4);
  nn::Sequential m(std::make_shared<nn::Dense>(3, 2, gen));
  ag::Tensor w = m.parameters()[0];  // a handle held elsewhere (as an optimizer would)
  const std::vector<double> before = values(w);
  CHECK(m.dtype() == ag::f32);
  ag::Tensor y32 = m(ag::ones({1, 3}));
  y32.sum().backward();
  REQUIRE(w.grad().defined());

  m.to(ag::f64);
  CHECK(m.dtype() == ag::f64);
  CHECK(w.dtype() == ag::f64);  // the same handle sees the conversion
  CHECK(w.id() == m.parameters()[0].id());
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
  CHECK_FALSE(w.grad().defined());  // the float32 gradient was dropped
  CHECK(values(w) == before);       // float32 -> float64 is exact
  ag::Tensor y64 = m(ag::ones({1, 3}, ag::f64));
  CHECK(y64.dtype() == ag::f64);
  check_values(y64, {1, 2}, values(y32), 1e-6);
  y64.sum().backward();
  CHECK(w.grad().dtype() == ag::f64);
}
