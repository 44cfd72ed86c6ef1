// Adam / AdamW: one loop over the values per parameter, moments created at the first step.
#include "ag/nn/optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

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

namespace {

// One parameter's update. The branches are template arguments and the arrays do not alias, so the
// loop vectorizes (with -fno-math-errno on this file, std::sqrt is the vector instruction); every
// element sees the same operations in the same order as the scalar loop, so the results are bit
// for bit those of PyTorch's formula as before.
template <class T, bool Decoupled, bool Amsgrad>
void adam_update(T* __restrict w, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
                 std::size_t n, T b1, T b2, T eps, T step_size, T bc2_sqrt, T wd, T shrink) {
  for (std::size_t k = 0; k < n; ++k) {
    T wk = w[k];
    if constexpr (Decoupled) wk *= shrink;
    const T gk = g[k] + wd * wk;
    const T mk = b1 * m[k] + (1 - b1) * gk;
    T vk = b2 * v[k] + (1 - b2) * gk * gk;
    m[k] = mk;
    v[k] = vk;
    if constexpr (Amsgrad) vk = vmax[k] = std::max(vmax[k], vk);
    w[k] = wk - step_size * mk / (std::sqrt(vk) / bc2_sqrt + eps);
  }
}

}  // namespace

void Adam::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& m_t = ensure_buffer(s, 0, p);
    Tensor& v_t = ensure_buffer(s, 1, p);
    Tensor* vmax_t = amsgrad_ ? &ensure_buffer(s, 2, p) : nullptr;
    s.step += 1;
    const double bc1 = 1.0 - std::pow(beta1_, s.step), bc2 = 1.0 - std::pow(beta2_, s.step);
    ag::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const auto views = detail::views<T>(p, grad);  // (no structured binding: the lambda below uses them)
      T* w = views.w;
      const T* g = views.g;
      const std::size_t n = views.n;
      T* m = ag::data<T>(m_t);
      T* v = ag::data<T>(v_t);
      T* vmax = vmax_t ? ag::data<T>(*vmax_t) : nullptr;
      const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_), eps = static_cast<T>(eps_);
      const T step_size = static_cast<T>(grp.lr / bc1), bc2_sqrt = static_cast<T>(std::sqrt(bc2));
      // L2 penalty in the gradient (Adam) or decoupled decay of the weights (AdamW)
      const T wd = decoupled_ ? T(0) : static_cast<T>(grp.weight_decay);
      const T shrink = decoupled_ ? static_cast<T>(1.0 - grp.lr * grp.weight_decay) : T(1);
      const auto run = [&](auto decoupled, auto ams) {
        adam_update<T, decltype(decoupled)::value, decltype(ams)::value>(w, g, m, v, vmax, n, b1, b2, eps, step_size,
                                                                         bc2_sqrt, wd, shrink);
      };
      using yes = std::true_type;
      using no = std::false_type;
      if (decoupled_) {
        if (vmax) run(yes{}, yes{}); else run(yes{}, no{});
      } else {
        if (vmax) run(no{}, yes{}); else run(no{}, no{});
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
