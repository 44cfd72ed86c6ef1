// Activation layers: each one calls its ag op.
#include "ag/nn/modules/activation.hpp"

#include <cmath>

#include <fmt/core.h>

namespace ag::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
std::string LeakyReLU::describe() const { return fmt::format("LeakyReLU({})", slope_); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Tensor Softmax::forward(const Tensor& x) { return softmax(x, axis_); }
std::string Softmax::describe() const { return fmt::format("Softmax(axis={})", axis_); }

Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, axis_); }
std::string LogSoftmax::describe() const { return fmt::format("LogSoftmax(axis={})", axis_); }

Tensor GELU::forward(const Tensor& x) { return gelu(x, approximate_); }
std::string GELU::describe() const {
  return fmt::format("GELU(approximate='{}')", approximate_ == GeluApprox::tanh ? "tanh" : "none");
}

Tensor ELU::forward(const Tensor& x) { return elu(x, alpha_); }
std::string ELU::describe() const { return fmt::format("ELU(alpha={})", alpha_); }

Softplus::Softplus(double beta, double threshold) : beta_(beta), threshold_(threshold) {
  // checked here too, so that a bad layer fails where it is built, not at its first forward
  if (!std::isfinite(beta) || beta == 0.0)
    throw ValueError(fmt::format("Softplus: beta must be finite and nonzero, got {}", beta));
}
Tensor Softplus::forward(const Tensor& x) { return softplus(x, beta_, threshold_); }
std::string Softplus::describe() const { return fmt::format("Softplus(beta={}, threshold={})", beta_, threshold_); }

Tensor SiLU::forward(const Tensor& x) { return silu(x); }
Tensor LogSigmoid::forward(const Tensor& x) { return log_sigmoid(x); }

}  // namespace ag::nn
