#pragma once
// Activation functions: each with its derivative in a comment.
#include "ag/tensor.hpp"

namespace ag {

// Activations beyond relu/sigmoid/tanh (which live with the elementwise math).
Tensor leaky_relu(const Tensor& x, double slope = 0.01);  // x > 0 ? x : slope·x
Tensor elu(const Tensor& x, double alpha = 1.0);          // x > 0 ? x : alpha·(eˣ - 1)
Tensor softplus(const Tensor& x);  // log(1 + eˣ) = max(x, 0) + log1p(e^-|x|); d = σ(x)
Tensor gelu(const Tensor& x);      // tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))

}  // namespace ag
