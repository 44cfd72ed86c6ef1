// Integration: the backprop tutorial's examples exactly as examples/*.cpp run them (same data,
// model, loss, options and seeds, from examples/tutorial.hpp).
#include <doctest/doctest.h>

#include "../../../examples/tutorial.hpp"
#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("regression example: per-row SGD brings the test MSE below 0.02") {
  const tutorial::RegressionRun r = tutorial::run_regression(nn::Verbosity::silent);
  REQUIRE(r.history.epochs() == tutorial::kRegressionEpochs);
  // var(Y) ≈ 0.76 (the MSE of predicting the mean); the noise floor is 0.0025
  CHECK(r.target_variance > 0.5);
  CHECK(r.test_mse < 0.02);
  CHECK(r.train_mse < 0.02);
  CHECK(r.history.loss.back() < 0.1 * r.history.loss.front());
}

TEST_CASE("cities example: softmax classifier reaches 100% training accuracy") {
  const tutorial::CitiesRun r = tutorial::run_cities(nn::Verbosity::silent);
  CHECK(r.encoder.classes() == std::vector<std::string>{"Boston", "New York", "San Francisco"});
  CHECK(r.train.size() == 120);
  CHECK(r.train_accuracy == 1.0);
  CHECK(r.test_accuracy >= 0.9);
  CHECK(r.history["accuracy"].size() == tutorial::kCityEpochs);
  // the outputs are probability rows: each sums to 1
  const ag::Tensor p = nn::predict(*r.model, r.train.x());
  const std::vector<double> sums = values(ag::sum(p, {1}));
  for (double s : sums) CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  // and the log-loss matches its formula on a hand-checkable row: −log p(true class)
  const ag::Tensor p0 = ag::slice(p, 0, 0, 1), y0 = ag::slice(r.train.y(), 0, 0, 1);
  const double p_true = ag::sum(p0 * y0).item();
  CHECK(tutorial::categorical_log_loss(p0, y0).item() == doctest::Approx(-std::log(p_true)).epsilon(1e-5));
}

TEST_CASE("two-class example: one sigmoid output separates red from green") {
  const tutorial::TwoClassRun r = tutorial::run_two_class(nn::Verbosity::silent);
  CHECK(r.data.size() == 300);
  CHECK(r.accuracy >= 0.97);
  const ag::Tensor p = nn::predict(*r.model, ag::Tensor({{0.0, 0.0}, {0.95, 0.95}}));
  const std::vector<double> pv = values(p);
  CHECK(pv[0] > 0.9);   // the centre is green
  CHECK(pv[1] < 0.1);   // a corner is red
}
