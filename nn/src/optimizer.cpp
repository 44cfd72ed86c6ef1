// Optimizer base: parameter groups, zero_grad, learning rate access.
#include "ag/nn/optimizer.hpp"

#include <unordered_set>

#include <fmt/core.h>

namespace ag::nn {

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

double Optimizer::lr() const {
  if (groups_.empty()) throw ValueError(fmt::format("{}: no parameter groups", type_name()));
  return groups_.front().lr;
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0)) throw ValueError(fmt::format("{}: learning rate must be >= 0, got {}", type_name(), lr));
  for (auto& g : groups_) g.lr = lr;
}

void Optimizer::add_param_group(ParamGroup group) {
  const std::string who = type_name();
  const std::size_t gi = groups_.size();
  if (!(group.lr >= 0.0))
    throw ValueError(fmt::format("{}: group {}: learning rate must be >= 0, got {}", who, gi, group.lr));
  if (!(group.weight_decay >= 0.0))
    throw ValueError(fmt::format("{}: group {}: weight_decay must be >= 0, got {}", who, gi,
                                 group.weight_decay));
  std::unordered_set<const void*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.id());
  for (std::size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    if (!p.defined()) throw ValueError(fmt::format("{}: group {} parameter {} is undefined", who, gi, i));
    if (!p.is_leaf() || !p.requires_grad())
      throw ValueError(fmt::format("{}: group {} parameter {} {} must be a leaf with requires_grad "
                                   "(can't optimize a tensor produced by '{}')",
                                   who, gi, i, shape_str(p.shape()), p.op_name()));
    if (!seen.insert(p.id()).second)
      throw ValueError(fmt::format("{}: group {} parameter {} {} appears more than once", who, gi, i,
                                   shape_str(p.shape())));
  }
  groups_.push_back(std::move(group));
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

}  // namespace ag::nn
