#pragma once
// Gradient check of a whole model: the analytical gradients of loss(model) w.r.t. the model's
// parameters (what backward gives an optimizer) against central differences, in float64.
//
//   ag::Tensor x = ..., y = ...;                       // float64 data
//   auto r = ag::nn::gradcheck_module(model, [&](ag::nn::Module& m) {
//     return ag::nn::mse_loss(m(x), y);
//   });
//   if (!r) std::cout << r.report;                     // names the parameter, e.g. 'layers.0.weight'
//
// This is ag::gradcheck (same options, result and report) on f(θ) = loss(model with parameters θ),
// θ = the trainable parameters (requires_grad), each one an input named after the parameter. For
// the check the model is converted to float64 (model.to(f64)); every call of f writes θ into the
// parameters in place. Afterwards the model is exactly as before, also when the check fails or
// `loss` throws: each parameter gets back its dtype, its bit-identical values and its .grad
// (the same tensor); only the version counters have advanced.
//
// `loss` may return any float64 tensor (a scalar loss, or e.g. m(x) to check the full Jacobian of
// the outputs); its data must be float64. It must be deterministic: call model.eval() first when
// the model has Dropout. Cost (full mode): 2 forwards per parameter element, 1 forward + backward
// per element of loss's result; bigger parameters switch to fast mode as in ag::gradcheck.
// Second derivatives: gradgradcheck_module (below).
#include <functional>
#include <string>
#include <vector>

#include "ag/gradcheck.hpp"
#include "ag/nn/module.hpp"

namespace ag::nn {

using ModuleLossFn = std::function<Tensor(Module&)>;

// `parameters`: names (as in named_parameters()) of the parameters to check; empty = every
// trainable one. An unknown or frozen name is a ValueError, as is a model with nothing to check.
GradcheckResult gradcheck_module(Module& model, const ModuleLossFn& loss,
                                 const GradcheckOptions& options = {},
                                 const std::vector<std::string>& parameters = {});

// Second order for a whole model: ag::gradgradcheck on f(θ) = loss(model with θ), i.e. gradcheck of
// h(θ, u) = ∂<u, loss(model)>/∂θ (u one extra input, standard normal), which checks the model's
// backward under create_graph (Hessian-vector products, gradient penalties) against central
// differences of its first derivatives. Same arguments, model restoration and errors as
// gradcheck_module. Each layer's VJP must be written with ag ops (as the built-in ones are); a
// layer whose create_graph path differs from its first-order path is caught here. Cost (full
// mode): 2 forward+backward per element of θ and u, and one forward + 2 backwards per element of θ.
// Third derivatives are not supported (a GradError if requested).
GradcheckResult gradgradcheck_module(Module& model, const ModuleLossFn& loss,
                                     const GradcheckOptions& options = {},
                                     const std::vector<std::string>& parameters = {});

}  // namespace ag::nn
