#pragma once
// Learning-rate schedulers: call step() once per epoch, after the optimizer's steps. They set the
// lr of every parameter group from its base lr (the lr at construction). t counts step() calls.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& opt);
  virtual ~LRScheduler() = default;
  virtual void step() = 0;
  // With a monitored metric (validation loss, ...): ReduceLROnPlateau uses it, the others ignore it,
  // so a training loop can call step(metric) on any scheduler.
  virtual void step(double metric);
  virtual std::string type_name() const = 0;
  std::size_t last_epoch() const { return epoch_; }  // number of step() calls so far
  std::vector<double> last_lr() const;               // each group's current lr
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // For checkpoints (nn::Checkpoint): what step() depends on besides the optimizer's lrs (which the
  // optimizer's state holds): t and the base lrs, and ReduceLROnPlateau's best value and counters.
  // load_state checks every entry before changing anything (ValueError naming the entry).
  virtual std::vector<std::pair<std::string, Tensor>> state() const;
  virtual void load_state(const std::vector<std::pair<std::string, Tensor>>& state);

 protected:
  Optimizer& opt_;
  std::vector<double> base_lrs_;
  std::size_t epoch_ = 0;
};

// lr = base·γ^floor(t / step_size)
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, std::size_t step_size, double gamma = 0.1);
  using LRScheduler::step;
  void step() override;
  std::string type_name() const override { return "StepLR"; }

 private:
  std::size_t step_size_;
  double gamma_;
};

// lr = base·γ^t
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& opt, double gamma);
  using LRScheduler::step;
  void step() override;
  std::string type_name() const override { return "ExponentialLR"; }

 private:
  double gamma_;
};

// lr = eta_min + (base - eta_min)·(1 + cos(π·t / T_max)) / 2   (PyTorch's closed form; after T_max
// the cosine keeps going, so the lr rises again with period 2·T_max)
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, std::size_t t_max, double eta_min = 0.0);
  using LRScheduler::step;
  void step() override;
  std::string type_name() const override { return "CosineAnnealingLR"; }

 private:
  std::size_t t_max_;
  double eta_min_;
};

// Multiplies every lr by `factor` (not below min_lr) when the metric has not improved for more than
// `patience` steps; then waits `cooldown` steps before counting again. "Improved" (mode min, rel):
// metric < best·(1 - threshold); (min, abs): metric < best - threshold; max mode mirrors it.
// A reduction smaller than eps is skipped.
class ReduceLROnPlateau : public LRScheduler {
 public:
  enum class Mode { min, max };
  enum class ThresholdMode { rel, abs };
  explicit ReduceLROnPlateau(Optimizer& opt, Mode mode = Mode::min, double factor = 0.1,
                             std::size_t patience = 10, double threshold = 1e-4,
                             ThresholdMode threshold_mode = ThresholdMode::rel,
                             std::size_t cooldown = 0, double min_lr = 0.0, double eps = 1e-8);
  void step() override;  // ValueError: needs the metric
  void step(double metric) override;
  std::string type_name() const override { return "ReduceLROnPlateau"; }
  double best() const { return best_; }
  std::size_t num_bad_epochs() const { return bad_epochs_; }
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state) override;

 private:
  bool is_better(double a) const;
  Mode mode_;
  double factor_;
  std::size_t patience_;
  double threshold_;
  ThresholdMode threshold_mode_;
  std::size_t cooldown_, cooldown_counter_ = 0;
  double min_lr_, eps_;
  double best_;
  std::size_t bad_epochs_ = 0;
};

}  // namespace ag::nn
