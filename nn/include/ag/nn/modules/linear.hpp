#pragma once
// Fully connected layer: Dense (= Linear).
#include <cstddef>
#include <string>

#include "ag/nn/init.hpp"
#include "ag/nn/module.hpp"

namespace ag::nn {

// Fully connected layer: y = x·W + b with W of shape [in, out] (Keras layout; PyTorch stores the
// transpose) and b of shape [out]. x is [..., in]; y is [..., out]. The bias starts at zero, W from
// `init` (Glorot-uniform by default) drawn from `gen` or from the global generator.
class Dense : public Module {
 public:
  Dense(std::size_t in, std::size_t out, bool bias = true, Init init = Init::glorot_uniform,
        DType dtype = f32);
  Dense(std::size_t in, std::size_t out, Generator& gen, bool bias = true,
        Init init = Init::glorot_uniform, DType dtype = f32);
  Tensor forward(const Tensor& x) override;  // ShapeError if x.shape().back() != in
  std::string type_name() const override { return "Dense"; }
  std::string describe() const override;  // "Dense(3 -> 4)"
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when bias = false

 private:
  std::size_t in_, out_;
  Tensor weight_, bias_;
};
using Linear = Dense;

}  // namespace ag::nn
