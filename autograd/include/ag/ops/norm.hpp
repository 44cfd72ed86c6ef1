#pragma once
// Normalisation: layer_norm, batch_norm, group_norm (PyTorch's semantics). Each normalises groups
// of x to x̂ = (x - mean)·rstd with rstd = 1/√(var + eps) (biased variance, /n), then applies an
// optional per-feature affine y = x̂·weight + bias; weight and bias may be undefined (no scale,
// no shift). The statistics are accumulated in double. The VJP is the fused
//   dx = rstd·(ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)),  ĝ = g·weight,  d weight = Σ g·x̂,  d bias = Σ g
// with the means over each group: one loop over the saved mean/rstd for a first-order backward,
// ag ops recomputing the statistics from x under create_graph (so second derivatives work).
// x, weight, bias and the running statistics share one floating dtype (DtypeError otherwise).
#include <cstddef>

#include "ag/tensor.hpp"

namespace ag {

// Normalises over the trailing dims of x that equal `normalized_shape` (PyTorch's argument: the
// shape is checked, not only its length), one group per leading index. weight and bias, when
// defined, have shape normalized_shape. x [..., *normalized_shape] -> y of x's shape.
// An empty normalized_shape, a shape x does not end with, or a weight/bias of another shape is an
// error (ValueError / ShapeError naming layer_norm and the shapes); eps must be >= 0.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// x [N, C] or [N, C, *]: one group per channel c over every axis but 1. weight, bias, running_mean,
// running_var: [C] or undefined.
// training = true: batch statistics (biased var) normalise x, and running_mean/running_var, when
//   defined, are updated in place (not recorded, version bumped) with the unbiased batch variance:
//   running = (1 - momentum)·running + momentum·batch, var_batch·n/(n - 1), n = N·Π spatial.
//   n <= 1 is a ValueError ("more than 1 value per channel"), as in PyTorch.
// training = false: x̂ = (x - running_mean)/√(running_var + eps), linear in x.
// Undefined running_mean and running_var (both): no tracking, batch statistics in either mode
//   (then also the n <= 1 error). The running statistics are never differentiated: one that
//   requires grad is a GradError. momentum in [0, 1], eps >= 0.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// x [N, C, *], C divisible by num_groups > 0: the C/num_groups consecutive channels of a group
// and all their positions form one group per sample. weight and bias: [C] or undefined
// (per-channel affine, as PyTorch's). group_norm with num_groups = 1 normalises each sample like
// layer_norm over [C, *] (but with a per-channel affine); num_groups = C is instance norm.
Tensor group_norm(const Tensor& x, std::size_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

}  // namespace ag
