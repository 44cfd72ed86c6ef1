// Module API of issue 17: buffers, multi-tensor calls, ModuleList/ModuleDict, hooks, state dicts.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/nn.hpp"
#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// A layer with a trained scale, a float running mean (buffer), an int64 step counter (buffer) and
// a scratch buffer that is not persistent.
struct Counter : nn::Module {
  ag::Tensor scale, running, steps, scratch;
  Counter() {
    scale = register_parameter("scale", ag::ones({2}));
    running = register_buffer("running", ag::zeros({2}));
    steps = register_buffer("steps", ag::zeros({}, ag::i64));
    scratch = register_buffer("scratch", ag::zeros({3}), false);
  }
  ag::Tensor forward(const ag::Tensor& x) override {
    if (is_training()) {
      ag::NoGradGuard ng;
      running.copy_(running * 0.5 + ag::mean(x, {0}) * 0.5);
      steps.copy_(steps + 1);
    }
    return x * scale;
  }
  std::string type_name() const override { return "Counter"; }
};

// A two-in, two-out cell: (x, h) -> (y, h') with y = tanh(x·W + h), h' = y.
struct Cell : nn::Module {
  std::shared_ptr<nn::Dense> in;
  explicit Cell(std::size_t n) { in = register_module("in", std::make_shared<nn::Dense>(n, n, false, nn::Init::glorot_uniform, ag::f64)); }
  ag::TensorList forward_list(const ag::TensorList& xs) override {
    ag::Tensor y = ag::tanh((*in)(xs[0]) + xs[1]);
    return {y, y};
  }
  std::pair<ag::Tensor, ag::Tensor> operator()(const ag::Tensor& x, const ag::Tensor& h) {
    ag::TensorList r = call({x, h});
    return {r[0], r[1]};
  }
  std::size_t num_inputs() const override { return 2; }
  std::string type_name() const override { return "Cell"; }
};

// The single-tensor user model of the first wave, unchanged.
struct TinyNet : nn::Module {
  std::shared_ptr<nn::Dense> fc;
  TinyNet() { fc = register_module("fc", std::make_shared<nn::Dense>(2, 1)); }
  ag::Tensor forward(const ag::Tensor& x) override { return (*fc)(x); }
  std::string type_name() const override { return "TinyNet"; }
};

std::vector<std::string> names(const std::vector<std::pair<std::string, ag::Tensor>>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.first);
  return out;
}

}  // namespace

TEST_CASE("buffers: registered, walked, converted, not trained, saved") {
  nn::Sequential seq(std::make_shared<Counter>(), std::make_shared<Counter>());
  CHECK(names(seq.named_buffers()) == std::vector<std::string>{"0.running", "0.steps", "0.scratch", "1.running", "1.steps", "1.scratch"});
  CHECK(names(seq.named_parameters()) == std::vector<std::string>{"0.scale", "1.scale"});
  CHECK(names(seq.state_dict()) == std::vector<std::string>{"0.scale", "1.scale", "0.running", "0.steps", "1.running", "1.steps"});
  auto& c0 = static_cast<Counter&>(*seq[0]);
  seq(ag::tensor({{1, 2}, {3, 4}}));
  seq(ag::tensor({{1, 2}, {3, 4}}));
  check_values(c0.running, {2}, {1.5, 2.25});  // 0.5·(0.5·0 + 0.5·[2, 3]) + 0.5·[2, 3]
  CHECK(c0.steps.item<std::int64_t>() == 2);
  CHECK_FALSE(c0.running.requires_grad());
  // to(): floating buffers follow, integer ones keep their dtype
  seq.to(ag::f64);
  CHECK(c0.running.dtype() == ag::f64);
  CHECK(c0.scale.dtype() == ag::f64);
  CHECK(c0.steps.dtype() == ag::i64);
  CHECK(!error_of<ag::DtypeError>([&] { seq.to(ag::i64); }).empty());
  // a buffer that requires grad, a clash with a parameter name
  struct Bad : nn::Module {
    std::string type_name() const override { return "Bad"; }
    void add(const std::string& n, ag::Tensor t) { register_buffer(n, t); }
    void param(const std::string& n, ag::Tensor t) { register_parameter(n, t); }
  } bad;
  CHECK(contains(error_of<ag::GradError>([&] { bad.add("w", ag::ones({1}, ag::f32, true)); }), "must not require grad"));
  bad.param("w", ag::ones({1}));
  CHECK(contains(error_of<ag::ValueError>([&] { bad.add("w", ag::ones({1})); }), "already registered"));
  // save/load carries the buffers (the non-persistent one stays out)
  const std::string f = (std::filesystem::temp_directory_path() / "tapegrad-buffers.tgp").string();
  nn::save(seq, f);
  nn::Sequential other(std::make_shared<Counter>(), std::make_shared<Counter>());
  other.to(ag::f64);
  nn::load(other, f);
  std::filesystem::remove(f);
  check_values(static_cast<Counter&>(*other[0]).running, {2}, {1.5, 2.25});
  CHECK(static_cast<Counter&>(*other[0]).steps.item<std::int64_t>() == 2);
}

TEST_CASE("state_dict / load_state_dict: strict and not, every mismatch at once, nothing changed on failure") {
  TinyNet a, b;
  auto sd = a.state_dict();
  CHECK(names(sd) == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(sd[0].second.id() == a.fc->weight().id());  // the tensors themselves
  const nn::LoadResult ok = b.load_state_dict(sd);
  CHECK(ok.missing.empty());
  CHECK(b.fc->weight().to_vector<double>() == a.fc->weight().to_vector<double>());
  TinyNet c;
  const auto before = c.fc->weight().to_vector<double>();
  std::vector<std::pair<std::string, ag::Tensor>> bad = {{"fc.weight", ag::zeros({1, 2})},
                                                         {"fc.bias", ag::zeros({1}, ag::f64)},
                                                         {"fc.extra", ag::zeros({1})}};
  const std::string msg = error_of<ag::ValueError>([&] { c.load_state_dict(bad); });
  CHECK(contains(msg, "'fc.weight' has shape [1, 2] in the state dict but [2, 1]"));
  CHECK(contains(msg, "'fc.bias' is float64 in the state dict but float32"));
  CHECK(contains(msg, "unexpected: 'fc.extra'"));
  CHECK(contains(msg, "nothing was loaded"));
  CHECK(c.fc->weight().to_vector<double>() == before);
  // non-strict: missing and unexpected names are returned, the rest is loaded
  std::vector<std::pair<std::string, ag::Tensor>> partial = {{"fc.bias", ag::full({1}, 7.0)}, {"other", ag::zeros({2})}};
  const nn::LoadResult r = c.load_state_dict(partial, false);
  CHECK(r.missing == std::vector<std::string>{"fc.weight"});
  CHECK(r.unexpected == std::vector<std::string>{"other"});
  check_values(c.fc->bias(), {1}, {7.0});
  CHECK(c.fc->weight().to_vector<double>() == before);
  CHECK(contains(error_of<ag::ValueError>([&] { c.load_state_dict(partial); }), "missing: 'fc.weight'"));
}

TEST_CASE("multi-tensor modules: a typed call, parameters, gradients, Sequential names what it cannot chain") {
  Cell cell(3);
  CHECK(names(cell.named_parameters()) == std::vector<std::string>{"in.weight"});
  const ag::Tensor x = ag::tensor({{0.1, -0.2, 0.3}}, ag::f64);
  ag::Tensor h = ag::zeros({1, 3}, ag::f64);
  for (int t = 0; t < 3; ++t) std::tie(std::ignore, h) = cell(x, h);
  ag::sum(h).backward();
  CHECK(cell.in->weight().grad().defined());
  // the cell through Sequential or operator(): a clear error naming it
  CHECK(contains(error_of<ag::ValueError>([&] { static_cast<nn::Module&>(cell)(x); }), "Cell: takes 2 tensors, got 1"));
  CHECK(contains(error_of<ag::ValueError>([&] { cell.call({x, h, h}); }), "Cell: takes 2 tensors, got 3"));
  nn::Sequential seq(std::make_shared<Cell>(3));
  CHECK(contains(error_of<ag::ValueError>([&] { seq(x); }), "Cell"));
  // the first wave's single-tensor model
  TinyNet net;
  CHECK(net(ag::ones({4, 2})).shape() == ag::Shape{4, 1});
  CHECK(net.call({ag::ones({4, 2})}).size() == 1);
}

TEST_CASE("ModuleList and ModuleDict: named children, indexing, iteration, save/load") {
  struct Stack : nn::Module {
    std::shared_ptr<nn::ModuleList> layers;
    std::shared_ptr<nn::ModuleDict> heads;
    Stack() {
      layers = register_module("layers", std::make_shared<nn::ModuleList>());
      for (int i = 0; i < 3; ++i) layers->push_back(std::make_shared<nn::Dense>(2, 2));
      heads = register_module("heads", std::make_shared<nn::ModuleDict>());
      heads->insert("a", std::make_shared<nn::Dense>(2, 1));
      heads->insert("b", std::make_shared<nn::Dense>(2, 3));
    }
    ag::Tensor forward(const ag::Tensor& x) override {
      ag::Tensor y = x;
      for (const auto& l : *layers) y = ag::relu((*l)(y));
      return (*heads)["b"](y);
    }
    std::string type_name() const override { return "Stack"; }
  } s;
  const auto n = names(s.named_parameters());
  CHECK(n.front() == "layers.0.weight");
  CHECK(n.back() == "heads.b.bias");
  CHECK(n.size() == 10);
  CHECK(s.layers->size() == 3);
  CHECK(s.heads->keys() == std::vector<std::string>{"a", "b"});
  CHECK(s(ag::ones({5, 2})).shape() == ag::Shape{5, 3});
  CHECK(contains(error_of<ag::IndexError>([&] { (*s.layers)[3]; }), "3"));
  CHECK(contains(error_of<ag::IndexError>([&] { (*s.heads)["c"]; }), "a, b"));
  CHECK(contains(error_of<ag::ValueError>([&] { (*s.layers)(ag::ones({1, 2})); }), "ModuleList"));
  CHECK(contains(error_of<ag::ValueError>([&] { s.heads->insert("a", std::make_shared<nn::Dense>(1, 1)); }), "already registered"));
}

TEST_CASE("hooks: extracting features, replacing inputs and outputs, removing") {
  nn::Sequential seq(std::make_shared<nn::Dense>(2, 4), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dense>(4, 1));
  ag::Tensor features;
  nn::HookHandle h = seq[1]->register_forward_hook([&](nn::Module&, const ag::TensorList&, const ag::TensorList& out) {
    features = out[0];
  });
  const ag::Tensor x = ag::tensor({{1, -1}, {0.5, 2}});
  const ag::Tensor y = seq(x);
  REQUIRE(features.defined());
  CHECK(features.shape() == ag::Shape{2, 4});
  check_values(features, {2, 4}, values(ag::relu((*seq[0])(x))));
  CHECK(h.active());
  h.remove();
  CHECK_FALSE(h.active());
  h.remove();  // idempotent
  features = ag::Tensor();
  seq(x);
  CHECK_FALSE(features.defined());
  // a pre-hook that doubles the input, a forward hook that negates the output
  auto& last = *seq[2];
  nn::HookHandle pre = last.register_forward_pre_hook([](nn::Module&, const ag::TensorList& in) {
    return std::optional<ag::TensorList>(ag::TensorList{in[0] * 2.0});
  });
  nn::HookHandle post = last.register_forward_hook([](nn::Module&, const ag::TensorList&, const ag::TensorList& out) {
    return std::optional<ag::TensorList>(ag::TensorList{-out[0]});
  });
  const ag::Tensor hidden = ag::relu((*seq[0])(x));
  pre.remove();
  post.remove();
  const ag::Tensor plain = last(hidden * 2.0);
  pre = last.register_forward_pre_hook([](nn::Module&, const ag::TensorList& in) {
    return std::optional<ag::TensorList>(ag::TensorList{in[0] * 2.0});
  });
  post = last.register_forward_hook([](nn::Module&, const ag::TensorList&, const ag::TensorList& out) {
    return std::optional<ag::TensorList>(ag::TensorList{-out[0]});
  });
  check_values(last(hidden), {2, 1}, values(-plain));
}

TEST_CASE("hooks: full backward hooks give per-layer gradient norms and the gradients at module boundaries") {
  ag::Generator gen(4);
  nn::Sequential seq(std::make_shared<nn::Dense>(3, 5, gen, true, nn::Init::glorot_uniform, ag::f64),
                     std::make_shared<nn::Tanh>(),
                     std::make_shared<nn::Dense>(5, 2, gen, true, nn::Init::glorot_uniform, ag::f64));
  std::map<std::string, double> out_norm;
  std::map<std::string, ag::Tensor> grad_in;
  std::vector<nn::HookHandle> handles;
  for (auto& [name, m] : seq.named_modules())
    handles.push_back(m->register_full_backward_hook(
        [&out_norm, &grad_in, n = name](nn::Module&, const ag::TensorList& gi, const ag::TensorList& go) {
          out_norm[n] = ag::norm(go[0]).item();
          grad_in[n] = gi[0];
        }));
  const ag::Tensor x = ag::tensor({{0.2, -0.4, 0.6}, {1.0, 0.5, -0.3}}, ag::f64);
  // reference: the same computation by hand, with the intermediate gradients retained
  ag::Tensor h1 = (*seq[0])(x);
  h1.retain_grad();
  ag::Tensor h2 = ag::tanh(h1);
  h2.retain_grad();
  ag::Tensor out = (*seq[2])(h2);
  out.retain_grad();
  ag::sum(ag::square(out)).backward();
  const double n_out = ag::norm(out.grad()).item(), n_h2 = ag::norm(h2.grad()).item(), n_h1 = ag::norm(h1.grad()).item();
  // the hooks fired for the hand-made calls above: the layers were called through operator()
  CHECK(out_norm["2"] == doctest::Approx(n_out).epsilon(1e-14));
  CHECK(out_norm["0"] == doctest::Approx(n_h1).epsilon(1e-14));
  check_values(grad_in["2"], {2, 5}, values(h2.grad()), 1e-14);
  CHECK_FALSE(grad_in["0"].defined());  // the data input requires no grad
  out_norm.clear();
  ag::sum(ag::square(seq(x))).backward();  // through Sequential: every layer and the container
  CHECK(out_norm.size() == 3);
  CHECK(out_norm["1"] == doctest::Approx(n_h2).epsilon(1e-14));
  for (auto& handle : handles) handle.remove();
  out_norm.clear();
  ag::sum(seq(x)).backward();
  CHECK(out_norm.empty());
}
