#pragma once
// Pooling layers and Flatten: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d (no parameters), each
// calling its op in ag/ops/pool.hpp; Flatten (PyTorch's nn.Flatten: axes 1..-1 by default).
#include <cstddef>
#include <string>

#include "ag/nn/module.hpp"

namespace ag::nn {

template <std::size_t D> class MaxPoolNd : public Module {
 public:
  explicit MaxPoolNd(Ints<D> kernel_size) : options_(kernel_size) {}  // stride = kernel_size
  explicit MaxPoolNd(const MaxPoolOptions<D>& options) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return D == 1 ? "MaxPool1d" : "MaxPool2d"; }
  std::string describe() const override;  // "MaxPool2d(2×2)", "MaxPool2d(3×3, stride 2×2, padding 1×1)"
  const MaxPoolOptions<D>& options() const { return options_; }

 private:
  MaxPoolOptions<D> options_;
};
using MaxPool1d = MaxPoolNd<1>;
using MaxPool2d = MaxPoolNd<2>;
extern template class MaxPoolNd<1>;
extern template class MaxPoolNd<2>;

template <std::size_t D> class AvgPoolNd : public Module {
 public:
  explicit AvgPoolNd(Ints<D> kernel_size) : options_(kernel_size) {}
  explicit AvgPoolNd(const AvgPoolOptions<D>& options) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return D == 1 ? "AvgPool1d" : "AvgPool2d"; }
  std::string describe() const override;
  const AvgPoolOptions<D>& options() const { return options_; }

 private:
  AvgPoolOptions<D> options_;
};
using AvgPool1d = AvgPoolNd<1>;
using AvgPool2d = AvgPoolNd<2>;
extern template class AvgPoolNd<1>;
extern template class AvgPoolNd<2>;

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Ints<2> output_size) : size_(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, size_); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string describe() const override;  // "AdaptiveAvgPool2d(1×1)"
  const Ints<2>& output_size() const { return size_; }

 private:
  Ints<2> size_;
};

// Merges axes start..end (inclusive; negative count from the end) into one: [N, C, H, W] -> [N, C·H·W].
class Flatten : public Module {
 public:
  explicit Flatten(int start_dim = 1, int end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_, end_); }
  std::string type_name() const override { return "Flatten"; }
  std::string describe() const override;  // "Flatten" or "Flatten(0, -1)"

 private:
  int start_, end_;
};

}  // namespace ag::nn
