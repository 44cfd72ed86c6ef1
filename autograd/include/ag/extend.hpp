#pragma once
// The op-authoring API: what every built-in op uses, and what a user's op uses the same way.
// Writing an op (built-in ops do exactly this):
//   Tensor swish(const Tensor& x) {                           // y = x·σ(x)
//     Tensor y = ag::no_grad([&] { return x * ag::sigmoid(x); });  // forward, not recorded
//     return ag::record("swish", {x}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
//       const Tensor& x = c.input(0);
//       Tensor s = ag::sigmoid(x);        // recomputed with ag ops: differentiable under create_graph
//       return {g * (s + x * s * (1.0 - s))};                   // d/dx x·σ(x) = σ + x·σ(1-σ)
//     });
//   }
// (Values captured from the forward are constants to a create_graph backward: capture them only
// when the VJP needs no derivative through them.)
// The VJP returns one gradient per input (undefined = no contribution). A gradient may have the
// broadcast shape of the op's output: the engine sums it back to the input's shape (one place).
// Written with ag ops, the VJP itself is recorded under create_graph, so 2nd derivatives work.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "ag/backward.hpp"
#include "ag/tensor.hpp"

namespace ag {

// ---- instrumentation (ag/profiler.hpp's Profiler is the observer tapegrad ships) -------------------
namespace detail {
struct Node;
// The engine's instrumentation points as one interface: a tool installs an observer on its thread
// and the engine calls it at each point. With none installed each point costs one thread-local
// load (the same as a flag), so the engine depends on no tool.
class TapeObserver {
 public:
  virtual void op_enter(const char* op) noexcept = 0;  // an op's forward begins (OpScope)
  virtual void op_exit() noexcept = 0;                 // ... and ends
  virtual void recorded(Node& n, const Tensor& out) = 0;    // a node joined the tape (may set
                                                            // n.profiled_bytes to hear of its end)
  virtual void node_freed(std::size_t bytes) noexcept = 0;  // such a node died on this thread
  virtual std::uint64_t vjp_begin() noexcept = 0;           // a VJP starts; a nonzero token
  virtual void vjp_end(const char* op, std::uint64_t token) noexcept = 0;  // ... and ends

 protected:
  ~TapeObserver() = default;
};
extern thread_local TapeObserver* observer;  // this thread's observer, or null
// The op the user called (the outermost OpScope on this thread), for errors raised deep inside
// it (dispatch's dtype check); null outside ops.
extern thread_local const char* current_op;
}  // namespace detail

// Marks the forward of an op for the Profiler: its time counts as `op`'s forward (self time
// excludes ops called inside), and errors raised inside (dispatch's dtype check) name the
// outermost one. Built-in ops and ag::op use it; a hand-written op calling ag::record directly can
// put one at its top. Costs two thread-local accesses when not profiling.
class OpScope {
 public:
  explicit OpScope(const char* op) noexcept : on_(detail::observer != nullptr), outer_(detail::current_op == nullptr) {
    if (outer_) detail::current_op = op;
    if (on_) detail::observer->op_enter(op);
  }
  ~OpScope() {
    if (outer_) detail::current_op = nullptr;
    if (on_)
      if (detail::TapeObserver* o = detail::observer) o->op_exit();  // unless it was removed meanwhile
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
 private:
  bool on_;
  bool outer_;
};

// ---- the extension API ------------------------------------------------------------------------
// A short list of tensors, vector-like (size, [], iteration, push_back), with room for 4 in place:
// an op's inputs and its VJP's gradients need no heap allocation for ops of up to 4 inputs.
// `return {dA, dB};` moves temporaries in (an initializer_list could only copy them).
class TensorList {
 public:
  static constexpr std::size_t kInline = 4;
  TensorList() noexcept = default;
  explicit TensorList(std::size_t n) { resize(n); }
  template <class... Ts, std::enable_if_t<(sizeof...(Ts) >= 1) &&
                                              (std::is_convertible_v<Ts&&, Tensor> && ...), int> = 0>
  TensorList(Ts&&... items) {
    (push_back(std::forward<Ts>(items)), ...);
  }
  template <class It, class = decltype(*std::declval<It&>()), class = decltype(++std::declval<It&>())>
  TensorList(It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }
  TensorList(const std::vector<Tensor>& v) : TensorList(v.begin(), v.end()) {}  // implicit, like a vector
  TensorList(std::vector<Tensor>&& v);
  TensorList(const TensorList&) = default;
  TensorList& operator=(const TensorList&) = default;
  TensorList(TensorList&& o) noexcept;
  TensorList& operator=(TensorList&& o) noexcept;
  ~TensorList() = default;

  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  Tensor* data() noexcept { return n_ <= kInline ? inline_ : heap_.data(); }
  const Tensor* data() const noexcept { return n_ <= kInline ? inline_ : heap_.data(); }
  Tensor& operator[](std::size_t i) noexcept { return data()[i]; }
  const Tensor& operator[](std::size_t i) const noexcept { return data()[i]; }
  Tensor* begin() noexcept { return data(); }
  Tensor* end() noexcept { return data() + n_; }
  const Tensor* begin() const noexcept { return data(); }
  const Tensor* end() const noexcept { return data() + n_; }
  Tensor& back() noexcept { return data()[n_ - 1]; }
  void push_back(Tensor t) {
    if (n_ < kInline) inline_[n_++] = std::move(t);
    else push_back_spilled(std::move(t));
  }
  void pop_back() noexcept;
  void resize(std::size_t n);
  void clear() noexcept;
  std::vector<Tensor> to_vector() const { return std::vector<Tensor>(begin(), end()); }

 private:
  void push_back_spilled(Tensor t);
  // Invariant: up to kInline items live in inline_ (heap_ empty); more live in heap_ (inline_ empty).
  Tensor inline_[kInline];
  std::vector<Tensor> heap_;
  std::size_t n_ = 0;
};

using Grads = TensorList;  // one entry per input of the op (undefined: no contribution)

enum class Keep : unsigned char { inputs, inputs_and_output };
inline constexpr Keep keep_output = Keep::inputs_and_output;

class VjpContext {
 public:
  const Tensor& input(std::size_t i) const;
  std::size_t num_inputs() const;
  bool needs_grad(std::size_t i) const;  // skip work for inputs that need no gradient
  // The op's result (only for ops recorded with ag::keep_output). Under create_graph it carries
  // its history, so a VJP written as g * output() stays differentiable.
  Tensor output() const;
  bool create_graph() const noexcept { return create_graph_; }

  VjpContext(detail::Node& node, bool create_graph) : node_(node), create_graph_(create_graph) {}

 private:
  detail::Node& node_;
  bool create_graph_;
};

}  // namespace ag

#include "ag/detail/node.hpp"  // the tape node a recorded op becomes

namespace ag {

// Records `out = op(inputs)` with its VJP on the tape if grad mode is on and an input requires
// grad; otherwise returns `out` untouched. `out` must be a fresh tensor computed without
// recording (under NoGradGuard, or from raw xtensor values). `inputs`: a braced list {x, w}, a
// std::vector<Tensor> or a TensorList.
namespace detail {
// A defined tensor of an integer or bool dtype (undefined ones go on to record_node's error).
inline bool not_floating(const Tensor& t) { return t.impl() && !is_floating(t.impl()->dtype()); }
}  // namespace detail

template <class Vjp>
Tensor record(const char* op, std::initializer_list<detail::TensorRef> inputs, Tensor out, Vjp&& vjp,
              Keep keep = Keep::inputs) {
  bool any = false;
  if (is_grad_enabled())
    for (const detail::TensorRef& r : inputs) any = any || (r.t.defined() && r.t.impl()->requires_grad);
  if (!any || detail::not_floating(out)) {  // integer and bool results carry no gradient
    if (detail::anomaly_on()) detail::check_forward_anomaly(op, inputs, out);
    return out;
  }
  TensorList list;
  for (const detail::TensorRef& r : inputs) list.push_back(r.t);
  return detail::record_node(op, keep, std::forward<Vjp>(vjp), std::move(list), std::move(out));
}
template <class List, class Vjp,
          class = std::enable_if_t<std::is_same_v<List, std::vector<Tensor>> || std::is_same_v<List, TensorList>>>
Tensor record(const char* op, const List& inputs, Tensor out, Vjp&& vjp, Keep keep = Keep::inputs) {
  if (!is_grad_enabled() || !detail::any_requires_grad(inputs.data(), inputs.size()) || detail::not_floating(out)) {
    if (detail::anomaly_on()) detail::check_forward_anomaly(op, inputs.data(), inputs.size(), out);
    return out;
  }
  return detail::record_node(op, keep, std::forward<Vjp>(vjp), TensorList(inputs.begin(), inputs.end()),
                             std::move(out));
}

// Sugar: runs `forward()` without recording, then records its result with `vjp`.
template <class Fwd, class Vjp>
Tensor op(const char* name, const std::vector<Tensor>& inputs, Fwd&& forward, Vjp&& vjp,
          Keep keep = Keep::inputs) {
  OpScope mark(name);
  Tensor out = no_grad(std::forward<Fwd>(forward));
  return record(name, inputs, std::move(out), std::forward<Vjp>(vjp), keep);
}

// ---- kernel helpers (plain loops over an op's values) -----------------------------------------
// Calls f(T{}) with T = float or double according to d: the floating-point kernels. Any other
// dtype is a DtypeError naming the op being run (the outermost OpScope) — so an op written with
// dispatch rejects integer and bool tensors without a check of its own.
template <class F> decltype(auto) dispatch(DType d, F&& f) {
  if (d == f32) return std::forward<F>(f)(float{});
  if (d != f64) detail::throw_not_floating(d);
  return std::forward<F>(f)(double{});
}
// Calls f(T{}) for every dtype: float, double, std::int64_t, std::int32_t, std::uint8_t, bool
// (ops that move values without arithmetic: reshape, concat, indexing, comparisons).
template <class F> decltype(auto) dispatch_all(DType d, F&& f) {
  switch (d) {
    case DType::f32: return std::forward<F>(f)(float{});
    case DType::f64: return std::forward<F>(f)(double{});
    case DType::i64: return std::forward<F>(f)(std::int64_t{});
    case DType::i32: return std::forward<F>(f)(std::int32_t{});
    case DType::u8: return std::forward<F>(f)(std::uint8_t{});
    default: return std::forward<F>(f)(bool{});
  }
}

using ShapeRef = xt::xarray<float>::shape_type;  // the shape type of float and double arrays alike

// A new tensor of the given shape with uninitialised values, built in place; fill it through
// data<T>(t). Hot paths use this with plain loops: no xtensor expression machinery.
template <class T> Tensor empty_tensor(const ShapeRef& shape) {
  return Tensor(detail::new_impl(std::in_place_type<xt::xarray<T>>, shape));
}
template <class T> Tensor empty_tensor(const Shape& shape) { return empty_tensor<T>(ShapeRef(shape.begin(), shape.end())); }
// The values of t (of dtype T, unchecked: call inside dispatch(t.dtype(), ...)), row-major.
template <class T> T* data(const Tensor& t) { return std::get<xt::xarray<T>>(t.impl()->value).data(); }
// The shape without a copy (hot paths: no allocation).
inline const ShapeRef& shape_ref(const Tensor& t) {
  return std::visit([](const auto& a) -> const ShapeRef& { return a.shape(); }, t.impl()->value);
}
// a.shape() == b.shape() without copying either shape.
inline bool same_shape(const Tensor& a, const Tensor& b) {
  const ShapeRef& x = shape_ref(a);
  const ShapeRef& y = shape_ref(b);
  return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin());
}
// ValueError "<op>: <what> is undefined" for a default-constructed tensor.
void require_defined(const char* op, const Tensor& t, const char* what);

}  // namespace ag
