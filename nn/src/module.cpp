// Module: registration, recursive parameter walk, train/eval, dtype conversion, and the call
// trace that summary() reads.
#include "ag/nn/module.hpp"

#include <algorithm>
#include <unordered_set>
#include <variant>

#include <fmt/core.h>

#include "module_trace.hpp"

namespace ag::nn {

namespace detail {
thread_local Trace* active_trace = nullptr;
}  // namespace detail

Tensor Module::operator()(const Tensor& x) {
  detail::Trace* tr = detail::active_trace;
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
  if (std::any_of(params_.begin(), params_.end(), same) || std::any_of(buffers_.begin(), buffers_.end(), same) ||
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

Tensor& Module::register_buffer(std::string name, Tensor t, bool persistent) {
  check_new_name(name, t.defined());
  if (t.requires_grad())
    throw GradError(fmt::format("{}: buffer '{}' must not require grad (buffers are not trained); pass a "
                                "detach()ed tensor or register it as a parameter",
                                type_name(), name));
  buffers_.emplace_back(std::move(name), std::move(t));
  buffer_persistent_.push_back(persistent);
  return buffers_.back().second;
}

void Module::collect_buffers(const std::string& prefix, bool persistent_only,
                             std::vector<std::pair<std::string, Tensor>>& out) const {
  for (std::size_t i = 0; i < buffers_.size(); ++i)
    if (!persistent_only || buffer_persistent_[i]) out.emplace_back(prefix + buffers_[i].first, buffers_[i].second);
  for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", persistent_only, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect_buffers("", false, all);
  std::unordered_set<const void*> seen;  // a shared buffer is listed once, under its first name
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& b : all)
    if (seen.insert(b.second.id()).second) out.push_back(std::move(b));
  return out;
}

std::vector<Tensor> Module::buffers() const {
  std::vector<Tensor> out;
  for (auto& b : named_buffers()) out.push_back(std::move(b.second));
  return out;
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

namespace {
std::vector<Tensor> tensors_of(std::vector<std::pair<std::string, Tensor>> named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (auto& p : named) out.push_back(std::move(p.second));
  return out;
}
}  // namespace

std::vector<Tensor> Module::parameters() const { return tensors_of(named_parameters()); }

std::vector<std::pair<std::string, Tensor>> Module::named_trainable_parameters() const {
  auto out = named_parameters();
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& p) { return !p.second.requires_grad(); }),
            out.end());
  return out;
}

std::vector<Tensor> Module::trainable_parameters() const { return tensors_of(named_trainable_parameters()); }

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
  if (!is_floating(d))
    throw DtypeError(fmt::format("{}.to: modules convert to float32 or float64, got {}", type_name(), dtype_name(d)));
  auto convert_in_place = [d](Tensor& t) {
    // Replace the value inside the same handle: every holder (the layer's member, an optimizer)
    // sees the converted tensor. The old gradient has the old dtype, so it is dropped.
    ag::detail::TensorImpl* im = t.impl();
    NoGradGuard no_grad;
    Tensor converted = t.to(d);  // a fresh tensor: its value can be moved out
    im->value = std::move(converted.impl()->value);
    im->grad = Tensor();
    ++im->version;
  };
  for (auto& [name, p] : named_parameters())
    if (p.dtype() != d) convert_in_place(p);
  for (auto& [name, b] : named_buffers())
    if (is_floating(b.dtype()) && b.dtype() != d) convert_in_place(b);
}

DType Module::dtype() const {
  auto ps = named_parameters();
  return ps.empty() ? f32 : ps.front().second.dtype();
}

}  // namespace ag::nn
