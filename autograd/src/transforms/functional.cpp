// Functional transforms (ag/functional.hpp): everything is ag::grad on a fresh graph of f.
//
// Each transform calls f on "work inputs": one identity node per input, recorded on top of the
// caller's tensor when create_graph asks for the result to stay connected to it, or on top of a
// detached copy otherwise. Differentiating w.r.t. nodes (never leaves) lets ag::grad stop at them:
// it never runs the VJPs of the caller's history below (see min_seq in backward.cpp), so a
// transform costs the same whatever that history, and never disturbs a backward in progress.
#include "ag/functional.hpp"

#include <fmt/core.h>

#include "ag/ops.hpp"
#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {
namespace {

Tensor identity_node(const Tensor& base) {
  return record("functional_input", {base}, base.detach(),
                [](const VjpContext&, const Tensor& g) -> Grads { return {g}; });
}

std::vector<Tensor> work_inputs(const char* who, const std::vector<Tensor>& inputs, bool create_graph) {
  if (inputs.empty()) throw ValueError(fmt::format("{}: no inputs", who));
  EnableGradGuard record_on;
  std::vector<Tensor> xs;
  xs.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) throw ValueError(fmt::format("{}: input {} is undefined", who, i));
    if (!is_floating(x.dtype()))
      throw DtypeError(fmt::format("{}: input {} is {}; inputs must be float32 or float64", who, i,
                                   detail::tensor_str(x)));
    Tensor base = create_graph && x.requires_grad() ? x : x.detach().requires_grad_();
    xs.push_back(identity_node(base));
  }
  return xs;
}

std::vector<Tensor> run_f(const char* who, detail::ListFn f, const std::vector<Tensor>& xs) {
  EnableGradGuard record_on;
  std::vector<Tensor> ys = f(xs);
  if (ys.empty()) throw ValueError(fmt::format("{}: f returned no outputs", who));
  for (std::size_t i = 0; i < ys.size(); ++i) {
    if (!ys[i].defined()) throw ValueError(fmt::format("{}: output {} of f is undefined", who, i));
    if (!is_floating(ys[i].dtype()))
      throw DtypeError(fmt::format("{}: output {} of f is {}; outputs must be float32 or float64", who, i,
                                   detail::tensor_str(ys[i])));
  }
  return ys;
}

// The one-element output of hessian/hvp/vhp's f.
const Tensor& scalar_output(const char* who, const std::vector<Tensor>& ys) {
  if (ys.size() != 1 || ys[0].numel() != 1)
    throw ShapeError(fmt::format("{}: f must return one single-element tensor; it returned {} output(s), "
                                 "the first of shape {}", who, ys.size(), shape_str(ys[0].shape())));
  return ys[0];
}

// What the caller gets back as f's outputs: the values only, unless create_graph.
std::vector<Tensor> returned_outputs(std::vector<Tensor> ys, bool create_graph) {
  if (!create_graph)
    for (Tensor& y : ys) y = y.detach();
  return ys;
}

// Checks one vector per tensor of `like` (v for outputs, t for inputs): count, shape and dtype.
void check_vectors(const char* who, const char* name, const char* of, const TensorList& v,
                   const std::vector<Tensor>& like) {
  if (v.size() != like.size())
    throw ValueError(fmt::format("{}: {} has {} tensor(s) for {} {}(s)", who, name, v.size(), like.size(), of));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].defined()) throw ValueError(fmt::format("{}: {}[{}] is undefined", who, name, i));
    if (v[i].shape() != like[i].shape())
      throw ShapeError(fmt::format("{}: {}[{}] has shape {} but {} {} has shape {}", who, name, i,
                                   shape_str(v[i].shape()), of, i, shape_str(like[i].shape())));
    if (v[i].dtype() != like[i].dtype())
      throw DtypeError(fmt::format("{}: {}[{}] is {} but {} {} is {}", who, name, i, detail::tensor_str(v[i]),
                                   of, i, detail::tensor_str(like[i])));
  }
}

// ag::grad of the outputs that carry history (the others contribute nothing), allowing unused
// inputs (undefined results).
std::vector<Tensor> grad_of(const std::vector<Tensor>& ys, const std::vector<Tensor>& xs,
                            const std::vector<Tensor>& seeds, bool create_graph) {
  std::vector<Tensor> outs, gs;
  for (std::size_t i = 0; i < ys.size(); ++i)
    if (ys[i].requires_grad() && seeds[i].defined()) {
      outs.push_back(ys[i]);
      gs.push_back(seeds[i]);
    }
  if (outs.empty()) return std::vector<Tensor>(xs.size());
  return grad(outs, xs, gs, /*retain_graph=*/true, create_graph, /*allow_unused=*/true);
}

[[noreturn]] void independent_input(const char* who, std::size_t j, const Tensor& x) {
  throw GradError(fmt::format("{}: no output of f depends on input {} {} through a differentiable path "
                              "(pass strict=false to get zeros)", who, j, shape_str(x.shape())));
}

Shape concat_shapes(const Shape& a, const Shape& b) {
  Shape s = a;
  s.insert(s.end(), b.begin(), b.end());
  return s;
}

std::vector<std::ptrdiff_t> signed_shape(const Shape& s) { return std::vector<std::ptrdiff_t>(s.begin(), s.end()); }

// e_k: one-hot of y's shape and dtype.
Tensor one_hot_like(const Tensor& y, std::size_t k) {
  Tensor e = zeros(y.shape(), y.dtype());
  detail::dispatch(y.dtype(), [&](auto t) {
    using T = decltype(t);
    detail::data<T>(e)[k] = T(1);
  });
  return e;
}

// The Jacobian of y w.r.t. xs row by row: blocks[j] of shape y.shape ++ xs[j].shape. `used[j]`
// says whether some row reached xs[j].
std::vector<Tensor> jacobian_rows(const Tensor& y, const std::vector<Tensor>& xs, bool create_graph,
                                  std::vector<bool>& used) {
  const std::size_t n = y.numel();
  used.assign(xs.size(), false);
  std::vector<std::vector<Tensor>> rows(xs.size());
  if (y.requires_grad())
    for (std::size_t k = 0; k < n; ++k) {
      std::vector<Tensor> g = grad({y}, xs, {one_hot_like(y, k)}, /*retain_graph=*/true, create_graph,
                                   /*allow_unused=*/true);
      for (std::size_t j = 0; j < xs.size(); ++j) {
        if (g[j].defined()) used[j] = true;
        rows[j].push_back(g[j].defined() ? std::move(g[j]) : zeros(xs[j].shape(), xs[j].dtype()));
      }
    }
  std::vector<Tensor> blocks;
  for (std::size_t j = 0; j < xs.size(); ++j) {
    const Shape s = concat_shapes(y.shape(), xs[j].shape());
    if (!used[j]) blocks.push_back(zeros(s, xs[j].dtype()));
    else blocks.push_back(reshape(stack(rows[j], 0), signed_shape(s)));
  }
  return blocks;
}

// A zero-valued cotangent leaf for each tensor, behind an identity node (so that ag::grad w.r.t.
// them stops there): the "u" of the double-VJP identity.
std::vector<Tensor> dummy_cotangents(const std::vector<Tensor>& like) {
  EnableGradGuard record_on;
  std::vector<Tensor> us;
  for (const Tensor& y : like) us.push_back(identity_node(zeros(y.shape(), y.dtype(), /*requires_grad=*/true)));
  return us;
}

// J·t for the map xs -> ys by the double-VJP identity: w(u) = Jᵀu = grad(ys, xs, u) recorded,
// then J·t = ∂⟨w(u), t⟩/∂u. Undefined entries: the output has no differentiable path to any
// input with a tangent.
// `reached[j]`: some output depends on xs[j].
std::vector<Tensor> double_vjp(const std::vector<Tensor>& ys, const std::vector<Tensor>& xs,
                               const std::vector<Tensor>& t, bool create_graph, std::vector<bool>& reached) {
  std::vector<Tensor> us = dummy_cotangents(ys);
  std::vector<Tensor> w = grad_of(ys, xs, us, /*create_graph=*/true);
  std::vector<Tensor> ws, ts;
  reached.assign(xs.size(), false);
  for (std::size_t j = 0; j < xs.size(); ++j) reached[j] = w[j].defined();
  for (std::size_t j = 0; j < xs.size(); ++j)
    if (w[j].defined() && w[j].requires_grad()) {
      ws.push_back(w[j]);
      ts.push_back(t[j]);
    }
  if (ws.empty()) return std::vector<Tensor>(ys.size());
  return grad(ws, us, ts, /*retain_graph=*/true, create_graph, /*allow_unused=*/true);
}

}  // namespace

namespace detail {

OutsAndGrads vjp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& v, const FunctionalOptions& o) {
  const char* who = "vjp";
  const std::vector<Tensor> xs = work_inputs(who, inputs, o.create_graph);
  std::vector<Tensor> ys = run_f(who, f, xs);
  std::vector<Tensor> seeds;
  if (v.empty()) {
    for (std::size_t i = 0; i < ys.size(); ++i) {
      if (ys[i].numel() != 1)
        throw ValueError(fmt::format("vjp: output {} of f has shape {}; pass v, one cotangent per output "
                                     "(it may be omitted only for single-element outputs)", i, shape_str(ys[i].shape())));
      seeds.push_back(ones(ys[i].shape(), ys[i].dtype()));
    }
  } else {
    check_vectors(who, "v", "output", v, ys);
    seeds = v.to_vector();
  }
  std::vector<Tensor> g = grad_of(ys, xs, seeds, o.create_graph);
  for (std::size_t j = 0; j < xs.size(); ++j)
    if (!g[j].defined()) {
      if (o.strict) independent_input(who, j, xs[j]);
      g[j] = zeros(xs[j].shape(), xs[j].dtype());
    }
  return {returned_outputs(std::move(ys), o.create_graph), std::move(g)};
}

OutsAndGrads jvp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& t, const FunctionalOptions& o) {
  const char* who = "jvp";
  const std::vector<Tensor> xs = work_inputs(who, inputs, o.create_graph);
  check_vectors(who, "tangent", "input", t, xs);
  std::vector<Tensor> ys = run_f(who, f, xs);
  std::vector<bool> reached;
  std::vector<Tensor> r = double_vjp(ys, xs, t.to_vector(), o.create_graph, reached);
  if (o.strict)
    for (std::size_t j = 0; j < xs.size(); ++j)
      if (!reached[j]) independent_input(who, j, xs[j]);
  for (std::size_t i = 0; i < ys.size(); ++i)
    if (!r[i].defined()) {
      if (o.strict)
        throw GradError(fmt::format("jvp: output {} {} of f depends on no input through a differentiable "
                                    "path (pass strict=false to get zeros)", i, shape_str(ys[i].shape())));
      r[i] = zeros(ys[i].shape(), ys[i].dtype());
    }
  return {returned_outputs(std::move(ys), o.create_graph), std::move(r)};
}

std::vector<std::vector<Tensor>> jacobian(ListFn f, const std::vector<Tensor>& inputs, const FunctionalOptions& o) {
  const char* who = "jacobian";
  const std::vector<Tensor> xs = work_inputs(who, inputs, o.create_graph);
  const std::vector<Tensor> ys = run_f(who, f, xs);
  std::vector<std::vector<Tensor>> J;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    std::vector<bool> used;
    J.push_back(jacobian_rows(ys[i], xs, o.create_graph, used));
    if (o.strict)
      for (std::size_t j = 0; j < xs.size(); ++j)
        if (!used[j] && ys[i].numel() > 0)
          throw GradError(fmt::format("jacobian: output {} {} of f does not depend on input {} {} through a "
                                      "differentiable path (pass strict=false to get zeros)", i,
                                      shape_str(ys[i].shape()), j, shape_str(xs[j].shape())));
  }
  return J;
}

namespace {
// ∇f at the work inputs, recorded (create_graph): undefined entries raise under strict, else zeros.
std::vector<Tensor> recorded_gradient(const char* who, const Tensor& y, const std::vector<Tensor>& xs, bool strict) {
  std::vector<Tensor> g = grad_of({y}, xs, {ones(y.shape(), y.dtype())}, /*create_graph=*/true);
  for (std::size_t j = 0; j < xs.size(); ++j)
    if (!g[j].defined()) {
      if (strict) independent_input(who, j, xs[j]);
      g[j] = zeros(xs[j].shape(), xs[j].dtype());
    }
  return g;
}
}  // namespace

std::vector<std::vector<Tensor>> hessian(ListFn f, const std::vector<Tensor>& inputs, const FunctionalOptions& o) {
  const char* who = "hessian";
  const std::vector<Tensor> xs = work_inputs(who, inputs, o.create_graph);
  const std::vector<Tensor> ys = run_f(who, f, xs);
  const std::vector<Tensor> g = recorded_gradient(who, scalar_output(who, ys), xs, o.strict);
  std::vector<std::vector<Tensor>> H;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    std::vector<bool> used;
    H.push_back(jacobian_rows(g[i], xs, o.create_graph, used));  // a block no row reaches is zero
  }
  return H;
}

OutsAndGrads vhp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& v, const FunctionalOptions& o) {
  const char* who = "vhp";
  const std::vector<Tensor> xs = work_inputs(who, inputs, o.create_graph);
  check_vectors(who, "v", "input", v, xs);
  std::vector<Tensor> ys = run_f(who, f, xs);
  const std::vector<Tensor> g = recorded_gradient(who, scalar_output(who, ys), xs, o.strict);
  std::vector<Tensor> r = grad_of(g, xs, v.to_vector(), o.create_graph);  // ∂⟨∇f, v⟩/∂x
  for (std::size_t j = 0; j < xs.size(); ++j)
    if (!r[j].defined()) r[j] = zeros(xs[j].shape(), xs[j].dtype());
  return {returned_outputs(std::move(ys), o.create_graph), std::move(r)};
}

OutsAndGrads hvp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& v, const FunctionalOptions& o) {
  const char* who = "hvp";
  const std::vector<Tensor> xs = work_inputs(who, inputs, o.create_graph);
  check_vectors(who, "v", "input", v, xs);
  std::vector<Tensor> ys = run_f(who, f, xs);
  const std::vector<Tensor> g = recorded_gradient(who, scalar_output(who, ys), xs, o.strict);
  std::vector<bool> reached;  // (strictness was checked on ∇f itself)
  std::vector<Tensor> r = double_vjp(g, xs, v.to_vector(), o.create_graph, reached);  // J_∇f · v = H·v
  for (std::size_t j = 0; j < xs.size(); ++j)
    if (!r[j].defined()) r[j] = zeros(xs[j].shape(), xs[j].dtype());
  return {returned_outputs(std::move(ys), o.create_graph), std::move(r)};
}

}  // namespace detail
}  // namespace ag
