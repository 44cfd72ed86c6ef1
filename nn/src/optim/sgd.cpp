// SGD: one loop over the values per parameter, momentum buffer created at the first step.
#include "ag/nn/optim/sgd.hpp"

#include <limits>

#include "ag/extend.hpp"
#include "update_rule.hpp"

namespace ag::nn {

SGD::SGD(const std::vector<Tensor>& params, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov)
    : SGD(detail::one_group(params, lr, weight_decay), momentum, dampening, nesterov) {}

SGD::SGD(std::vector<ParamGroup> groups, double momentum, double dampening, bool nesterov)
    : StatefulOptimizer({"momentum_buffer"}), momentum_(momentum), dampening_(dampening),
      nesterov_(nesterov) {
  detail::check_range("SGD", "momentum", momentum, 0.0, std::numeric_limits<double>::infinity());
  detail::check_range("SGD", "dampening", dampening, 0.0, 1.0);
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    throw ValueError("SGD: nesterov needs momentum > 0 and dampening = 0");
  detail::add_groups(*this, std::move(groups));
}

void SGD::step() {
  for_each_with_grad([&](const ParamGroup& grp, Tensor& p, const Tensor& grad, Slot& s) {
    const bool first = s.buf.empty() || !s.buf[0].defined();
    Tensor* buf = momentum_ != 0.0 ? &ensure_buffer(s, 0, p) : nullptr;
    s.step += 1;
    ag::dispatch(p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto [w, g, n] = detail::views<T>(p, grad);
      const T lr = static_cast<T>(grp.lr), wd = static_cast<T>(grp.weight_decay);
      if (!buf) {
        for (std::size_t k = 0; k < n; ++k) w[k] -= lr * (g[k] + wd * w[k]);
        return;
      }
      T* b = ag::data<T>(*buf);
      const T mu = static_cast<T>(momentum_), keep = static_cast<T>(1.0 - dampening_);
      for (std::size_t k = 0; k < n; ++k) {
        const T gk = g[k] + wd * w[k];
        b[k] = first ? gk : mu * b[k] + keep * gk;
        w[k] -= lr * (nesterov_ ? gk + mu * b[k] : b[k]);
      }
    });
  });
}

}  // namespace ag::nn
