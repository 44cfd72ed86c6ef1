// Indexing (ag/ops/indexing.hpp): index_select, take_along_axis / gather, one_hot.
#include <cmath>

#include "support/values.hpp"

using opt::iota;

using opt::check;
using opt::make;
using opt::vals;

TEST_CASE("index_select with a list or an integer-valued tensor, repeats accumulate") {
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
