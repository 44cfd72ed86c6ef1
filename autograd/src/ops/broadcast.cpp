// Broadcasting (numpy rules) and its adjoint. sum_to and broadcast_to are each other's VJP, and
// sum_to is the engine's one unbroadcast: a VJP may return a gradient of the output's broadcast
// shape, and backward sums it to the input's shape here (core/tape.cpp calls it).
#include <xtensor/xbroadcast.hpp>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::wrap;

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: cannot broadcast {} with {}", op, shape_str(a), shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  numel(out, op);  // {2^33, 1} with {1, 2^31} broadcasts to more than can exist
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  OpScope mark("broadcast_to");
  detail::require_defined("broadcast_to", x);
  const auto& xs = detail::shape_ref(x);
  if (detail::same_shape(xs, shape)) return x;
  if (!detail::broadcastable_to(xs, shape))
    throw ShapeError(fmt::format("broadcast_to: cannot broadcast {} to {}", shape_str(x.shape()),
                                 shape_str(shape)));
  numel(shape, "broadcast_to");
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& xv = x.value<T>();
    // One value (the VJP of a full sum) or whole rows ([N] / [1, N] -> [M, N]): plain fills.
    std::size_t lead = 0;
    while (lead < xs.size() && xs[lead] == 1) ++lead;
    bool rows = true;
    for (std::size_t k = lead; k < xs.size(); ++k) rows = rows && xs[k] == shape[shape.size() - xs.size() + k];
    if (xv.size() == 1 || rows) {
      Tensor r = detail::empty_tensor<T>(detail::ShapeRef(shape.begin(), shape.end()));
      T* pr = detail::data<T>(r);
      const std::size_t n = r.numel(), row = xv.size();
      if (n == 0) return r;  // (row == 0 implies n == 0)
      if (row == 1) std::fill(pr, pr + n, xv.data()[0]);
      else
        for (std::size_t o = 0; o < n; o += row) std::copy(xv.data(), xv.data() + row, pr + o);
      return r;
    }
    return detail::wrap_expr<T>(xt::broadcast(xv, shape));
  });
  return record("broadcast_to", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {sum_to(g, c.input(0).shape())};
  });
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  OpScope mark("sum_to");
  detail::require_defined("sum_to", x);
  const Shape xs = x.shape();
  if (xs == shape) return x;
  if (!detail::broadcastable_to(shape, xs))
    throw ShapeError(fmt::format("sum_to: cannot sum {} down to {}", shape_str(xs), shape_str(shape)));
  const std::size_t lead = xs.size() - shape.size();
  std::vector<std::size_t> axes;  // sorted + unique, as the immediate reducer requires
  for (std::size_t i = 0; i < lead; ++i) axes.push_back(i);
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 1 && xs[lead + i] != 1) axes.push_back(lead + i);
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = detail::sum_axes(x.value<T>(), axes);
    r.reshape(shape);  // re-inserts the kept size-1 axes
    return wrap<T>(std::move(r));
  });
  return record("sum_to", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {broadcast_to(g, c.input(0).shape())};
  });
}

}  // namespace ag
