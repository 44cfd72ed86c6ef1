#pragma once
// Functions of functions: vector-Jacobian and Jacobian-vector products, full Jacobians and
// Hessians of a callable f, built on ag::grad (so they work for every op, and compose).
//
//   auto f = [](const ag::Tensor& x) { return ag::sum(x * x * x); };          // Σ x³
//   ag::Tensor H = ag::hessian(f, x);                                         // diag(6x)
//   auto [y, Jt] = ag::jvp([](const ag::Tensor& x) { return ag::exp(x); }, x, t);  // e^x ⊙ t
//
// f takes one Tensor or a list (const TensorList&, const std::vector<Tensor>& or a generic
// lambda), and returns one Tensor or a list (TensorList or std::vector<Tensor>). One tensor in and
// out gives Tensor results; lists give lists (std::vector<Tensor>) and the Jacobian of lists a
// vector of vectors, as PyTorch's torch.autograd.functional:
//   jacobian(f)[i][j] = ∂ output_i / ∂ input_j, of shape output_i.shape ++ input_j.shape
//   (one tensor in or out drops that level: list in -> [j], list out -> [i]).
//
// f is called once per transform (hvp, vhp, hessian: once too) with copies of the inputs that
// require grad, with recording on (also inside a NoGradGuard): the caller's tensors and their
// .grad are never touched. Inputs must be float32 or float64; outputs floating.
//
// Options:
//   create_graph: the results are differentiable (recorded, connected to the caller's inputs when
//     those require grad), so transforms compose: jacobian of a jacobian, ag::grad through a jvp.
//     Without it the results (and the returned outputs) carry no history.
//   strict (default true): an input that no output depends on through a differentiable path (or,
//     for jacobian/jvp, an output that depends on no input) raises GradError naming it; with
//     strict=false its blocks are zeros. A derivative that is structurally zero (the second
//     derivative of a linear function, a Hessian block ∂²f/∂x∂y of f = x + y) is zero either way.
// Wrong cotangent/tangent shapes raise ShapeError naming both shapes; a cotangent of another
// dtype than its output (tangent: input) raises DtypeError.
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "ag/autograd.hpp"

namespace ag {

struct FunctionalOptions {
  bool create_graph = false;
  bool strict = true;
};

template <class Out, class In> struct VjpResult {
  Out outputs;  // f(inputs)
  In vjp;       // vᵀ·J: one per input (input shapes)
};
template <class Out> struct JvpResult {
  Out outputs;  // f(inputs)
  Out jvp;      // J·t: one per output (output shapes)
};
template <class In> struct HvpResult {
  Tensor output;  // f(inputs), one element
  In product;     // H·v (hvp) or vᵀ·H (vhp): one per input (input shapes)
};

namespace detail {
// A non-owning reference to a callable (valid while the callable lives): the templates below wrap
// f once, and the transforms themselves are compiled in functional.cpp.
template <class Sig> class FunctionRef;
template <class R, class... A> class FunctionRef<R(A...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f) noexcept  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, A... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...); }) {}
  R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

using ListFn = FunctionRef<std::vector<Tensor>(const std::vector<Tensor>&)>;

struct OutsAndGrads {
  std::vector<Tensor> outputs;
  std::vector<Tensor> grads;
};
OutsAndGrads vjp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& v, const FunctionalOptions& o);
OutsAndGrads jvp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& t, const FunctionalOptions& o);
std::vector<std::vector<Tensor>> jacobian(ListFn f, const std::vector<Tensor>& inputs, const FunctionalOptions& o);
std::vector<std::vector<Tensor>> hessian(ListFn f, const std::vector<Tensor>& inputs, const FunctionalOptions& o);
OutsAndGrads hvp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& v, const FunctionalOptions& o);
OutsAndGrads vhp(ListFn f, const std::vector<Tensor>& inputs, const TensorList& v, const FunctionalOptions& o);

// Calls the user's f with the inputs as it takes them: one Tensor (In = Tensor) or a list.
template <class In, class F> decltype(auto) call_with(F& f, const std::vector<Tensor>& xs) {
  if constexpr (std::is_same_v<In, Tensor>) {
    static_assert(std::is_invocable_v<F&, const Tensor&>, "ag: f must take one const Tensor&");
    return f(xs[0]);
  } else if constexpr (std::is_invocable_v<F&, const TensorList&>) {
    return f(TensorList(xs));
  } else {
    static_assert(std::is_invocable_v<F&, const std::vector<Tensor>&>,
                  "ag: f must take a const TensorList& or a const std::vector<Tensor>&");
    return f(xs);
  }
}
template <class In, class F> using ResultOf = std::decay_t<decltype(call_with<In>(std::declval<F&>(), std::declval<const std::vector<Tensor>&>()))>;
template <class In, class F> inline constexpr bool one_output = std::is_same_v<ResultOf<In, F>, Tensor>;

template <class R> std::vector<Tensor> to_list(R&& r) {
  using D = std::decay_t<R>;
  if constexpr (std::is_same_v<D, Tensor>) return {std::forward<R>(r)};
  else if constexpr (std::is_same_v<D, TensorList>) return r.to_vector();
  else {
    static_assert(std::is_same_v<D, std::vector<Tensor>>, "ag: f must return a Tensor, a TensorList or a std::vector<Tensor>");
    return std::forward<R>(r);
  }
}

// f as a list -> list function, wrapped once.
template <class In, class F> auto as_list_fn(F& f) {
  return [&f](const std::vector<Tensor>& xs) { return to_list(call_with<In>(f, xs)); };
}

// One or many: a list of one collapses to its element where the user's f has one tensor.
template <bool One> auto pick(std::vector<Tensor>&& v) {
  if constexpr (One) return std::move(v[0]);
  else return std::move(v);
}
template <bool OneOut, bool OneIn> auto pick2(std::vector<std::vector<Tensor>>&& m) {
  if constexpr (OneOut && OneIn) return std::move(m[0][0]);
  else if constexpr (OneOut) return std::move(m[0]);
  else if constexpr (OneIn) {
    std::vector<Tensor> col;
    for (auto& row : m) col.push_back(std::move(row[0]));
    return col;
  } else return std::move(m);
}

template <class In, class F> auto vjp_as(F& f, const std::vector<Tensor>& xs, const TensorList& v, const FunctionalOptions& o) {
  constexpr bool one_out = one_output<In, F>;
  auto g = as_list_fn<In>(f);
  OutsAndGrads r = detail::vjp(g, xs, v, o);
  using Out = std::conditional_t<one_out, Tensor, std::vector<Tensor>>;
  using Grad = std::conditional_t<std::is_same_v<In, Tensor>, Tensor, std::vector<Tensor>>;
  return VjpResult<Out, Grad>{pick<one_out>(std::move(r.outputs)), pick<std::is_same_v<In, Tensor>>(std::move(r.grads))};
}
template <class In, class F> auto jvp_as(F& f, const std::vector<Tensor>& xs, const TensorList& t, const FunctionalOptions& o) {
  constexpr bool one_out = one_output<In, F>;
  auto g = as_list_fn<In>(f);
  OutsAndGrads r = detail::jvp(g, xs, t, o);
  using Out = std::conditional_t<one_out, Tensor, std::vector<Tensor>>;
  return JvpResult<Out>{pick<one_out>(std::move(r.outputs)), pick<one_out>(std::move(r.grads))};
}
template <class In, class F> auto jacobian_as(F& f, const std::vector<Tensor>& xs, const FunctionalOptions& o) {
  auto g = as_list_fn<In>(f);
  return pick2<one_output<In, F>, std::is_same_v<In, Tensor>>(detail::jacobian(g, xs, o));
}
template <class In, class F> auto hessian_as(F& f, const std::vector<Tensor>& xs, const FunctionalOptions& o) {
  static_assert(one_output<In, F>, "ag::hessian: f must return one Tensor (a single-element one)");
  auto g = as_list_fn<In>(f);
  return pick2<std::is_same_v<In, Tensor>, std::is_same_v<In, Tensor>>(detail::hessian(g, xs, o));
}
template <class In, class F, class Impl>
auto hvp_as(F& f, const std::vector<Tensor>& xs, const TensorList& v, const FunctionalOptions& o, Impl impl) {
  static_assert(one_output<In, F>, "ag::hvp/vhp: f must return one Tensor (a single-element one)");
  auto g = as_list_fn<In>(f);
  OutsAndGrads r = impl(g, xs, v, o);
  constexpr bool one_in = std::is_same_v<In, Tensor>;
  return HvpResult<std::conditional_t<one_in, Tensor, std::vector<Tensor>>>{std::move(r.outputs[0]),
                                                                             pick<one_in>(std::move(r.grads))};
}
}  // namespace detail

// ---- the transforms (each: one Tensor input, or a list) ---------------------------------------------
// vjp: f(x) and vᵀ·∂f/∂x = ag::grad(f(x), x, v). v: one cotangent per output, of its shape (may be
// omitted for single-element outputs: 1). Cost: one forward and one backward.
template <class F> auto vjp(F&& f, const Tensor& x, const TensorList& v = {}, const FunctionalOptions& o = {}) {
  return detail::vjp_as<Tensor>(f, {x}, v, o);
}
template <class F> auto vjp(F&& f, const TensorList& xs, const TensorList& v = {}, const FunctionalOptions& o = {}) {
  return detail::vjp_as<TensorList>(f, xs.to_vector(), v, o);
}

// jvp: f(x) and J·t (forward-mode directional derivative), one tangent per input. Computed in
// reverse mode by the double-VJP identity: u ↦ Jᵀu is linear in u, so J·t = ∂⟨Jᵀu, t⟩/∂u (at any
// u). Cost: one forward, one backward recorded with create_graph, and one backward through that
// backward — about 2-3 times one backward, plus the memory of the recorded backward.
template <class F> auto jvp(F&& f, const Tensor& x, const TensorList& t, const FunctionalOptions& o = {}) {
  return detail::jvp_as<Tensor>(f, {x}, t, o);
}
template <class F> auto jvp(F&& f, const TensorList& xs, const TensorList& t, const FunctionalOptions& o = {}) {
  return detail::jvp_as<TensorList>(f, xs.to_vector(), t, o);
}

// jacobian: ∂f/∂x in reverse mode only, one backward per output element (row by row; forward
// mode would be cheaper when inputs are fewer than outputs, but tapegrad has none). Shapes as
// described at the top: out.shape ++ in.shape.
template <class F> auto jacobian(F&& f, const Tensor& x, const FunctionalOptions& o = {}) {
  return detail::jacobian_as<Tensor>(f, {x}, o);
}
template <class F> auto jacobian(F&& f, const TensorList& xs, const FunctionalOptions& o = {}) {
  return detail::jacobian_as<TensorList>(f, xs.to_vector(), o);
}

// hessian: ∂²f/∂x_i∂x_j of a single-element f, of shape x_i.shape ++ x_j.shape (one input: a
// Tensor of shape x.shape ++ x.shape; a list: [i][j]). The Jacobian of the gradient: one backward
// with create_graph, then one backward through it per input element.
template <class F> auto hessian(F&& f, const Tensor& x, const FunctionalOptions& o = {}) {
  return detail::hessian_as<Tensor>(f, {x}, o);
}
template <class F> auto hessian(F&& f, const TensorList& xs, const FunctionalOptions& o = {}) {
  return detail::hessian_as<TensorList>(f, xs.to_vector(), o);
}

// vhp: vᵀ·H = ∂⟨∇f, v⟩/∂x for a single-element f, without forming H (one input: a Tensor; a
// list: one per input). Cost: a forward, a backward with create_graph and one through it.
template <class F> auto vhp(F&& f, const Tensor& x, const TensorList& v, const FunctionalOptions& o = {}) {
  return detail::hvp_as<Tensor>(f, {x}, v, o, &detail::vhp);
}
template <class F> auto vhp(F&& f, const TensorList& xs, const TensorList& v, const FunctionalOptions& o = {}) {
  return detail::hvp_as<TensorList>(f, xs.to_vector(), v, o, &detail::vhp);
}

// hvp: H·v, by the double-VJP identity applied to ∇f (one more backward than vhp). H is symmetric
// when f is twice continuously differentiable, so vhp gives the same numbers more cheaply.
template <class F> auto hvp(F&& f, const Tensor& x, const TensorList& v, const FunctionalOptions& o = {}) {
  return detail::hvp_as<Tensor>(f, {x}, v, o, &detail::hvp);
}
template <class F> auto hvp(F&& f, const TensorList& xs, const TensorList& v, const FunctionalOptions& o = {}) {
  return detail::hvp_as<TensorList>(f, xs.to_vector(), v, o, &detail::hvp);
}

}  // namespace ag
