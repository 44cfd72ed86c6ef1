// summary(): runs the model once on zeros with the call trace on, then prints one row per call.
#include "ag/nn/summary.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/core.h>

#include "module_trace.hpp"

namespace ag::nn {

std::string summary(Module& model, const Shape& input) { return summary(model, input, model.dtype()); }

std::string summary(Module& model, const Shape& input, DType dtype) {
  detail::Trace trace;
  const bool was_training = model.is_training();
  model.eval();
  Shape out_shape;
  {
    NoGradGuard ng;
    detail::Trace* prev = detail::active_trace;
    detail::active_trace = &trace;
    try {
      out_shape = model(zeros(input, dtype)).shape();
    } catch (...) {
      detail::active_trace = prev;
      model.train(was_training);
      throw;
    }
    detail::active_trace = prev;
  }
  model.train(was_training);

  std::unordered_map<const Module*, std::string> names;
  for (const auto& [name, m] : model.named_modules()) names.emplace(m, name);

  struct Line {
    std::string layer, shape, params;
  };
  std::vector<Line> lines;
  for (const detail::TraceRow& r : trace.rows) {
    std::size_t own = 0;
    for (const auto& p : r.module->own_parameters()) own += p.second.numel();
    if (r.module == &model && own == 0) continue;  // the root is the table itself
    std::string name = r.module == &model ? "(root)" : names.count(r.module) ? names[r.module] : "-";
    const std::size_t indent = r.depth > 0 ? 2 * (r.depth - 1) : 0;
    lines.push_back({std::string(indent, ' ') + name + " (" + r.module->describe() + ")",
                     shape_str(r.output), std::to_string(own)});
  }
  Line head{"Layer (type)", "Output shape", "Param #"};
  std::size_t w0 = head.layer.size(), w1 = head.shape.size(), w2 = head.params.size();
  for (const Line& l : lines) {
    w0 = std::max(w0, l.layer.size());
    w1 = std::max(w1, l.shape.size());
    w2 = std::max(w2, l.params.size());
  }
  const std::size_t width = w0 + w1 + w2 + 4;
  std::string s = fmt::format("Model: {} (input {}, {})\n", model.type_name(), shape_str(input),
                              dtype_name(dtype));
  s += std::string(width, '=') + "\n";
  s += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", head.layer, w0, head.shape, w1, head.params, w2);
  s += std::string(width, '-') + "\n";
  for (const Line& l : lines)
    s += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", l.layer, w0, l.shape, w1, l.params, w2);
  s += std::string(width, '=') + "\n";
  std::size_t trainable = 0, total = 0;
  for (const auto& p : model.named_parameters()) {
    total += p.second.numel();
    if (p.second.requires_grad()) trainable += p.second.numel();
  }
  s += fmt::format("Output shape: {}\nTotal params: {}\nTrainable params: {}\n", shape_str(out_shape),
                   total, trainable);
  return s;
}

}  // namespace ag::nn
