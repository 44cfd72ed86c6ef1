#pragma once
// Module: the base of every layer and model. Parameters and sub-modules are registered by name in
// the constructor; named_parameters() walks them recursively in registration order, giving names
// like "layers.0.weight".
//
// Writing your own model (subclass Module, register, implement forward):
//
//   struct Mlp : ag::nn::Module {
//     std::shared_ptr<ag::nn::Dense> fc1, fc2;
//     Mlp(std::size_t in, std::size_t hidden, std::size_t out) {
//       fc1 = register_module("fc1", std::make_shared<ag::nn::Dense>(in, hidden));
//       fc2 = register_module("fc2", std::make_shared<ag::nn::Dense>(hidden, out));
//     }
//     ag::Tensor forward(const ag::Tensor& x) override { return (*fc2)(ag::relu((*fc1)(x))); }
//     std::string type_name() const override { return "Mlp"; }
//   };
//   // parameters: fc1.weight [in, hidden], fc1.bias [hidden], fc2.weight, fc2.bias
//
// Call sub-modules through operator() or call() (not forward()) so that hooks and summary() see them. A parameter
// registered with register_parameter is a leaf with requires_grad; keep a copy of the returned
// handle (Tensor is a shared handle: to(dtype) converts in place, so the copy stays valid).
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"
#include "ag/nn/summary.hpp"  // so that summary() stays reachable through this header

namespace ag::nn {

class Module;

// Module hooks (PyTorch's register_forward_pre_hook / register_forward_hook /
// register_full_backward_hook). A pre-hook sees the inputs and may return replacements; a forward
// hook sees inputs and outputs and may return replacement outputs; a backward hook sees the
// gradients with respect to the module's inputs and outputs (undefined where none flowed) once
// per backward that reaches the module, and observes only.
using ForwardPreHook = std::function<std::optional<TensorList>(Module& m, const TensorList& inputs)>;
using ForwardHook =
    std::function<std::optional<TensorList>(Module& m, const TensorList& inputs, const TensorList& outputs)>;
using BackwardHook =
    std::function<void(Module& m, const TensorList& grad_inputs, const TensorList& grad_outputs)>;

// Removes the hook it was returned for (remove() is idempotent; dropping the handle keeps the hook).
class HookHandle {
 public:
  HookHandle() = default;
  void remove();
  bool active() const;  // registered and not removed

 private:
  friend class Module;
  struct Registry;
  HookHandle(std::weak_ptr<Registry> r, std::size_t id) : registry_(std::move(r)), id_(id) {}
  std::weak_ptr<Registry> registry_;
  std::size_t id_ = 0;
};

// What load_state_dict(..., strict = false) left out.
struct LoadResult {
  std::vector<std::string> missing;     // in the module, not in the state dict (left unchanged)
  std::vector<std::string> unexpected;  // in the state dict, not in the module (ignored)
};

class Module {
 public:
  virtual ~Module() = default;
  // A single-tensor module (most layers, and user models written as
  // `struct Net : Module { Tensor forward(const Tensor&) override; }`) overrides forward.
  virtual Tensor forward(const Tensor& x);
  // A module taking or returning several tensors (a recurrent cell's (x, h) -> (y, h)) overrides
  // forward_list instead, and usually offers a typed call that packs and unpacks its tensors
  // through call(). The default calls forward with the one tensor.
  virtual TensorList forward_list(const TensorList& inputs);
  // How many tensors call() takes (0: any number); checked before anything runs, so a multi-tensor
  // module given one tensor (by Sequential, say) says so by name. Override with forward_list.
  virtual std::size_t num_inputs() const { return 1; }
  // The one entry point: pre-hooks, forward_list, forward hooks, backward hooks, summary().
  TensorList call(const TensorList& inputs);
  Tensor operator()(const Tensor& x);  // call({x}) returning exactly one tensor
  virtual std::string type_name() const = 0;  // "Dense", "ReLU", ... (summary, errors)
  // One-line description for summary() and errors, e.g. "Dense(3 -> 4)"; defaults to type_name().
  virtual std::string describe() const { return type_name(); }

  // recursive, stable order; names joined with '.'. A tensor registered twice (weight tying)
  // appears once, under its first name.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  // The subset that requires grad, same order: what to give an optimizer after freezing some
  // parameters with requires_grad_(false) (optimizers also accept and skip frozen ones).
  std::vector<std::pair<std::string, Tensor>> named_trainable_parameters() const;
  std::vector<Tensor> trainable_parameters() const;
  std::size_t num_parameters() const;  // total element count
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  // This module's own parameters (not its children's), in registration order.
  const std::vector<std::pair<std::string, Tensor>>& own_parameters() const { return params_; }
  // Every sub-module, depth first, with its dotted path ("layers.0"); the root itself is not listed.
  std::vector<std::pair<std::string, Module*>> named_modules() const;

  // Buffers: state that is not trained (BatchNorm's running statistics, a step counter): walked
  // like parameters (dotted names, registration order), converted by to() when floating, saved and
  // loaded when persistent, never given to optimizers, constants to gradcheck_module.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<Tensor> buffers() const;
  const std::vector<std::pair<std::string, Tensor>>& own_buffers() const { return buffers_; }

  // Parameters and persistent buffers by dotted name: the tensors themselves (not copies), what
  // save() writes. load_state_dict copies values in: every shape and dtype must match (all
  // mismatches reported at once in one error, and nothing is changed unless everything fits);
  // strict (the default) also requires the names to match exactly; otherwise the missing and
  // unexpected names are returned.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  LoadResult load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state, bool strict = true);

  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);
  HookHandle register_full_backward_hook(BackwardHook hook);
  // Hooks that only look (return nothing).
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F&, Module&, const TensorList&>>, int> = 0>
  HookHandle register_forward_pre_hook(F f) {
    return register_forward_pre_hook(ForwardPreHook([f = std::move(f)](Module& m, const TensorList& in) mutable {
      f(m, in);
      return std::optional<TensorList>();
    }));
  }
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F&, Module&, const TensorList&, const TensorList&>>,
                                      int> = 0>
  HookHandle register_forward_hook(F f) {
    return register_forward_hook(
        ForwardHook([f = std::move(f)](Module& m, const TensorList& in, const TensorList& out) mutable {
          f(m, in, out);
          return std::optional<TensorList>();
        }));
  }

  virtual void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();          // every parameter's grad set to none
  // Converts every parameter and floating buffer to the floating dtype d in place (parameters stay
  // leaves; integer buffers keep their dtype). DtypeError for an integer d.
  virtual void to(DType d);
  DType dtype() const;       // dtype of the first parameter (f32 when there is none)

 protected:
  Tensor& register_parameter(std::string name, Tensor t);  // marks it requires_grad
  // A buffer (any dtype; must not require grad). persistent = false keeps it out of state_dict()
  // and model files (PyTorch's flag). Keep the returned handle; update it in place (copy_ under
  // NoGradGuard, or mutable_value) so that every holder sees the new values.
  Tensor& register_buffer(std::string name, Tensor t, bool persistent = true);
  template <class M> std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    check_new_name(name, m != nullptr);
    children_.emplace_back(std::move(name), m);
    return m;
  }

 private:
  void check_new_name(const std::string& name, bool defined) const;  // unique, no '.', non-empty
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;
  void collect_buffers(const std::string& prefix, bool persistent_only,
                       std::vector<std::pair<std::string, Tensor>>& out) const;
  std::shared_ptr<HookHandle::Registry> hooks_;  // created by the first registration
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<bool> buffer_persistent_;  // parallel to buffers_
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace ag::nn
