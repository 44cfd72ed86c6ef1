// Adagrad: one loop over the values per parameter, the sum of squares created at the first step.
#include "ag/nn/optim/adagrad.hpp"

#include <cmath>
#include <limits>

#include "ag/extend.hpp"
#include "update_rule.hpp"

namespace ag::nn {

Adagrad::Adagrad(const std::vector<Tensor>& params, double lr, double lr_decay, double weight_decay,
                 double initial_accumulator_value, double eps)
    : Adagrad(detail::one_group(params, lr, weight_decay), lr_decay, initial_accumulator_value, eps) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, double lr_decay, double initial_accumulator_value,
                 double eps)
    : StatefulOptimizer({"sum"}), lr_decay_(lr_decay), init_acc_(initial_accumulator_value), eps_(eps) {
  const double inf = std::numeric_limits<double>::infinity();
  detail::check_range("Adagrad", "lr_decay", lr_decay, 0.0, inf);
  detail::check_range("Adagrad", "initial_accumulator_value", initial_accumulator_value, 0.0, inf);
  detail::check_range("Adagrad", "eps", eps, 0.0, inf);
  detail::add_groups(*this, std::move(groups));
}

void Adagrad::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& sum_t = ensure_buffer(s, 0, p, init_acc_);
    s.step += 1;
    const double clr = grp.lr / (1.0 + (s.step - 1.0) * lr_decay_);
    ag::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = detail::views<T>(p, grad);
      T* acc = ag::data<T>(sum_t);
      const T lr = static_cast<T>(clr), wd = static_cast<T>(grp.weight_decay), eps = static_cast<T>(eps_);
      for (std::size_t k = 0; k < n; ++k) {
        const T gk = g[k] + wd * w[k];
        acc[k] += gk * gk;
        w[k] -= lr * gk / (std::sqrt(acc[k]) + eps);
      }
    });
  });
}

}  // namespace ag::nn
