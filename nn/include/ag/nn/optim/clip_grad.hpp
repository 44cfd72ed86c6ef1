#pragma once
// Gradient clipping, in place on .grad; parameters without a grad are skipped.
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn {

// Scales every gradient by max_norm / (total + 1e-6) when the total norm exceeds max_norm.
// The total is the p-norm of all gradients taken together (norm_type = inf: the largest |g|).
// Returns the total norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

}  // namespace ag::nn
