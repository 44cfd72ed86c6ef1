// ag::checkpoint: one recorded node whose VJP replays f on fresh leaves and differentiates it.
//
// The replay differentiates w.r.t. fresh leaves (copies of the node's inputs) and the params
// (leaves themselves), never w.r.t. tensors with history: its sweep then stays inside the replayed
// graph, which matters because it runs in the middle of the outer backward (a sweep that reached
// the outer graph would run its VJPs and release its nodes). For create_graph, the gradient must
// instead stay a differentiable function of the inputs: the VJP records it as a checkpoint of
// h(x, g) = vjp_f(x)(g), whose own replay differentiates f's replay with create_graph on fresh
// leaves again. So every order of derivative is one more checkpointed node, never a sweep into
// the caller's graph.
#include "ag/checkpoint.hpp"

#include <optional>
#include <unordered_set>

#include <fmt/core.h>

#include "ag/ops.hpp"
#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {
namespace {

using detail::CheckpointFn;
using Replay = std::shared_ptr<const CheckpointFn>;

// The generators to replay and their states before the forward. The global generator is named
// symbolically (the one of the thread that replays).
struct RngStates {
  bool global = false;
  Generator global_state;
  std::vector<Generator*> gens;
  std::vector<Generator> states;
};

RngStates save_rng(const CheckpointOptions& o) {
  RngStates r;
  if (!o.preserve_rng_state) return r;
  r.global = true;
  r.global_state = get_rng_state();
  for (Generator* g : o.generators) {
    if (!g) throw ValueError("checkpoint: options.generators holds a null pointer");
    r.gens.push_back(g);
    r.states.push_back(*g);
  }
  return r;
}

// f, called with the generators at their saved states; their current states are put back after.
Replay replaying_rng(CheckpointFn f, RngStates rng) {
  if (!rng.global && rng.gens.empty()) return std::make_shared<const CheckpointFn>(std::move(f));
  return std::make_shared<const CheckpointFn>([f = std::move(f), rng = std::move(rng)](const std::vector<Tensor>& xs) {
    struct PutBack {
      const RngStates& rng;
      Generator global_now;
      std::vector<Generator> now;
      ~PutBack() {  // in reverse, so that a generator listed twice ends at its first saved state
        for (std::size_t i = rng.gens.size(); i-- > 0;) *rng.gens[i] = now[i];
        if (rng.global) set_rng_state(global_now);
      }
    } put_back{rng, rng.global ? get_rng_state() : Generator(), {}};
    for (Generator* g : rng.gens) put_back.now.push_back(*g);
    if (rng.global) set_rng_state(rng.global_state);
    for (std::size_t i = 0; i < rng.gens.size(); ++i) *rng.gens[i] = rng.states[i];
    return f(xs);
  });
}

// Copies of the inputs without history, requiring grad where the originals do.
std::vector<Tensor> fresh_leaves(const std::vector<Tensor>& xs) {
  std::vector<Tensor> out;
  out.reserve(xs.size());
  for (const Tensor& x : xs) {
    Tensor l = x.detach();
    if (x.requires_grad()) l.requires_grad_();
    out.push_back(std::move(l));
  }
  return out;
}

// The outputs that carry gradients: the floating ones, of one dtype.
std::vector<std::size_t> differentiable(const std::vector<Tensor>& ys) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    if (!ys[i].defined()) throw ValueError(fmt::format("checkpoint: output {} of f is undefined", i));
    if (!is_floating(ys[i].dtype())) continue;
    if (!idx.empty() && ys[i].dtype() != ys[idx[0]].dtype())
      throw DtypeError(fmt::format("checkpoint: f returned output {} {} and output {} {}; outputs that carry "
                                   "gradients must share one dtype", idx[0], detail::tensor_str(ys[idx[0]]), i,
                                   detail::tensor_str(ys[i])));
    idx.push_back(i);
  }
  return idx;
}

// A tensor that requires grad, read by the replay but neither an input nor a param, would get no
// gradient: an error. Walks the nodes the replay recorded (seq above `start`).
void check_reads(const std::vector<Tensor>& ys, const std::vector<Tensor>& xs, const std::vector<Tensor>& params,
                 std::uint64_t start) {
  std::unordered_set<const void*> allowed;
  for (const Tensor& t : xs) allowed.insert(t.id());
  for (const Tensor& t : params) allowed.insert(t.id());
  std::unordered_set<const detail::Node*> seen;
  std::vector<const detail::Node*> todo;
  auto visit = [&](const Tensor& t) {
    if (!t.defined() || allowed.count(t.id())) return;
    const detail::Node* n = t.impl()->grad_fn.get();
    if (n && n->seq > start) {
      if (seen.insert(n).second) todo.push_back(n);
    } else if (n || t.requires_grad()) {
      throw GradError(fmt::format("checkpoint: f reads a tensor {} that requires grad ({}) but is neither one "
                                  "of its inputs nor in params, so its gradient would be lost; pass {}",
                                  detail::tensor_str(t), n ? fmt::format("computed by '{}'", n->op) : "a leaf",
                                  n ? "it as an input" : "it in params (or as an input)"));
    }
  };
  for (const Tensor& y : ys) visit(y);
  while (!todo.empty()) {
    const detail::Node* n = todo.back();
    todo.pop_back();
    for (const Tensor& in : n->inputs) visit(in);
  }
}

// Gradients of ⟨f(xs), gs⟩ w.r.t. xs and params (one entry per tensor, undefined where not needed
// or not reached), by a recorded replay of f. xs are leaves made for this replay.
std::vector<Tensor> replay_grads(const CheckpointFn& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& params,
                                 const std::vector<bool>& need, const std::vector<Tensor>& gs, bool create_graph) {
  EnableGradGuard record_on;
  const std::uint64_t start = detail::last_seq();
  const std::vector<Tensor> ys = f(xs);
  const std::vector<std::size_t> diff = differentiable(ys);
  if (diff.size() != gs.size())
    throw GradError(fmt::format("checkpoint: the replay of f returned {} differentiable outputs, the forward "
                                "{}; f must compute the same function at every call", diff.size(), gs.size()));
  std::vector<Tensor> outs, seeds;
  for (std::size_t k = 0; k < diff.size(); ++k) {
    const Tensor& y = ys[diff[k]];
    if (y.shape() != gs[k].shape())
      throw GradError(fmt::format("checkpoint: the replay of f returned output {} of shape {}, the forward {}; "
                                  "f must compute the same function at every call", diff[k], shape_str(y.shape()),
                                  shape_str(gs[k].shape())));
    if (!y.requires_grad()) continue;
    outs.push_back(y);
    seeds.push_back(gs[k]);
  }
  check_reads(outs, xs, params, start);
  std::vector<Tensor> targets;
  std::vector<std::size_t> where;
  for (std::size_t k = 0; k < need.size(); ++k) {
    const Tensor& t = k < xs.size() ? xs[k] : params[k - xs.size()];
    if (need[k] && t.requires_grad()) {
      targets.push_back(t);
      where.push_back(k);
    }
  }
  std::vector<Tensor> result(need.size());
  if (outs.empty() || targets.empty()) return result;
  std::vector<Tensor> g = grad(outs, targets, seeds, /*retain_graph=*/create_graph, create_graph, /*allow_unused=*/true);
  for (std::size_t i = 0; i < g.size(); ++i) result[where[i]] = std::move(g[i]);
  return result;
}

// The cotangent of each differentiable output, from the node's (one output, or their flat concat).
std::vector<Tensor> split_cotangent(const Tensor& g, const std::vector<Shape>& shapes) {
  if (shapes.size() == 1) return {g};
  std::vector<Tensor> gs;
  std::ptrdiff_t off = 0;
  for (const Shape& s : shapes) {
    std::ptrdiff_t n = 1;
    for (std::size_t d : s) n *= static_cast<std::ptrdiff_t>(d);
    gs.push_back(reshape(slice(g, 0, off, off + n), std::vector<std::ptrdiff_t>(s.begin(), s.end())));
    off += n;
  }
  return gs;
}

std::vector<Tensor> run_checkpointed(const CheckpointFn& forward, Replay replay, const std::vector<Tensor>& inputs,
                                     const std::vector<Tensor>& params);

Grads checkpoint_vjp(const Replay& f, const VjpContext& c, std::size_t n, const std::vector<Shape>& shapes,
                     const Tensor& g) {
  std::vector<Tensor> xs, params;
  std::vector<bool> need(c.num_inputs());
  for (std::size_t k = 0; k < c.num_inputs(); ++k) {
    (k < n ? xs : params).push_back(c.input(k));
    need[k] = c.needs_grad(k);
  }
  const std::vector<Tensor> gs = split_cotangent(g, shapes);
  Grads out(c.num_inputs());
  if (!c.create_graph()) {
    std::vector<Tensor> r = replay_grads(*f, fresh_leaves(xs), params, need, gs, /*create_graph=*/false);
    for (std::size_t k = 0; k < r.size(); ++k) out[k] = std::move(r[k]);
    return out;
  }
  // create_graph: the gradients as a checkpointed function h(xs, gs) (params read as f reads them).
  // In h's forward (recording off) xs are the caller's tensors: differentiate on copies. In its
  // replay they are that replay's fresh leaves: differentiate on them, recording.
  auto h = [f, n, need, params](const std::vector<Tensor>& xg) -> std::vector<Tensor> {
    const bool replaying = is_grad_enabled();
    std::vector<Tensor> xs(xg.begin(), xg.begin() + static_cast<std::ptrdiff_t>(n));
    const std::vector<Tensor> gs(xg.begin() + static_cast<std::ptrdiff_t>(n), xg.end());
    if (!replaying) xs = fresh_leaves(xs);
    std::vector<Tensor> r = replay_grads(*f, xs, params, need, gs, /*create_graph=*/replaying);
    std::vector<Tensor> outs;
    for (std::size_t k = 0; k < need.size(); ++k)
      if (need[k]) {
        const Tensor& like = k < n ? xs[k] : params[k - n];
        outs.push_back(r[k].defined() ? std::move(r[k]) : zeros(like.shape(), like.dtype()));
      }
    return outs;
  };
  std::vector<Tensor> hin = xs;
  hin.insert(hin.end(), gs.begin(), gs.end());
  const Replay hr = std::make_shared<const CheckpointFn>(std::move(h));
  std::vector<Tensor> r = run_checkpointed(*hr, hr, hin, params);
  std::size_t i = 0;
  for (std::size_t k = 0; k < need.size(); ++k)
    if (need[k]) out[k] = std::move(r[i++]);
  return out;
}

// forward's outputs without recording, then recorded as one node of inputs ++ params whose VJP
// differentiates `replay` (the same function, replaying the forward's random draws).
std::vector<Tensor> run_checkpointed(const CheckpointFn& forward, Replay replay, const std::vector<Tensor>& inputs,
                                     const std::vector<Tensor>& params) {
  std::vector<Tensor> outs;
  {
    NoGradGuard no_record;
    outs = forward(inputs);
  }
  const std::vector<std::size_t> diff = differentiable(outs);
  if (diff.empty()) return outs;
  std::vector<Shape> shapes;
  for (std::size_t i : diff) shapes.push_back(outs[i].shape());
  Tensor node_out;
  if (diff.size() == 1) {
    Tensor y = std::move(outs[diff[0]]);
    // record() needs a tensor nobody else holds (f may return an input or a captured tensor)
    node_out = y.requires_grad() || y.impl_ptr().use_count() > 1 ? y.detach() : std::move(y);
  } else {
    NoGradGuard no_record;
    std::vector<Tensor> flat;
    for (std::size_t i : diff) flat.push_back(reshape(outs[i], {-1}));
    node_out = concat(flat, 0);
  }
  TensorList node_inputs(inputs.begin(), inputs.end());
  for (const Tensor& p : params) node_inputs.push_back(p);
  const std::size_t n = inputs.size();
  Tensor y = record("checkpoint", node_inputs, std::move(node_out),
                    [f = std::move(replay), n, shapes](const VjpContext& c, const Tensor& g) -> Grads {
                      return checkpoint_vjp(f, c, n, shapes, g);
                    });
  const std::vector<Tensor> parts = split_cotangent(y, shapes);  // (the same split, of values)
  for (std::size_t k = 0; k < diff.size(); ++k) outs[diff[k]] = parts[k];
  return outs;
}

}  // namespace

namespace detail {

std::vector<Tensor> checkpoint(CheckpointFn f, const std::vector<Tensor>& inputs, const TensorList& params,
                               const CheckpointOptions& options) {
  OpScope mark("checkpoint");
  if (!f) throw ValueError("checkpoint: f is empty");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) throw ValueError(fmt::format("checkpoint: input {} is undefined", i));
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined()) throw ValueError(fmt::format("checkpoint: params[{}] is undefined", i));
    if (!params[i].is_leaf())
      throw GradError(fmt::format("checkpoint: params[{}] {} is not a leaf (it was computed by '{}'); pass it "
                                  "as an input instead", i, detail::tensor_str(params[i]), params[i].op_name()));
  }
  const bool any = is_grad_enabled() &&
                   (any_requires_grad(inputs.data(), inputs.size()) || any_requires_grad(params.data(), params.size()));
  if (!any) {
    std::vector<Tensor> outs = f(inputs);
    differentiable(outs);  // the same checks on the outputs
    return outs;
  }
  // The forward draws from the generators as f alone would; replays start from the saved states.
  const Replay replay = replaying_rng(f, save_rng(options));
  return run_checkpointed(f, replay, inputs, std::vector<Tensor>(params.begin(), params.end()));
}

}  // namespace detail
}  // namespace ag
