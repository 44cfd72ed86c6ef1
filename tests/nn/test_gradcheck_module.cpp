// gradcheck_module: a whole model's parameter gradients against central differences, the report
// naming the wrong parameter, and the model left exactly as it was.
#include <cmath>
#include <cstring>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// y = x·gain (gain [C] broadcast over the rows) with a deliberately wrong VJP for gain:
// 2·g·x instead of g·x. The gradient for x is right.
ag::Tensor scale_twice_grad(const ag::Tensor& x, const ag::Tensor& gain) {
  ag::Tensor y = ag::no_grad([&] { return x * gain; });
  return ag::record("scale_twice_grad", {x, gain}, y,
                    [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
                      return {g * c.input(1), 2.0 * g * c.input(0)};
                    });
}

struct WrongScale : nn::Module {
  ag::Tensor gain;
  WrongScale() { gain = register_parameter("gain", ag::tensor({0.75, -1.25})); }
  ag::Tensor forward(const ag::Tensor& x) override { return scale_twice_grad(x, gain); }
  std::string type_name() const override { return "WrongScale"; }
};

// layers.0.weight [3, 4], layers.0.bias [4], layers.2.weight [4, 2], layers.2.bias [2], head.gain [2]
struct ScaledNet : nn::Module {
  std::shared_ptr<nn::Sequential> layers;
  std::shared_ptr<WrongScale> head;
  explicit ScaledNet(ag::Generator& gen) {
    layers = register_module("layers", std::make_shared<nn::Sequential>(
                                           std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::Tanh>(),
                                           std::make_shared<nn::Dense>(4, 2, gen)));
    head = register_module("head", std::make_shared<WrongScale>());
  }
  ag::Tensor forward(const ag::Tensor& x) override { return (*head)((*layers)(x)); }
  std::string type_name() const override { return "ScaledNet"; }
};

std::shared_ptr<nn::Sequential> mlp(std::size_t in, std::size_t hidden, std::size_t out,
                                    ag::Generator& gen, ag::DType dtype) {
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Dense>(in, hidden, gen, true, nn::Init::glorot_uniform, dtype),
      std::make_shared<nn::Tanh>(),
      std::make_shared<nn::Dense>(hidden, out, gen, true, nn::Init::glorot_uniform, dtype));
}

// Everything the check must leave alone: dtypes, raw bytes of the values, .grad handles and values.
struct Snapshot {
  std::vector<ag::DType> dtypes;
  std::vector<std::vector<unsigned char>> bytes;
  std::vector<const void*> ids, grad_ids;
  std::vector<std::vector<double>> grads;
  std::vector<bool> requires_grad;
};

template <class T> std::vector<unsigned char> raw(const ag::Tensor& t) {
  const auto& a = t.value<T>();
  std::vector<unsigned char> b(a.size() * sizeof(T));
  std::memcpy(b.data(), a.data(), b.size());
  return b;
}

Snapshot snapshot(const nn::Module& m) {
  Snapshot s;
  for (const auto& [name, p] : m.named_parameters()) {
    s.dtypes.push_back(p.dtype());
    s.bytes.push_back(p.dtype() == ag::f32 ? raw<float>(p) : raw<double>(p));
    s.ids.push_back(p.id());
    s.grad_ids.push_back(p.grad().defined() ? p.grad().id() : nullptr);
    s.grads.push_back(p.grad().defined() ? values(p.grad()) : std::vector<double>{});
    s.requires_grad.push_back(p.requires_grad());
  }
  return s;
}

void check_unchanged(const nn::Module& m, const Snapshot& before) {
  const Snapshot after = snapshot(m);
  REQUIRE(after.ids.size() == before.ids.size());
  for (std::size_t i = 0; i < before.ids.size(); ++i) {
    CAPTURE(i);
    CHECK(after.ids[i] == before.ids[i]);
    CHECK(after.dtypes[i] == before.dtypes[i]);
    CHECK(after.bytes[i] == before.bytes[i]);  // bit-identical values
    CHECK(after.grad_ids[i] == before.grad_ids[i]);
    CHECK(after.grads[i] == before.grads[i]);
    CHECK(after.requires_grad[i] == before.requires_grad[i]);
  }
}

// 5 rows of 3 features, float64.
ag::Tensor inputs_5x3() {
  return ag::tensor({{0.5, -1.0, 0.25}, {1.5, 0.3, -0.7}, {-0.2, 0.8, 1.1}, {0.9, -0.4, 0.0},
                     {-1.3, 0.6, 0.45}}, ag::f64);
}

}  // namespace

TEST_CASE("gradcheck_module: Sequential(Dense, Tanh, Dense) with MSE passes, the float32 model is restored") {
  ag::Generator gen(7);
  auto model = mlp(3, 4, 2, gen, ag::f32);
  const ag::Tensor x = inputs_5x3();
  const ag::Tensor y = ag::tensor({{0.1, -0.2}, {0.4, 0.0}, {-0.3, 0.5}, {0.2, 0.2}, {0.0, -0.6}}, ag::f64);
  // gradients from an earlier step in float32: the check must not touch them
  nn::mse_loss((*model)(x.to(ag::f32)), y.to(ag::f32)).backward();
  const Snapshot before = snapshot(*model);
  REQUIRE(before.grad_ids[0] != nullptr);

  const ag::GradcheckResult r =
      nn::gradcheck_module(*model, [&](nn::Module& m) { return nn::mse_loss(m(x), y); });
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.report.empty());
  CHECK_FALSE(r.fast);  // 26 parameter elements: every entry compared
  CHECK(r.max_abs_err < 1e-7);
  CHECK(model->dtype() == ag::f32);
  check_unchanged(*model, before);
}

TEST_CASE("gradcheck_module: cross-entropy and the raw outputs (full Jacobian) pass in float64") {
  ag::Generator gen(11);
  auto model = mlp(3, 5, 3, gen, ag::f64);
  const ag::Tensor x = inputs_5x3();
  const std::vector<std::size_t> classes{0, 2, 1, 2, 0};
  const Snapshot before = snapshot(*model);

  const auto r = nn::gradcheck_module(*model, [&](nn::Module& m) { return nn::cross_entropy(m(x), classes); });
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.max_abs_err < 1e-7);
  // loss = the model's output [5, 3]: 15 output elements, each seeded by its own backward
  const auto rj = nn::gradcheck_module(*model, [&](nn::Module& m) { return m(x); });
  CHECK_MESSAGE(rj.ok, rj.report);
  check_unchanged(*model, before);
}

TEST_CASE("gradcheck_module: a wrong custom VJP fails and the report names its parameter") {
  ag::Generator gen(3);
  ScaledNet net(gen);
  const ag::Tensor x = inputs_5x3();
  const ag::Tensor y = ag::tensor({{0.3, -0.1}, {0.0, 0.2}, {-0.4, 0.1}, {0.2, -0.3}, {0.1, 0.0}}, ag::f64);
  nn::mse_loss(net(x.to(ag::f32)), y.to(ag::f32)).backward();
  const Snapshot before = snapshot(net);
  auto loss = [&](nn::Module& m) { return nn::mse_loss(m(x), y); };

  const auto r = nn::gradcheck_module(net, loss);
  CHECK_FALSE(r.ok);
  // only head.gain (input 4) is wrong: the layers before it get the right gradient through x
  CHECK(contains(r.report, "gradcheck_module(ScaledNet)"));
  CHECK(contains(r.report, "w.r.t. input 4 'head.gain' [2]: 2 of 2 entries differ"));
  CHECK(contains(r.report, "analytical = 2.00 × numerical"));
  CHECK(contains(r.report, "worst entries:"));
  CHECK_FALSE(contains(r.report, "'layers."));
  check_unchanged(net, before);

  SUBCASE("fast mode localises the same parameter") {
    ag::GradcheckOptions opt;
    opt.mode = ag::GradcheckOptions::Mode::fast;
    const auto rf = nn::gradcheck_module(net, loss, opt);
    CHECK_FALSE(rf.ok);
    CHECK(rf.fast);
    CHECK(contains(rf.report, "w.r.t. input 4 'head.gain' [2]: random projections differ"));
    CHECK_FALSE(contains(rf.report, "'layers."));
    check_unchanged(net, before);
  }
  SUBCASE("a subset of the parameters") {
    const auto ok = nn::gradcheck_module(net, loss, {}, {"layers.0.weight", "layers.2.bias"});
    CHECK_MESSAGE(ok.ok, ok.report);
    const auto bad = nn::gradcheck_module(net, loss, {}, {"head.gain"});
    CHECK_FALSE(bad.ok);
    CHECK(contains(bad.report, "w.r.t. input 0 'head.gain' [2]"));
    const std::string msg = error_of<ag::ValueError>(
        [&] { nn::gradcheck_module(net, loss, {}, {"layers.1.weight"}); });
    CHECK(contains(msg, "no parameter 'layers.1.weight'"));
    CHECK(contains(msg, "'head.gain'"));
    check_unchanged(net, before);
  }
  SUBCASE("a frozen parameter is not checked and keeps its values") {
    net.head->gain.requires_grad_(false);
    const Snapshot frozen = snapshot(net);
    const auto rf = nn::gradcheck_module(net, loss);
    CHECK_MESSAGE(rf.ok, rf.report);
    CHECK(contains(error_of<ag::ValueError>([&] { nn::gradcheck_module(net, loss, {}, {"head.gain"}); }),
                   "parameter 'head.gain' [2] of ScaledNet is frozen"));
    check_unchanged(net, frozen);
  }
}

TEST_CASE("gradcheck_module: the model is restored when the loss function throws") {
  ag::Generator gen(5);
  auto model = mlp(3, 4, 2, gen, ag::f32);
  const ag::Tensor x = inputs_5x3();
  const ag::Tensor y = ag::zeros({5, 2}, ag::f64);
  nn::mse_loss((*model)(x.to(ag::f32)), y.to(ag::f32)).backward();
  const Snapshot before = snapshot(*model);

  // Calls of the loss (26 parameter elements, scalar loss): 1 forward for the analytical graph,
  // 1 + 5 (a forward and the VJPs) for the properties of backward, 1 VJP, then 52 forwards for
  // the central differences. The 20th is one of those: a parameter is perturbed when it throws.
  int calls = 0;
  int throw_at = 20;
  auto throwing = [&](nn::Module& m) {
    if (++calls == throw_at) throw ag::ValueError("loss: stop");
    return nn::mse_loss(m(x), y);
  };
  CHECK_THROWS_WITH_AS(nn::gradcheck_module(*model, throwing), "loss: stop", ag::ValueError);
  CHECK(calls == 20);
  check_unchanged(*model, before);

  // The 4th is inside a backward (a VJP): gradcheck reports errors from backward instead.
  calls = 0;
  throw_at = 4;
  const auto r = nn::gradcheck_module(*model, throwing);
  CHECK_FALSE(r.ok);
  CHECK(contains(r.report, "backward threw: loss: stop"));
  check_unchanged(*model, before);

  // float32 data against the float64 model: the layer's DtypeError comes through
  const ag::Tensor x32 = x.to(ag::f32);
  CHECK_THROWS_AS(nn::gradcheck_module(*model, [&](nn::Module& m) { return nn::mse_loss(m(x32), y); }),
                  ag::DtypeError);
  check_unchanged(*model, before);
  CHECK(model->dtype() == ag::f32);
}

// ---- gradgradcheck_module -----------------------------------------------------------------------
namespace {

// y = x·gain² (gain [C] broadcast over the rows). Its VJP is right at first order, but under
// create_graph it reads gain through detach(): the second derivative misses ∂/∂gain of 2·g·x·gain.
ag::Tensor gain_squared_detached(const ag::Tensor& x, const ag::Tensor& gain) {
  ag::Tensor y = ag::no_grad([&] { return x * gain * gain; });
  return ag::record("gain_squared_detached", {x, gain}, y,
                    [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
                      const ag::Tensor gain = c.create_graph() ? c.input(1).detach() : c.input(1);
                      return {g * gain * gain, 2.0 * g * c.input(0) * gain};
                    });
}

struct SquaredGain : nn::Module {
  ag::Tensor gain;
  SquaredGain() { gain = register_parameter("gain", ag::tensor({0.75, -1.25})); }
  ag::Tensor forward(const ag::Tensor& x) override { return gain_squared_detached(x, gain); }
  std::string type_name() const override { return "SquaredGain"; }
};

}  // namespace

TEST_CASE("gradgradcheck_module: Sequential(Dense, Tanh, Dense) with MSE passes, d/du of the gradient is the gradient") {
  ag::Generator gen(7);
  auto model = mlp(3, 4, 2, gen, ag::f32);
  const ag::Tensor x = inputs_5x3();
  const ag::Tensor y = ag::tensor({{0.1, -0.2}, {0.4, 0.0}, {-0.3, 0.5}, {0.2, 0.2}, {0.0, -0.6}}, ag::f64);
  nn::mse_loss((*model)(x.to(ag::f32)), y.to(ag::f32)).backward();
  const Snapshot before = snapshot(*model);
  const auto loss = [&](nn::Module& m) { return nn::mse_loss(m(x), y); };

  const ag::GradcheckResult r = nn::gradgradcheck_module(*model, loss);
  CHECK_MESSAGE(r.ok, r.report);
  CHECK_FALSE(r.fast);
  check_unchanged(*model, before);

  // inputs of h: the 4 parameters, then u (0-d); outputs: ∂<u, L>/∂(parameter i). The block of
  // output 3 (layers.2.bias [2]) w.r.t. u is ∂L/∂bias, which backward gives directly.
  const ag::GradcheckBlock* b = r.block(3, 4);
  REQUIRE(b != nullptr);
  CHECK(b->input_shape == ag::Shape{});
  CHECK(b->output_shape == ag::Shape{2});
  REQUIRE(b->analytical.size() == 2);
  model->to(ag::f64);
  const auto params = model->parameters();
  const auto dl = ag::grad({loss(*model)}, params);
  model->to(ag::f32);
  const std::vector<double> want = dl[3].to_vector<double>();
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(b->analytical[k] == doctest::Approx(want[k]).epsilon(1e-12));
    CHECK(b->numerical[k] == doctest::Approx(want[k]).epsilon(1e-6));
  }
  // ∂²L/∂b² for that bias: L = mean over the 10 outputs of (out - y)², out linear in b with
  // each b_c feeding 5 outputs: 2·5/10 = 1 on the diagonal, 0 off it
  const ag::GradcheckBlock* bb = r.block(3, 3);
  REQUIRE(bb != nullptr);
  REQUIRE(bb->analytical.size() == 4);
  // (h's output 3 is ∂<u, L>/∂b = u·∂L/∂b, so its block w.r.t. b is u·I for the random u)
  CHECK(bb->ok);
  CHECK(std::abs(bb->analytical[0]) > 1e-3);
  CHECK(bb->analytical[1] == doctest::Approx(0.0));
  CHECK(bb->analytical[2] == doctest::Approx(0.0));
  CHECK(bb->analytical[0] == doctest::Approx(bb->analytical[3]).epsilon(1e-12));
}

TEST_CASE("gradgradcheck_module: a layer whose create_graph path is wrong passes gradcheck_module but fails here") {
  ag::Generator gen(5);
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 2, gen, true, nn::Init::glorot_uniform, ag::f64),
                                                std::make_shared<SquaredGain>());
  const ag::Tensor x = inputs_5x3();
  const auto loss = [&](nn::Module& m) { return ag::sum(ag::square(m(x))); };
  const Snapshot before = snapshot(*model);

  const ag::GradcheckResult first = nn::gradcheck_module(*model, loss);
  CHECK_MESSAGE(first.ok, first.report);
  const ag::GradcheckResult second = nn::gradgradcheck_module(*model, loss);
  CHECK_FALSE(second.ok);
  CHECK(second.report.find("gradgradcheck_module(") != std::string::npos);
  CHECK(second.report.find("'1.gain'") != std::string::npos);
  // the failing blocks: the gradient of gain w.r.t. gain (2 = parameters 0.weight, 0.bias, 1.gain)
  const ag::GradcheckBlock* b = second.block(2, 2);
  REQUIRE(b != nullptr);
  CHECK_FALSE(b->ok);
  REQUIRE_FALSE(b->worst.empty());
  CHECK(b->worst[0].input == 2);
  CHECK(b->worst[0].output == 2);
  check_unchanged(*model, before);
}

TEST_CASE("gradgradcheck_module: a frozen parameter name is a ValueError as in gradcheck_module") {
  ag::Generator gen(3);
  auto model = mlp(3, 4, 2, gen, ag::f64);
  model->named_parameters()[0].second.requires_grad_(false);
  const ag::Tensor x = inputs_5x3();
  CHECK_THROWS_AS(nn::gradgradcheck_module(*model, [&](nn::Module& m) { return ag::sum(m(x)); }, {},
                                           {model->named_parameters()[0].first}),
                  ag::ValueError);
}
