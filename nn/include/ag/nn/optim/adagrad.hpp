#pragma once
// Adagrad with learning-rate decay (notation in ag/nn/optim/optimizer.hpp).
#include <string>
#include <vector>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn {

// Adagrad:  lr_t = lr / (1 + (t-1)·lr_decay);  g ← g + wd·p;  s ← s + g²;
//           p ← p - lr_t·g/(sqrt(s) + eps)   (s starts at initial_accumulator_value)
class Adagrad : public StatefulOptimizer {
 public:
  Adagrad(const std::vector<Tensor>& params, double lr = 1e-2, double lr_decay = 0.0,
          double weight_decay = 0.0, double initial_accumulator_value = 0.0, double eps = 1e-10);
  Adagrad(std::vector<ParamGroup> groups, double lr_decay = 0.0,
          double initial_accumulator_value = 0.0, double eps = 1e-10);
  void step() override;
  std::string type_name() const override { return "Adagrad"; }

 private:
  double lr_decay_, init_acc_, eps_;
};

}  // namespace ag::nn
