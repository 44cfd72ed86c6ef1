// Module: registration, recursive parameter walk, train/eval, dtype conversion and summary().
#include "ag/nn/module.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <fmt/core.h>

namespace ag::nn {

namespace {

// summary() records every Module::operator() call made while it runs the model.
struct TraceRow {
  const Module* module;
  std::size_t depth;
  Shape output;
};
struct Trace {
  std::vector<TraceRow> rows;
  std::size_t depth = 0;
};
thread_local Trace* active_trace = nullptr;

}  // namespace

Tensor Module::operator()(const Tensor& x) {
  Trace* tr = active_trace;
  if (!tr) return forward(x);
  const std::size_t row = tr->rows.size();  // pre-order: a container is listed before its layers
  tr->rows.push_back({this, tr->depth, {}});
  ++tr->depth;
  Tensor y;
  try {
    y = forward(x);
  } catch (...) {
    --tr->depth;
    throw;
  }
  --tr->depth;
  tr->rows[row].output = y.shape();
  return y;
}

void Module::check_new_name(const std::string& name, bool defined) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError(fmt::format("{}: invalid name '{}' (must be non-empty and contain no '.')",
                                 type_name(), name));
  if (!defined) throw ValueError(fmt::format("{}: '{}' is undefined (null)", type_name(), name));
  auto same = [&](const auto& p) { return p.first == name; };
  if (std::any_of(params_.begin(), params_.end(), same) ||
      std::any_of(children_.begin(), children_.end(), same))
    throw ValueError(fmt::format("{}: the name '{}' is already registered", type_name(), name));
}

Tensor& Module::register_parameter(std::string name, Tensor t) {
  check_new_name(name, t.defined());
  if (!t.is_leaf())
    throw GradError(fmt::format("{}: parameter '{}' must be a leaf tensor (produced by '{}'); "
                                "pass a detach()ed copy", type_name(), name, t.op_name()));
  t.requires_grad_(true);
  params_.emplace_back(std::move(name), std::move(t));
  return params_.back().second;
}

void Module::collect(const std::string& prefix,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect("", all);
  // A shared (tied) tensor is listed once: an optimizer must not step it twice.
  std::unordered_set<const void*> seen;
  std::vector<std::pair<std::string, Tensor>> out;
  out.reserve(all.size());
  for (auto& p : all)
    if (seen.insert(p.second.id()).second) out.push_back(std::move(p));
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& p : named_parameters()) out.push_back(std::move(p.second));
  return out;
}

std::size_t Module::num_parameters() const {
  std::size_t n = 0;
  for (const auto& p : named_parameters()) n += p.second.numel();
  return n;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child.get());
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(name + "." + sub, m);
  }
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

void Module::to(DType d) {
  for (auto& [name, p] : named_parameters()) {
    if (p.dtype() == d) continue;
    // Replace the value inside the same handle: every holder (the layer's member, an optimizer)
    // sees the converted leaf. The old gradient has the old dtype, so it is dropped.
    detail::TensorImpl* im = p.impl();
    if (d == f64)
      im->value = xt::xarray<double>(p.to_xarray<double>());
    else
      im->value = xt::xarray<float>(p.to_xarray<float>());
    im->grad = Tensor();
    ++im->version;
  }
}

DType Module::dtype() const {
  auto ps = named_parameters();
  return ps.empty() ? f32 : ps.front().second.dtype();
}

// ---- summary ----------------------------------------------------------------------------------

std::string summary(Module& model, const Shape& input) { return summary(model, input, model.dtype()); }

std::string summary(Module& model, const Shape& input, DType dtype) {
  Trace trace;
  const bool was_training = model.is_training();
  model.eval();
  Shape out_shape;
  {
    NoGradGuard ng;
    Trace* prev = active_trace;
    active_trace = &trace;
    try {
      out_shape = model(zeros(input, dtype)).shape();
    } catch (...) {
      active_trace = prev;
      model.train(was_training);
      throw;
    }
    active_trace = prev;
  }
  model.train(was_training);

  std::unordered_map<const Module*, std::string> names;
  for (const auto& [name, m] : model.named_modules()) names.emplace(m, name);

  struct Line {
    std::string layer, shape, params;
  };
  std::vector<Line> lines;
  for (const TraceRow& r : trace.rows) {
    std::size_t own = 0;
    for (const auto& p : r.module->own_parameters()) own += p.second.numel();
    if (r.module == &model && own == 0) continue;  // the root is the table itself
    std::string name = r.module == &model ? "(root)" : names.count(r.module) ? names[r.module] : "-";
    const std::size_t indent = r.depth > 0 ? 2 * (r.depth - 1) : 0;
    lines.push_back({std::string(indent, ' ') + name + " (" + r.module->describe() + ")",
                     shape_str(r.output), std::to_string(own)});
  }
  Line head{"Layer (type)", "Output shape", "Param #"};
  std::size_t w0 = head.layer.size(), w1 = head.shape.size(), w2 = head.params.size();
  for (const Line& l : lines) {
    w0 = std::max(w0, l.layer.size());
    w1 = std::max(w1, l.shape.size());
    w2 = std::max(w2, l.params.size());
  }
  const std::size_t width = w0 + w1 + w2 + 4;
  std::string s = fmt::format("Model: {} (input {}, {})\n", model.type_name(), shape_str(input),
                              dtype_name(dtype));
  s += std::string(width, '=') + "\n";
  s += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", head.layer, w0, head.shape, w1, head.params, w2);
  s += std::string(width, '-') + "\n";
  for (const Line& l : lines)
    s += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", l.layer, w0, l.shape, w1, l.params, w2);
  s += std::string(width, '=') + "\n";
  std::size_t trainable = 0, total = 0;
  for (const auto& p : model.named_parameters()) {
    total += p.second.numel();
    if (p.second.requires_grad()) trainable += p.second.numel();
  }
  s += fmt::format("Output shape: {}\nTotal params: {}\nTrainable params: {}\n", shape_str(out_shape),
                   total, trainable);
  return s;
}

}  // namespace ag::nn
