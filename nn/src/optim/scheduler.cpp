// Learning-rate schedulers (PyTorch's closed forms and ReduceLROnPlateau's bookkeeping).
#include "ag/nn/optim/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "train/entries.hpp"

namespace ag::nn {

LRScheduler::LRScheduler(Optimizer& opt) : opt_(opt) {
  for (const auto& g : opt.param_groups()) base_lrs_.push_back(g.lr);
}

void LRScheduler::step(double /*metric*/) { step(); }

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> out;
  for (const auto& g : opt_.param_groups()) out.push_back(g.lr);
  return out;
}

std::vector<std::pair<std::string, Tensor>> LRScheduler::state() const {
  return {{"last_epoch", entries::number(static_cast<double>(epoch_))}, {"base_lrs", entries::numbers(base_lrs_)}};
}

void LRScheduler::load_state(const std::vector<std::pair<std::string, Tensor>>& state) {
  const entries::Reader r(state, type_name() + "::load_state");
  r.only({"last_epoch", "base_lrs"});
  const std::size_t epoch = r.count("last_epoch");
  base_lrs_ = r.numbers("base_lrs", base_lrs_.size());
  epoch_ = epoch;
}

namespace {
// Sets group i's lr to f(base_lrs[i]) (groups added after the scheduler keep their lr).
template <class F> void apply(Optimizer& opt, const std::vector<double>& base, F f) {
  auto& groups = opt.param_groups();
  for (std::size_t i = 0; i < groups.size() && i < base.size(); ++i) groups[i].lr = f(base[i]);
}
}  // namespace

StepLR::StepLR(Optimizer& opt, std::size_t step_size, double gamma)
    : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  if (step_size == 0) throw ValueError("StepLR: step_size must be > 0");
  if (!(gamma > 0.0)) throw ValueError(fmt::format("StepLR: gamma must be > 0, got {}", gamma));
}

void StepLR::step() {
  ++epoch_;
  const double k = static_cast<double>(epoch_ / step_size_);
  apply(opt_, base_lrs_, [&](double base) { return base * std::pow(gamma_, k); });
}

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : LRScheduler(opt), gamma_(gamma) {
  if (!(gamma > 0.0)) throw ValueError(fmt::format("ExponentialLR: gamma must be > 0, got {}", gamma));
}

void ExponentialLR::step() {
  ++epoch_;
  apply(opt_, base_lrs_, [&](double base) { return base * std::pow(gamma_, static_cast<double>(epoch_)); });
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, std::size_t t_max, double eta_min)
    : LRScheduler(opt), t_max_(t_max), eta_min_(eta_min) {
  if (t_max == 0) throw ValueError("CosineAnnealingLR: t_max must be > 0");
  if (!(eta_min >= 0.0)) throw ValueError(fmt::format("CosineAnnealingLR: eta_min must be >= 0, got {}", eta_min));
}

void CosineAnnealingLR::step() {
  ++epoch_;
  const double pi = 3.141592653589793;
  const double c = (1.0 + std::cos(pi * static_cast<double>(epoch_) / static_cast<double>(t_max_))) / 2.0;
  apply(opt_, base_lrs_, [&](double base) { return eta_min_ + (base - eta_min_) * c; });
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, Mode mode, double factor, std::size_t patience,
                                     double threshold, ThresholdMode threshold_mode,
                                     std::size_t cooldown, double min_lr, double eps)
    : LRScheduler(opt), mode_(mode), factor_(factor), patience_(patience), threshold_(threshold),
      threshold_mode_(threshold_mode), cooldown_(cooldown), min_lr_(min_lr), eps_(eps),
      best_(mode == Mode::min ? std::numeric_limits<double>::infinity()
                              : -std::numeric_limits<double>::infinity()) {
  if (!(factor >= 0.0 && factor < 1.0))
    throw ValueError(fmt::format("ReduceLROnPlateau: factor must be in [0, 1), got {}", factor));
  if (!(threshold >= 0.0))
    throw ValueError(fmt::format("ReduceLROnPlateau: threshold must be >= 0, got {}", threshold));
  if (!(min_lr >= 0.0)) throw ValueError(fmt::format("ReduceLROnPlateau: min_lr must be >= 0, got {}", min_lr));
}

std::vector<std::pair<std::string, Tensor>> ReduceLROnPlateau::state() const {
  auto out = LRScheduler::state();
  out.emplace_back("best", entries::number(best_));
  out.emplace_back("num_bad_epochs", entries::number(static_cast<double>(bad_epochs_)));
  out.emplace_back("cooldown_counter", entries::number(static_cast<double>(cooldown_counter_)));
  return out;
}

void ReduceLROnPlateau::load_state(const std::vector<std::pair<std::string, Tensor>>& state) {
  const entries::Reader r(state, "ReduceLROnPlateau::load_state");
  r.only({"last_epoch", "base_lrs", "best", "num_bad_epochs", "cooldown_counter"});
  const double best = r.number("best");
  const std::size_t bad = r.count("num_bad_epochs"), cooldown = r.count("cooldown_counter");
  LRScheduler::load_state(entries::without(state, {"best", "num_bad_epochs", "cooldown_counter"}));
  best_ = best;
  bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

void ReduceLROnPlateau::step() {
  throw ValueError("ReduceLROnPlateau: step() needs the monitored metric: call step(metric)");
}

bool ReduceLROnPlateau::is_better(double a) const {
  const bool rel = threshold_mode_ == ThresholdMode::rel;
  if (mode_ == Mode::min) return rel ? a < best_ * (1.0 - threshold_) : a < best_ - threshold_;
  return rel ? a > best_ * (1.0 + threshold_) : a > best_ + threshold_;
}

void ReduceLROnPlateau::step(double metric) {
  ++epoch_;
  if (is_better(metric)) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_counter_ > 0) {  // bad epochs are not counted during the cooldown
    --cooldown_counter_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > patience_) {
    for (auto& g : opt_.param_groups()) {
      const double lr = std::max(g.lr * factor_, min_lr_);
      if (g.lr - lr > eps_) g.lr = lr;
    }
    cooldown_counter_ = cooldown_;
    bad_epochs_ = 0;
  }
}

}  // namespace ag::nn
