#pragma once
// SGD with momentum, dampening and Nesterov (notation in ag/nn/optim/optimizer.hpp).
#include <string>
#include <vector>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn {

// SGD with momentum μ, dampening τ, Nesterov:
//   g ← g + wd·p;  b ← g (t = 1) | μ·b + (1-τ)·g;  g ← g + μ·b (nesterov) | b;  p ← p - lr·g
class SGD : public StatefulOptimizer {
 public:
  SGD(const std::vector<Tensor>& params, double lr, double momentum = 0.0, double dampening = 0.0,
      double weight_decay = 0.0, bool nesterov = false);
  SGD(std::vector<ParamGroup> groups, double momentum = 0.0, double dampening = 0.0,
      bool nesterov = false);
  void step() override;
  std::string type_name() const override { return "SGD"; }

 private:
  double momentum_, dampening_;
  bool nesterov_;
};

}  // namespace ag::nn
