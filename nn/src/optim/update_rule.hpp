#pragma once
// What the update rules share (not installed): the one-group constructor form, the range check of
// a hyper-parameter, and the raw values of a parameter and its gradient (a rule writes its state
// buffers through ag::data, ag/extend.hpp).
#include <cstddef>
#include <vector>

#include <fmt/core.h>

#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn::detail {

inline std::vector<ParamGroup> one_group(const std::vector<Tensor>& params, double lr, double wd) {
  return {ParamGroup{params, lr, wd}};
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
