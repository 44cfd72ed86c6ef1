// Gradient clipping by total norm or by value, in place on each parameter's .grad.
#include "ag/nn/optim/clip_grad.hpp"

#include <algorithm>
#include <cmath>

#include "ag/extend.hpp"

namespace ag::nn {

namespace {
// Applies f to every element of p's gradient, in place when nothing else can observe it.
template <class F> void map_grad(Tensor p, F f) {
  Tensor g = p.grad();
  if (g.requires_grad()) {  // a create_graph gradient: leave its history alone, store a new one
    Tensor c = g.detach();
    p.set_grad(c);
    g = c;
  }
  ag::dispatch(g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = g.mutable_value<T>().data();  // in place: bumps the gradient's version
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
    ag::dispatch(g.dtype(), [&](auto tag) {
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
