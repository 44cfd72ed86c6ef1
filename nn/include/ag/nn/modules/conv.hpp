#pragma once
// Convolution layers: Conv1d, Conv2d, ConvTranspose2d (PyTorch's layouts, parameter names and
// default initialisation, so a PyTorch state dict maps onto them name for name). Each calls its op
// in ag/ops/conv.hpp with the options it was built with.
#include <cstddef>
#include <string>

#include "ag/nn/module.hpp"

namespace ag::nn {

// weight [out, in/groups, k...] from kaiming_uniform_(a = √5), i.e. U(-1/√fan_in, 1/√fan_in), and
// bias [out] from U(-1/√fan_in, 1/√fan_in), fan_in = in/groups·Π k (PyTorch's reset_parameters).
// Conv2d(3, 16, 3, ag::Conv2dOptions().padding(1)); in and out must divide by groups (ValueError).
template <std::size_t D> class ConvNd : public Module {
 public:
  ConvNd(std::size_t in_channels, std::size_t out_channels, Ints<D> kernel_size, const ConvOptions<D>& options = {},
         bool bias = true, DType dtype = f32);
  ConvNd(std::size_t in_channels, std::size_t out_channels, Ints<D> kernel_size, Generator& gen,
         const ConvOptions<D>& options = {}, bool bias = true, DType dtype = f32);
  Tensor forward(const Tensor& x) override;  // conv1d/conv2d; errors name describe()
  std::string type_name() const override { return D == 1 ? "Conv1d" : "Conv2d"; }
  std::string describe() const override;  // "Conv2d(3 -> 16, 3×3, padding 1)"
  std::size_t in_channels() const { return in_; }
  std::size_t out_channels() const { return out_; }
  const ConvOptions<D>& options() const { return options_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when bias = false

 private:
  std::size_t in_, out_;
  ConvOptions<D> options_;
  Tensor weight_, bias_;
};
using Conv1d = ConvNd<1>;
using Conv2d = ConvNd<2>;
extern template class ConvNd<1>;
extern template class ConvNd<2>;

// weight [in, out/groups, kh, kw] and bias [out], initialised as Conv2d with fan_in =
// out/groups·kh·kw (PyTorch computes the fan from the weight's second axis here too).
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Ints<2> kernel_size,
                  const ConvTranspose2dOptions& options = {}, bool bias = true, DType dtype = f32);
  ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Ints<2> kernel_size, Generator& gen,
                  const ConvTranspose2dOptions& options = {}, bool bias = true, DType dtype = f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  std::string describe() const override;  // "ConvTranspose2d(16 -> 3, 2×2, stride 2)"
  std::size_t in_channels() const { return in_; }
  std::size_t out_channels() const { return out_; }
  const ConvTranspose2dOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  std::size_t in_, out_;
  ConvTranspose2dOptions options_;
  Tensor weight_, bias_;
};

}  // namespace ag::nn
