// TensorList (an op's inputs and a VJP's gradients: 4 in place, more on the heap), the three forms
// of record()'s inputs, Tensor::size(axis), and a backward started inside another backward.
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

ag::Tensor val(double v) { return ag::Tensor({v}, ag::f64); }

// The values of a list of one-element tensors (undefined: -1).
std::vector<double> values(const ag::TensorList& l) {
  std::vector<double> out;
  for (const ag::Tensor& t : l) out.push_back(t.defined() ? t.item() : -1.0);
  return out;
}

}  // namespace

TEST_CASE("TensorList: push_back spills to the heap after 4 items and pop_back comes back") {
  ag::TensorList l;
  CHECK(l.empty());
  for (int i = 0; i < 7; ++i) {
    l.push_back(val(i));
    CHECK(l.size() == static_cast<std::size_t>(i + 1));
    CHECK(l.back().item() == i);
  }
  CHECK(values(l) == std::vector<double>{0, 1, 2, 3, 4, 5, 6});
  for (int i = 7; i-- > 3;) l.pop_back();  // back to 3 items: through the in-place boundary
  CHECK(values(l) == std::vector<double>{0, 1, 2});
  l.push_back(val(9));
  l.push_back(val(10));  // spills again
  CHECK(values(l) == std::vector<double>{0, 1, 2, 9, 10});
  l.clear();
  CHECK(l.empty());
  CHECK(l.begin() == l.end());
}

TEST_CASE("TensorList: copies share tensors, moves leave the source empty, at any size") {
  for (int n : {0, 2, 4, 5, 9}) {
    INFO("n " << n);
    ag::TensorList a;
    for (int i = 0; i < n; ++i) a.push_back(val(i));
    ag::TensorList b = a;  // copy: same tensors (handles), both usable
    REQUIRE(b.size() == a.size());
    for (int i = 0; i < n; ++i) CHECK(b[i].id() == a[i].id());
    ag::TensorList c = std::move(a);
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from list is empty and usable
    CHECK(values(c) == values(b));
    a.push_back(val(42));
    CHECK(values(a) == std::vector<double>{42});
    ag::TensorList d;
    d.push_back(val(7));
    d = std::move(c);  // move-assign over a non-empty list
    CHECK(values(d) == values(b));
    CHECK(c.empty());  // NOLINT(bugprone-use-after-move)
    d = b;  // copy-assign
    CHECK(values(d) == values(b));
  }
}

TEST_CASE("TensorList: built from items, iterators, vectors, a size") {
  ag::Tensor x = val(1), y = val(2);
  ag::TensorList items{x, y, ag::Tensor(), val(3)};
  CHECK(values(items) == std::vector<double>{1, 2, -1, 3});
  CHECK(items[0].id() == x.id());  // an lvalue item is the same tensor
  std::vector<ag::Tensor> v{val(1), val(2), val(3), val(4), val(5), val(6)};
  ag::TensorList from_vec = v;
  CHECK(values(from_vec) == std::vector<double>{1, 2, 3, 4, 5, 6});
  ag::TensorList from_moved(std::vector<ag::Tensor>{val(8), val(9)});
  CHECK(values(from_moved) == std::vector<double>{8, 9});
  ag::TensorList from_iters(v.begin() + 1, v.begin() + 3);
  CHECK(values(from_iters) == std::vector<double>{2, 3});
  ag::TensorList sized(6);
  CHECK(values(sized) == std::vector<double>(6, -1.0));
  sized.resize(2);
  CHECK(sized.size() == 2);
  CHECK(from_vec.to_vector().size() == 6);
}

TEST_CASE("record: a braced list, a std::vector and a TensorList of inputs, up to many inputs") {
  // y = Σ_i (i+1)·x_i over 6 inputs (more than the 4 kept in place), recorded three ways
  std::vector<ag::Tensor> xs;
  for (int i = 0; i < 6; ++i) xs.push_back(ag::Tensor({0.5 * i}, ag::f64, true));
  auto forward = [&] {
    return ag::no_grad([&] {
      ag::Tensor s = ag::zeros({1}, ag::f64);
      for (std::size_t i = 0; i < xs.size(); ++i) s = s + xs[i] * static_cast<double>(i + 1);
      return s;
    });
  };
  auto vjp = [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
    ag::Grads out;
    for (std::size_t i = 0; i < c.num_inputs(); ++i) out.push_back(g * static_cast<double>(i + 1));
    return out;
  };
  auto check_grads = [&](const ag::Tensor& y) {
    for (auto& x : xs) x.zero_grad();
    y.sum().backward();
    for (std::size_t i = 0; i < xs.size(); ++i) CHECK(xs[i].grad().item() == static_cast<double>(i + 1));
  };
  check_grads(ag::record("weighted", xs, forward(), vjp));
  check_grads(ag::record("weighted", ag::TensorList(xs), forward(), vjp));
  check_grads(ag::record("weighted", {xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]}, forward(), vjp));
  // a temporary in the braced list stays alive for the node: it is held, not referenced
  ag::Tensor a({3.0}, ag::f64, true);
  ag::Tensor y = ag::record("twice", {a * 1.0}, ag::no_grad([&] { return a * 2.0; }),
                            [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
                              CHECK(c.input(0).item() == 3.0);
                              return {g * 2.0};
                            });
  y.backward();
  CHECK(a.grad().item() == 2.0);
}

TEST_CASE("a VJP may return more gradients than fit in place, or a std::vector") {
  ag::Tensor x({1.0}, ag::f64, true);
  ag::Tensor y = ag::record("too_many", {x}, ag::no_grad([&] { return x * 1.0; }),
                            [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads {
                              return std::vector<ag::Tensor>(5, g);
                            });
  try {
    y.backward();
    FAIL("expected GradError");
  } catch (const ag::GradError& e) {
    CHECK(std::string(e.what()).find("returned 5 gradients for 1 inputs") != std::string::npos);
  }
}

TEST_CASE("Tensor::size(axis) reads one dimension, negative axes count from the end") {
  ag::Tensor t = ag::zeros({2, 3, 4});
  CHECK(t.size(0) == 2);
  CHECK(t.size(2) == 4);
  CHECK(t.size(-1) == 4);
  CHECK(t.size(-3) == 2);
  try {
    (void)t.size(3);
    FAIL("expected IndexError");
  } catch (const ag::IndexError& e) {
    const std::string m = e.what();
    CHECK(m.find("size") != std::string::npos);
    CHECK(m.find("[2, 3, 4]") != std::string::npos);
  }
  CHECK_THROWS_AS((void)t.size(-4), ag::IndexError);
  CHECK_THROWS_AS((void)ag::scalar(1.0).size(0), ag::IndexError);
  CHECK_THROWS_AS((void)ag::Tensor().size(0), ag::Error);
}

TEST_CASE("a backward run from a hook inside another backward gets its own sweep") {
  // The outer sweep keeps its pending nodes in a reused per-thread list; the inner one (started
  // by a hook) must not disturb it.
  ag::Tensor x({2.0}, ag::f64, true);
  ag::Tensor u({5.0}, ag::f64, true);
  ag::Tensor h = x * 3.0;
  double inner_grad = 0.0;
  h.register_hook([&](const ag::Tensor& g) {
    ag::EnableGradGuard record;  // hooks run with recording off, like VJPs
    ag::Tensor v = (u * u).sum();  // an unrelated graph: dv/du = 2u = 10
    v.backward();
    inner_grad = u.grad().item();
    return g;
  });
  ag::Tensor y = (h * h).sum() + (x * 1.0).sum();  // dy/dx = 2h·3 + 1 = 37
  y.backward();
  CHECK(inner_grad == 10.0);
  CHECK(x.grad().item() == 37.0);
  // and the reused list is clean for the next backward
  x.zero_grad();
  (x * 4.0).sum().backward();
  CHECK(x.grad().item() == 4.0);
}
