#pragma once
// Optimizer base: updates parameter values in place under no-grad (never recorded on the tape).
// Parameters whose grad is undefined (not reached by the last backward) are skipped by step().
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr;
  double weight_decay = 0.0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();  // sets every parameter's grad to none
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  double lr() const;       // the first group's learning rate
  void set_lr(double lr);  // every group's learning rate
  // Named state tensors (e.g. "0.3.exp_avg" = group 0, param 3) and scalars such as the step count,
  // for save/load.
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  virtual void load_state(const std::vector<std::pair<std::string, Tensor>>& state) = 0;
  virtual std::string type_name() const = 0;
  // Appends a group (PyTorch's add_param_group). Every parameter must be a defined leaf with
  // requires_grad, and appear in one group only (ValueError otherwise); lr must be >= 0.
  void add_param_group(ParamGroup group);
  std::vector<Tensor> parameters() const;  // every group's parameters, in order

 protected:
  std::vector<ParamGroup> groups_;
};

}  // namespace ag::nn
