#pragma once
// RMSprop, plain or centered, with momentum (notation in ag/nn/optim/optimizer.hpp).
#include <string>
#include <vector>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn {

// RMSprop:  g ← g + wd·p;  v ← α·v + (1-α)·g²;  centered: ḡ ← α·ḡ + (1-α)·g, ṽ = v - ḡ² (else ṽ = v)
//           momentum μ > 0: b ← μ·b + g/(sqrt(ṽ) + eps), p ← p - lr·b
//           otherwise:      p ← p - lr·g/(sqrt(ṽ) + eps)
class RMSprop : public StatefulOptimizer {
 public:
  RMSprop(const std::vector<Tensor>& params, double lr = 1e-2, double alpha = 0.99,
          double eps = 1e-8, double weight_decay = 0.0, double momentum = 0.0, bool centered = false);
  RMSprop(std::vector<ParamGroup> groups, double alpha = 0.99, double eps = 1e-8,
          double momentum = 0.0, bool centered = false);
  void step() override;
  std::string type_name() const override { return "RMSprop"; }

 private:
  double alpha_, eps_, momentum_;
  bool centered_;
};

}  // namespace ag::nn
