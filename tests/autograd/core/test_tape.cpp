// Tape semantics: grad mode guards, retain_graph, detach, non-scalar backward, ag::grad and the
// extension API (record / op / VjpContext).
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  }
  return "<no ag::Error thrown>";
}

}  // namespace

TEST_CASE("NoGradGuard records nothing") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  const std::size_t tape0 = ag::tape_size(), live0 = ag::live_node_count();
  CHECK(ag::is_grad_enabled());
  {
    ag::NoGradGuard guard;
    CHECK_FALSE(ag::is_grad_enabled());
    ag::Tensor y = ag::exp(x * x + 1.0).sum();
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    CHECK(y.item() == doctest::Approx(std::exp(2.0) + std::exp(5.0)));
    CHECK(ag::tape_size() == tape0);
    CHECK(ag::live_node_count() == live0);
    CHECK_THROWS_AS(y.backward(), ag::GradError);
  }
  CHECK(ag::is_grad_enabled());
  ag::Tensor z = ag::no_grad([&] { return x * 3.0; });
  CHECK_FALSE(z.requires_grad());
  check_values(z, {2}, {3.0, 6.0});
  CHECK(ag::tape_size() == tape0);
  CHECK(ag::live_node_count() == live0);
  CHECK(ag::is_grad_enabled());
}

TEST_CASE("EnableGradGuard records inside a NoGradGuard") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  ag::NoGradGuard off;
  ag::Tensor a = x * 2.0;
  CHECK_FALSE(a.requires_grad());
  {
    ag::EnableGradGuard on;
    CHECK(ag::is_grad_enabled());
    ag::Tensor y = (x * x).sum();
    CHECK(y.requires_grad());
    CHECK(ag::live_node_count() == live0 + 2);
    y.backward();
    check_values(x.grad(), {2}, {2.0, 4.0});
  }
  CHECK_FALSE(ag::is_grad_enabled());
  CHECK(ag::live_node_count() == live0);
  ag::Tensor b = x * 2.0;
  CHECK_FALSE(b.requires_grad());
}

TEST_CASE("set_grad_enabled switches recording") {
  ag::Tensor x({1.0}, ag::f64, true);
  ag::set_grad_enabled(false);
  ag::Tensor a = x * 2.0;
  ag::set_grad_enabled(true);
  ag::Tensor b = x * 2.0;
  CHECK_FALSE(a.requires_grad());
  CHECK(b.requires_grad());
}

TEST_CASE("retain_graph allows a second backward and gradients accumulate") {
  ag::Tensor x({1.0, -2.0, 3.0}, ag::f64, true);
  ag::Tensor y = (ag::sin(x) * x).sum();  // dy/dx = cos(x)·x + sin(x)
  y.backward(ag::Tensor(), /*retain_graph=*/true);
  std::vector<double> once;
  for (double v : {1.0, -2.0, 3.0}) once.push_back(std::cos(v) * v + std::sin(v));
  check_values(x.grad(), {3}, once);
  y.backward(ag::Tensor(), true);
  std::vector<double> twice;
  for (double v : once) twice.push_back(2 * v);
  check_values(x.grad(), {3}, twice);
  y.backward();  // a third time, now freeing the graph
  std::vector<double> thrice;
  for (double v : once) thrice.push_back(3 * v);
  check_values(x.grad(), {3}, thrice);
  CHECK_THROWS_AS(y.backward(), ag::GradError);
}

TEST_CASE("second backward without retain_graph throws GradError mentioning retain_graph") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y = (x * x).sum();
  y.backward();
  const std::string msg = error_of([&] { y.backward(); });
  CHECK(contains(msg, "retain_graph"));
  CHECK(contains(msg, "sum"));
  CHECK_THROWS_AS(y.backward(), ag::GradError);
  check_values(x.grad(), {2}, {2.0, 4.0});  // the failed calls added nothing
}

TEST_CASE("backward frees the graph it used") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  ag::Tensor y = (ag::exp(x) * x).sum();
  CHECK(ag::live_node_count() == live0 + 3);
  y.backward();
  // freed nodes drop their inputs: only y's own node is left, until y dies
  CHECK(ag::live_node_count() == live0 + 1);
  y = ag::Tensor();
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("detach cuts history") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  ag::Tensor c = (x * x).detach();  // a constant x²
  CHECK(c.is_leaf());
  (c * x).sum().backward();         // d/dx (c·x) = c, not 3x²
  check_values(x.grad(), {3}, {1.0, 4.0, 9.0});
  x.zero_grad();
  (x * x * x).sum().backward();  // without detach: 3x²
  check_values(x.grad(), {3}, {3.0, 12.0, 27.0});
}

TEST_CASE("backward of a non-scalar needs an explicit gradient") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  ag::Tensor y = x * x;
  CHECK_THROWS_AS(y.backward(), ag::GradError);
  const std::string msg = error_of([&] { y.backward(); });
  CHECK(contains(msg, "[3]"));
  CHECK(contains(msg, "scalar"));
  // with a gradient: vector-Jacobian product v·diag(2x)
  y.backward(ag::Tensor({1.0, 0.5, -1.0}, ag::f64));
  check_values(x.grad(), {3}, {2.0, 2.0, -6.0});
  // a mismatched gradient shape or dtype is a GradError
  ag::Tensor y2 = x * x;
  CHECK_THROWS_AS(y2.backward(ag::Tensor({1.0, 1.0}, ag::f64)), ag::GradError);
  CHECK_THROWS_AS(y2.backward(ag::Tensor({1.0, 1.0, 1.0}, ag::f32)), ag::GradError);
  // a one-element non-0-d output is seeded with 1 too
  ag::Tensor x1({2.0}, ag::f64, true);
  (x1 * x1).backward();
  check_values(x1.grad(), {1}, {4.0});
}

TEST_CASE("backward of several outputs sums their contributions") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y1 = (x * x).sum();  // 2x
  ag::Tensor y2 = x * 3.0;        // with gradient v: 3v
  ag::backward({y1, y2}, {ag::Tensor(), ag::Tensor({1.0, -1.0}, ag::f64)});
  check_values(x.grad(), {2}, {2.0 + 3.0, 4.0 - 3.0});
  CHECK_THROWS_AS(ag::backward({y1, y2}, {ag::Tensor()}), ag::GradError);  // wrong count
}

TEST_CASE("backward on a tensor that needs no grad throws") {
  ag::Tensor x({1.0, 2.0}, ag::f64);
  ag::Tensor y = (x * x).sum();
  CHECK_THROWS_AS(y.backward(), ag::GradError);
  CHECK(contains(error_of([&] { y.backward(); }), "does not require grad"));
}

TEST_CASE("backward on a leaf accumulates the seed into its grad") {
  ag::Tensor s = ag::scalar(3.0, ag::f64, true);
  s.backward();
  check_values(s.grad(), {}, {1.0});
}

TEST_CASE("backward fills grads of leaves only") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor h = x * 2.0;
  (h * h).sum().backward();
  check_values(x.grad(), {2}, {8.0, 16.0});  // d/dx (2x)² = 8x
  CHECK_FALSE(h.grad().defined());
}

TEST_CASE("ag::grad returns gradients without touching .grad") {
  ag::Tensor x({0.5, -1.0, 2.0}, ag::f64, true);
  ag::Tensor w({2.0, 3.0, -1.0}, ag::f64, true);
  ag::Tensor y = (ag::sin(x) * w).sum();
  std::vector<ag::Tensor> g = ag::grad({y}, {x, w});
  REQUIRE(g.size() == 2);
  std::vector<double> gx, gw;
  const double xv[3] = {0.5, -1.0, 2.0}, wv[3] = {2.0, 3.0, -1.0};
  for (int i = 0; i < 3; ++i) {
    gx.push_back(std::cos(xv[i]) * wv[i]);
    gw.push_back(std::sin(xv[i]));
  }
  check_values(g[0], {3}, gx);
  check_values(g[1], {3}, gw);
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
  CHECK_FALSE(g[0].requires_grad());  // no create_graph
  // retain_graph defaults to create_graph (false): the graph is freed
  CHECK_THROWS_AS(ag::grad({y}, {x}), ag::GradError);
}

TEST_CASE("ag::grad with respect to a non-leaf") {
  ag::Tensor x({0.5, 1.5}, ag::f64, true);
  ag::Tensor h = x * x;                // non-leaf
  ag::Tensor y = ag::sin(h).sum();     // dy/dh = cos(h), dy/dx = cos(h)·2x
  std::vector<ag::Tensor> g = ag::grad({y}, {h, x}, {}, /*retain_graph=*/true);
  check_values(g[0], {2}, {std::cos(0.25), std::cos(2.25)});
  check_values(g[1], {2}, {std::cos(0.25) * 1.0, std::cos(2.25) * 3.0});
  CHECK_FALSE(h.grad().defined());
  CHECK_FALSE(x.grad().defined());
  // the graph was retained: grad again w.r.t. the non-leaf alone
  std::vector<ag::Tensor> g2 = ag::grad({y}, {h});
  check_values(g2[0], {2}, {std::cos(0.25), std::cos(2.25)});
}

TEST_CASE("ag::grad of a tensor with respect to itself is the seed") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor h = x * 3.0;
  std::vector<ag::Tensor> g = ag::grad({h}, {h, x}, {ag::Tensor({0.5, -1.0}, ag::f64)});
  check_values(g[0], {2}, {0.5, -1.0});
  check_values(g[1], {2}, {1.5, -3.0});
  ag::Tensor s = ag::scalar(4.0, ag::f64, true);
  check_values(ag::grad({s}, {s})[0], {}, {1.0});
}

TEST_CASE("ag::grad with an explicit grad_output") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  ag::Tensor y = x * x * x;
  std::vector<ag::Tensor> g = ag::grad({y}, {x}, {ag::Tensor({1.0, -1.0, 0.5}, ag::f64)});
  check_values(g[0], {3}, {3.0, -12.0, 13.5});
}

TEST_CASE("ag::grad rejects an unused input unless allow_unused") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor unused({5.0}, ag::f64, true);
  ag::Tensor y = (x * x).sum();
  CHECK_THROWS_AS(ag::grad({y}, {x, unused}, {}, true), ag::GradError);
  const std::string msg = error_of([&] { ag::grad({y}, {x, unused}, {}, true); });
  CHECK(contains(msg, "allow_unused"));
  CHECK(contains(msg, "input 1"));
  std::vector<ag::Tensor> g = ag::grad({y}, {x, unused}, {}, true, false, /*allow_unused=*/true);
  REQUIRE(g.size() == 2);
  check_values(g[0], {2}, {2.0, 4.0});
  CHECK_FALSE(g[1].defined());
}

TEST_CASE("ag::grad rejects an input that does not require grad") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor c({1.0, 2.0}, ag::f64, false);
  ag::Tensor y = (x * c).sum();
  CHECK_THROWS_AS(ag::grad({y}, {c}), ag::GradError);
  const std::string msg = error_of([&] { ag::grad({y}, {c}); });
  CHECK(contains(msg, "does not require grad"));
  CHECK(contains(msg, "[2]"));
}

TEST_CASE("ag::grad with create_graph returns differentiable gradients") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y = (x * x * x).sum();
  std::vector<ag::Tensor> g = ag::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true);
  CHECK(g[0].requires_grad());
  CHECK_FALSE(g[0].is_leaf());
  check_values(g[0], {2}, {3.0, 12.0});
  g[0].sum().backward();  // d/dx Σ 3x² = 6x
  check_values(x.grad(), {2}, {6.0, 12.0});
}

TEST_CASE("ops that save their output work when the output is a temporary") {
  // exp, tanh, sigmoid, sqrt, rdiv and pow keep their output; here nobody else holds it
  ag::Tensor x({0.3, 0.8}, ag::f64, true);
  (ag::exp(x) + ag::tanh(x) + ag::sigmoid(x) + ag::sqrt(x) + 1.0 / x + ag::pow(2.0, x)).sum().backward();
  std::vector<double> want;
  for (double v : {0.3, 0.8}) {
    const double s = 1 / (1 + std::exp(-v));
    want.push_back(std::exp(v) + (1 - std::tanh(v) * std::tanh(v)) + s * (1 - s) + 0.5 / std::sqrt(v) -
                   1 / (v * v) + std::pow(2.0, v) * std::log(2.0));
  }
  check_values(x.grad(), {2}, want);
}

TEST_CASE("a custom op written with ag::record matches its closed form") {
  // swish(x) = x·σ(x), d/dx = σ + x·σ(1-σ)
  auto swish = [](const ag::Tensor& x) {
    ag::Tensor s = ag::no_grad([&] { return ag::sigmoid(x); });
    ag::Tensor y = ag::no_grad([&] { return x * s; });
    return ag::record("swish", {x}, y, [s](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
      const ag::Tensor& x = c.input(0);
      return {g * (s + x * s * (1.0 - s))};
    });
  };
  ag::Tensor x({-1.0, 0.5, 2.0}, ag::f64, true);
  ag::Tensor y = swish(x);
  CHECK(std::string(y.op_name()) == "swish");
  std::vector<double> fy, dy;
  for (double v : {-1.0, 0.5, 2.0}) {
    const double s = 1 / (1 + std::exp(-v));
    fy.push_back(v * s);
    dy.push_back(s + v * s * (1 - s));
  }
  check_values(y, {3}, fy);
  y.sum().backward();
  check_values(x.grad(), {3}, dy);

  // without an input that requires grad nothing is recorded
  ag::Tensor c({1.0}, ag::f64);
  ag::Tensor yc = swish(c);
  CHECK(yc.is_leaf());
  CHECK_FALSE(yc.requires_grad());
}

TEST_CASE("a custom op written with ag::op uses keep_output") {
  // cube via op(): forward under no-grad, VJP 3·y/x·g using the saved output
  auto cube = [](const ag::Tensor& x) {
    return ag::op(
        "cube", {x}, [&] { return x * x * x; },
        [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
          CHECK(c.num_inputs() == 1);
          CHECK(c.needs_grad(0));
          return {g * c.output() * 3.0 / c.input(0)};
        },
        ag::keep_output);
  };
  ag::Tensor x({1.0, -2.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  ag::Tensor y = cube(x);
  CHECK(ag::live_node_count() == live0 + 1);  // the forward's own mul ops were not recorded
  check_values(y, {2}, {1.0, -8.0});
  y.sum().backward();
  check_values(x.grad(), {2}, {3.0, 12.0});
}

TEST_CASE("an error during backward leaves the graph usable") {
  // tape order: a (mul), b (bad), add, sum. The sweep reaches `bad` before `a`'s node.
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor a = x * 2.0;
  ag::Tensor b = ag::record("bad", {x}, ag::no_grad([&] { return x * 1.0; }),
                            [](const ag::VjpContext&, const ag::Tensor&) -> ag::Grads {
                              throw std::runtime_error("bad: VJP failed");
                            });
  ag::Tensor y = (a + b).sum();
  CHECK_THROWS_WITH_AS(y.backward(), "bad: VJP failed", std::runtime_error);
  x.zero_grad();
  // a fresh backward through `a` must give exactly d(Σ2x)/dx = 2 (no stale gradient, no skipped node)
  a.sum().backward();
  REQUIRE(x.grad().defined());
  check_values(x.grad(), {2}, {2.0, 2.0});
}

TEST_CASE("record returns a fresh output untouched when nothing needs grad") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor out = ag::no_grad([&] { return x * 2.0; });
  ag::NoGradGuard guard;
  ag::Tensor r = ag::record("noop", {x}, out, [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads {
    return {g};
  });
  CHECK(r.id() == out.id());
  CHECK(r.is_leaf());
  CHECK_FALSE(r.requires_grad());
}

TEST_CASE("grad mode and the tape are per thread") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::NoGradGuard off;  // this thread only
  bool other_records = false;
  std::size_t other_live = 0;
  std::thread t([&] {
    ag::Tensor y = x * x;
    other_records = y.requires_grad();
    other_live = ag::live_node_count();
  });
  t.join();
  CHECK(other_records);
  CHECK(other_live == 1);
  CHECK_FALSE((x * x).requires_grad());
}

TEST_CASE("backward of a graph recorded on another thread runs on this thread (as in PyTorch)") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y;
  std::thread t([&] { y = (x * x).sum(); });
  t.join();
  REQUIRE(y.requires_grad());
  y.backward();
  check_values(x.grad(), {2}, {2.0, 4.0});  // d/dx Σx² = 2x
  y = ag::Tensor();  // nodes that outlived their thread are freed safely
}

TEST_CASE("a graph built on two threads is swept in topological order (seq exceeds every input's)") {
  // The worker records many ops first, so its sequence numbers run far ahead of ours. Our nodes
  // that consume its output must still come before it in the sweep, or `u` would be visited with
  // only part of its gradient (the path through `v`).
  ag::Tensor x({0.5, -1.5}, ag::f64, true);
  ag::Tensor u;
  std::thread t([&] {
    std::vector<ag::Tensor> keep;
    for (int i = 0; i < 100; ++i) keep.push_back(ag::sin(x));
    u = ag::exp(x);
  });
  t.join();
  ag::Tensor v = ag::square(u);  // recorded here, consumes the worker's node
  ag::Tensor loss = ag::sum(v + u);
  loss.backward();
  // d/dx Σ(e^{2x} + e^x) = 2e^{2x} + e^x
  check_values(x.grad(), {2}, {2 * std::exp(1.0) + std::exp(0.5), 2 * std::exp(-3.0) + std::exp(-1.5)});
}
