#pragma once
// The stable exp-normalisation family: softmax, log_softmax, logsumexp.
#include "ag/tensor.hpp"

namespace ag {

// ---- softmax ---------------------------------------------------------------------------------------
// Stable for any finite input (the max along the axis is subtracted first).
Tensor softmax(const Tensor& x, int axis = -1);      // y = eˣ/Σeˣ; d = y·(g - Σg·y)
Tensor log_softmax(const Tensor& x, int axis = -1);  // y = x - logsumexp(x); d = g - eʸ·Σg

// log Σ eˣ, stable (the max is subtracted first); d = g·softmax. All -inf gives -inf, any +inf +inf.
Tensor logsumexp(const Tensor& x);
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims = false);

}  // namespace ag
