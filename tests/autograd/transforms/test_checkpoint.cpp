// ag::checkpoint: gradients bit-identical to the plain graph, second order through it, random
// draws replayed, and the tape memory of a 32-layer MLP cut by the expected factor.
#include <cmath>
#include <cstring>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/doctest_gradcheck.hpp"
#include "support/values.hpp"

namespace {

using ag::Tensor;
using Ts = std::vector<Tensor>;

struct Mlp {
  std::vector<Tensor> w, b;
  Mlp(std::size_t layers, std::size_t width, ag::DType dtype, std::uint64_t seed) {
    ag::Generator gen(seed);
    for (std::size_t l = 0; l < layers; ++l) {
      // tanh layers with weights ~ N(0, 1/width): activations stay O(1) through many layers
      w.push_back((ag::randn({width, width}, gen, dtype) * (1.0 / std::sqrt(double(width)))).detach().requires_grad_());
      b.push_back((ag::randn({width}, gen, dtype) * 0.1).detach().requires_grad_());
    }
  }
  Tensor layer(std::size_t l, const Tensor& h) const { return ag::tanh(ag::linear(h, w[l], b[l])); }
  Tensor layers(std::size_t first, std::size_t last, Tensor h) const {
    for (std::size_t l = first; l < last; ++l) h = layer(l, h);
    return h;
  }
  // Every k layers one checkpoint (k = 0: none).
  Tensor forward(const Tensor& x, std::size_t k) const {
    if (k == 0) return layers(0, w.size(), x);
    Tensor h = x;
    for (std::size_t first = 0; first < w.size(); first += k) {
      const std::size_t last = std::min(first + k, w.size());
      Ts params;
      for (std::size_t l = first; l < last; ++l) params.insert(params.end(), {w[l], b[l]});
      h = ag::checkpoint([this, first, last](const Tensor& in) { return layers(first, last, in); }, h, params);
    }
    return h;
  }
  Ts params() const {
    Ts p;
    for (std::size_t l = 0; l < w.size(); ++l) p.insert(p.end(), {w[l], b[l]});
    return p;
  }
};

bool bit_identical(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == ag::f32) return std::memcmp(a.data<float>(), b.data<float>(), a.numel() * sizeof(float)) == 0;
  return std::memcmp(a.data<double>(), b.data<double>(), a.numel() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("checkpoint: gradients of a 12-layer MLP are bit-identical with and without it") {
  for (ag::DType dtype : opt::kDtypes) {
    CAPTURE(ag::dtype_name(dtype));
    const Mlp net(12, 16, dtype, 7);
    const Tensor x = ag::randn({8, 16}, dtype).requires_grad_();
    Ts wrt = net.params();
    wrt.push_back(x);
    const Tensor y0 = net.forward(x, 0);
    const Ts g0 = ag::grad({ag::sum(ag::square(y0))}, wrt);
    for (std::size_t k : {1, 3, 5, 12}) {
      CAPTURE(k);
      const Tensor y = net.forward(x, k);
      CHECK(bit_identical(y, y0));
      CHECK(std::string(y.op_name()) == "checkpoint");
      const Ts g = ag::grad({ag::sum(ag::square(y))}, wrt);
      REQUIRE(g.size() == g0.size());
      for (std::size_t i = 0; i < g.size(); ++i) CHECK_MESSAGE(bit_identical(g[i], g0[i]), "gradient " << i);
    }
    // backward() into .grad too
    for (Tensor& p : wrt) p.zero_grad();
    ag::sum(ag::square(net.forward(x, 4))).backward();
    for (std::size_t i = 0; i < wrt.size(); ++i) CHECK(bit_identical(wrt[i].grad(), g0[i]));
  }
}

TEST_CASE("checkpoint: list inputs and outputs, one tensor out of several, inputs returned as is") {
  const Tensor a = opt::make({0.5, -1.0, 2.0}, {3}, ag::f64, true);
  const Tensor b = opt::make({1.5, 0.25, -0.5}, {3}, ag::f64, true);
  auto f = [](const ag::TensorList& v) -> Ts { return {v[0] * v[1], ag::sum(ag::exp(v[0])), v[1]}; };
  const Ts plain = f({a, b});
  const Ts ck = ag::checkpoint(f, {a, b});
  REQUIRE(ck.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(bit_identical(ck[i], plain[i]));
  CHECK(ck[2].id() != b.id());  // a new tensor, recorded, even when f returns an input
  auto loss = [](const Ts& y) { return ag::sum(y[0] * y[0]) + y[1] * 3.0 + ag::sum(ag::sin(y[2])); };
  const Ts g0 = ag::grad({loss(plain)}, {a, b});
  const Ts g1 = ag::grad({loss(ck)}, {a, b});
  CHECK(bit_identical(g1[0], g0[0]));
  CHECK(bit_identical(g1[1], g0[1]));
  // only some outputs used: the others get zero cotangents
  const Ts ck2 = ag::checkpoint(f, {a, b});
  check_values(ag::grad({ck2[1]}, {a})[0], {3}, opt::vals(ag::exp(a)));
}

TEST_CASE("checkpoint: second order (gradgradcheck, hessian) goes through it") {
  auto block = [](const Tensor& h, const Tensor& w) { return ag::tanh(ag::matmul(h, w)) * h; };
  // w read by f as a param; x the input
  ag::GradcheckFn1 with_params = [&](const Ts& v) {
    const Tensor w = v[1];
    return ag::checkpoint([&block, w](const Tensor& h) { return block(h, w); }, v[0], {w});
  };
  // both as inputs, two outputs
  ag::GradcheckFn with_list = [&](const Ts& v) -> Ts {
    return ag::checkpoint([&block](const Ts& u) -> Ts { return {block(u[0], u[1]), ag::sum(u[1] * u[1] * u[0].sum())}; },
                          {v[0], v[1]});
  };
  ag::Generator gen(3);
  const Ts in = {ag::randn({2, 3}, gen, ag::f64).requires_grad_(), ag::randn({3, 3}, gen, ag::f64).requires_grad_()};
  CHECK_GRADCHECK(with_params, in);
  CHECK_GRADGRADCHECK(with_params, in);
  CHECK_GRADCHECK(with_list, in);
  CHECK_GRADGRADCHECK(with_list, in);
  // the Hessian of a checkpointed function is the plain one's (third order: the jacobian of it)
  auto plain = [](const Tensor& x) { return ag::sum(ag::sin(x) * ag::exp(x * 0.5)); };
  auto ck = [&](const Tensor& x) { return ag::checkpoint([&](const Tensor& u) { return plain(u); }, x); };
  const Tensor x = opt::make({0.3, -0.7, 1.1}, {3});
  CHECK(bit_identical(ag::hessian(ck, x), ag::hessian(plain, x)));
  auto third = [](const auto& f) {
    return [f](const Tensor& x) { return ag::hessian(f, x, {/*create_graph=*/true}); };
  };
  const Tensor T0 = ag::jacobian(third(plain), x), T1 = ag::jacobian(third(ck), x);
  REQUIRE(T1.shape() == ag::Shape{3, 3, 3});
  check_values(T1, {3, 3, 3}, opt::vals(T0), 1e-13);
}

TEST_CASE("checkpoint: random draws inside replay the forward's, and the stream goes on as without it") {
  // dropout by hand: keep where U[0,1) >= p, scale by 1/(1-p)
  auto dropout = [](const Tensor& h) {
    const Tensor keep = ag::ge(ag::rand(h.shape(), h.dtype()), 0.5).to(h.dtype());
    return ag::tanh(h) * keep * 2.0;
  };
  const Tensor x = ag::randn({4, 8}, ag::f64).requires_grad_();
  ag::manual_seed(11);
  const Tensor y0 = dropout(x);
  const Tensor g0 = ag::grad({ag::sum(y0 * y0)}, {x})[0];
  const double next0 = ag::rand({1}, ag::f64).item();
  ag::manual_seed(11);
  const Tensor y1 = ag::checkpoint(dropout, x);
  const Tensor g1 = ag::grad({ag::sum(y1 * y1)}, {x})[0];
  const double next1 = ag::rand({1}, ag::f64).item();
  CHECK(bit_identical(y1, y0));
  CHECK(bit_identical(g1, g0));  // the replay drew the same mask
  CHECK(next1 == next0);        // and put the generator back where the forward left it
  const std::vector<double> yv = opt::vals(y1), gv = opt::vals(g1);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < yv.size(); ++i)
    if (yv[i] == 0.0) {
      ++dropped;
      CHECK(gv[i] == 0.0);
    }
  CHECK(dropped > 4);  // the mask is real

  // without preserve_rng_state the replay draws a fresh mask: the gradient differs
  ag::manual_seed(11);
  ag::CheckpointOptions off;
  off.preserve_rng_state = false;
  const Tensor y2 = ag::checkpoint(dropout, x, {}, off);
  CHECK_FALSE(bit_identical(ag::grad({ag::sum(y2 * y2)}, {x})[0], g0));

  // a generator of its own, listed in options.generators
  ag::Generator own(5);
  auto own_dropout = [&own](const Tensor& h) {
    return h * ag::ge(ag::rand(h.shape(), own, h.dtype()), 0.5).to(h.dtype());
  };
  own.seed(5);
  const Tensor g3 = ag::grad({ag::sum(own_dropout(x))}, {x})[0];
  own.seed(5);
  ag::CheckpointOptions listed;
  listed.generators = {&own};
  const Tensor g4 = ag::grad({ag::sum(ag::checkpoint(own_dropout, x, {}, listed))}, {x})[0];
  CHECK(bit_identical(g4, g3));
}

TEST_CASE("checkpoint: a tensor that needs a gradient but is not listed is an error, not a lost gradient") {
  const Tensor w = ag::randn({3, 3}, ag::f64).requires_grad_();
  const Tensor x = ag::randn({2, 3}, ag::f64).requires_grad_();
  const Tensor y = ag::checkpoint([&](const Tensor& h) { return ag::matmul(h, w); }, x);  // w not in params
  const std::string msg = opt::message_of([&] { ag::sum(y).backward(); });
  CHECK(msg.find("checkpoint: f reads a tensor float64 [3, 3] that requires grad (a leaf)") != std::string::npos);
  CHECK(msg.find("params") != std::string::npos);
  const Tensor w2 = w * 2.0;  // a non-leaf
  CHECK_THROWS_AS(ag::checkpoint([&](const Tensor& h) { return ag::matmul(h, w2); }, x, {w2}), ag::GradError);
  const Tensor y2 = ag::checkpoint([&](const Tensor& h) { return ag::matmul(h, w2); }, x);
  CHECK_THROWS_WITH_AS(ag::sum(y2).backward(), doctest::Contains("computed by 'mul'"), ag::GradError);
  // outside grad mode it just runs f
  ag::NoGradGuard no_grad;
  const Tensor z = ag::checkpoint([&](const Tensor& h) { return ag::matmul(h, w); }, x);
  CHECK_FALSE(z.requires_grad());
}

TEST_CASE("checkpoint: peak tape memory of a 32-layer MLP drops by the expected factor") {
  // Per layer two recorded outputs of [B, W] (linear, tanh): A = B·W·8 bytes each.
  // Plain: the tape holds all 2·32 of them at the end of the forward (plus the loss' square).
  // Checkpoint every k layers: 32/k boundary outputs, and during the backward of one segment its
  // replay's 2k outputs on top (plus the loss' square): 32/k + 2k + 1 of them, 17 for k = 4.
  const std::size_t L = 32, B = 16, W = 64, A = B * W * sizeof(double);
  const Mlp net(L, W, ag::f64, 1);
  const Tensor x = ag::randn({B, W}, ag::f64);
  auto peak = [&](std::size_t k) {
    ag::Profiler prof;
    ag::sum(ag::square(net.forward(x, k))).backward();
    prof.stop();
    return prof.peak_tape_bytes();
  };
  const std::size_t plain = peak(0);
  CHECK(plain >= 2 * L * A);
  CHECK(plain <= (2 * L + 2) * A);
  for (std::size_t k : {2, 4, 8}) {
    CAPTURE(k);
    const std::size_t ck = peak(k);
    INFO("k = " << k << ": peak " << ck / A << " activations vs " << plain / A << " without checkpointing");
    CHECK(ck <= (L / k + 2 * k + 2) * A);
    CHECK(ck >= (L / k + 2 * k) * A);  // the replay's activations are really recorded
  }
}
