#pragma once
// Adam (with AMSGrad) and AdamW (notation in ag/nn/optim/optimizer.hpp).
#include <string>
#include <vector>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn {

struct Betas {
  double beta1 = 0.9, beta2 = 0.999;
};

// Adam:  g ← g + wd·p;  m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²
//        amsgrad: v_max ← max(v_max, v), use v_max for v below
//        p ← p - lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
class Adam : public StatefulOptimizer {
 public:
  Adam(const std::vector<Tensor>& params, double lr = 1e-3, Betas betas = {}, double eps = 1e-8,
       double weight_decay = 0.0, bool amsgrad = false);
  Adam(std::vector<ParamGroup> groups, Betas betas = {}, double eps = 1e-8, bool amsgrad = false);
  void step() override;
  std::string type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }

 protected:
  Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad, bool decoupled);

 private:
  double beta1_, beta2_, eps_;
  bool amsgrad_, decoupled_;
};

// AdamW: decoupled weight decay p ← p - lr·wd·p first, then the Adam step without wd in g.
class AdamW : public Adam {
 public:
  AdamW(const std::vector<Tensor>& params, double lr = 1e-3, Betas betas = {}, double eps = 1e-8,
        double weight_decay = 1e-2, bool amsgrad = false);
  AdamW(std::vector<ParamGroup> groups, Betas betas = {}, double eps = 1e-8, bool amsgrad = false);
};

}  // namespace ag::nn
