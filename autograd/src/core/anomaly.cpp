// Anomaly mode: NaN/Inf checks of forward outputs, VJP gradients and given grad_outputs.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ag/graph.hpp"
#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {
namespace detail {

thread_local int in_vjp = 0;

namespace {

struct NonFinite {
  std::size_t index;  // flat index of the first NaN/Inf
  double value;
};

std::optional<NonFinite> first_non_finite(const Tensor& t) {
  return std::visit(
      [](const auto& a) -> std::optional<NonFinite> {
        using T = typename std::decay_t<decltype(a)>::value_type;
        if constexpr (!std::is_floating_point_v<T>) return std::nullopt;  // integers are always finite
        const auto* p = a.data();
        for (std::size_t i = 0, n = a.size(); i < n; ++i)
          if (!std::isfinite(p[i])) return NonFinite{i, static_cast<double>(p[i])};
        return std::nullopt;
      },
      t.impl()->value);
}

std::string what_str(const NonFinite& bad, const Tensor& t) {
  return fmt::format("{} at {}", std::isnan(bad.value) ? "nan" : (bad.value > 0 ? "inf" : "-inf"),
                     shape_str(unravel_index(bad.index, t.shape())));
}

// "input 0 float32 [2, 3] from 'sub' (#6), input 1 ..."; flags inputs that already hold NaN/Inf.
std::string inputs_str(const Tensor* inputs, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const Tensor& x = inputs[i];
    if (i) s += "; ";
    if (!x.defined()) {
      s += fmt::format("input {} undefined", i);
      continue;
    }
    s += fmt::format("input {} {} from {}", i, tensor_str(x), describe_producer(x));
    if (auto bad = first_non_finite(x)) s += fmt::format(" (already holds {})", what_str(*bad, x));
  }
  return s.empty() ? "no inputs" : s;
}

}  // namespace

std::string describe_producer(const Tensor& t) {
  const TensorImpl* im = t.impl();
  if (im->grad_fn) return fmt::format("'{}' (#{})", im->grad_fn->op, im->grad_fn->seq);
  const char* kind = im->requires_grad ? "leaf" : "constant";
  return im->name.empty() ? fmt::format("a {}", kind) : fmt::format("{} '{}'", kind, im->name);
}

void check_forward_anomaly(const char* op, std::initializer_list<TensorRef> inputs, const Tensor& out) {
  TensorList list;
  for (const TensorRef& r : inputs) list.push_back(r.t);
  check_forward_anomaly(op, list.data(), list.size(), out);
}

void check_forward_anomaly(const char* op, const Tensor* inputs, std::size_t n, const Tensor& out) {
  if (!out.defined() || in_vjp) return;
  if (auto bad = first_non_finite(out))
    throw AnomalyError(fmt::format("anomaly: '{}' (not recorded: no input requires grad) produced {} in "
                                   "its output {}; {}", op, what_str(*bad, out), tensor_str(out),
                                   inputs_str(inputs, n)));
}

void check_recorded_anomaly(const Node& n, const Tensor& out) {
  if (in_vjp) return;
  if (auto bad = first_non_finite(out))
    throw AnomalyError(fmt::format("anomaly: '{}' (#{} on the tape) produced {} in its output {}; {}", n.op,
                                   n.seq, what_str(*bad, out), tensor_str(out),
                                   inputs_str(n.inputs.data(), n.inputs.size())));
}

void check_backward_anomaly(const Node& n, std::size_t input, const Tensor& g) {
  if (auto bad = first_non_finite(g)) {
    const Tensor& x = n.inputs[input];
    throw AnomalyError(fmt::format("anomaly: the backward of '{}' (#{} on the tape) returned {} in the "
                                   "gradient {} for input {}, which is {} from {}", n.op, n.seq,
                                   what_str(*bad, g), tensor_str(g), input, tensor_str(x),
                                   describe_producer(x)));
  }
}

void check_gradient_anomaly(const char* who, const char* what, std::size_t index, const Tensor& g) {
  if (!g.defined()) return;
  if (auto bad = first_non_finite(g))
    throw AnomalyError(fmt::format("anomaly: {}: {} {} {} holds {}", who, what, index, tensor_str(g),
                                   what_str(*bad, g)));
}

}  // namespace detail

}  // namespace ag
