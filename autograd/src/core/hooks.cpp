// Gradient hooks (register_hook/remove_hook), retain_grad, and running hooks during a sweep.
#include <algorithm>
#include <atomic>

#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {

namespace {
std::atomic<std::size_t> next_hook_handle{1};
}  // namespace

std::size_t Tensor::register_hook(GradHook hook) {
  detail::TensorImpl& im = const_cast<detail::TensorImpl&>(checked());
  if (!im.requires_grad)
    throw GradError(fmt::format("register_hook: the tensor {} {} does not require grad, so no gradient "
                                "will reach it", dtype_name(im.dtype()), shape_str(shape())));
  if (!hook) throw ValueError("register_hook: the hook is empty");
  const std::size_t handle = next_hook_handle.fetch_add(1, std::memory_order_relaxed);
  auto& hooks = im.grad_fn ? im.grad_fn->hooks : im.hooks;
  hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void Tensor::remove_hook(std::size_t handle) {
  detail::TensorImpl& im = const_cast<detail::TensorImpl&>(checked());
  auto& hooks = im.grad_fn ? im.grad_fn->hooks : im.hooks;
  auto it = std::find_if(hooks.begin(), hooks.end(), [&](const auto& h) { return h.first == handle; });
  if (it == hooks.end())
    throw ValueError(fmt::format("remove_hook: no hook with handle {} on this tensor {}", handle,
                                 shape_str(shape())));
  hooks.erase(it);
}

Tensor& Tensor::retain_grad() {
  detail::TensorImpl& im = const_cast<detail::TensorImpl&>(checked());
  if (!im.requires_grad)
    throw GradError(fmt::format("retain_grad: the tensor {} {} does not require grad", dtype_name(im.dtype()),
                                shape_str(shape())));
  if (im.grad_fn) im.grad_fn->retain_grad = true;
  return *this;
}

bool Tensor::retains_grad() const {
  const detail::TensorImpl& im = checked();
  return im.grad_fn ? im.grad_fn->retain_grad : false;  // like PyTorch: only for non-leaves
}

namespace detail {
Tensor run_hooks(std::vector<std::pair<std::size_t, GradHook>>& hooks, Tensor g, const char* who,
                 std::uint64_t seq) {
  const std::string name = seq ? fmt::format("'{}' (#{})", who, seq) : fmt::format("'{}'", who);
  // a copy: a hook may remove itself (or others) while running
  const auto run = hooks;
  for (std::size_t i = 0; i < run.size(); ++i) {
    Tensor r = run[i].second(g);
    if (!r.defined()) continue;
    if (r.dtype() != g.dtype() || r.shape() != g.shape())
      throw GradError(fmt::format("hook {} of {}: returned a gradient {} for a gradient {} (it must keep "
                                  "the shape and dtype)", i, name, tensor_str(r), tensor_str(g)));
    if (anomaly_on()) check_gradient_anomaly(name.c_str(), "hook", i, r);
    g = std::move(r);
  }
  return g;
}

}  // namespace detail

}  // namespace ag
