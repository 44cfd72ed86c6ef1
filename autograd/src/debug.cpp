// Anomaly mode, gradient hooks and the graph views (DOT, text).
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ag/graph.hpp"
#include "debug_internal.hpp"
#include "internal.hpp"

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
        const auto* p = a.data();
        for (std::size_t i = 0, n = a.size(); i < n; ++i)
          if (!std::isfinite(p[i])) return NonFinite{i, static_cast<double>(p[i])};
        return std::nullopt;
      },
      t.impl()->value);
}

// Flat (row-major) index -> "[i, j, k]".
std::string index_str(std::size_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_str(idx);
}

std::string what_str(const NonFinite& bad, const Tensor& t) {
  return fmt::format("{} at {}", std::isnan(bad.value) ? "nan" : (bad.value > 0 ? "inf" : "-inf"),
                     index_str(bad.index, t.shape()));
}

std::string tensor_str(const Tensor& t) {
  return fmt::format("{} {}", dtype_name(t.dtype()), shape_str(t.shape()));
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

Tensor run_hooks(std::vector<std::pair<std::size_t, GradHook>>& hooks, Tensor g, const char* who,
                 std::uint64_t seq) {
  const std::string name = seq ? fmt::format("'{}' (#{})", who, seq) : fmt::format("'{}'", who);
  // a copy: a hook may remove itself (or others) while running
  const auto run = hooks;
  for (std::size_t i = 0; i < run.size(); ++i) {
    Tensor r = run[i].second(g);
    if (!r.defined()) continue;
    if (r.dtype() != g.dtype() || r.shape() != g.shape())
      throw GradError(fmt::format("hook {} of {}: returned a gradient {} for a gradient {} (it must keep "
                                  "the shape and dtype)", i, name, tensor_str(r), tensor_str(g)));
    if (anomaly_on()) check_gradient_anomaly(name.c_str(), "hook", i, r);
    g = std::move(r);
  }
  return g;
}

}  // namespace detail

// ---- graph views ------------------------------------------------------------------------------------
namespace {
using detail::TensorImpl;

// The graph reachable from `outputs`: every tensor once, leaves/constants first (in discovery
// order), then op outputs in recording order (a topological order).
struct GraphWalk {
  std::vector<const TensorImpl*> leaves;
  std::vector<const TensorImpl*> ops;
  std::unordered_map<const TensorImpl*, std::string> names;

  explicit GraphWalk(const std::vector<Tensor>& outputs) {
    std::unordered_set<const TensorImpl*> seen;
    std::vector<const TensorImpl*> stack;
    for (const Tensor& t : outputs) {
      detail::require_defined("graph", t);
      stack.push_back(t.impl());
    }
    while (!stack.empty()) {
      const TensorImpl* t = stack.back();
      stack.pop_back();
      if (!seen.insert(t).second) continue;
      if (!t->grad_fn) {
        leaves.push_back(t);
        continue;
      }
      ops.push_back(t);
      const TensorList& in = t->grad_fn->inputs;
      for (std::size_t k = in.size(); k-- > 0;)
        if (in[k].defined()) stack.push_back(in[k].impl());
    }
    std::sort(ops.begin(), ops.end(),
              [](const TensorImpl* a, const TensorImpl* b) { return a->grad_fn->seq < b->grad_fn->seq; });
    std::unordered_map<std::string, int> used;
    std::size_t unnamed_leaf = 0, unnamed_const = 0;
    for (const TensorImpl* t : leaves) {
      std::string n = t->name;
      if (n.empty()) n = t->requires_grad ? fmt::format("leaf{}", unnamed_leaf++) : fmt::format("const{}", unnamed_const++);
      if (used[n]++) n += fmt::format("_{}", used[n] - 1);  // two leaves with one name stay apart
      names[t] = n;
    }
    for (const TensorImpl* t : ops) names[t] = fmt::format("%{}", t->grad_fn->seq);
  }
};

std::string type_str(const TensorImpl* t) {
  return fmt::format("{} {}", dtype_name(t->dtype()), shape_str(detail::to_shape(std::visit(
                                                              [](const auto& a) { return a.shape(); }, t->value))));
}

std::string dot_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (c == '\n') { r += "\\n"; continue; }
    r += c;
  }
  return r;
}

std::vector<std::size_t> output_positions(const std::vector<Tensor>& outputs, const TensorImpl* t) {
  std::vector<std::size_t> r;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].impl() == t) r.push_back(i);
  return r;
}
}  // namespace

std::string to_dot(const std::vector<Tensor>& outputs) {
  GraphWalk g(outputs);
  std::unordered_map<const TensorImpl*, std::size_t> id;
  std::string s = "digraph tapegrad {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                  "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  auto node_id = [&](const TensorImpl* t) {
    auto [it, fresh] = id.emplace(t, id.size());
    (void)fresh;
    return it->second;
  };
  for (const TensorImpl* t : g.leaves) {
    const bool out = !output_positions(outputs, t).empty();
    if (t->requires_grad)
      s += fmt::format("  t{} [shape=ellipse, style=filled, fillcolor=\"#cfe8ff\", {}label=\"{}\\n{}\\nrequires_grad\"];\n",
                       node_id(t), out ? "peripheries=2, " : "", dot_escape(g.names[t]), type_str(t));
    else
      s += fmt::format("  t{} [shape=box, style=dashed, {}label=\"{}\\n{}\"];\n", node_id(t),
                       out ? "peripheries=2, " : "", dot_escape(g.names[t]), type_str(t));
  }
  for (const TensorImpl* t : g.ops) {
    const auto& n = *t->grad_fn;
    std::string extra;
    if (n.released) extra += "\\n(freed by backward)";
    if (!t->name.empty()) extra += "\\n'" + dot_escape(t->name) + "'";
    for (std::size_t k : output_positions(outputs, t)) extra += fmt::format("\\noutput {}", k);
    s += fmt::format("  t{} [shape=box, style=\"rounded,filled\", fillcolor=\"#fff2cc\", {}label=\"{} #{}\\n{}{}\"];\n",
                     node_id(t), output_positions(outputs, t).empty() ? "" : "peripheries=2, ",
                     dot_escape(n.op), n.seq, type_str(t), extra);
  }
  for (const TensorImpl* t : g.ops)
    for (std::size_t k = 0; k < t->grad_fn->inputs.size(); ++k) {
      const Tensor& in = t->grad_fn->inputs[k];
      if (!in.defined()) continue;
      s += fmt::format("  t{} -> t{}{};\n", node_id(in.impl()), node_id(t),
                       t->grad_fn->inputs.size() > 1 ? fmt::format(" [label=\"{}\"]", k) : "");
    }
  s += "}\n";
  return s;
}

std::string to_dot(const Tensor& output) { return to_dot(std::vector<Tensor>{output}); }

std::string graph_string(const std::vector<Tensor>& outputs) {
  GraphWalk g(outputs);
  std::vector<std::pair<std::string, std::string>> rows;  // (left: "name = what", right: type etc.)
  for (const TensorImpl* t : g.leaves)
    rows.emplace_back(fmt::format("{} = {}", g.names[t], t->requires_grad ? "leaf" : "constant"),
                      type_str(t) + (t->requires_grad ? "  requires_grad" : ""));
  for (const TensorImpl* t : g.ops) {
    const auto& n = *t->grad_fn;
    std::vector<std::string> args;
    for (const Tensor& in : n.inputs) args.push_back(in.defined() ? g.names[in.impl()] : "undefined");
    if (n.released && n.inputs.empty()) args.push_back("...");
    std::string right = fmt::format("{}  #{}", type_str(t), n.seq);
    if (n.released) right += "  (freed by backward)";
    if (n.retain_grad) right += "  retains_grad";
    if (!n.hooks.empty()) right += fmt::format("  {} hook(s)", n.hooks.size());
    rows.emplace_back(fmt::format("{} = {}({})", g.names[t], n.op, fmt::join(args, ", ")), right);
  }
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string s;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TensorImpl* t = i < g.leaves.size() ? g.leaves[i] : g.ops[i - g.leaves.size()];
    s += fmt::format("{:<{}}  {}", rows[i].first, width, rows[i].second);
    for (std::size_t k : output_positions(outputs, t)) s += fmt::format("  <- output {}", k);
    s += "\n";
  }
  return s;
}

std::string graph_string(const Tensor& output) { return graph_string(std::vector<Tensor>{output}); }

}  // namespace ag
