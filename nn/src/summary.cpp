// summary(): runs the model once on zeros with hooks on every module, then prints one row per call.
#include "ag/nn/summary.hpp"

#include "ag/nn/module.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/core.h>


namespace ag::nn {

std::string summary(Module& model, const Shape& input) { return summary(model, input, model.dtype()); }

std::string summary(Module& model, const Shape& input, DType dtype) {
  NoGradGuard ng;
  return detail::summary_of_call(model, TensorList{zeros(input, dtype)});
}

namespace {
// One row per module call, in pre-order (a container before its layers), with its depth and
// output shape: recorded by a forward pre-hook and a forward hook on every module.
struct TraceRow {
  const Module* module;
  std::size_t depth;
  std::string output;  // the output shapes, ", "-separated
};

std::string shapes_str(const TensorList& ts) {
  std::string s;
  for (const Tensor& t : ts) s += (s.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : std::string("-"));
  return s;
}
}  // namespace

}  // namespace ag::nn

std::string ag::detail::summary_of_call(nn::Module& model, const TensorList& inputs) {
  using namespace ag::nn;
  std::vector<TraceRow> rows;
  std::vector<std::size_t> open;  // rows of the calls in progress
  std::vector<HookHandle> handles;
  std::vector<Module*> all{&model};
  for (const auto& [name, m] : model.named_modules()) all.push_back(m);
  for (Module* m : all) {
    handles.push_back(m->register_forward_pre_hook([&rows, &open](Module& mod, const TensorList&) {
      open.push_back(rows.size());
      rows.push_back({&mod, open.size(), {}});
    }));
    handles.push_back(m->register_forward_hook([&rows, &open](Module&, const TensorList&, const TensorList& out) {
      rows[open.back()].output = shapes_str(out);
      open.pop_back();
    }));
  }
  const bool was_training = model.is_training();
  model.eval();
  std::string out_shapes;
  try {
    NoGradGuard ng;
    out_shapes = shapes_str(model.call(inputs));
  } catch (...) {
    for (auto& h : handles) h.remove();
    model.train(was_training);
    throw;
  }
  for (auto& h : handles) h.remove();
  model.train(was_training);

  std::unordered_map<const Module*, std::string> names;
  for (const auto& [name, m] : model.named_modules()) names.emplace(m, name);

  struct Line {
    std::string layer, shape, params;
  };
  std::vector<Line> lines;
  for (const TraceRow& r : rows) {
    std::size_t own = 0;
    for (const auto& p : r.module->own_parameters()) own += p.second.numel();
    if (r.module == &model && own == 0) continue;  // the root is the table itself
    std::string name = r.module == &model ? "(root)" : names.count(r.module) ? names[r.module] : "-";
    const std::size_t indent = r.depth > 0 ? 2 * (r.depth - 1) : 0;
    lines.push_back({std::string(indent, ' ') + name + " (" + r.module->describe() + ")",
                     r.output, std::to_string(own)});
  }
  Line head{"Layer (type)", "Output shape", "Param #"};
  std::size_t w0 = head.layer.size(), w1 = head.shape.size(), w2 = head.params.size();
  for (const Line& l : lines) {
    w0 = std::max(w0, l.layer.size());
    w1 = std::max(w1, l.shape.size());
    w2 = std::max(w2, l.params.size());
  }
  const std::size_t width = w0 + w1 + w2 + 4;
  std::string in;  // "[1, 4], float32" or "[1, 3] float32, [1, 4] int64" for several inputs
  for (const Tensor& t : inputs)
    in += (in.empty() ? "" : ", ") + shape_str(t.shape()) + (inputs.size() == 1 ? ", " : " ") + dtype_name(t.dtype());
  std::string s = fmt::format("Model: {} (input{} {})\n", model.type_name(), inputs.size() == 1 ? "" : "s", in);
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
  s += fmt::format("Output shape: {}\nTotal params: {}\nTrainable params: {}\n", out_shapes,
                   total, trainable);
  const auto buffers = model.named_buffers();
  if (!buffers.empty()) {  // state that is not trained (running statistics, counters)
    std::size_t elements = 0;
    for (const auto& b : buffers) elements += b.second.numel();
    s += fmt::format("Buffers: {} ({} elements)\n", buffers.size(), elements);
  }
  return s;
}


