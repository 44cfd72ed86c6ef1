// Shape ops (ag/ops/shape.hpp): reshape, permute/transpose, squeeze/unsqueeze/flatten/expand,
// concat, stack, split, slice, select and pad: values and gradients.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <doctest/doctest.h>
#include "ag/ag.hpp"
#include "support/values.hpp"

using opt::iota;



TEST_CASE("reshape with -1 keeps row-major order and its gradient") {
  ag::Tensor x = ag::arange(12.0, ag::f64).detach().requires_grad_();
  ag::Tensor r = x.reshape({3, -1});
  check_values(r, {3, 4}, values_of(x));
  CHECK(ag::reshape(x, {-1, 2, 3}).shape() == ag::Shape{2, 2, 3});
  CHECK(ag::reshape(x, {12}).shape() == ag::Shape{12});
  CHECK(ag::reshape(ag::scalar(5.0), {1, 1}).shape() == ag::Shape{1, 1});
  CHECK(ag::reshape(ag::ones({1, 1}), {}).dim() == 0);
  // L = Σ w ⊙ reshape(x) -> grad is w flattened
  ag::Tensor w = ag::arange(100.0, 112.0, 1.0, ag::f64).reshape({3, 4});
  (r * w).sum().backward();
  check_values(x.grad(), {12}, values_of(w));
}

TEST_CASE("permute and transpose move values and gradients") {
  // x[i,j,k] = 12i + 4j + k, shape [2,3,4]
  ag::Tensor x = ag::arange(24.0, ag::f64).reshape({2, 3, 4}).detach().requires_grad_();
  ag::Tensor p = ag::permute(x, {2, 0, 1});  // p[k,i,j] = x[i,j,k]
  REQUIRE(p.shape() == ag::Shape{4, 2, 3});
  const auto& pv = p.value<double>();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(pv(k, i, j) == 12.0 * i + 4.0 * j + k);
  CHECK(ag::permute(x, {-1, 0, 1}).shape() == ag::Shape{4, 2, 3});

  ag::Tensor t = ag::transpose(x, 0, 2);  // t[k,j,i]
  REQUIRE(t.shape() == ag::Shape{4, 3, 2});
  CHECK(t.value<double>()(3, 1, 1) == 12.0 + 4.0 + 3.0);
  ag::Tensor full_t = ag::transpose(x);  // reverses all axes
  CHECK(full_t.shape() == ag::Shape{4, 3, 2});
  CHECK(values_of(full_t) == values_of(t));

  ag::Tensor m({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, ag::f64);
  check_values(m.t(), {3, 2}, {1, 4, 2, 5, 3, 6});
  check_values(ag::transpose(m, -1, -2), {3, 2}, {1, 4, 2, 5, 3, 6});

  // gradient of L = Σ w ⊙ permute(x): w permuted back
  ag::Tensor w = ag::arange(24.0, ag::f64).reshape({4, 2, 3}) * 0.5;
  (p * w).sum().backward();
  const auto& g = x.grad().value<double>();
  const auto& wv = w.value<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(g(i, j, k) == wv(k, i, j));

  x.zero_grad();
  ag::Tensor w2 = ag::arange(24.0, ag::f64).reshape({4, 3, 2});
  (t * w2).sum().backward();
  const auto& g2 = x.grad().value<double>();
  const auto& w2v = w2.value<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(g2(i, j, k) == w2v(k, j, i));
}

using opt::check;
using opt::make;
using opt::vals;

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

TEST_CASE("concat joins along an axis, its gradient splits back") {
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

TEST_CASE("select removes the axis, negative indices count from the end") {
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

TEST_CASE("pad: PyTorch's pad list (last axis first), constant with crops, reflect, replicate, circular") {
  for (ag::DType d : opt::kDtypes) {
    const ag::Tensor x = opt::make({1, 2, 3, 4, 5, 6}, {2, 3}, d);
    // last axis: 1 before, 2 after
    opt::check(ag::pad(x, {1, 2}), {2, 6}, {0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0}, 0.0);
    // both axes, a value, and a crop of the last axis' first column
    opt::check(ag::pad(x, {-1, 0, 1, 0}, "constant", 7.0), {3, 2}, {7, 7, 2, 3, 5, 6}, 0.0);
    opt::check(ag::pad(x, {2, 1}, "reflect"), {2, 6}, {3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}, 0.0);
    opt::check(ag::pad(x, {1, 2}, "replicate"), {2, 6}, {1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6}, 0.0);
    opt::check(ag::pad(x, {0, 0, 1, 1}, "circular"), {4, 3}, {4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3}, 0.0);
    opt::check(ag::pad(x, {2, 1, 1, 0}, "reflect"), {3, 6},
               {6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}, 0.0);
  }
  // the NCHW case: zeros around each image
  const ag::Tensor img = opt::iota({1, 2, 2, 2});
  const ag::Tensor p = ag::pad(img, {1, 1, 1, 1});
  CHECK(p.shape() == ag::Shape{1, 2, 4, 4});
  CHECK(ag::sum(p).item<double>() == ag::sum(img).item<double>());
  CHECK(values_of(p)[5] == 0.0);
  CHECK(values_of(p)[16 + 5] == 4.0);
  // gradients: constant crops back, reflect adds the mirrored copies
  const ag::Tensor x = opt::make({1, 2, 3}, {3}, ag::f64, true);
  const ag::Tensor w = opt::make({1, 10, 100, 1000, 10000, 100000}, {6}, ag::f64);
  ag::sum(ag::pad(x, {2, 1}, "reflect") * w).backward();  // [3, 2, 1, 2, 3, 2]
  opt::check(x.grad(), {3}, {100, 10 + 1000 + 100000, 1 + 10000}, 0.0);
  const ag::Tensor y = opt::make({1, 2, 3}, {3}, ag::f64, true);
  ag::sum(ag::pad(y, {1, -1}) * opt::make({1, 10, 100}, {3}, ag::f64)).backward();  // [0, 1, 2]
  opt::check(y.grad(), {3}, {10, 100, 0}, 0.0);
  CHECK(ag::pad(x, {0, 0}).shape() == ag::Shape{3});
}
