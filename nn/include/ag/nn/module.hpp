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
// Call sub-modules through operator() (not forward()) so that summary() sees them. A parameter
// registered with register_parameter is a leaf with requires_grad; keep a copy of the returned
// handle (Tensor is a shared handle: to(dtype) converts in place, so the copy stays valid).
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"
#include "ag/nn/summary.hpp"  // so that summary() stays reachable through this header

namespace ag::nn {

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);         // forward(x), seen by summary()
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
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<bool> buffer_persistent_;  // parallel to buffers_
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace ag::nn
