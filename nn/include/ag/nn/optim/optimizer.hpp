#pragma once
// Optimizers (PyTorch's documented update rules) and gradient clipping. Every update runs in
// place on the parameter values, in the parameter's dtype, and is never recorded on the tape.
// Notation per parameter p with gradient g at step t (t = 1, 2, ...); wd = the group's weight_decay.
//
// Two constructor forms each: (parameters, lr, hyper-parameters...) makes one group; (groups,
// hyper-parameters...) takes each group's own lr and weight_decay.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/optimizer.hpp"

namespace ag::nn {

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
  // Calls f(group, param, grad, slot) for every parameter that has a gradient, under no-grad
  // (the loop every update rule shares).
  template <class F> void for_each_with_grad(F&& f) {
    NoGradGuard no_record;
    for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
      const ParamGroup& grp = groups_[gi];
      for (std::size_t i = 0; i < grp.params.size(); ++i) {
        Tensor p = grp.params[i];
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

// ---- gradient clipping (in place on .grad; parameters without a grad are skipped) --------------
// Scales every gradient by max_norm / (total + 1e-6) when the total norm exceeds max_norm.
// The total is the p-norm of all gradients taken together (norm_type = inf: the largest |g|).
// Returns the total norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

}  // namespace ag::nn
