#pragma once
// What the update rules share (not installed): the one-group constructor form, adding the groups
// (at least one parameter), the range check of a hyper-parameter, and the raw values of a parameter and its gradient (a rule writes its state
// buffers through ag::data, ag/extend.hpp).
#include <cstddef>
#include <vector>

#include <fmt/core.h>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn::detail {

inline std::vector<ParamGroup> one_group(const std::vector<Tensor>& params, double lr, double wd) {
  return {ParamGroup{params, lr, wd}};
}

// Adds the constructor's groups. An optimizer with no parameter at all could never update anything
// (typically a module that forgot register_parameter): ValueError, as PyTorch's "optimizer got an
// empty parameter list". Frozen parameters (requires_grad false) count: they are skipped by step().
inline void add_groups(Optimizer& opt, std::vector<ParamGroup> groups) {
  std::size_t n = 0;
  for (const auto& g : groups) n += g.params.size();
  if (n == 0)
    throw ValueError(fmt::format("{}: optimizer got an empty parameter list (did the module register its "
                                 "parameters with register_parameter?)", opt.type_name()));
  for (auto& g : groups) opt.add_param_group(std::move(g));
}

inline void check_range(const char* who, const char* what, double v, double lo, double hi,
                        bool hi_open = false) {
  if (!(v >= lo && (hi_open ? v < hi : v <= hi)))
    throw ValueError(fmt::format("{}: {} must be in [{}, {}{}, got {}", who, what, lo, hi,
                                 hi_open ? ")" : "]", v));
}

// The raw values of p (written) and of its gradient (read); T must be p's dtype.
template <class T> struct Views {
  T* w;
  const T* g;
  std::size_t n;
};
template <class T> Views<T> views(Tensor& p, const Tensor& grad) {
  return {p.mutable_value<T>().data(), grad.value<T>().data(), p.numel()};
}

}  // namespace ag::nn::detail
