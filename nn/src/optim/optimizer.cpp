// Optimizers: per-parameter state, the update rules (plain loops over the values, no allocation
// after the first step) and gradient clipping.
#include "ag/nn/optim.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "nn_internal.hpp"

namespace ag::nn {

namespace {

std::vector<ParamGroup> one_group(const std::vector<Tensor>& params, double lr, double wd) {
  return {ParamGroup{params, lr, wd}};
}

void check_range(const char* who, const char* what, double v, double lo, double hi,
                 bool hi_open = false) {
  if (!(v >= lo && (hi_open ? v < hi : v <= hi)))
    throw ValueError(fmt::format("{}: {} must be in [{}, {}{}, got {}", who, what, lo, hi,
                                 hi_open ? ")" : "]", v));
}

// The raw values of p (written) and of its gradient (read); T must be p's dtype.
template <class T> struct Views {
  T* w;
  const T* g;
  std::size_t n;
};
template <class T> Views<T> views(Tensor& p, const Tensor& grad) {
  return {p.mutable_value<T>().data(), grad.value<T>().data(), p.numel()};
}
template <class T> T* raw(Tensor& t) { return t.mutable_value<T>().data(); }

}  // namespace

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

// ---- SGD ---------------------------------------------------------------------------------------
SGD::SGD(const std::vector<Tensor>& params, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov)
    : SGD(one_group(params, lr, weight_decay), momentum, dampening, nesterov) {}

SGD::SGD(std::vector<ParamGroup> groups, double momentum, double dampening, bool nesterov)
    : StatefulOptimizer({"momentum_buffer"}), momentum_(momentum), dampening_(dampening),
      nesterov_(nesterov) {
  check_range("SGD", "momentum", momentum, 0.0, std::numeric_limits<double>::infinity());
  check_range("SGD", "dampening", dampening, 0.0, 1.0);
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw ValueError("SGD: nesterov needs momentum > 0 and dampening = 0");
  for (auto& g : groups) add_param_group(std::move(g));
}

void SGD::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    const bool first = s.buf.empty() || !s.buf[0].defined();
    Tensor* buf = momentum_ != 0.0 ? &ensure_buffer(s, 0, p) : nullptr;
    s.step += 1;
    detail::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = views<T>(p, grad);
      const T lr = static_cast<T>(grp.lr), wd = static_cast<T>(grp.weight_decay);
      if (!buf) {
        for (std::size_t k = 0; k < n; ++k) w[k] -= lr * (g[k] + wd * w[k]);
        return;
      }
      T* b = raw<T>(*buf);
      const T mu = static_cast<T>(momentum_), keep = static_cast<T>(1.0 - dampening_);
      for (std::size_t k = 0; k < n; ++k) {
        const T gk = g[k] + wd * w[k];
        b[k] = first ? gk : mu * b[k] + keep * gk;
        w[k] -= lr * (nesterov_ ? gk + mu * b[k] : b[k]);
      }
    });
  });
}

// ---- Adam / AdamW ------------------------------------------------------------------------------
Adam::Adam(const std::vector<Tensor>& params, double lr, Betas betas, double eps, double weight_decay,
           bool amsgrad)
    : Adam(one_group(params, lr, weight_decay), betas, eps, amsgrad, false) {}

Adam::Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad)
    : Adam(std::move(groups), betas, eps, amsgrad, false) {}

Adam::Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad, bool decoupled)
    : StatefulOptimizer({"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}), beta1_(betas.beta1),
      beta2_(betas.beta2), eps_(eps), amsgrad_(amsgrad), decoupled_(decoupled) {
  const char* who = decoupled ? "AdamW" : "Adam";
  check_range(who, "beta1", beta1_, 0.0, 1.0, true);
  check_range(who, "beta2", beta2_, 0.0, 1.0, true);
  check_range(who, "eps", eps, 0.0, std::numeric_limits<double>::infinity());
  for (auto& g : groups) add_param_group(std::move(g));
}

void Adam::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& m_t = ensure_buffer(s, 0, p);
    Tensor& v_t = ensure_buffer(s, 1, p);
    Tensor* vmax_t = amsgrad_ ? &ensure_buffer(s, 2, p) : nullptr;
    s.step += 1;
    const double bc1 = 1.0 - std::pow(beta1_, s.step), bc2 = 1.0 - std::pow(beta2_, s.step);
    detail::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = views<T>(p, grad);
      T* m = raw<T>(m_t);
      T* v = raw<T>(v_t);
      T* vmax = vmax_t ? raw<T>(*vmax_t) : nullptr;
      const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_), eps = static_cast<T>(eps_);
      const T step_size = static_cast<T>(grp.lr / bc1), bc2_sqrt = static_cast<T>(std::sqrt(bc2));
      // L2 penalty in the gradient (Adam) or decoupled decay of the weights (AdamW)
      const T wd = decoupled_ ? T(0) : static_cast<T>(grp.weight_decay);
      const T shrink = decoupled_ ? static_cast<T>(1.0 - grp.lr * grp.weight_decay) : T(1);
      for (std::size_t k = 0; k < n; ++k) {
        if (decoupled_) w[k] *= shrink;
        const T gk = g[k] + wd * w[k];
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        T vk = v[k];
        if (vmax) vk = vmax[k] = std::max(vmax[k], vk);
        w[k] -= step_size * m[k] / (std::sqrt(vk) / bc2_sqrt + eps);
      }
    });
  });
}

AdamW::AdamW(const std::vector<Tensor>& params, double lr, Betas betas, double eps,
             double weight_decay, bool amsgrad)
    : Adam(one_group(params, lr, weight_decay), betas, eps, amsgrad, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad)
    : Adam(std::move(groups), betas, eps, amsgrad, true) {}

// ---- RMSprop -----------------------------------------------------------------------------------
RMSprop::RMSprop(const std::vector<Tensor>& params, double lr, double alpha, double eps,
                 double weight_decay, double momentum, bool centered)
    : RMSprop(one_group(params, lr, weight_decay), alpha, eps, momentum, centered) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, double alpha, double eps, double momentum,
                 bool centered)
    : StatefulOptimizer({"square_avg", "momentum_buffer", "grad_avg"}), alpha_(alpha), eps_(eps),
      momentum_(momentum), centered_(centered) {
  check_range("RMSprop", "alpha", alpha, 0.0, 1.0);
  check_range("RMSprop", "eps", eps, 0.0, std::numeric_limits<double>::infinity());
  check_range("RMSprop", "momentum", momentum, 0.0, std::numeric_limits<double>::infinity());
  for (auto& g : groups) add_param_group(std::move(g));
}

void RMSprop::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& sq_t = ensure_buffer(s, 0, p);
    Tensor* mom_t = momentum_ > 0.0 ? &ensure_buffer(s, 1, p) : nullptr;
    Tensor* avg_t = centered_ ? &ensure_buffer(s, 2, p) : nullptr;
    s.step += 1;
    detail::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = views<T>(p, grad);
      T* sq = raw<T>(sq_t);
      T* mom = mom_t ? raw<T>(*mom_t) : nullptr;
      T* avg = avg_t ? raw<T>(*avg_t) : nullptr;
      const T a = static_cast<T>(alpha_), eps = static_cast<T>(eps_), mu = static_cast<T>(momentum_);
      const T lr = static_cast<T>(grp.lr), wd = static_cast<T>(grp.weight_decay);
      for (std::size_t k = 0; k < n; ++k) {
        const T gk = g[k] + wd * w[k];
        sq[k] = a * sq[k] + (1 - a) * gk * gk;
        T var = sq[k];
        if (avg) {
          avg[k] = a * avg[k] + (1 - a) * gk;
          var -= avg[k] * avg[k];
        }
        const T d = gk / (std::sqrt(var) + eps);
        if (mom) {
          mom[k] = mu * mom[k] + d;
          w[k] -= lr * mom[k];
        } else {
          w[k] -= lr * d;
        }
      }
    });
  });
}

// ---- Adagrad -----------------------------------------------------------------------------------
Adagrad::Adagrad(const std::vector<Tensor>& params, double lr, double lr_decay, double weight_decay,
                 double initial_accumulator_value, double eps)
    : Adagrad(one_group(params, lr, weight_decay), lr_decay, initial_accumulator_value, eps) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, double lr_decay, double initial_accumulator_value,
                 double eps)
    : StatefulOptimizer({"sum"}), lr_decay_(lr_decay), init_acc_(initial_accumulator_value), eps_(eps) {
  const double inf = std::numeric_limits<double>::infinity();
  check_range("Adagrad", "lr_decay", lr_decay, 0.0, inf);
  check_range("Adagrad", "initial_accumulator_value", initial_accumulator_value, 0.0, inf);
  check_range("Adagrad", "eps", eps, 0.0, inf);
  for (auto& g : groups) add_param_group(std::move(g));
}

void Adagrad::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& sum_t = ensure_buffer(s, 0, p, init_acc_);
    s.step += 1;
    const double clr = grp.lr / (1.0 + (s.step - 1.0) * lr_decay_);
    detail::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = views<T>(p, grad);
      T* acc = raw<T>(sum_t);
      const T lr = static_cast<T>(clr), wd = static_cast<T>(grp.weight_decay), eps = static_cast<T>(eps_);
      for (std::size_t k = 0; k < n; ++k) {
        const T gk = g[k] + wd * w[k];
        acc[k] += gk * gk;
        w[k] -= lr * gk / (std::sqrt(acc[k]) + eps);
      }
    });
  });
}

// ---- clipping ----------------------------------------------------------------------------------
namespace {
// Applies f to every element of p's gradient, in place when nothing else can observe it.
template <class F> void map_grad(Tensor p, F f) {
  Tensor g = p.grad();
  if (g.requires_grad()) {  // a create_graph gradient: leave its history alone, store a new one
    Tensor c = g.detach();
    p.set_grad(c);
    g = c;
  }
  detail::dispatch(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = raw<T>(g);
    for (std::size_t k = 0, n = g.numel(); k < n; ++k) d[k] = static_cast<T>(f(d[k]));
  });
}
}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  if (!(max_norm >= 0.0)) throw ValueError(fmt::format("clip_grad_norm: max_norm must be >= 0, got {}", max_norm));
  if (!(norm_type > 0.0)) throw ValueError(fmt::format("clip_grad_norm: norm_type must be > 0, got {}", norm_type));
  const bool inf = std::isinf(norm_type);
  double acc = 0.0;
  for (const Tensor& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    const Tensor g = p.grad();
    detail::dispatch(g.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* d = g.value<T>().data();
      for (std::size_t k = 0, n = g.numel(); k < n; ++k) {
        const double a = std::abs(static_cast<double>(d[k]));
        if (inf) acc = std::max(acc, a);
        else if (norm_type == 2.0) acc += a * a;
        else acc += std::pow(a, norm_type);
      }
    });
  }
  const double total = inf ? acc : norm_type == 2.0 ? std::sqrt(acc) : std::pow(acc, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (const Tensor& p : params)
      if (p.defined() && p.grad().defined()) map_grad(p, [coef](auto v) { return v * coef; });
  return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
  if (!(clip_value >= 0.0))
    throw ValueError(fmt::format("clip_grad_value: clip_value must be >= 0, got {}", clip_value));
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined())
      map_grad(p, [clip_value](auto v) {
        using T = decltype(v);
        return std::clamp(v, static_cast<T>(-clip_value), static_cast<T>(clip_value));
      });
}

}  // namespace ag::nn
