// Tensor hooks and retain_grad.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ag/ag.hpp"
#include "support/values.hpp"

TEST_CASE("hooks: a leaf hook sees the total gradient once and may replace it") {
  ag::Tensor a({1.0, 2.0}, ag::f64, true);
  std::vector<ag::Tensor> seen;
  a.register_hook([&](const ag::Tensor& g) {
    seen.push_back(g.detach());
    return ag::mul(g, 10.0);
  });
  // a is used twice: d/da (a·a + a) = 2a + 1 = {3, 5}
  ag::sum(ag::add(ag::mul(a, a), a)).backward();
  REQUIRE(seen.size() == 1);
  check_values(seen[0], {2}, {3.0, 5.0});
  check_values(a.grad(), {2}, {30.0, 50.0});
}

TEST_CASE("hooks: a non-leaf hook changes what flows to the inputs, a void hook only observes") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  ag::Tensor h = ag::mul(x, 2.0);
  int calls = 0;
  h.register_hook([&](const ag::Tensor& g) {
    ++calls;
    check_values(g, {3}, {1.0, 1.0, 1.0});
  });
  h.register_hook([](const ag::Tensor& g) { return ag::mul(g, ag::Tensor({1.0, 0.0, -1.0}, ag::f64)); });
  ag::sum(h).backward();
  CHECK(calls == 1);
  check_values(x.grad(), {3}, {2.0, 0.0, -2.0});
}

TEST_CASE("hooks: remove_hook, and hooks apply to ag::grad too") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  const std::size_t id = x.register_hook([](const ag::Tensor& g) { return ag::neg(g); });
  ag::Tensor y = ag::sum(ag::mul(x, x));
  check_values(ag::grad({y}, {x}, {}, true)[0], {2}, {-2.0, -4.0});
  x.remove_hook(id);
  check_values(ag::grad({y}, {x})[0], {2}, {2.0, 4.0});
  CHECK_THROWS_AS(x.remove_hook(id), ag::ValueError);
}

TEST_CASE("hooks: a hook returning the wrong shape raises GradError naming it") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor h = ag::exp(x);
  h.register_hook([](const ag::Tensor&) { return ag::zeros({3}, ag::f64); });
  try {
    ag::sum(h).backward();
    FAIL("expected GradError");
  } catch (const ag::GradError& e) {
    const std::string m = e.what();
    CHECK(m.find("'exp'") != std::string::npos);
    CHECK(m.find("[3]") != std::string::npos);
    CHECK(m.find("[2]") != std::string::npos);
  }
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("hooks: register_hook on a tensor without grad is an error") {
  ag::Tensor c({1.0}, ag::f64);
  CHECK_THROWS_AS(c.register_hook([](const ag::Tensor& g) { return g; }), ag::GradError);
  CHECK_THROWS_AS(c.retain_grad(), ag::GradError);
}

TEST_CASE("hooks: retain_grad keeps a non-leaf's gradient, accumulating like a leaf") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor h = ag::mul(x, 3.0);
  CHECK_FALSE(h.retains_grad());
  h.retain_grad();
  CHECK(h.retains_grad());
  ag::Tensor other = ag::mul(x, 5.0);  // not retained
  ag::Tensor y = ag::sum(ag::add(ag::mul(h, h), other));  // dy/dh = 2h = {6, 12}
  y.backward(ag::Tensor(), true);
  check_values(h.grad(), {2}, {6.0, 12.0});
  CHECK_FALSE(other.grad().defined());
  y.backward();
  check_values(h.grad(), {2}, {12.0, 24.0});
  check_values(x.grad(), {2}, {2 * (18.0 + 5.0), 2 * (36.0 + 5.0)});
}
