// The reverse sweep: backward() and ag::grad().
//
// core and ops are one library that talks through the public headers: the engine uses two ops
// (add, to sum a node's gradients; sum_to, the one unbroadcast in fit_to_input), and every op
// uses the engine (record). The folders are for reading, not a link-level layering.
#include <algorithm>
#include <optional>
#include <unordered_map>

#include <xtensor/xnoalias.hpp>

#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {

// ---- the reverse sweep ----------------------------------------------------------------------------
namespace {
using detail::Node;
using detail::TensorImpl;

// A gradient that nobody else references, so it may be summed into in place.
bool unshared(const Tensor& t) { return t.impl_ptr().use_count() == 1; }

Tensor sum_grads(Tensor acc, Tensor g, bool create_graph) {
  if (!acc.defined()) return g;
  if (!create_graph && unshared(acc) && !acc.requires_grad() && acc.shape() == g.shape()) {
    std::visit(
        [&](auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_floating_point_v<typename A::value_type>)  // gradients are floating
            xt::noalias(a) += std::get<A>(g.impl()->value);
        },
        acc.impl()->value);
    return acc;
  }
  return add(acc, g);
}

// Gradient for `input` from node `op`: checked against the input's dtype and shape; a broadcast
// gradient is summed back to the input's shape here, the one place that knows about broadcasting.
Tensor fit_to_input(const Node& n, std::size_t i, Tensor g) {
  const Tensor& in = n.inputs[i];
  if (g.dtype() != in.dtype())
    throw GradError(fmt::format("{}: the VJP returned a {} gradient for {} input {}", n.op,
                                dtype_name(g.dtype()), dtype_name(in.dtype()), i));
  const auto& have = detail::shape_ref(g);
  const auto& want = detail::shape_ref(in);
  if (detail::same_shape(have, want)) return g;
  if (!detail::broadcastable_to(want, have))
    throw GradError(fmt::format("{}: the VJP returned a gradient of shape {} for input {} of shape {}",
                                n.op, shape_str(g.shape()), i, shape_str(in.shape())));
  return sum_to(g, in.shape());
}

struct BackwardTimer {  // tells the observer when one VJP starts and ends (also when it throws)
  const char* op;
  std::uint64_t token;
  explicit BackwardTimer(const char* o) : op(o), token(detail::observer ? detail::observer->vjp_begin() : 0) {}
  ~BackwardTimer() {
    if (token)
      if (detail::TapeObserver* obs = detail::observer) obs->vjp_end(op, token);
  }
};

struct Sweep {
  bool retain_graph;
  bool create_graph;
  bool to_leaves;  // backward(): accumulate into .grad of leaves
  // ag::grad(): gradients captured for these tensors (leaves by impl, non-leaves by node)
  std::unordered_map<const TensorImpl*, Tensor>* capture_leaf = nullptr;
  std::unordered_map<const Node*, Tensor>* capture_node = nullptr;
  // ag::grad() w.r.t. non-leaves only: a node recorded before every requested one (seq below
  // min_seq) cannot lead to any of them, so the sweep stops there, and at the lowest requested
  // node itself once its gradient is captured. It never runs the VJPs, hooks or releases of the
  // history below the inputs (what the functional transforms rely on: their inputs are nodes
  // recorded on top of the caller's graph, which may be mid-backward).
  std::uint64_t min_seq = 0;
};

void accumulate_leaf(TensorImpl* leaf, Tensor g, const Sweep& s) {
  if (!leaf->grad.defined()) {
    // never alias another tensor's storage: a later in-place += would change both
    leaf->grad = (s.create_graph || unshared(g)) ? std::move(g) : g.detach();
    return;
  }
  Tensor& acc = leaf->grad;
  if (s.create_graph || !unshared(acc) || acc.requires_grad()) {
    acc = add(acc, g);  // recorded under create_graph; never writes into a shared or tracked grad
    return;
  }
  std::visit(
      [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_floating_point_v<typename A::value_type>)  // gradients are floating
          xt::noalias(a) += std::get<A>(g.impl()->value);
      },
      acc.impl()->value);
  ++acc.impl()->version;
}

// The nodes holding a gradient, kept alive until swept: a max-heap on seq. A node's seq exceeds
// that of every node it consumed (attach), so popping the largest first visits each node after all
// its consumers, once its gradient is complete. Only the nodes backward reaches are touched, never
// a list of everything recorded, so a graph may be swept on any thread. The outermost sweep on a
// thread reuses one heap (no allocation per backward once it has grown); a sweep started inside
// another (from a hook) gets its own.
thread_local std::vector<std::shared_ptr<Node>> reusable_pending;
thread_local bool reusable_pending_in_use = false;

bool later(const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) { return a->seq < b->seq; }

void run(const Tensor* roots, const Tensor* seeds, std::size_t n_roots, const Sweep& s) {
  std::vector<std::shared_ptr<Node>> own_pending;
  const bool reuse = !reusable_pending_in_use;
  std::vector<std::shared_ptr<Node>>& pending = reuse ? reusable_pending : own_pending;
  if (reuse) reusable_pending_in_use = true;
  struct ClearOnExit {  // an exception mid-sweep must not leave stale gradients in the graph
    std::vector<std::shared_ptr<Node>>& nodes;
    bool reused;
    ~ClearOnExit() {
      for (auto& n : nodes) n->pending = Tensor();
      nodes.clear();  // frees the nodes nobody else holds (keeps the capacity)
      if (reused) reusable_pending_in_use = false;
    }
  } clear_on_exit{pending, reuse};
  std::vector<std::pair<Tensor, Tensor>> hooked_leaves;  // (leaf with hooks, its summed gradient)
  auto deliver_to_leaf = [&](TensorImpl* im, Tensor g) {
    if (s.capture_leaf) {
      auto it = s.capture_leaf->find(im);
      if (it != s.capture_leaf->end()) it->second = sum_grads(std::move(it->second), std::move(g), s.create_graph);
    }
    if (s.to_leaves) accumulate_leaf(im, std::move(g), s);
  };
  auto send = [&](const Tensor& target, Tensor g) {
    TensorImpl* im = target.impl();
    if (Node* n = im->grad_fn.get()) {
      if (n->seq < s.min_seq) return;
      if (!n->pending.defined()) {
        pending.push_back(im->grad_fn);
        std::push_heap(pending.begin(), pending.end(), later);
      }
      n->pending = sum_grads(std::move(n->pending), std::move(g), s.create_graph);
      return;
    }
    if (!im->requires_grad) return;
    if (!im->hooks.empty()) {  // hooks see the leaf's total: sum now, deliver after the sweep
      for (auto& [leaf, acc] : hooked_leaves)
        if (leaf.impl() == im) {
          acc = sum_grads(std::move(acc), std::move(g), s.create_graph);
          return;
        }
      hooked_leaves.emplace_back(target, std::move(g));
      return;
    }
    deliver_to_leaf(im, std::move(g));
  };

  for (std::size_t r = 0; r < n_roots; ++r) send(roots[r], seeds[r]);

  while (!pending.empty()) {
    std::pop_heap(pending.begin(), pending.end(), later);
    const std::shared_ptr<Node> node = std::move(pending.back());  // freed after its turn unless held
    pending.pop_back();
    Node* n = node.get();
    Tensor g = std::move(n->pending);
    n->pending = Tensor();
    if (!n->hooks.empty()) g = detail::run_hooks(n->hooks, std::move(g), n->op, n->seq);
    if (n->retain_grad)
      if (auto out = n->output.lock()) accumulate_leaf(out.get(), g, s);
    if (s.capture_node) {
      auto it = s.capture_node->find(n);
      if (it != s.capture_node->end()) it->second = sum_grads(std::move(it->second), g, s.create_graph);
    }
    if (n->seq <= s.min_seq) continue;  // the lowest requested node: nothing below is needed
    if (n->released)
      throw GradError(fmt::format("backward: '{}' was already freed by an earlier backward; pass "
                                  "retain_graph=true to the first backward to go through the graph "
                                  "twice", n->op));
    {
      VjpContext ctx(*n, s.create_graph);
      BackwardTimer timer(n->op);  // the VJP, unbroadcasting its gradients and summing them in
      Grads grads = [&] {
        detail::InVjp in_vjp;
        return n->vjp(ctx, g);
      }();
      if (grads.size() != n->inputs.size())
        throw GradError(fmt::format("{}: the VJP returned {} gradients for {} inputs", n->op,
                                    grads.size(), n->inputs.size()));
      const bool check = detail::anomaly_on();
      for (std::size_t k = 0; k < grads.size(); ++k) {
        if (!grads[k].defined() || !ctx.needs_grad(k)) continue;
        Tensor gk = fit_to_input(*n, k, std::move(grads[k]));
        if (check) detail::check_backward_anomaly(*n, k, gk);
        send(n->inputs[k], std::move(gk));
      }
    }
    if (!s.retain_graph) {
      n->released = true;
      n->release_vjp();
      n->inputs.clear();  // frees what backward used (upstream nodes stay alive in `pending`)
      n->output_value.reset();
    }
  }
  for (auto& [leaf, g] : hooked_leaves) {
    const std::string& name = leaf.impl()->name;
    g = detail::run_hooks(leaf.impl()->hooks, std::move(g), name.empty() ? "leaf" : name.c_str(), 0);
    deliver_to_leaf(leaf.impl(), std::move(g));
  }
}

// The gradient that starts the sweep at output i: the given one (checked), or 1 for a scalar.
Tensor make_seed(const char* who, std::size_t i, const Tensor& y, const Tensor* given) {
  if (!y.defined()) throw ValueError(fmt::format("{}: output {} is undefined", who, i));
  if (!y.requires_grad())
    throw GradError(fmt::format("{}: output {} {} does not require grad and has no grad_fn (did it "
                                "come from tensors with requires_grad, outside NoGradGuard?)",
                                who, i, shape_str(y.shape())));
  if (given && given->defined()) {
    if (given->dtype() != y.dtype() || !detail::same_shape(detail::shape_ref(*given), detail::shape_ref(y)))
      throw GradError(fmt::format("{}: grad_output {} {} does not match output {} {}", who,
                                  dtype_name(given->dtype()), shape_str(given->shape()),
                                  dtype_name(y.dtype()), shape_str(y.shape())));
    if (detail::anomaly_on()) detail::check_gradient_anomaly(who, "grad_output", i, *given);
    return *given;
  }
  if (y.numel() != 1)
    throw GradError(fmt::format("{}: output of shape {} is not a scalar; pass a gradient of that "
                                "shape (grad can be implicitly created only for scalar outputs)",
                                who, shape_str(y.shape())));
  return detail::dispatch(y.dtype(), [&](auto t) {  // dy/dy = 1, without a Shape copy
    using T = decltype(t);
    Tensor one = detail::empty_tensor<T>(detail::shape_ref(y));
    *detail::data<T>(one) = T(1);
    return one;
  });
}

std::vector<Tensor> make_seeds(const char* who, const std::vector<Tensor>& outputs,
                               const std::vector<Tensor>& grad_outputs) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw GradError(fmt::format("{}: {} outputs but {} grad_outputs", who, outputs.size(),
                                grad_outputs.size()));
  std::vector<Tensor> seeds;
  seeds.reserve(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i)
    seeds.push_back(make_seed(who, i, outputs[i], grad_outputs.empty() ? nullptr : &grad_outputs[i]));
  return seeds;
}

void backward_from(const Tensor* outputs, const Tensor* seeds, std::size_t n, bool retain_graph,
                   bool create_graph) {
  std::optional<NoGradGuard> no_record;
  std::optional<EnableGradGuard> record_backward;
  if (create_graph) record_backward.emplace(); else no_record.emplace();
  run(outputs, seeds, n, Sweep{retain_graph || create_graph, create_graph, true});
}
}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph, bool create_graph) {
  std::vector<Tensor> seeds = make_seeds("backward", outputs, grad_outputs);
  backward_from(outputs.data(), seeds.data(), outputs.size(), retain_graph, create_graph);
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  // one output: no vectors (the per-row SGD of the tutorial calls this once per sample)
  const Tensor seed = make_seed("backward", 0, *this, &gradient);
  backward_from(this, &seed, 1, retain_graph, create_graph);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph,
                         bool create_graph, bool allow_unused) {
  std::vector<Tensor> seeds = make_seeds("grad", outputs, grad_outputs);
  std::unordered_map<const TensorImpl*, Tensor> leaf;
  std::unordered_map<const Node*, Tensor> node;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) throw ValueError(fmt::format("grad: input {} is undefined", i));
    if (!x.requires_grad())
      throw GradError(fmt::format("grad: input {} {} does not require grad", i, shape_str(x.shape())));
    if (x.is_leaf()) leaf.emplace(x.impl(), Tensor());
    else node.emplace(x.impl()->grad_fn.get(), Tensor());
  }
  {
    std::optional<NoGradGuard> no_record;
    std::optional<EnableGradGuard> record_backward;
    if (create_graph) record_backward.emplace(); else no_record.emplace();
    Sweep s{retain_graph.value_or(create_graph), create_graph, false, &leaf, &node};
    if (leaf.empty())
      for (const auto& [n, g] : node) s.min_seq = s.min_seq ? std::min(s.min_seq, n->seq) : n->seq;
    run(outputs.data(), seeds.data(), outputs.size(), s);
  }
  std::vector<Tensor> out;
  out.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    Tensor g = x.is_leaf() ? leaf[x.impl()] : node[x.impl()->grad_fn.get()];
    if (!g.defined() && !allow_unused)
      throw GradError(fmt::format("grad: input {} {} was not used to compute the outputs (pass "
                                  "allow_unused=true to get an undefined gradient instead)",
                                  i, shape_str(x.shape())));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace ag
