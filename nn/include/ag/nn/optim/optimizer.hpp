#pragma once
// Optimizer base: updates parameter values in place under no-grad (never recorded on the tape).
// Parameters whose grad is undefined (not reached by the last backward) are skipped by step(), and
// so are frozen parameters (requires_grad false, also when frozen after construction): as in
// PyTorch, `p.requires_grad_(false)` then `Adam(model.parameters())` trains the rest. An optimizer
// constructed with no parameter at all is a ValueError ("optimizer got an empty parameter list");
// one whose parameters are all frozen is accepted (PyTorch does) and step() changes nothing.
//
// The update rules (ag/nn/optim/{sgd,adam,rmsprop,adagrad}.hpp) are PyTorch's documented ones.
// Every update runs in place on the parameter values, in the parameter's dtype, and is never
// recorded on the tape. Notation per parameter p with gradient g at step t (t = 1, 2, ...);
// wd = the group's weight_decay.
//
// Two constructor forms each: (parameters, lr, hyper-parameters...) makes one group; (groups,
// hyper-parameters...) takes each group's own lr and weight_decay.
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
  // Appends a group (PyTorch's add_param_group). Every parameter must be a defined leaf (frozen
  // ones are accepted and skipped), and appear in one group only (ValueError otherwise); lr >= 0.
  void add_param_group(ParamGroup group);
  std::vector<Tensor> parameters() const;  // every group's parameters, in order

 protected:
  std::vector<ParamGroup> groups_;
};

// Shared machinery: per-parameter buffers (created at the parameter's first update, with its shape
// and dtype) and a per-parameter step count, exposed by state() as "g.i.<buffer>" and "g.i.step",
// plus each group's learning rate as "g.lr" (0-d float64 tensors).
class StatefulOptimizer : public Optimizer {
 public:
  std::vector<std::pair<std::string, Tensor>> state() const override;
  // All-or-nothing: every name, shape and dtype is validated before anything is replaced
  // (ValueError naming the entry otherwise). Parameters without an entry lose their state.
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state) override;
  // Step count of parameter i of group g (0 before its first update).
  double step_count(std::size_t g, std::size_t i) const;
  // Buffer `name` of parameter i of group g (undefined before its first update).
  Tensor buffer(std::size_t g, std::size_t i, const std::string& name) const;

 protected:
  explicit StatefulOptimizer(std::vector<std::string> buffer_names)
      : buffer_names_(std::move(buffer_names)) {}
  struct Slot {
    double step = 0;
    std::vector<Tensor> buf;  // one per buffer name; undefined until first used
  };
  Slot& slot(std::size_t g, std::size_t i);  // grows the table for groups added later
  // Calls f(group, param, grad, slot) for every parameter that requires grad and has a gradient,
  // under no-grad (the loop every update rule shares).
  template <class F> void for_each_with_grad(F&& f) {
    NoGradGuard no_record;
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
      const ParamGroup& grp = groups_[gi];
      for (std::size_t i = 0; i < grp.params.size(); ++i) {
        Tensor p = grp.params[i];
        if (!p.requires_grad()) continue;  // frozen
        const Tensor grad = p.grad();
        if (!grad.defined()) continue;
        Slot& s = slot(gi, i);
        check_state(gi, i, p, grad, s);
        f(grp, p, grad, s);
      }
    }
  }
  // The gradient and every state buffer must have p's shape and dtype (the updates run raw loops
  // over p.numel() elements): ShapeError/DtypeError naming the parameter otherwise.
  void check_state(std::size_t g, std::size_t i, const Tensor& p, const Tensor& grad, const Slot& s) const;
  // The buffer k of `s` for parameter p, created as zeros (or `fill`) on first use.
  Tensor& ensure_buffer(Slot& s, std::size_t k, const Tensor& p, double fill = 0.0);
  std::vector<std::string> buffer_names_;
  std::vector<std::vector<Slot>> slots_;  // [group][param]
};

}  // namespace ag::nn
