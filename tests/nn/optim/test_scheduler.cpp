// Learning-rate schedulers: the lr after each step() against the closed forms / hand traces.
#include <cmath>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

std::vector<double> run(nn::LRScheduler& s, nn::Optimizer& opt, std::size_t n) {
  std::vector<double> lrs;
  for (std::size_t i = 0; i < n; ++i) {
    s.step();
    lrs.push_back(opt.lr());
  }
  return lrs;
}

void check_seq(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(1e-12), "step " << i + 1);
}

}  // namespace

TEST_CASE("StepLR: base·γ^floor(t / step_size), per group") {
  ag::Tensor a({1.0}, ag::f64, true), b({1.0}, ag::f64, true);
  nn::SGD opt({nn::ParamGroup{{a}, 1.0}, nn::ParamGroup{{b}, 0.1}});
  nn::StepLR s(opt, 2, 0.5);
  check_seq(run(s, opt, 5), {1.0, 0.5, 0.5, 0.25, 0.25});
  check_seq(s.last_lr(), {0.25, 0.025});
  CHECK(s.last_epoch() == 5);
  CHECK(s.base_lrs() == std::vector<double>{1.0, 0.1});
  s.step(123.0);  // a metric is ignored
  CHECK(opt.lr() == doctest::Approx(0.125));
  CHECK_THROWS_AS(nn::StepLR(opt, 0), ag::ValueError);
}

TEST_CASE("ExponentialLR: base·γ^t") {
  ag::Tensor a({1.0}, ag::f64, true);
  nn::SGD opt({a}, 0.1);
  nn::ExponentialLR s(opt, 0.9);
  check_seq(run(s, opt, 3), {0.09, 0.081, 0.0729});
}

TEST_CASE("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(πt/T))/2") {
  ag::Tensor a({1.0}, ag::f64, true);
  nn::Adam opt({a}, 1.0);
  nn::CosineAnnealingLR s(opt, 4, 0.2);
  const double r = std::sqrt(0.5);  // cos(π/4)
  check_seq(run(s, opt, 6), {0.2 + 0.8 * (1 + r) / 2, 0.6, 0.2 + 0.8 * (1 - r) / 2, 0.2,
                             0.2 + 0.8 * (1 - r) / 2, 0.6});
}

TEST_CASE("ReduceLROnPlateau: patience, relative threshold, cooldown, min_lr") {
  ag::Tensor a({1.0}, ag::f64, true);
  nn::SGD opt({a}, 1.0);
  nn::ReduceLROnPlateau s(opt, nn::ReduceLROnPlateau::Mode::min, 0.5, /*patience*/ 1,
                          /*threshold*/ 0.1, nn::ReduceLROnPlateau::ThresholdMode::rel,
                          /*cooldown*/ 1, /*min_lr*/ 0.2);
  // improvement needs metric < 0.9·best. Trace: 10 best; 9.5, 9.2 bad -> 0.5 (cooldown 1);
  // 9.1 in cooldown; 9.05, 9.02 bad -> 0.25; 5 best; 6, 7 bad -> max(0.125, 0.2) = 0.2;
  // 8 cooldown; 9, 10 bad -> 0.2 already at min_lr
  const std::vector<double> metrics = {10, 9.5, 9.2, 9.1, 9.05, 9.02, 5, 6, 7, 8, 9, 10};
  std::vector<double> lrs;
  for (double m : metrics) {
    s.step(m);
    lrs.push_back(opt.lr());
  }
  check_seq(lrs, {1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2});
  CHECK(s.best() == 5.0);
  CHECK(contains(error_of<ag::ValueError>([&] { s.step(); }), "metric"));
}

TEST_CASE("ReduceLROnPlateau: max mode with an absolute threshold") {
  ag::Tensor a({1.0}, ag::f64, true);
  nn::SGD opt({a}, 1.0);
  nn::ReduceLROnPlateau s(opt, nn::ReduceLROnPlateau::Mode::max, 0.1, /*patience*/ 2,
                          /*threshold*/ 0.05, nn::ReduceLROnPlateau::ThresholdMode::abs);
  // improvement needs metric > best + 0.05: 0.5 best; .52 .53 bad; .6 best; .61 .62 .63 bad ×3 -> 0.1
  std::vector<double> lrs;
  for (double m : {0.5, 0.52, 0.53, 0.6, 0.61, 0.62, 0.63}) {
    s.step(m);
    lrs.push_back(opt.lr());
  }
  check_seq(lrs, {1, 1, 1, 1, 1, 1, 0.1});
  CHECK(s.num_bad_epochs() == 0);
  CHECK_THROWS_AS(nn::ReduceLROnPlateau(opt, nn::ReduceLROnPlateau::Mode::min, 1.5), ag::ValueError);
}
