// Pooling layers and Flatten: descriptions for summary(); forward is the op.
#include "ag/nn/modules/pooling.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

namespace ag::nn {

namespace {
template <std::size_t D> std::string size_str(const Ints<D>& v) {
  return D == 1 ? fmt::format("{}", v[0]) : fmt::format("{}×{}", v[0], v[1]);
}
}  // namespace

template <std::size_t D> Tensor MaxPoolNd<D>::forward(const Tensor& x) {
  if constexpr (D == 1) return max_pool1d(x, options_);
  else return max_pool2d(x, options_);
}
template <std::size_t D> std::string MaxPoolNd<D>::describe() const {
  const auto& o = options_;
  std::string s = type_name() + "(" + size_str(o.kernel_size());
  if (!(o.stride() == o.kernel_size())) s += ", stride " + size_str(o.stride());
  if (!(o.padding() == Ints<D>(0))) s += ", padding " + size_str(o.padding());
  if (!(o.dilation() == Ints<D>(1))) s += ", dilation " + size_str(o.dilation());
  return s + ")";
}
template class MaxPoolNd<1>;
template class MaxPoolNd<2>;

template <std::size_t D> Tensor AvgPoolNd<D>::forward(const Tensor& x) {
  if constexpr (D == 1) return avg_pool1d(x, options_);
  else return avg_pool2d(x, options_);
}
template <std::size_t D> std::string AvgPoolNd<D>::describe() const {
  const auto& o = options_;
  std::string s = type_name() + "(" + size_str(o.kernel_size());
  if (!(o.stride() == o.kernel_size())) s += ", stride " + size_str(o.stride());
  if (!(o.padding() == Ints<D>(0))) s += ", padding " + size_str(o.padding());
  if (!o.count_include_pad()) s += ", count_include_pad false";
  return s + ")";
}
template class AvgPoolNd<1>;
template class AvgPoolNd<2>;

std::string AdaptiveAvgPool2d::describe() const { return "AdaptiveAvgPool2d(" + size_str(size_) + ")"; }

std::string Flatten::describe() const {
  return start_ == 1 && end_ == -1 ? std::string("Flatten") : fmt::format("Flatten({}, {})", start_, end_);
}

}  // namespace ag::nn
