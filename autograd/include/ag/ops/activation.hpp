#pragma once
// Activation functions: each with its derivative in a comment.
#include "ag/tensor.hpp"

namespace ag {

// Activations beyond relu/sigmoid/tanh (which live with the elementwise math).
Tensor leaky_relu(const Tensor& x, double slope = 0.01);  // x > 0 ? x : slope·x
Tensor elu(const Tensor& x, double alpha = 1.0);          // x > 0 ? x : alpha·(eˣ - 1)
// SiLU (swish): x·σ(x); d = σ(x)·(1 + x·(1 - σ(x))). Finite for any x (0 as x -> -inf).
Tensor silu(const Tensor& x);
// (1/β)·log(1 + e^(βx)) = (max(βx, 0) + log1p(e^-|βx|))/β, and x itself where βx > threshold
// (PyTorch's semantics); d = σ(βx), 1 past the threshold. β must be finite and nonzero.
// softplus(x) is softplus(x, 1, 20) (a separate overload so that &ag::softplus stays a
// Tensor(*)(const Tensor&)).
Tensor softplus(const Tensor& x);
Tensor softplus(const Tensor& x, double beta, double threshold = 20.0);
// log σ(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|), finite for any x; d = σ(-x).
Tensor log_sigmoid(const Tensor& x);

// gelu: none is the exact x·Φ(x) = ½x(1 + erf(x/√2)), d = Φ(x) + x·φ(x) (φ the normal density);
// tanh is the approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))). gelu(x) is the exact form
// (PyTorch's default; before, tapegrad's gelu was the tanh form).
enum class GeluApprox { none, tanh };
Tensor gelu(const Tensor& x);
Tensor gelu(const Tensor& x, GeluApprox approximate);

}  // namespace ag
