// gradcheck_module: ag::gradcheck on f(θ) = loss(model with parameters θ).
//
// The layers hold handles to their parameter tensors, so f cannot hand them other tensors. f
// writes the values of its inputs θ into the parameters, evaluates y = loss(model) and returns a
// copy z of y recorded as one op of θ whose VJP is the model's own backward at the recorded θ:
// vjp(g)_i = ag::grad(loss(model with θ), parameter_i, g). The VJP runs that forward again
// right before its backward: gradcheck calls f many times (perturbed θ) between a forward and its
// backward, and a graph of the model kept from f would read parameters changed in place since
// (the engine's version check rejects that). Cost: one extra forward per backward.
#include "ag/nn/gradcheck.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

namespace ag::nn {
namespace {

// Copies the values of xs into the float64 parameters (same shapes), in place.
void bind(const std::vector<Tensor>& params, const std::vector<Tensor>& xs) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i];
    p.mutable_value<double>() = xs[i].value<double>();
  }
}

// What the check changes on a model (values, dtypes, .grad), saved to be put back exactly.
class SavedModel {
 public:
  explicit SavedModel(Module& m) : model_(m), dtype_(m.dtype()) {
    for (auto& [name, p] : m.named_parameters()) saved_.push_back({p, p.impl()->value, p.grad()});
  }
  // model.to() first (a module's own to() may convert more than its parameters), then each
  // parameter's storage, bit for bit, and its .grad handle. Returns what model.to() threw, if
  // anything; the parameters are restored either way.
  std::exception_ptr restore() noexcept {
    std::exception_ptr err;
    try {
      model_.to(dtype_);
    } catch (...) {
      err = std::current_exception();
    }
    for (Saved& s : saved_) {
      detail::TensorImpl* im = s.param.impl();
      im->value = std::move(s.value);
      im->grad = std::move(s.grad);
      ++im->version;  // written in place: the counter moves on, it never goes back
    }
    saved_.clear();
    return err;
  }

 private:
  struct Saved {
    Tensor param;
    detail::Storage value;
    Tensor grad;
  };
  Module& model_;
  DType dtype_;
  std::vector<Saved> saved_;
};

std::vector<std::pair<std::string, Tensor>> choose(const Module& model,
                                                   const std::vector<std::string>& names) {
  const auto all = model.named_parameters();
  std::vector<std::pair<std::string, Tensor>> out;
  if (names.empty()) {
    for (const auto& np : all)
      if (np.second.requires_grad()) out.push_back(np);
  }
  for (const std::string& want : names) {
    auto named = [&](const auto& np) { return np.first == want; };
    auto it = std::find_if(all.begin(), all.end(), named);
    if (it == all.end()) {
      std::vector<std::string> have;
      for (const auto& np : all) have.push_back("'" + np.first + "'");
      throw ValueError(fmt::format("gradcheck_module: {} has no parameter '{}' (it has: {})",
                                   model.describe(), want, fmt::join(have, ", ")));
    }
    if (!it->second.requires_grad())
      throw ValueError(fmt::format("gradcheck_module: parameter '{}' {} of {} is frozen "
                                   "(requires_grad is false)", want, shape_str(it->second.shape()),
                                   model.describe()));
    if (std::none_of(out.begin(), out.end(), named)) out.push_back(*it);
  }
  if (out.empty())
    throw ValueError(fmt::format("gradcheck_module: {} has no trainable parameter to check",
                                 model.describe()));
  return out;
}

GradcheckResult check(Module& model, const ModuleLossFn& loss, const GradcheckOptions& options,
                      const std::vector<std::pair<std::string, Tensor>>& chosen) {
  model.to(f64);
  std::vector<Tensor> params, inputs;
  for (const auto& [name, p] : chosen) {
    if (p.dtype() != f64)
      throw DtypeError(fmt::format("gradcheck_module: parameter '{}' is still {} after {}.to(float64) "
                                   "(does its to() convert the parameters?)", name,
                                   dtype_name(p.dtype()), model.type_name()));
    params.push_back(p);
    Tensor x(xt::xarray<double>(p.value<double>()), /*requires_grad=*/true);
    x.set_name(name);  // the report calls it "input i 'name'"
    inputs.push_back(std::move(x));
  }

  // The model's gradient of <g, loss(model)> at θ: a fresh forward and its backward, with no
  // in-place change in between.
  auto model_vjp = [&model, &loss, params](const std::vector<Tensor>& theta, const Tensor& g) {
    bind(params, theta);
    EnableGradGuard record;  // backward runs VJPs with recording off; this forward must record
    const Tensor y = loss(model);
    if (!y.defined() || !y.requires_grad()) return std::vector<Tensor>(params.size());  // the path is cut
    return grad({y}, params, {g}, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
  };
  GradcheckFn1 f = [&model, &loss, params, model_vjp](const std::vector<Tensor>& theta) -> Tensor {
    bind(params, theta);
    const Tensor y = loss(model);
    if (!y.defined()) throw ValueError("gradcheck_module: the loss function returned an undefined tensor");
    if (y.dtype() != f64)
      throw DtypeError(fmt::format("gradcheck_module: the loss function returned {} {}; the model is "
                                   "float64 during the check, so the data must be float64 too",
                                   dtype_name(y.dtype()), shape_str(y.shape())));
    Tensor z(xt::xarray<double>(y.value<double>()));  // a copy: y may be a parameter itself
    return record("gradcheck_module", theta, std::move(z),
                  [model_vjp](const VjpContext& c, const Tensor& g) -> Grads {
                    if (c.create_graph())
                      throw GradError("gradcheck_module: the model's backward is first order here "
                                      "(create_graph is not supported)");
                    std::vector<Tensor> theta_recorded;
                    for (std::size_t i = 0; i < c.num_inputs(); ++i) theta_recorded.push_back(c.input(i));
                    return model_vjp(theta_recorded, g);
                  });
  };
  return gradcheck(f, inputs, options);
}

}  // namespace

GradcheckResult gradcheck_module(Module& model, const ModuleLossFn& loss,
                                 const GradcheckOptions& options,
                                 const std::vector<std::string>& parameters) {
  if (!loss) throw ValueError("gradcheck_module: the loss function is empty");
  const auto chosen = choose(model, parameters);
  SavedModel saved(model);
  GradcheckResult r;
  try {
    r = check(model, loss, options, chosen);
  } catch (...) {
    saved.restore();  // the error from the check wins over one from restoring
    throw;
  }
  if (std::exception_ptr err = saved.restore()) std::rethrow_exception(err);
  if (!r.ok)
    r.report = fmt::format("gradcheck_module({}): the inputs are its parameters (named in quotes), "
                           "output 0 is what the loss function returned\n{}",
                           model.describe(), r.report);
  return r;
}

}  // namespace ag::nn
