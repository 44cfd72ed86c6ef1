// Optimizer base (parameter groups, zero_grad, learning rate access) and StatefulOptimizer
// (per-parameter state: buffers, step counts, and their validated save/load form).
#include "ag/nn/optim/optimizer.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/core.h>

namespace ag::nn {

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

double Optimizer::lr() const {
  if (groups_.empty()) throw ValueError(fmt::format("{}: no parameter groups", type_name()));
  return groups_.front().lr;
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0)) throw ValueError(fmt::format("{}: learning rate must be >= 0, got {}", type_name(), lr));
  for (auto& g : groups_) g.lr = lr;
}

void Optimizer::add_param_group(ParamGroup group) {
  const std::string who = type_name();
  const std::size_t gi = groups_.size();
  if (!(group.lr >= 0.0))
    throw ValueError(fmt::format("{}: group {}: learning rate must be >= 0, got {}", who, gi, group.lr));
  if (!(group.weight_decay >= 0.0))
    throw ValueError(fmt::format("{}: group {}: weight_decay must be >= 0, got {}", who, gi,
                                 group.weight_decay));
  std::unordered_set<const void*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.id());
  for (std::size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    if (!p.defined()) throw ValueError(fmt::format("{}: group {} parameter {} is undefined", who, gi, i));
    // A leaf without requires_grad is a frozen parameter (PyTorch's idiom): accepted, never updated.
    if (!p.is_leaf())
      throw ValueError(fmt::format("{}: group {} parameter {} {} must be a leaf tensor, but it was produced "
                                   "by '{}' (optimize the tensors it was computed from, or a detach()ed "
                                   "copy)", who, gi, i, shape_str(p.shape()), p.op_name()));
    if (!seen.insert(p.id()).second)
      throw ValueError(fmt::format("{}: group {} parameter {} {} appears more than once", who, gi, i,
                                   shape_str(p.shape())));
  }
  groups_.push_back(std::move(group));
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

// ---- StatefulOptimizer -------------------------------------------------------------------------
StatefulOptimizer::Slot& StatefulOptimizer::slot(std::size_t g, std::size_t i) {
  if (slots_.size() < groups_.size()) slots_.resize(groups_.size());
  auto& row = slots_[g];
  if (row.size() < groups_[g].params.size()) row.resize(groups_[g].params.size());
  return row[i];
}

void StatefulOptimizer::check_state(std::size_t g, std::size_t i, const Tensor& p, const Tensor& grad,
                                    const Slot& s) const {
  auto check = [&](const Tensor& t, const std::string& what, const char* hint) {
    if (t.dtype() == p.dtype() && t.shape() == p.shape()) return;
    const std::string msg = fmt::format("{}: {} of parameter {}.{} is {} {} but the parameter is {} {} ({})",
                                        type_name(), what, g, i, dtype_name(t.dtype()), shape_str(t.shape()),
                                        dtype_name(p.dtype()), shape_str(p.shape()), hint);
    if (t.dtype() != p.dtype()) throw DtypeError(msg);
    throw ShapeError(msg);
  };
  check(grad, "the gradient", "set_grad or a backward gave it another shape or dtype");
  for (std::size_t k = 0; k < s.buf.size(); ++k)
    if (s.buf[k].defined())
      check(s.buf[k], fmt::format("state '{}'", buffer_names_[k]),
            "the parameter changed after the optimizer's first step: create the optimizer after "
            "converting or reshaping the model");
}

Tensor& StatefulOptimizer::ensure_buffer(Slot& s, std::size_t k, const Tensor& p, double fill) {
  if (s.buf.size() < buffer_names_.size()) s.buf.resize(buffer_names_.size());
  Tensor& b = s.buf[k];
  if (!b.defined()) b = full(p.shape(), fill, p.dtype());  // else: check_state saw it match p
  return b;
}

double StatefulOptimizer::step_count(std::size_t g, std::size_t i) const {
  if (g >= slots_.size() || i >= slots_[g].size()) return 0.0;
  return slots_[g][i].step;
}

Tensor StatefulOptimizer::buffer(std::size_t g, std::size_t i, const std::string& name) const {
  auto it = std::find(buffer_names_.begin(), buffer_names_.end(), name);
  if (it == buffer_names_.end())
    throw ValueError(fmt::format("{}: no state buffer named '{}'", type_name(), name));
  const auto k = static_cast<std::size_t>(it - buffer_names_.begin());
  if (g >= slots_.size() || i >= slots_[g].size() || k >= slots_[g][i].buf.size()) return Tensor();
  return slots_[g][i].buf[k];
}

std::vector<std::pair<std::string, Tensor>> StatefulOptimizer::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    out.emplace_back(fmt::format("{}.lr", g), scalar(groups_[g].lr, f64));
    if (g >= slots_.size()) continue;
    for (std::size_t i = 0; i < slots_[g].size(); ++i) {
      const Slot& s = slots_[g][i];
      if (s.step == 0) continue;
      out.emplace_back(fmt::format("{}.{}.step", g, i), scalar(s.step, f64));
      for (std::size_t k = 0; k < s.buf.size(); ++k)
        if (s.buf[k].defined())
          out.emplace_back(fmt::format("{}.{}.{}", g, i, buffer_names_[k]), s.buf[k].detach());
    }
  }
  return out;
}

void StatefulOptimizer::load_state(const std::vector<std::pair<std::string, Tensor>>& state) {
  const std::string who = type_name() + "::load_state";
  std::vector<std::vector<Slot>> slots(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) slots[g].resize(groups_[g].params.size());
  std::vector<double> lrs;
  for (const auto& grp : groups_) lrs.push_back(grp.lr);
  std::unordered_set<std::string> seen;

  auto parse_index = [&](const std::string& name, const std::string& part, std::size_t limit,
                         const char* what) {
    std::size_t v = 0;
    if (part.empty() || part.size() > 9 || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw ValueError(fmt::format("{}: malformed entry name '{}'", who, name));
    v = std::stoul(part);
    if (v >= limit)
      throw ValueError(fmt::format("{}: entry '{}' refers to {} {}, but there are only {}", who, name,
                                   what, v, limit));
    return v;
  };
  auto scalar_value = [&](const std::string& name, const Tensor& t) {
    if (!t.defined() || t.numel() != 1)
      throw ValueError(fmt::format("{}: entry '{}' must hold one value, got shape {}", who, name,
                                   t.defined() ? shape_str(t.shape()) : "undefined"));
    return t.item();
  };

  for (const auto& [name, t] : state) {
    if (!seen.insert(name).second) throw ValueError(fmt::format("{}: duplicate entry '{}'", who, name));
    std::vector<std::string> parts;
    for (std::size_t a = 0;;) {
      const std::size_t b = name.find('.', a);
      parts.push_back(name.substr(a, b == std::string::npos ? std::string::npos : b - a));
      if (b == std::string::npos) break;
      a = b + 1;
    }
    if (parts.size() == 2 && parts[1] == "lr") {
      const std::size_t g = parse_index(name, parts[0], groups_.size(), "group");
      const double lr = scalar_value(name, t);
      if (!(lr >= 0.0)) throw ValueError(fmt::format("{}: entry '{}' has learning rate {}", who, name, lr));
      lrs[g] = lr;
      continue;
    }
    if (parts.size() != 3) throw ValueError(fmt::format("{}: malformed entry name '{}'", who, name));
    const std::size_t g = parse_index(name, parts[0], groups_.size(), "group");
    const std::size_t i = parse_index(name, parts[1], groups_[g].params.size(), "parameter");
    Slot& s = slots[g][i];
    if (parts[2] == "step") {
      s.step = scalar_value(name, t);
      if (!(s.step >= 0.0)) throw ValueError(fmt::format("{}: entry '{}' has step {}", who, name, s.step));
      continue;
    }
    auto it = std::find(buffer_names_.begin(), buffer_names_.end(), parts[2]);
    if (it == buffer_names_.end())
      throw ValueError(fmt::format("{}: entry '{}': {} has no state named '{}'", who, name,
                                   type_name(), parts[2]));
    const Tensor& p = groups_[g].params[i];
    if (!t.defined() || t.shape() != p.shape() || t.dtype() != p.dtype())
      throw ValueError(fmt::format("{}: entry '{}' is {} {} but parameter {}.{} is {} {}", who, name,
                                   t.defined() ? dtype_name(t.dtype()) : "undefined",
                                   t.defined() ? shape_str(t.shape()) : "", g, i,
                                   dtype_name(p.dtype()), shape_str(p.shape())));
    s.buf.resize(buffer_names_.size());
    s.buf[static_cast<std::size_t>(it - buffer_names_.begin())] = t.detach();
  }
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = 0; i < slots[g].size(); ++i) {
      const Slot& s = slots[g][i];
      const bool has_buf = std::any_of(s.buf.begin(), s.buf.end(), [](const Tensor& b) { return b.defined(); });
      if (has_buf && s.step == 0)
        throw ValueError(fmt::format("{}: parameter {}.{} has state buffers but no step count", who, g, i));
    }
  // validated: commit
  slots_ = std::move(slots);
  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = lrs[g];
}

}  // namespace ag::nn
