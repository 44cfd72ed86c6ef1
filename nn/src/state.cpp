// save/load of a Module's parameters and an Optimizer's state, as tensor files
// (tensor_file.cpp): every name, shape and dtype is checked before anything is changed.
#include "ag/nn/state.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "ag/extend.hpp"
#include "ag/io.hpp"
#include "ag/nn/modules/linear.hpp"

namespace ag::nn {

namespace {

[[noreturn]] void io_fail(const std::string& path, const std::string& what) {
  throw IOError(fmt::format("{}: {}", path, what));
}

const char* kind_name(std::uint32_t k) {
  return k == 1 ? "module parameters" : k == 2 ? "optimizer state" : k == 3 ? "a training checkpoint" : "unknown";
}

}  // namespace

// ---- models --------------------------------------------------------------------------------------
void save(const Module& model, const std::string& path) {
  save_tensors(path, model.state_dict(), FileKind::parameters, model.type_name());  // parameters + buffers
}

void load(Module& model, const std::string& path) {
  TensorFile f = load_tensors(path);
  if (f.kind != FileKind::parameters)
    io_fail(path, fmt::format("holds {} ({}), not module parameters",
                              kind_name(static_cast<std::uint32_t>(f.kind)), f.type_name));
  auto params = model.state_dict();  // parameters and persistent buffers: one namespace of names
  std::map<std::string, const Tensor*> in_file;
  for (const auto& [name, t] : f.entries)
    if (!in_file.emplace(name, &t).second) io_fail(path, fmt::format("duplicate entry '{}'", name));
  std::vector<std::string> missing;
  for (const auto& [name, p] : params) {
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      missing.push_back(name);
      continue;
    }
    const Tensor& t = *it->second;
    if (t.shape() != p.shape())
      io_fail(path, fmt::format("parameter '{}' has shape {} in the file but {} in the model ({})", name,
                                shape_str(t.shape()), shape_str(p.shape()), model.type_name()));
    if (t.dtype() != p.dtype())
      io_fail(path, fmt::format("parameter '{}' is {} in the file but {} in the model (convert the model "
                                "with to() first)", name, dtype_name(t.dtype()), dtype_name(p.dtype())));
  }
  std::set<std::string> known;
  for (const auto& p : params) known.insert(p.first);
  std::vector<std::string> unexpected;
  for (const auto& e : f.entries)
    if (!known.count(e.first)) unexpected.push_back(e.first);
  if (!missing.empty() || !unexpected.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "'" : ", '") + x + "'";
      return s.empty() ? std::string("none") : s;
    };
    io_fail(path, fmt::format("the parameter names do not match the model ({}): missing from the file: "
                              "{}; not in the model: {}", model.type_name(), list(missing), list(unexpected)));
  }
  // everything validated: copy the values into the existing tensors (handles stay valid)
  NoGradGuard ng;
  for (auto& param : params) {  // (no structured binding: C++17 lambdas cannot capture one)
    Tensor& p = param.second;
    const Tensor& t = *in_file[param.first];
    ag::dispatch_all(p.dtype(), [&](auto tag) {  // buffers may be integer
      using T = decltype(tag);
      auto& dst = p.mutable_value<T>();
      const auto& src = t.value<T>();
      std::copy(src.data(), src.data() + src.size(), dst.data());
    });
  }
}

// ---- optimizers ----------------------------------------------------------------------------------
void save_optimizer(const Optimizer& opt, const std::string& path) {
  save_tensors(path, opt.state(), FileKind::optimizer, opt.type_name());
}

void load_optimizer(Optimizer& opt, const std::string& path) {
  TensorFile f = load_tensors(path);
  if (f.kind != FileKind::optimizer)
    io_fail(path, fmt::format("holds {} ({}), not an optimizer state",
                              kind_name(static_cast<std::uint32_t>(f.kind)), f.type_name));
  if (f.type_name != opt.type_name())
    io_fail(path, fmt::format("holds the state of a {} optimizer, not {}", f.type_name, opt.type_name()));
  try {
    opt.load_state(f.entries);  // validates everything before replacing the state
  } catch (const Error& e) {
    io_fail(path, e.what());
  }
}

// ---- files other programs read --------------------------------------------------------------------
namespace {

enum class StateFormat { safetensors, npz };

// The format follows the extension.
StateFormat state_format(const std::string& path, const char* who) {
  auto ends = [&](const std::string& e) {
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".safetensors")) return StateFormat::safetensors;
  if (ends(".npz")) return StateFormat::npz;
  throw ValueError(fmt::format("{}: {}: unknown format (use a .safetensors or .npz path; nn::save writes "
                               "tapegrad's own format)", who, path));
}

// The state_dict names of every Dense weight (stored [in, out]; PyTorch's Linear: [out, in]).
std::set<std::string> dense_weights(const Module& model) {
  std::set<std::string> names;
  if (dynamic_cast<const Dense*>(&model)) names.insert("weight");
  for (const auto& [name, m] : model.named_modules())
    if (dynamic_cast<const Dense*>(m)) names.insert(name + ".weight");
  return names;
}

NamedTensors to_layout(NamedTensors state, const std::set<std::string>& transposed) {
  NoGradGuard ng;
  for (auto& [name, t] : state)
    if (transposed.count(name) && t.dim() == 2) t = ag::transpose(t);  // a new tensor: the model is untouched
  return state;
}

}  // namespace

void save_state(const Module& model, const std::string& path, StateLayout layout,
                const std::map<std::string, std::string>& metadata) {
  const StateFormat format = state_format(path, "save_state");
  if (format == StateFormat::npz && !metadata.empty())
    throw ValueError(fmt::format("save_state: {}: a .npz file has no place for metadata (use .safetensors)", path));
  NamedTensors state = model.state_dict();
  if (layout == StateLayout::pytorch) state = to_layout(std::move(state), dense_weights(model));
  if (format == StateFormat::npz)
    ag::io::save_npz(path, state);
  else
    ag::io::save_safetensors(path, state, metadata);
}

LoadResult load_state(Module& model, const std::string& path, bool strict, StateLayout layout) {
  NamedTensors state = state_format(path, "load_state") == StateFormat::npz ? ag::io::load_npz(path)
                                                                            : ag::io::load_safetensors(path).tensors;
  const std::set<std::string> dense = layout == StateLayout::pytorch ? dense_weights(model) : std::set<std::string>{};
  if (!dense.empty()) state = to_layout(std::move(state), dense);  // (its own inverse)
  try {
    return model.load_state_dict(state, strict);
  } catch (const ValueError& e) {
    if (dense.empty()) throw;
    throw ValueError(fmt::format("{}: {} (Dense weights are shown as [in, out]: the file stores them transposed, "
                                 "as torch.nn.Linear)", path, e.what()));
  }
}

}  // namespace ag::nn
