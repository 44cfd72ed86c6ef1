#pragma once
// The tape node a recorded op becomes, and the recording step behind ag::record (ag/extend.hpp).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "ag/extend.hpp"

namespace ag {

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

}  // namespace ag
