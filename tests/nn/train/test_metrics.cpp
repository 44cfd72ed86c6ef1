// Metrics against hand-counted values: accuracy_score, mse_score, mae_score.
#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("accuracy_score: argmax rows, index or one-hot targets, single-output thresholds") {
  ag::Tensor p({{0.1, 0.7, 0.2}, {0.8, 0.1, 0.1}, {0.3, 0.3, 0.4}, {0.2, 0.5, 0.3}});
  CHECK(nn::accuracy_score(p, ag::Tensor({1, 0, 2, 0})) == doctest::Approx(0.75));
  CHECK(nn::accuracy_score(p, ag::tensor({{1.0}, {1.0}, {2.0}, {1.0}})) == doctest::Approx(0.75));
  CHECK(nn::accuracy_score(p, ag::one_hot({1, 0, 0, 1}, 3)) == doctest::Approx(0.75));
  ag::Tensor prob = ag::tensor({{0.9}, {0.4}, {0.6}, {0.2}});
  ag::Tensor y = ag::tensor({{1.0}, {1.0}, {0.0}, {0.0}});
  CHECK(nn::accuracy_score(prob, y) == doctest::Approx(0.5));
  ag::Tensor logits = ag::Tensor({2.0, -0.5, 0.1, -3.0});
  CHECK(nn::accuracy_score(logits, ag::Tensor({1, 0, 0, 0}), /*threshold=*/0.0) == doctest::Approx(0.75));
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::accuracy_score(p, ag::one_hot({1, 0, 0, 1}, 4)); }),
                 "[4, 4]"));
  CHECK(!error_of<ag::ShapeError>([&] { nn::accuracy_score(prob, ag::zeros({3, 1})); }).empty());
}

TEST_CASE("mse_score / mae_score") {
  ag::Tensor p = ag::tensor({{1.0}, {2.0}, {4.0}}), t = ag::tensor({{1.0}, {0.0}, {5.0}});
  CHECK(nn::mse_score(p, t) == doctest::Approx(5.0 / 3.0));
  CHECK(nn::mae_score(p, t) == doctest::Approx(1.0));
  CHECK(!error_of<ag::ShapeError>([&] { nn::mse_score(p, ag::zeros({2, 1})); }).empty());
}
