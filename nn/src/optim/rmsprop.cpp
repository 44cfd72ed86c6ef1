// RMSprop: one loop over the values per parameter, averages created at the first step.
#include "ag/nn/optim/rmsprop.hpp"

#include <cmath>
#include <limits>

#include "ag/extend.hpp"
#include "update_rule.hpp"

namespace ag::nn {

RMSprop::RMSprop(const std::vector<Tensor>& params, double lr, double alpha, double eps,
                 double weight_decay, double momentum, bool centered)
    : RMSprop(detail::one_group(params, lr, weight_decay), alpha, eps, momentum, centered) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, double alpha, double eps, double momentum,
                 bool centered)
    : StatefulOptimizer({"square_avg", "momentum_buffer", "grad_avg"}), alpha_(alpha), eps_(eps),
      momentum_(momentum), centered_(centered) {
  detail::check_range("RMSprop", "alpha", alpha, 0.0, 1.0);
  detail::check_range("RMSprop", "eps", eps, 0.0, std::numeric_limits<double>::infinity());
  detail::check_range("RMSprop", "momentum", momentum, 0.0, std::numeric_limits<double>::infinity());
  detail::add_groups(*this, std::move(groups));
}

void RMSprop::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    Tensor& sq_t = ensure_buffer(s, 0, p);
    Tensor* mom_t = momentum_ > 0.0 ? &ensure_buffer(s, 1, p) : nullptr;
    Tensor* avg_t = centered_ ? &ensure_buffer(s, 2, p) : nullptr;
    s.step += 1;
    ag::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = detail::views<T>(p, grad);
      T* sq = ag::data<T>(sq_t);
      T* mom = mom_t ? ag::data<T>(*mom_t) : nullptr;
      T* avg = avg_t ? ag::data<T>(*avg_t) : nullptr;
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

}  // namespace ag::nn
