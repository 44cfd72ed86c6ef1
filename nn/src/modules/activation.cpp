// Activation layers: each one calls its ag op.
#include "ag/nn/modules/activation.hpp"

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

}  // namespace ag::nn
