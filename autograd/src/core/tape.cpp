// The tape: node lifetime (per-thread live counts), recording (attach), grad mode, VjpContext.
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

#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {

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

std::uint64_t last_seq() noexcept { return recorded_ops; }

std::atomic<unsigned> anomaly_state{0};
thread_local TapeObserver* observer = nullptr;

Node::~Node() {
  if (tape) {
    // The profiler counts this thread's nodes only: one freed elsewhere was counted on its thread.
    if (profiled_bytes && tape == this_thread_tape)
      if (TapeObserver* o = observer) o->node_freed(profiled_bytes);
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
  if (TapeObserver* obs = observer) obs->recorded(*n, out);
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

}  // namespace ag
