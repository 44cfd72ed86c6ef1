// Graph views: to_dot (Graphviz) and graph_string (text) of the graph behind some outputs.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ag/graph.hpp"
#include "core/internal.hpp"

namespace ag {
using detail::TensorImpl;

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
