// squeeze/unsqueeze/flatten/expand, concat/stack/split, slice/select, index_select,
// take_along_axis/gather and one_hot: values, gradients by hand, error messages.
#include <cmath>

#include "autograd/ops_test_util.hpp"

using opt::check;
using opt::make;
using opt::vals;

namespace {
ag::Tensor iota(const ag::Shape& s, ag::DType d = ag::f64, bool rg = false) {
  std::size_t n = 1;
  for (std::size_t v : s) n *= v;
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return make(v, s, d, rg);
}
}  // namespace

TEST_CASE("squeeze, unsqueeze, flatten and expand") {
  ag::Tensor x = iota({1, 3, 1, 2});
  check(ag::squeeze(x), {3, 2}, vals(x), 0);
  check(ag::squeeze(x, {0}), {3, 1, 2}, vals(x), 0);
  check(ag::squeeze(x, {-2, 0}), {3, 2}, vals(x), 0);
  CHECK_THROWS_AS(ag::squeeze(x, {1}), ag::ShapeError);
  check(ag::unsqueeze(iota({3}), 0), {1, 3}, {0, 1, 2}, 0);
  check(ag::unsqueeze(iota({3}), -1), {3, 1}, {0, 1, 2}, 0);
  check(ag::unsqueeze(iota({3}), 1), {3, 1}, {0, 1, 2}, 0);
  CHECK_THROWS_AS(ag::unsqueeze(iota({3}), 2), ag::ShapeError);
  check(ag::unsqueeze(make({5}, {}), 0), {1}, {5}, 0);
  ag::Tensor y = iota({2, 3, 4});
  check(ag::flatten(y), {24}, vals(y), 0);
  check(ag::flatten(y, 1), {2, 12}, vals(y), 0);
  check(ag::flatten(y, 0, 1), {6, 4}, vals(y), 0);
  check(ag::flatten(y, -2, -1), {2, 12}, vals(y), 0);
  check(ag::flatten(make({5}, {})), {1}, {5}, 0);
  CHECK_THROWS_AS(ag::flatten(y, 2, 1), ag::ShapeError);
  check(ag::expand(make({1, 2}, {2, 1}), {2, 3}), {2, 3}, {1, 1, 1, 2, 2, 2}, 0);
  // gradients flow back through the reshapes
  ag::Tensor z = iota({2, 1, 3}, ag::f64, true);
  (ag::flatten(ag::squeeze(ag::unsqueeze(z, 0))) * make({1, 2, 3, 4, 5, 6}, {6})).sum().backward();
  check(z.grad(), {2, 1, 3}, {1, 2, 3, 4, 5, 6}, 0);
}

TEST_CASE("concat joins along an axis; its gradient splits back") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor a = make({1, 2, 3, 4}, {2, 2}, d, true), b = make({5, 6}, {2, 1}, d, true);
    ag::Tensor y = ag::concat({a, b}, 1);
    check(y, {2, 3}, {1, 2, 5, 3, 4, 6}, 0);
    CHECK(y.dtype() == d);
    (y * make({1, 2, 3, 4, 5, 6}, {2, 3}, d)).sum().backward();
    check(a.grad(), {2, 2}, {1, 2, 4, 5}, 0);
    check(b.grad(), {2, 1}, {3, 6}, 0);
  }
  ag::Tensor a = iota({1, 2}), b = iota({2, 2}, ag::f64, true);
  check(ag::concat({a, b, a}, 0), {4, 2}, {0, 1, 0, 1, 2, 3, 0, 1}, 0);
  check(ag::concat({a, b}, -2), {3, 2}, {0, 1, 0, 1, 2, 3}, 0);
  CHECK_THROWS_AS(ag::concat({}, 0), ag::ValueError);
  CHECK_THROWS_AS(ag::concat({a, b.to(ag::f32)}, 0), ag::DtypeError);
  const std::string msg = opt::message_of([&] { ag::concat({a, iota({2, 3})}, 0); });
  CHECK(msg.find("concat") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(msg.find("[1, 2]") != std::string::npos);
  CHECK_THROWS_AS(ag::concat({a, iota({2, 3})}, 0), ag::ShapeError);
  CHECK_THROWS_AS(ag::concat({make({1}, {}), make({2}, {})}, 0), ag::ShapeError);
}

TEST_CASE("stack adds an axis") {
  ag::Tensor a = make({1, 2}, {2}, ag::f64, true), b = make({3, 4}, {2}, ag::f64, true);
  check(ag::stack({a, b}), {2, 2}, {1, 2, 3, 4}, 0);
  check(ag::stack({a, b}, 1), {2, 2}, {1, 3, 2, 4}, 0);
  check(ag::stack({a, b, a}, -1), {2, 3}, {1, 3, 1, 2, 4, 2}, 0);
  check(ag::stack({make({1}, {}), make({2}, {})}), {2}, {1, 2}, 0);
  (ag::stack({a, b}, 1) * make({1, 2, 3, 4}, {2, 2})).sum().backward();
  check(a.grad(), {2}, {1, 3}, 0);
  check(b.grad(), {2}, {2, 4}, 0);
  CHECK_THROWS_AS(ag::stack({a, make({1, 2, 3}, {3})}), ag::ShapeError);
  CHECK_THROWS_AS(ag::stack({a, b}, 2), ag::ShapeError);
}

TEST_CASE("split into equal sections or given sizes") {
  ag::Tensor x = iota({2, 6}, ag::f64, true);
  std::vector<ag::Tensor> p = ag::split(x, 3, 1);
  REQUIRE(p.size() == 3);
  check(p[0], {2, 2}, {0, 1, 6, 7}, 0);
  check(p[2], {2, 2}, {4, 5, 10, 11}, 0);
  std::vector<ag::Tensor> q = ag::split(x, {1, 5}, -1);
  REQUIRE(q.size() == 2);
  check(q[0], {2, 1}, {0, 6}, 0);
  check(q[1], {2, 5}, {1, 2, 3, 4, 5, 7, 8, 9, 10, 11}, 0);
  (q[0] * 2.0 + p[1].sum()).sum().backward();  // p[1] covers columns 2, 3 (twice: 2 rows of q[0])
  check(x.grad(), {2, 6}, {2, 0, 2, 2, 0, 0, 2, 0, 2, 2, 0, 0}, 0);
  CHECK(ag::split(x, std::size_t{2}, 0).size() == 2);
  CHECK_THROWS_AS(ag::split(x, 4, 1), ag::ShapeError);  // like sizes that do not add up (below)
  CHECK_THROWS_AS(ag::split(x, 0, 1), ag::ValueError);
  CHECK_THROWS_AS(ag::split(x, {2, 2}, 1), ag::ShapeError);
}

TEST_CASE("slice follows python's semantics") {
  ag::Tensor x = iota({6});
  check(ag::slice(x, 0, 1, 4), {3}, {1, 2, 3}, 0);
  check(ag::slice(x, 0, -2, std::nullopt), {2}, {4, 5}, 0);
  check(ag::slice(x, 0, std::nullopt, -4), {2}, {0, 1}, 0);
  check(ag::slice(x, 0, std::nullopt, std::nullopt, 2), {3}, {0, 2, 4}, 0);
  check(ag::slice(x, 0, std::nullopt, std::nullopt, -1), {6}, {5, 4, 3, 2, 1, 0}, 0);
  check(ag::slice(x, 0, 5, 0, -2), {3}, {5, 3, 1}, 0);
  check(ag::slice(x, 0, -100, 100), {6}, {0, 1, 2, 3, 4, 5}, 0);
  check(ag::slice(x, 0, 100, -100, -3), {2}, {5, 2}, 0);
  check(ag::slice(x, 0, 4, 2), {0}, {}, 0);
  CHECK_THROWS_AS(ag::slice(x, 0, 0, 2, 0), ag::ValueError);
  CHECK_THROWS_AS(ag::slice(make({1}, {}), 0, 0, 1), ag::ShapeError);
  // along axis 1 of [2,4] with a step; the gradient lands on the picked columns
  ag::Tensor m = iota({2, 4}, ag::f64, true);
  ag::Tensor s = ag::slice(m, 1, 3, std::nullopt, -2);
  check(s, {2, 2}, {3, 1, 7, 5}, 0);
  (s * make({1, 2, 3, 4}, {2, 2})).sum().backward();
  check(m.grad(), {2, 4}, {0, 2, 0, 1, 0, 4, 0, 3}, 0);
}

TEST_CASE("select removes the axis; negative indices count from the end") {
  ag::Tensor m = iota({2, 3}, ag::f32, true);
  ag::Tensor c = ag::select(m, 1, -1);
  check(c, {2}, {2, 5}, 0);
  CHECK(c.dtype() == ag::f32);
  check(ag::select(m, 0, 1), {3}, {3, 4, 5}, 0);
  check(ag::select(iota({3}), 0, 2), {}, {2}, 0);
  (c * make({10, 20}, {2}, ag::f32)).sum().backward();
  check(m.grad(), {2, 3}, {0, 0, 10, 0, 0, 20}, 0);
  CHECK_THROWS_AS(ag::select(m, 1, 3), ag::IndexError);
  CHECK_THROWS_AS(ag::select(m, 1, -4), ag::IndexError);
  const std::string msg = opt::message_of([&] { ag::select(m, 0, 2); });
  CHECK(msg.find("select") != std::string::npos);
  CHECK(msg.find("index 2") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
}

TEST_CASE("index_select with a list or an integer-valued tensor; repeats accumulate") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({10, 20, 30}, {3}, d, true);
    ag::Tensor y = ag::index_select(x, 0, {2, 0, 2});
    check(y, {3}, {30, 10, 30}, 0);
    y.sum().backward();
    check(x.grad(), {3}, {1, 0, 2}, 0);
    check(ag::index_select(x, 0, make({1, 1}, {2}, d)), {2}, {20, 20}, 0);
    check(ag::index_select(x, 0, make({1}, {1}, d == ag::f32 ? ag::f64 : ag::f32)), {1}, {20}, 0);
  }
  ag::Tensor m = iota({2, 3}, ag::f64, true);
  check(ag::index_select(m, 1, std::vector<std::size_t>{2, 0}), {2, 2}, {2, 0, 5, 3}, 0);
  check(ag::index_select(m, -2, {1}), {1, 3}, {3, 4, 5}, 0);
  check(ag::index_select(m, 0, std::vector<std::size_t>{}), {0, 3}, {}, 0);
  (ag::index_select(m, 1, {2, 2}) * make({1, 2, 3, 4}, {2, 2})).sum().backward();
  check(m.grad(), {2, 3}, {0, 0, 3, 0, 0, 7}, 0);
  // errors: out of range, fractional, negative, not 1-D
  const std::string msg = opt::message_of([&] { ag::index_select(m, 1, {0, 3}); });
  CHECK(msg.find("index_select") != std::string::npos);
  CHECK(msg.find("index 3") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK_THROWS_AS(ag::index_select(m, 1, {0, 3}), ag::IndexError);
  const std::string frac = opt::message_of([&] { ag::index_select(m, 1, make({0.5}, {1})); });
  CHECK(frac.find("0.5") != std::string::npos);
  CHECK(frac.find("integer") != std::string::npos);
  CHECK_THROWS_AS(ag::index_select(m, 1, make({0.5}, {1})), ag::IndexError);
  CHECK_THROWS_AS(ag::index_select(m, 1, make({-1}, {1})), ag::IndexError);
  CHECK_THROWS_AS(ag::index_select(m, 1, make({NAN}, {1})), ag::IndexError);
  CHECK_THROWS_AS(ag::index_select(m, 1, make({0, 1}, {1, 2})), ag::ShapeError);
  CHECK_THROWS_AS(ag::index_select(m, 2, {0}), ag::ShapeError);
}

TEST_CASE("take_along_axis / gather pick the true class (the NLL pattern)") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor logp = make({0.1, 0.2, 0.7, 0.3, 0.3, 0.4}, {2, 3}, d, true);
    ag::Tensor labels = make({2, 0}, {2}, d);
    ag::Tensor picked = ag::take_along_axis(logp, labels.reshape({-1, 1}), 1);
    check(picked, {2, 1}, {0.7, 0.3}, opt::tol(d));
    (-picked).mean().backward();
    check(logp.grad(), {2, 3}, {0, 0, -0.5, -0.5, 0, 0}, 0);
    check(ag::gather(logp, 1, make({1, 1, 0, 2}, {2, 2}, d)), {2, 2}, {0.2, 0.2, 0.3, 0.4}, opt::tol(d));
  }
  // along axis 0: out[j, c] = x[idx[j, c], c]; repeated picks accumulate in the gradient
  ag::Tensor x = iota({3, 2}, ag::f64, true);
  ag::Tensor idx = make({2, 0, 2, 2, 1, 1}, {3, 2});
  ag::Tensor y = ag::take_along_axis(x, idx, 0);
  check(y, {3, 2}, {4, 1, 4, 5, 2, 3}, 0);
  y.sum().backward();
  check(x.grad(), {3, 2}, {0, 1, 1, 1, 2, 1}, 0);
  CHECK_THROWS_AS(ag::take_along_axis(x, make({0, 1}, {2}), 0), ag::ShapeError);
  CHECK_THROWS_AS(ag::take_along_axis(x, make({0, 1, 0}, {1, 3}), 0), ag::ShapeError);
  const std::string msg = opt::message_of([&] { ag::take_along_axis(x, make({0, 3}, {1, 2}), 0); });
  CHECK(msg.find("take_along_axis") != std::string::npos);
  CHECK(msg.find("index 3") != std::string::npos);
  CHECK(msg.find("[3, 2]") != std::string::npos);
  CHECK_THROWS_AS(ag::take_along_axis(x, make({0, 3}, {1, 2}), 0), ag::IndexError);
  CHECK_THROWS_AS(ag::gather(x, 1, make({0, 1.5, 0, 0, 0, 0}, {3, 2})), ag::IndexError);
}

TEST_CASE("one_hot from a list or a tensor of labels") {
  ag::Tensor h = ag::one_hot({2, 0, 1}, 3);
  check(h, {3, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0}, 0);
  CHECK(h.dtype() == ag::f32);
  CHECK_FALSE(h.requires_grad());
  ag::Tensor t = ag::one_hot(make({1, 0}, {2, 1}, ag::f32), 2, ag::f64);
  check(t, {2, 1, 2}, {0, 1, 1, 0}, 0);
  CHECK(t.dtype() == ag::f64);
  check(ag::one_hot(make({3}, {}), 4), {4}, {0, 0, 0, 1}, 0);
  CHECK_THROWS_AS(ag::one_hot({0, 3}, 3), ag::IndexError);
  CHECK_THROWS_AS(ag::one_hot(make({0.25}, {1}), 3), ag::IndexError);
  const std::string msg = opt::message_of([&] { ag::one_hot(make({4}, {1}), 3); });
  CHECK(msg.find("one_hot") != std::string::npos);
  CHECK(msg.find("index 4") != std::string::npos);
  CHECK(msg.find("num_classes = 3") != std::string::npos);
}
