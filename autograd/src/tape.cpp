// The dynamic tape and the reverse sweep.
//
// Ownership: a tensor owns the node that produced it (grad_fn); a node owns its inputs. So a graph
// lives exactly as long as someone holds a tensor of it, and dies with it (no leaks when backward
// never runs). Every node gets a sequence number above its inputs' (a Lamport clock across
// threads), so backward visits the nodes it reaches in decreasing seq: a topological order without
// a graph walk or a list of all recorded nodes. Tensors and graphs may be handed between threads:
// a node freed on another thread touches only its recording thread's atomic live count.
#include <algorithm>
#include <atomic>
#include <unordered_map>

#include <xtensor/xnoalias.hpp>

#include "debug_internal.hpp"
#include "internal.hpp"

namespace ag {

// ---- TensorList ---------------------------------------------------------------------------------
TensorList::TensorList(std::vector<Tensor>&& v) {
  if (v.size() <= kInline) {
    for (Tensor& t : v) inline_[n_++] = std::move(t);
  } else {
    n_ = v.size();
    heap_ = std::move(v);
  }
}
TensorList::TensorList(TensorList&& o) noexcept : heap_(std::move(o.heap_)), n_(o.n_) {
  for (std::size_t i = 0; i < kInline && i < n_; ++i) inline_[i] = std::move(o.inline_[i]);
  o.heap_.clear();
  o.n_ = 0;
}
TensorList& TensorList::operator=(TensorList&& o) noexcept {
  if (this == &o) return *this;
  if (n_ != 0) clear();
  if (o.n_ > kInline) {
    heap_.swap(o.heap_);  // o keeps our empty heap
  } else {
    for (std::size_t i = 0; i < o.n_; ++i) inline_[i] = std::move(o.inline_[i]);
  }
  n_ = o.n_;
  o.n_ = 0;
  return *this;
}
void TensorList::push_back_spilled(Tensor t) {
  if (n_ == kInline) {  // spill: every item moves to the heap
    heap_.reserve(2 * kInline);
    for (Tensor& x : inline_) heap_.push_back(std::move(x));
  }
  heap_.push_back(std::move(t));
  ++n_;
}
void TensorList::pop_back() noexcept {
  if (n_ == 0) return;
  if (n_ <= kInline) {
    inline_[--n_] = Tensor();
    return;
  }
  heap_.pop_back();
  if (--n_ == kInline) {  // back in place
    for (std::size_t i = 0; i < kInline; ++i) inline_[i] = std::move(heap_[i]);
    heap_.clear();
  }
}
void TensorList::resize(std::size_t n) {
  while (n_ > n) pop_back();
  while (n_ < n) push_back(Tensor());
}
void TensorList::clear() noexcept {
  for (std::size_t i = 0; i < kInline && i < n_; ++i) inline_[i] = Tensor();
  heap_.clear();
  n_ = 0;
}

namespace detail {

bool tune_malloc() noexcept;  // malloc_tuning.cpp

// A thread's recording state, shared with the nodes recorded on it. Nodes may be freed on any
// thread (tensors are handed between threads), so the only thing a node's destructor touches is
// this block's atomic count: 1 for the thread while it runs + 1 per live node recorded there. The
// last one out frees it, so a node that outlives its thread is fine too. Backward never needs a
// list of nodes: it orders the nodes it reaches by `seq` (see run()).
struct Tape {
  std::atomic<std::size_t> refs{1};
};

namespace {
thread_local bool grad_enabled = true;
thread_local std::uint64_t recorded_ops = 0;  // the largest seq recorded on (or seen by) this thread
std::atomic<std::size_t> next_hook_handle{1};

void release(Tape* t) noexcept {
  if (t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete t;
}
thread_local Tape* this_thread_tape = nullptr;  // trivially destructible: safe in late destructors
struct TapeOwner {
  Tape* t;
  TapeOwner() : t(new Tape) {
    static const bool tuned = tune_malloc();  // once per process, before the first graph
    (void)tuned;
    this_thread_tape = t;
  }
  ~TapeOwner() {
    this_thread_tape = nullptr;
    release(t);
  }
};
Tape& tape() {
  thread_local TapeOwner owner;
  return *owner.t;
}
}  // namespace

std::atomic<unsigned> anomaly_state{0};

Node::~Node() {
  if (tape) {
    // The profiler counts this thread's nodes only: one freed elsewhere was counted on its thread.
    if (profiled_bytes && tape == this_thread_tape) profile_node_freed(profiled_bytes);
    release(tape);
  }
  // Free a long chain iteratively: letting each input's destructor free its own node would use one
  // stack frame per node and overflow on deep graphs. A node about to die hands its inputs over.
  auto frees_a_node = [](const Tensor& t) {
    const TensorImpl* im = t.impl();
    return im && t.impl_ptr().use_count() == 1 && im->grad_fn && im->grad_fn.use_count() == 1;
  };
  // Fast exit (no list): no input can free its node, even counting repeats (x*x holds x twice).
  const long n_in = static_cast<long>(inputs.size());
  if (std::none_of(inputs.begin(), inputs.end(), [&](const Tensor& t) {
        const TensorImpl* im = t.impl();
        return im && t.impl_ptr().use_count() <= n_in && im->grad_fn && im->grad_fn.use_count() == 1;
      }))
    return;
  std::vector<Tensor> doomed(std::make_move_iterator(inputs.begin()), std::make_move_iterator(inputs.end()));
  inputs.clear();
  while (!doomed.empty()) {
    Tensor t = std::move(doomed.back());
    doomed.pop_back();
    TensorImpl* im = t.impl();
    if (frees_a_node(t)) {
      for (Tensor& x : im->grad_fn->inputs) doomed.push_back(std::move(x));
      im->grad_fn->inputs.clear();
    }
  }
}

bool any_requires_grad(const Tensor* first, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (first[i].defined() && first[i].impl()->requires_grad) return true;
  return false;
}

Tensor attach(std::shared_ptr<Node> node, TensorList&& inputs, Tensor out) {
  TensorImpl* o = out.impl();
  if (o == nullptr) throw ValueError(fmt::format("{}: the op produced an undefined tensor", node->op));
  if (o->grad_fn || o->requires_grad)
    throw GradError(fmt::format("{}: record() needs a fresh output computed without recording "
                                "(compute the forward under NoGradGuard, or use ag::op)", node->op));
  for (const Tensor& in : inputs)
    if (in.impl() == o)
      throw GradError(fmt::format("{}: the output must be a new tensor, not one of the inputs", node->op));
  node->inputs = std::move(inputs);
  // seq: larger than every input's, also for inputs recorded on another thread (a Lamport clock),
  // so that ordering by seq is a topological order of any graph, whichever threads built it.
  std::uint64_t seq = recorded_ops;
  for (std::size_t i = 0; i < node->inputs.size(); ++i) {
    const TensorImpl* in = node->inputs[i].impl();
    const std::uint64_t v = in ? in->version : 0;
    if (in && in->grad_fn) seq = std::max(seq, in->grad_fn->seq);
    if (i < 4) node->input_versions[i] = v;
    else node->more_input_versions.push_back(v);
  }
  node->self = node;
  node->output = out.impl_ptr();
  node->seq = recorded_ops = seq + 1;
  Tape& t = tape();
  t.refs.fetch_add(1, std::memory_order_relaxed);
  node->tape = &t;
  Node* n = node.get();
  o->grad_fn = std::move(node);
  o->requires_grad = true;
  if (profiling) profile_recorded(*n, out);
  if (anomaly_on()) check_recorded_anomaly(*n, out);
  return out;
}

}  // namespace detail

bool is_anomaly_enabled() noexcept { return detail::anomaly_on(); }
void set_detect_anomaly(bool on) noexcept {
  if (on) detail::anomaly_state.fetch_or(1u, std::memory_order_relaxed);
  else detail::anomaly_state.fetch_and(~1u, std::memory_order_relaxed);
}

bool is_grad_enabled() noexcept { return detail::grad_enabled; }
void set_grad_enabled(bool on) noexcept { detail::grad_enabled = on; }
std::size_t live_node_count() noexcept {
  return detail::tape().refs.load(std::memory_order_acquire) - 1;  // less the thread's own count
}
std::size_t tape_size() noexcept { return live_node_count(); }

// ---- hooks and retain_grad ---------------------------------------------------------------------------
std::size_t Tensor::register_hook(GradHook hook) {
  detail::TensorImpl& im = const_cast<detail::TensorImpl&>(checked());
  if (!im.requires_grad)
    throw GradError(fmt::format("register_hook: the tensor {} {} does not require grad, so no gradient "
                                "will reach it", dtype_name(im.dtype()), shape_str(shape())));
  if (!hook) throw ValueError("register_hook: the hook is empty");
  const std::size_t handle = detail::next_hook_handle.fetch_add(1, std::memory_order_relaxed);
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

// ---- VjpContext ---------------------------------------------------------------------------------
const Tensor& VjpContext::input(std::size_t i) const {
  if (i >= node_.inputs.size())
    throw IndexError(fmt::format("{}: VJP asked for input {} of {}", node_.op, i, node_.inputs.size()));
  const Tensor& x = node_.inputs[i];
  if (x.defined() && x.impl()->version != node_.recorded_version(i))
    throw GradError(fmt::format("{}: input {} {} {} was modified by an in-place operation after it was "
                                "saved for backward (version {} now, {} when recorded)", node_.op, i,
                                dtype_name(x.dtype()), shape_str(x.shape()), x.impl()->version,
                                node_.recorded_version(i)));
  return x;
}
std::size_t VjpContext::num_inputs() const { return node_.inputs.size(); }
bool VjpContext::needs_grad(std::size_t i) const {
  return i < node_.inputs.size() && node_.inputs[i].defined() && node_.inputs[i].impl()->requires_grad;
}

Tensor VjpContext::output() const {
  if (node_.keep != Keep::inputs_and_output)
    throw GradError(fmt::format("{}: the VJP uses output() but the op was recorded without "
                                "ag::keep_output", node_.op));
  if (auto alive = node_.output.lock()) {
    if (alive->version != 0)  // a recorded output starts at version 0
      throw GradError(fmt::format("{}: its output {} was modified by an in-place operation after it was "
                                  "saved for backward (version {})", node_.op,
                                  shape_str(Tensor(alive).shape()), alive->version));
    return Tensor(std::move(alive));
  }
  // The user dropped the result: rebuild it from the stashed value, with this node as its grad_fn so
  // that under create_graph the VJP stays differentiable. When it dies the value is stashed again.
  auto im = detail::new_impl(std::move(*node_.output_value));
  node_.output_value.reset();
  im->grad_fn = node_.self.lock();
  im->requires_grad = true;
  node_.output = im;
  return Tensor(std::move(im));
}

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
  // broadcastable from `want` to `have`?
  bool ok = have.size() >= want.size();
  for (std::size_t k = 0; ok && k < want.size(); ++k) {
    const std::size_t hw = have[have.size() - want.size() + k];
    ok = want[k] == hw || want[k] == 1;
  }
  if (!ok)
    throw GradError(fmt::format("{}: the VJP returned a gradient of shape {} for input {} of shape {}",
                                n.op, shape_str(g.shape()), i, shape_str(in.shape())));
  return sum_to(g, in.shape());
}

struct BackwardTimer {  // the Profiler's backward time of one VJP (also when it throws)
  const char* op;
  std::uint64_t start;
  explicit BackwardTimer(const char* o) : op(o), start(detail::profiling ? detail::profile_backward_begin() : 0) {}
  ~BackwardTimer() {
    if (start) detail::profile_backward_end(op, start);
  }
};

struct Sweep {
  bool retain_graph;
  bool create_graph;
  bool to_leaves;  // backward(): accumulate into .grad of leaves
  // ag::grad(): gradients captured for these tensors (leaves by impl, non-leaves by node)
  std::unordered_map<const TensorImpl*, Tensor>* capture_leaf = nullptr;
  std::unordered_map<const Node*, Tensor>* capture_node = nullptr;
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
    run(outputs.data(), seeds.data(), outputs.size(),
        Sweep{retain_graph.value_or(create_graph), create_graph, false, &leaf, &node});
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
