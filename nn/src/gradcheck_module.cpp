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

#include "ag/ops.hpp"

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

std::vector<std::ptrdiff_t> signed_shape(const Shape& s) { return std::vector<std::ptrdiff_t>(s.begin(), s.end()); }

GradcheckResult check(Module& model, const ModuleLossFn& loss, const GradcheckOptions& options,
                      const std::vector<std::pair<std::string, Tensor>>& chosen, bool second_order) {
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
  // Second order: d/d(θ, g) of <w, ∇θ<g, loss(model)>>: a fresh forward, its backward under
  // create_graph with a fresh leaf for g, and the backward of that (one extra forward, two backwards).
  auto model_vjp2 = [&model, &loss, params](const std::vector<Tensor>& theta, const Tensor& g,
                                            const std::vector<Tensor>& w) {
    bind(params, theta);
    EnableGradGuard record;
    const Tensor y = loss(model);
    std::vector<Tensor> out(params.size() + 1);
    if (!y.defined() || !y.requires_grad()) return out;
    Tensor seed = g.detach();
    seed.requires_grad_();
    const std::vector<Tensor> gs = grad({y}, params, {seed}, /*retain_graph=*/true, /*create_graph=*/true,
                                        /*allow_unused=*/true);
    Tensor s;
    for (std::size_t i = 0; i < gs.size(); ++i) {
      if (!gs[i].defined() || !gs[i].requires_grad() || !w[i].defined()) continue;
      const Tensor term = sum(gs[i] * w[i]);
      s = s.defined() ? s + term : term;
    }
    if (!s.defined()) return out;
    std::vector<Tensor> wrt = params;
    wrt.push_back(seed);
    return grad({s}, wrt, {}, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
  };
  // The first-order VJP under create_graph: the gradient values, recorded as one op of (θ, g) whose
  // output is the gradients flattened and concatenated (its VJP is model_vjp2), then split back
  // into the parameters' shapes with ag ops.
  auto recorded_vjp = [model_vjp, model_vjp2, params](const std::vector<Tensor>& theta, const Tensor& g) {
    const std::vector<Tensor> gs = model_vjp(theta, g);
    std::vector<std::size_t> sizes;
    Tensor flat = no_grad([&] {
      std::vector<Tensor> pieces;
      for (std::size_t i = 0; i < params.size(); ++i) {
        sizes.push_back(params[i].numel());
        pieces.push_back(reshape(gs[i].defined() ? gs[i] : zeros_like(params[i]), {-1}));
      }
      return concat(pieces, 0);
    });
    std::vector<Tensor> inputs = theta;
    inputs.push_back(g);
    const Tensor z = record("gradcheck_module_backward", inputs, flat,
                            [model_vjp2, params, sizes](const VjpContext& c, const Tensor& w) -> Grads {
                              if (c.create_graph())
                                throw GradError("gradcheck_module: third derivatives of a model are not "
                                                "supported (gradgradcheck_module checks up to second order)");
                              std::vector<Tensor> theta_recorded, ws;
                              for (std::size_t i = 0; i + 1 < c.num_inputs(); ++i) theta_recorded.push_back(c.input(i));
                              const std::vector<Tensor> pieces = no_grad([&] { return split(w, sizes, 0); });
                              for (std::size_t i = 0; i < params.size(); ++i)
                                ws.push_back(no_grad([&] { return reshape(pieces[i], signed_shape(params[i].shape())); }));
                              const std::vector<Tensor> r = model_vjp2(theta_recorded, c.input(c.num_inputs() - 1), ws);
                              return Grads(r);
                            });
    const std::vector<Tensor> pieces = split(z, sizes, 0);
    Grads out;
    for (std::size_t i = 0; i < params.size(); ++i) out.push_back(reshape(pieces[i], signed_shape(params[i].shape())));
    return out;
  };
  GradcheckFn1 f = [&model, &loss, params, model_vjp, recorded_vjp](const std::vector<Tensor>& theta) -> Tensor {
    bind(params, theta);
    const Tensor y = loss(model);
    if (!y.defined()) throw ValueError("gradcheck_module: the loss function returned an undefined tensor");
    if (y.dtype() != f64)
      throw DtypeError(fmt::format("gradcheck_module: the loss function returned {} {}; the model is "
                                   "float64 during the check, so the data must be float64 too",
                                   dtype_name(y.dtype()), shape_str(y.shape())));
    Tensor z(xt::xarray<double>(y.value<double>()));  // a copy: y may be a parameter itself
    return record("gradcheck_module", theta, std::move(z),
                  [model_vjp, recorded_vjp](const VjpContext& c, const Tensor& g) -> Grads {
                    std::vector<Tensor> theta_recorded;
                    for (std::size_t i = 0; i < c.num_inputs(); ++i) theta_recorded.push_back(c.input(i));
                    if (c.create_graph()) return recorded_vjp(theta_recorded, g);
                    return model_vjp(theta_recorded, g);
                  });
  };
  // the parameters' leading axes are no batch axes (and f writes the inputs into the parameters)
  GradcheckOptions o = options;
  o.diagnose_batch = false;
  return second_order ? gradgradcheck(f, inputs, o) : gradcheck(f, inputs, o);
}

}  // namespace

namespace {
GradcheckResult run_module_check(const char* who, Module& model, const ModuleLossFn& loss,
                                 const GradcheckOptions& options,
                                 const std::vector<std::string>& parameters, bool second_order) {
  if (!loss) throw ValueError(fmt::format("{}: the loss function is empty", who));
  const auto chosen = choose(model, parameters);
  SavedModel saved(model);
  GradcheckResult r;
  try {
    r = check(model, loss, options, chosen, second_order);
  } catch (...) {
    saved.restore();  // the error from the check wins over one from restoring
    throw;
  }
  if (std::exception_ptr err = saved.restore()) std::rethrow_exception(err);
  if (!r.ok)
    r.report = fmt::format("{}({}): the inputs are its parameters (named in quotes){}\n{}", who,
                           model.describe(),
                           second_order ? "; the checked function is the gradient of <u, loss> w.r.t. them, "
                                          "u an extra input"
                                        : ", output 0 is what the loss function returned",
                           r.report);
  return r;
}
}  // namespace

GradcheckResult gradcheck_module(Module& model, const ModuleLossFn& loss,
                                 const GradcheckOptions& options,
                                 const std::vector<std::string>& parameters) {
  return run_module_check("gradcheck_module", model, loss, options, parameters, false);
}

GradcheckResult gradgradcheck_module(Module& model, const ModuleLossFn& loss,
                                     const GradcheckOptions& options,
                                     const std::vector<std::string>& parameters) {
  return run_module_check("gradgradcheck_module", model, loss, options, parameters, true);
}

}  // namespace ag::nn
