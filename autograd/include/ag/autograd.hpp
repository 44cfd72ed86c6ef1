#pragma once
// The dynamic tape: grad mode, recording an op (the extension API), backward and ag::grad.
//
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
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

// ---- grad mode (thread-local) -----------------------------------------------------------------
bool is_grad_enabled() noexcept;
void set_grad_enabled(bool on) noexcept;

class NoGradGuard {  // RAII: nothing is recorded inside its scope
 public:
  NoGradGuard() noexcept : prev_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

class EnableGradGuard {  // RAII: recording on again (e.g. inside a NoGradGuard)
 public:
  EnableGradGuard() noexcept : prev_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;
 private:
  bool prev_;
};

template <class F> auto no_grad(F&& f) {  // runs f with recording off
  NoGradGuard guard;
  return std::forward<F>(f)();
}

// ---- anomaly mode (process-wide, like PyTorch's) --------------------------------------------------
// On: every op's forward output (recorded or not), every gradient a VJP or hook returns and every
// given grad_output is checked for NaN/Inf; the first one raises AnomalyError naming the op, its
// tape position (#n: the n-th op recorded on this thread), the shapes and the op (or leaf) that
// produced each input. Off (the default): one relaxed atomic load per op, nothing else.
bool is_anomaly_enabled() noexcept;
void set_detect_anomaly(bool on) noexcept;  // the global switch

namespace detail {
extern std::atomic<unsigned> anomaly_state;  // bit 0: the switch; + 2 per live DetectAnomalyGuard
inline bool anomaly_on() noexcept { return anomaly_state.load(std::memory_order_relaxed) != 0; }
// Throws AnomalyError if `out` has a NaN/Inf (op not recorded: no tape position to report).
void check_forward_anomaly(const char* op, const Tensor* inputs, std::size_t n, const Tensor& out);
}  // namespace detail

class DetectAnomalyGuard {  // RAII: anomaly mode on inside its scope (on every thread)
 public:
  DetectAnomalyGuard() noexcept { detail::anomaly_state.fetch_add(2, std::memory_order_relaxed); }
  ~DetectAnomalyGuard() { detail::anomaly_state.fetch_sub(2, std::memory_order_relaxed); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
};

// ---- profiling marks (ag/profiler.hpp has the Profiler) ------------------------------------------
namespace detail {
extern thread_local bool profiling;  // a Profiler is active on this thread
void profile_enter(const char* op) noexcept;
void profile_exit() noexcept;
}  // namespace detail

// Marks the forward of an op for the Profiler: its time counts as `op`'s forward (self time
// excludes ops called inside). Built-in ops and ag::op use it; a hand-written op calling
// ag::record directly can put one at its top. Costs one thread-local load when not profiling.
class OpScope {
 public:
  explicit OpScope(const char* op) noexcept : on_(detail::profiling) {
    if (on_) detail::profile_enter(op);
  }
  ~OpScope() {
    if (on_) detail::profile_exit();
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
 private:
  bool on_;
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

namespace detail {
struct Tape;
struct Node {
  const char* op;
  TensorList inputs;
  Keep keep;
  bool released = false;               // backward freed it (retain_graph was false)
  bool retain_grad = false;            // store the output's gradient in its .grad (non-leaf)
  std::uint64_t seq = 0;               // tape position: the n-th op recorded on its thread (1, 2...),
                                       // always above its inputs' (so also across threads)
  std::vector<std::pair<std::size_t, GradHook>> hooks;  // the output's gradient hooks (non-leaf)
  std::size_t profiled_bytes = 0;      // output bytes counted by the active Profiler (0: none)
  std::weak_ptr<TensorImpl> output;    // the result tensor, while the user holds it
  std::optional<Storage> output_value; // the result's value once the user dropped it (keep_output)
  Tensor pending;                      // gradient w.r.t. the output, summed during a backward
  Tape* tape = nullptr;                // the recording thread's count of live nodes
  std::weak_ptr<Node> self;
  // Versions of the inputs when recorded: a VJP that reads an input changed in place since then
  // raises GradError instead of computing a wrong gradient (inline for the common <= 4 inputs).
  std::uint64_t input_versions[4] = {0, 0, 0, 0};
  std::vector<std::uint64_t> more_input_versions;
  std::uint64_t recorded_version(std::size_t i) const {
    return i < 4 ? input_versions[i] : more_input_versions[i - 4];
  }

  Node(const char* op_name, Keep k) : op(op_name), keep(k) {}
  virtual ~Node();
  virtual Grads vjp(const VjpContext& ctx, const Tensor& g) = 0;
  virtual void release_vjp() = 0;  // drops saved values captured by the VJP
};

template <class F> struct NodeWith final : Node {
  std::optional<F> f;
  NodeWith(const char* op_name, Keep k, F&& fn) : Node(op_name, k), f(std::move(fn)) {}
  Grads vjp(const VjpContext& ctx, const Tensor& g) override { return (*f)(ctx, g); }
  void release_vjp() override { f.reset(); }
};

bool any_requires_grad(const Tensor* first, std::size_t n) noexcept;
Tensor attach(std::shared_ptr<Node> node, TensorList&& inputs, Tensor out);
}  // namespace detail

namespace detail {
// An element of record()'s braced input list: refers to the caller's tensor (alive for the whole
// call), so the list itself copies nothing; the node takes one copy of each.
struct TensorRef {
  const Tensor& t;
  TensorRef(const Tensor& x) noexcept : t(x) {}  // implicit by design: {x, w, b}
};
void check_forward_anomaly(const char* op, std::initializer_list<TensorRef> inputs, const Tensor& out);

// The recording step shared by both forms of record(): a pooled node holding the VJP.
template <class Vjp> Tensor record_node(const char* op, Keep keep, Vjp&& vjp, TensorList&& inputs, Tensor out) {
  using F = std::decay_t<Vjp>;
  auto node = std::allocate_shared<NodeWith<F>>(SmallAllocator<NodeWith<F>>(), op, keep, F(std::forward<Vjp>(vjp)));
  return attach(std::move(node), std::move(inputs), std::move(out));
}
}  // namespace detail

// Records `out = op(inputs)` with its VJP on the tape if grad mode is on and an input requires
// grad; otherwise returns `out` untouched. `out` must be a fresh tensor computed without
// recording (under NoGradGuard, or from raw xtensor values). `inputs`: a braced list {x, w}, a
// std::vector<Tensor> or a TensorList.
template <class Vjp>
Tensor record(const char* op, std::initializer_list<detail::TensorRef> inputs, Tensor out, Vjp&& vjp,
              Keep keep = Keep::inputs) {
  bool any = false;
  if (is_grad_enabled())
    for (const detail::TensorRef& r : inputs) any = any || (r.t.defined() && r.t.impl()->requires_grad);
  if (!any) {
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
  if (!is_grad_enabled() || !detail::any_requires_grad(inputs.data(), inputs.size())) {
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

// ---- backward ---------------------------------------------------------------------------------
// Accumulates d(sum_i <outputs[i], grad_outputs[i]>)/d(leaf) into every reached leaf's .grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Returns d(outputs)/d(inputs) without touching any .grad. retain_graph defaults to create_graph.
// An input the outputs do not depend on is an error unless allow_unused (then: undefined Tensor).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {},
                         std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

// Introspection of this thread's tape (for tests and memory checks). A node counts on the thread
// that recorded it until it is freed, on whichever thread that happens.
std::size_t live_node_count() noexcept;  // nodes recorded on this thread that are still alive
std::size_t tape_size() noexcept;        // = live_node_count() (the tape keeps no slots for freed nodes)

}  // namespace ag
