// Optimizer steps against PyTorch's documented update rules, three steps each.
// p starts at [1, -2]; the gradients of steps 1..3 are [0.5, -1], [0.2, 0.3], [-0.4, 0.1].
// Expected values: the formulas in ag/nn/optim/{sgd,adam,rmsprop,adagrad}.hpp evaluated by hand
// (the first step of each in the comments) and, for steps 2-3, by an independent scalar
// evaluation in double precision.
#include <cmath>
#include <memory>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

const std::vector<std::vector<double>> kGrads = {{0.5, -1.0}, {0.2, 0.3}, {-0.4, 0.1}};
using Want = std::vector<std::vector<double>>;  // p after steps 1, 2, 3

template <class Make> void check_steps(Make make, const Want& want, ag::DType dtype = ag::f64) {
  ag::Tensor p = ag::Tensor({1.0, -2.0}, dtype, true);
  auto opt = make(std::vector<ag::Tensor>{p});
  const std::size_t tape = ag::tape_size();
  for (std::size_t t = 0; t < 3; ++t) {
    p.set_grad(ag::Tensor({kGrads[t][0], kGrads[t][1]}, dtype));
    opt->step();
    INFO("step " << t + 1);
    check_values(p, {2}, want[t], dtype == ag::f64 ? 1e-12 : 2e-5);
  }
  CHECK(p.is_leaf());                 // never recorded
  CHECK(ag::tape_size() == tape);
  CHECK(p.dtype() == dtype);
}

}  // namespace

TEST_CASE("SGD: plain, momentum with dampening, Nesterov with weight decay") {
  // p ← p - 0.1·g
  check_steps([](auto ps) { return std::make_unique<nn::SGD>(ps, 0.1); },
              {{0.95, -1.9}, {0.93, -1.93}, {0.97, -1.94}});
  // b1 = g1 (no dampening on the first step); b2 = 0.9·b1 + 0.5·g2 = [0.55, -0.75]
  check_steps([](auto ps) { return std::make_unique<nn::SGD>(ps, 0.1, 0.9, 0.5); },
              {{0.95, -1.9}, {0.895, -1.825}, {0.8655, -1.7625}});
  // g1 = [0.5 + 0.01, -1 - 0.02]; b1 = g1; step = g1 + 0.9·b1 = 1.9·g1 -> p = 1 - 0.1·1.9·0.51
  check_steps([](auto ps) { return std::make_unique<nn::SGD>(ps, 0.1, 0.9, 0.0, 0.01, true); },
              {{0.9031, -1.8062}, {0.82207411, -1.77714822}, {0.842401658191, -1.741250616382}});
  // float32 runs the same rule
  check_steps([](auto ps) { return std::make_unique<nn::SGD>(ps, 0.1, 0.9, 0.5); },
              {{0.95, -1.9}, {0.895, -1.825}, {0.8655, -1.7625}}, ag::f32);
}

TEST_CASE("Adam: bias correction, L2 weight decay, AMSGrad") {
  // step 1: m̂ = g, v̂ = g², so p -= lr·g/(|g| + eps) ≈ lr·sign(g)
  check_steps([](auto ps) { return std::make_unique<nn::Adam>(ps, 0.1); },
              {{0.900000002, -1.900000001},
               {0.8101424839029282, -1.8572151424292265},
               {0.7925145982082051, -1.830389924788512}});
  check_steps([](auto ps) { return std::make_unique<nn::Adam>(ps, 0.1, nn::Betas{}, 1e-8, 0.1); },
              {{0.9000000016666666, -1.9000000008333333},
               {0.8072814605072346, -1.8400703555381717},
               {0.7702771947721945, -1.7894099287030216}});
  // β2 = 0.9: v of p[1] falls at step 2 (0.1 -> 0.099), so v_max = 0.1 is used: -1.88162 (plain
  // Adam would give -1.88153); at step 3 m of p[1] is exactly 0, so p[1] does not move.
  check_steps([](auto ps) { return std::make_unique<nn::Adam>(ps, 0.1, nn::Betas{0.5, 0.9}, 1e-8, 0.0, true); },
              {{0.900000002, -1.900000001},
               {0.8196704940772521, -1.8816212695838797},
               {0.845748265315174, -1.8816212695838797}});
  check_steps([](auto ps) { return std::make_unique<nn::Adam>(ps, 0.1); },
              {{0.9, -1.9}, {0.8101424839, -1.8572151424}, {0.7925145982, -1.8303899248}}, ag::f32);
}

TEST_CASE("AdamW: decoupled weight decay") {
  // step 1: p ← p·(1 - 0.1·0.1) then the Adam step: 0.99 - 0.1, -1.98 + 0.1
  check_steps([](auto ps) { return std::make_unique<nn::AdamW>(ps, 0.1, nn::Betas{}, 1e-8, 0.1); },
              {{0.890000002, -1.880000001},
               {0.7912424838829282, -1.8184151424192265},
               {0.7657021733493758, -1.7734057733543198}});
  nn::AdamW w({ag::ones({1}, ag::f32, true)});
  CHECK(w.type_name() == "AdamW");
}

TEST_CASE("RMSprop: plain, centered with momentum and weight decay") {
  // step 1: v = 0.01·g², p -= 0.01·g/(0.1·|g| + eps) ≈ 0.1·sign(g)
  check_steps([](auto ps) { return std::make_unique<nn::RMSprop>(ps, 0.01); },
              {{0.900000019999996, -1.900000009999999},
               {0.8626998346269039, -1.9288675206817028},
               {0.9226876418426823, -1.938493590113297}});
  // α = 0.9, μ = 0.5, wd = 0.1: g1 = [0.6, -1.2]; v = 0.1g², ḡ = 0.1g, ṽ = 0.1g² - 0.01g² = 0.09g²
  // b = g/(0.3|g|) = ±10/3; p -= 0.01·b
  check_steps([](auto ps) { return std::make_unique<nn::RMSprop>(ps, 0.01, 0.9, 1e-8, 0.1, 0.5, true); },
              {{0.9666666685185185, -1.9666666675925926},
               {0.9339583420729392, -1.952969043519946},
               {0.9321404194868224, -1.9432339914079044}});
}

TEST_CASE("Adagrad: lr decay, weight decay, initial accumulator") {
  // step 1: g = [0.6, -1.2]; s = 0.2 + g² = [0.56, 1.64]; p -= 0.1·g/(sqrt(s) + eps)
  check_steps([](auto ps) { return std::make_unique<nn::Adagrad>(ps, 0.1, 0.5, 0.1, 0.2); },
              {{1 - 0.1 * 0.6 / (std::sqrt(0.56) + 1e-10), -2 + 0.1 * 1.2 / (std::sqrt(1.64) + 1e-10)},
               {0.8955890365946567, -1.9119686886365812},
               {0.9136132520882138, -1.90842986087128}});
}

TEST_CASE("optimizers skip parameters without a gradient, state is per parameter") {
  ag::Tensor a({1.0, 2.0}, ag::f64, true), b({3.0}, ag::f64, true);
  nn::Adam opt({a, b}, 0.1);
  a.set_grad(ag::Tensor({1.0, -1.0}, ag::f64));
  opt.step();  // b has no grad
  check_values(b, {1}, {3.0});
  CHECK(opt.step_count(0, 0) == 1);
  CHECK(opt.step_count(0, 1) == 0);
  CHECK_FALSE(opt.buffer(0, 1, "exp_avg").defined());
  check_values(opt.buffer(0, 0, "exp_avg"), {2}, {0.1, -0.1});
  check_values(opt.buffer(0, 0, "exp_avg_sq"), {2}, {0.001, 0.001});
  CHECK_THROWS_AS(opt.buffer(0, 0, "nope"), ag::ValueError);
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
  opt.step();  // nothing to do
  CHECK(opt.step_count(0, 0) == 1);
}

TEST_CASE("parameter groups have their own learning rates and weight decay") {
  ag::Tensor a({1.0}, ag::f64, true), b({1.0}, ag::f64, true);
  nn::SGD opt({nn::ParamGroup{{a}, 0.1}, nn::ParamGroup{{b}, 0.01, 0.5}});
  REQUIRE(opt.param_groups().size() == 2);
  a.set_grad(ag::Tensor({2.0}, ag::f64));
  b.set_grad(ag::Tensor({2.0}, ag::f64));
  opt.step();
  check_values(a, {1}, {1 - 0.1 * 2});
  check_values(b, {1}, {1 - 0.01 * (2 + 0.5)});
  CHECK(opt.lr() == 0.1);
  opt.set_lr(0.5);
  CHECK(opt.param_groups()[1].lr == 0.5);
  ag::Tensor c({1.0}, ag::f64, true);
  opt.add_param_group({{c}, 0.2});
  c.set_grad(ag::Tensor({1.0}, ag::f64));
  opt.step();
  check_values(c, {1}, {0.8});
  CHECK(opt.parameters().size() == 3);
}

TEST_CASE("optimizer construction errors") {
  ag::Tensor a({1.0}, ag::f64, true);
  ag::Tensor nonleaf = a * 2.0;
  const std::string leaf_msg = error_of<ag::ValueError>([&] { nn::SGD({nonleaf}, 0.1); });
  CHECK(contains(leaf_msg, "must be a leaf"));
  CHECK(contains(leaf_msg, "produced by 'mul'"));  // the op that made it, not ''
  CHECK(contains(error_of<ag::ValueError>([&] { nn::Adam({a, a}); }), "more than once"));
  CHECK(contains(error_of<ag::ValueError>([&] { nn::SGD({a}, -1.0); }), "learning rate"));
  CHECK(contains(error_of<ag::ValueError>([&] { nn::SGD({a}, 0.1, 0.0, 0.0, 0.0, true); }), "nesterov"));
  CHECK(contains(error_of<ag::ValueError>([&] { nn::Adam({a}, 0.1, nn::Betas{1.0, 0.9}); }), "beta1"));
  CHECK_THROWS_AS(nn::RMSprop({a}, 0.1, 1.5), ag::ValueError);
  CHECK_THROWS_AS(nn::Adagrad({a}, 0.1, -1.0), ag::ValueError);
  // state buffers keep the dtype they were created with
  nn::Adam opt({a}, 0.1);
  a.set_grad(ag::Tensor({1.0}, ag::f64));
  opt.step();
  struct M : nn::Module {
    ag::Tensor forward(const ag::Tensor& x) override { return x; }
    std::string type_name() const override { return "M"; }
    explicit M(ag::Tensor p) { register_parameter("p", p); }
  } m(a);
  m.to(ag::f32);
  a.set_grad(ag::Tensor({1.0}));
  CHECK(contains(error_of<ag::DtypeError>([&] { opt.step(); }), "exp_avg"));
}

TEST_CASE("an optimizer given no parameters is a ValueError naming it (PyTorch: empty parameter list)") {
  const std::vector<ag::Tensor> none;
  auto check = [](const std::string& msg, const std::string& who) {
    INFO(msg);
    CHECK(msg.rfind(who + ": ", 0) == 0);
    CHECK(contains(msg, "empty parameter list"));
    CHECK(contains(msg, "register_parameter"));
  };
  check(error_of<ag::ValueError>([&] { nn::SGD(none, 0.1); }), "SGD");
  check(error_of<ag::ValueError>([&] { nn::Adam(none, 1e-3); }), "Adam");
  check(error_of<ag::ValueError>([&] { nn::AdamW(none, 1e-3); }), "AdamW");
  check(error_of<ag::ValueError>([&] { nn::RMSprop(none, 0.01); }), "RMSprop");
  check(error_of<ag::ValueError>([&] { nn::Adagrad(none, 0.01); }), "Adagrad");
  // the group forms: no group, or groups without parameters
  check(error_of<ag::ValueError>([&] { nn::SGD(std::vector<nn::ParamGroup>{}); }), "SGD");
  check(error_of<ag::ValueError>([&] { nn::Adam(std::vector<nn::ParamGroup>{{{}, 0.1}, {{}, 0.2}}); }), "Adam");
  // the case: a module that keeps its tensor without register_parameter
  struct Forgetful : nn::Module {
    ag::Tensor w = ag::Tensor({1.0}, ag::f64, true);
    ag::Tensor forward(const ag::Tensor& x) override { return x * w; }
    std::string type_name() const override { return "Forgetful"; }
  } m;
  check(error_of<ag::ValueError>([&] { nn::SGD(m.parameters(), 0.1); }), "SGD");
}

TEST_CASE("frozen parameters (requires_grad false) are accepted and never updated") {
  ag::Generator gen(3);
  Net net(gen);
  net.to(ag::f64);
  ag::Tensor(net.fc->weight()).requires_grad_(false);
  ag::Tensor(net.fc->bias()).requires_grad_(false);
  const std::vector<double> w0 = values(net.fc->weight()), b0 = values(net.fc->bias());
  const std::vector<double> s0 = values(net.scale);
  ag::Tensor x({{0.5, -1.0, 2.0}, {1.0, 0.0, -0.5}}, ag::f64);
  auto train_step = [&](nn::Optimizer& opt) {
    opt.zero_grad();
    net(x).sum().backward();
    opt.step();
  };
  for (int k = 0; k < 4; ++k) {
    std::unique_ptr<nn::Optimizer> opt;
    switch (k) {  // PyTorch's idiom: every parameter given, the frozen ones skipped
      case 0: opt = std::make_unique<nn::SGD>(net.parameters(), 0.1, 0.9); break;
      case 1: opt = std::make_unique<nn::Adam>(net.parameters(), 0.1); break;
      case 2: opt = std::make_unique<nn::RMSprop>(net.parameters(), 0.01); break;
      default: opt = std::make_unique<nn::Adagrad>(net.parameters(), 0.1); break;
    }
    CHECK(opt->parameters().size() == 4);
    const std::vector<double> s_before = values(net.scale);
    train_step(*opt);
    CHECK(values(net.fc->weight()) == w0);  // bit-identical
    CHECK(values(net.fc->bias()) == b0);
    CHECK(values(net.scale) != s_before);  // the trainable ones moved
    CHECK(net.fc->weight().is_leaf());
  }
  // SGD on scale alone, by hand: d(sum y)/d scale = the unscaled output u, scale ← scale - 0.5·u
  net.scale.requires_grad_(false);  // frozen after construction: skipped at step()
  nn::SGD sgd(net.trainable_parameters(), 0.5);
  REQUIRE(sgd.parameters().size() == 1);  // layers.1.weight only
  ag::Tensor w2 = sgd.parameters()[0];
  nn::SGD all(net.parameters(), 0.5);
  const std::vector<double> s1 = values(net.scale);
  net.scale.requires_grad_(true);
  all.zero_grad();
  net(x).sum().backward();  // gives scale a gradient ...
  net.scale.requires_grad_(false);  // ... then freezes it
  const std::vector<double> w2_before = values(w2);
  ag::Tensor g2 = w2.grad();
  all.step();
  CHECK(values(net.scale) == s1);
  CHECK(values(net.fc->weight()) == w0);
  std::vector<double> want = w2_before;
  const std::vector<double> g = values(g2);
  for (std::size_t i = 0; i < want.size(); ++i) want[i] -= 0.5 * g[i];
  check_values(w2, w2.shape(), want);
  CHECK(all.step_count(0, 0) == 0);  // scale: never stepped by `all`
  // every parameter frozen: accepted (as PyTorch), step() changes nothing
  for (auto& p : net.parameters()) p.requires_grad_(false);
  nn::Adam frozen(net.parameters(), 0.1);
  for (auto& p : net.parameters()) p.set_grad(ag::ones(p.shape(), p.dtype()));
  frozen.step();
  CHECK(values(net.fc->weight()) == w0);
  CHECK(frozen.step_count(0, 0) == 0);
  CHECK(frozen.state().size() == 1);  // only the learning rate "0.lr"
  // a tensor given twice is still an error
  CHECK(contains(error_of<ag::ValueError>([&] { nn::SGD({net.scale, net.scale}, 0.1); }), "more than once"));
}

TEST_CASE("state() / load_state(): round trip, all-or-nothing validation") {
  ag::Tensor a({1.0, 2.0}, ag::f64, true), b({3.0}, ag::f64, true);
  nn::SGD opt({a, b}, 0.1, 0.9);
  a.set_grad(ag::Tensor({1.0, 1.0}, ag::f64));
  b.set_grad(ag::Tensor({2.0}, ag::f64));
  opt.step();
  opt.step();
  auto st = opt.state();
  std::vector<std::string> names;
  for (auto& e : st) names.push_back(e.first);
  CHECK(names == std::vector<std::string>{"0.lr", "0.0.step", "0.0.momentum_buffer", "0.1.step",
                                          "0.1.momentum_buffer"});
  check_values(st[2].second, {2}, {1.9, 1.9});  // b2 = 0.9·1 + 1

  ag::Tensor a2({1.0, 2.0}, ag::f64, true), b2({3.0}, ag::f64, true);
  nn::SGD fresh({a2, b2}, 0.5, 0.9);
  fresh.load_state(st);
  CHECK(fresh.lr() == 0.1);
  CHECK(fresh.step_count(0, 1) == 2);
  check_values(fresh.buffer(0, 0, "momentum_buffer"), {2}, {1.9, 1.9});
  // the loaded buffer is a copy: stepping one optimizer leaves the other alone
  a2.set_grad(ag::Tensor({0.0, 0.0}, ag::f64));
  fresh.step();
  check_values(opt.buffer(0, 0, "momentum_buffer"), {2}, {1.9, 1.9});
  check_values(fresh.buffer(0, 0, "momentum_buffer"), {2}, {1.71, 1.71});

  auto bad = st;
  bad[2].second = ag::zeros({3}, ag::f64);
  bad.emplace_back("0.lr", ag::scalar(0.3, ag::f64));  // also a duplicate, never reached
  const std::string msg = error_of<ag::ValueError>([&] { fresh.load_state(bad); });
  CHECK(contains(msg, "0.0.momentum_buffer"));
  CHECK(contains(msg, "[3]"));
  CHECK(contains(msg, "[2]"));
  check_values(fresh.buffer(0, 0, "momentum_buffer"), {2}, {1.71, 1.71});  // unchanged
  CHECK(fresh.step_count(0, 0) == 3);
  CHECK_THROWS_AS(fresh.load_state({{"0.5.step", ag::scalar(1.0, ag::f64)}}), ag::ValueError);
  CHECK_THROWS_AS(fresh.load_state({{"0.0.exp_avg", ag::zeros({2}, ag::f64)}}), ag::ValueError);
  CHECK_THROWS_AS(fresh.load_state({{"x", ag::zeros({2}, ag::f64)}}), ag::ValueError);
  CHECK_THROWS_AS(fresh.load_state({{"0.0.momentum_buffer", ag::zeros({2}, ag::f64)}}), ag::ValueError);
  CHECK(fresh.step_count(0, 0) == 3);
}

TEST_CASE("bad input: optimizer state or gradient of another shape than the parameter raises, naming it") {
  // Every update rule runs raw loops over p.numel() elements of the gradient and of its state:
  // a parameter whose value changed shape after the first step once read and wrote past them.
  auto with_each = [](auto&& check) {
    check("SGD", "momentum_buffer", [](ag::Tensor p) { return std::make_unique<nn::SGD>(std::vector<ag::Tensor>{p}, 0.1, 0.9); });
    check("Adam", "exp_avg", [](ag::Tensor p) { return std::make_unique<nn::Adam>(std::vector<ag::Tensor>{p}, 0.1); });
    check("RMSprop", "square_avg", [](ag::Tensor p) { return std::make_unique<nn::RMSprop>(std::vector<ag::Tensor>{p}, 0.1); });
    check("Adagrad", "sum", [](ag::Tensor p) { return std::make_unique<nn::Adagrad>(std::vector<ag::Tensor>{p}, 0.1); });
  };
  with_each([](const char* name, const char* state, auto make) {
    CAPTURE(name);
    ag::Tensor x({1.0, 2.0}, ag::f64, true);
    auto opt = make(x);
    x.set_grad(ag::Tensor({0.5, 0.5}, ag::f64));
    opt->step();
    // a value of another shape, then a gradient that matches it: the state no longer does
    x.mutable_value<double>() = xt::xarray<double>::from_shape({5});
    x.set_grad(ag::zeros({5}, ag::f64));
    const std::string msg = error_of<ag::ShapeError>([&] { opt->step(); });
    CHECK(contains(msg, name));
    CHECK(contains(msg, state));
    CHECK(contains(msg, "parameter 0.0"));
    CHECK(contains(msg, "[2]"));
    CHECK(contains(msg, "[5]"));
    // a gradient that no longer matches the value (set before the value changed shape)
    ag::Tensor y({1.0, 2.0, 3.0}, ag::f64, true);
    auto opt2 = make(y);
    y.set_grad(ag::Tensor({1.0, 1.0, 1.0}, ag::f64));
    y.mutable_value<double>() = xt::xarray<double>::from_shape({2});
    const std::string msg2 = error_of<ag::ShapeError>([&] { opt2->step(); });
    CHECK(contains(msg2, "the gradient of parameter 0.0"));
    const xt::xarray<double> unchanged = y.to_xarray<double>();
    CHECK(unchanged.size() == 2);
  });
}
