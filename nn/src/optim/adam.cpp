// Adam / AdamW: one loop over the values per parameter, moments created at the first step.
#include "ag/nn/optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ag/extend.hpp"
#include "update_rule.hpp"

namespace ag::nn {

Adam::Adam(const std::vector<Tensor>& params, double lr, Betas betas, double eps, double weight_decay,
           bool amsgrad)
    : Adam(detail::one_group(params, lr, weight_decay), betas, eps, amsgrad, false) {}

Adam::Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad)
    : Adam(std::move(groups), betas, eps, amsgrad, false) {}

Adam::Adam(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad, bool decoupled)
    : StatefulOptimizer({"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}), beta1_(betas.beta1),
      beta2_(betas.beta2), eps_(eps), amsgrad_(amsgrad), decoupled_(decoupled) {
  const char* who = decoupled ? "AdamW" : "Adam";
  detail::check_range(who, "beta1", beta1_, 0.0, 1.0, true);
  detail::check_range(who, "beta2", beta2_, 0.0, 1.0, true);
  detail::check_range(who, "eps", eps, 0.0, std::numeric_limits<double>::infinity());
  detail::add_groups(*this, std::move(groups));
}

void Adam::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& m_t = ensure_buffer(s, 0, p);
    Tensor& v_t = ensure_buffer(s, 1, p);
    Tensor* vmax_t = amsgrad_ ? &ensure_buffer(s, 2, p) : nullptr;
    s.step += 1;
    const double bc1 = 1.0 - std::pow(beta1_, s.step), bc2 = 1.0 - std::pow(beta2_, s.step);
    ag::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = detail::views<T>(p, grad);
      T* m = ag::data<T>(m_t);
      T* v = ag::data<T>(v_t);
      T* vmax = vmax_t ? ag::data<T>(*vmax_t) : nullptr;
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
    : Adam(detail::one_group(params, lr, weight_decay), betas, eps, amsgrad, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, Betas betas, double eps, bool amsgrad)
    : Adam(std::move(groups), betas, eps, amsgrad, true) {}

}  // namespace ag::nn
