// Normalisation layers: the layer's own shape and dtype checks (errors name describe()), then the
// op from ag/ops/norm.hpp. BatchNorm chooses the statistics and the averaging factor as PyTorch's
// _BatchNorm.forward does, and counts the batch only after the op succeeded.
#include "ag/nn/modules/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/extend.hpp"

namespace ag::nn {

namespace {

void check_eps(const char* layer, double eps) {
  if (!(eps >= 0.0) || std::isinf(eps))
    throw ValueError(fmt::format("{}: eps must be finite and >= 0, got {}", layer, eps));
}

void check_float(const char* layer, DType dtype) {
  if (!is_floating(dtype))
    throw DtypeError(fmt::format("{}: dtype must be float32 or float64, got {}", layer, dtype_name(dtype)));
}

// ", eps=0.001" when eps is not the default (PyTorch's repr lists every option; ours only the unusual ones)
std::string eps_note(double eps) { return eps == 1e-5 ? "" : fmt::format(", eps={}", eps); }

// DtypeError when x's dtype differs from the layer's tensors (the first defined of `own`).
void check_dtype(const Module& m, const Tensor& x, std::initializer_list<const Tensor*> own) {
  for (const Tensor* t : own) {
    if (!t->defined()) continue;
    if (x.dtype() != t->dtype())
      throw DtypeError(fmt::format("{}: input is {} but the layer is {} (convert the input with .to(), or the model "
                                   "with model.to())", m.describe(), dtype_name(x.dtype()), dtype_name(t->dtype())));
    return;
  }
}

}  // namespace

// ---- LayerNorm --------------------------------------------------------------------------------------
LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, DType dtype)
    : shape_(std::move(normalized_shape)), eps_(eps) {
  if (shape_.empty()) throw ValueError("LayerNorm: normalized_shape must have at least 1 dim, got []");
  check_eps("LayerNorm", eps);
  check_float("LayerNorm", dtype);
  if (elementwise_affine) {
    weight_ = register_parameter("weight", ones(shape_, dtype));
    bias_ = register_parameter("bias", zeros(shape_, dtype));
  }
}

LayerNorm::LayerNorm(std::size_t features, double eps, bool elementwise_affine, DType dtype)
    : LayerNorm(Shape{features}, eps, elementwise_affine, dtype) {}

std::string LayerNorm::describe() const {
  return fmt::format("LayerNorm({}{}{})", shape_str(shape_), eps_note(eps_),
                     weight_.defined() ? "" : ", elementwise_affine=false");
}

Tensor LayerNorm::forward(const Tensor& x) {
  ag::require_defined("LayerNorm", x, "the input");
  const Shape xs = x.shape();
  const std::size_t k = shape_.size();
  if (xs.size() < k || !std::equal(shape_.begin(), shape_.end(), xs.end() - static_cast<std::ptrdiff_t>(k)))
    throw ShapeError(fmt::format("{}: input of shape {} does not end with normalized_shape {} (expected [..., {}])",
                                 describe(), shape_str(xs), shape_str(shape_), fmt::join(shape_, ", ")));
  check_dtype(*this, x, {&weight_});
  return layer_norm(x, shape_, weight_, bias_, eps_);
}

// ---- BatchNorm --------------------------------------------------------------------------------------
BatchNorm::BatchNorm(std::size_t num_features, double eps, std::optional<double> momentum, bool affine,
                     bool track_running_stats, DType dtype)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
  // type_name() is not yet the derived one here: the messages say "BatchNorm"
  if (num_features == 0) throw ValueError("BatchNorm: num_features must be > 0");
  check_eps("BatchNorm", eps);
  if (momentum && !(*momentum >= 0.0 && *momentum <= 1.0))
    throw ValueError(fmt::format("BatchNorm: momentum must be in [0, 1] (or nullopt for a cumulative average), got {}",
                                 *momentum));
  check_float("BatchNorm", dtype);
  if (affine) {
    weight_ = register_parameter("weight", ones({num_features}, dtype));
    bias_ = register_parameter("bias", zeros({num_features}, dtype));
  }
  if (track_running_stats) {
    running_mean_ = register_buffer("running_mean", zeros({num_features}, dtype));
    running_var_ = register_buffer("running_var", ones({num_features}, dtype));
    num_batches_tracked_ = register_buffer("num_batches_tracked", zeros({}, i64));
  }
}

std::string BatchNorm::describe() const {
  std::string opts = eps_note(eps_);
  if (!momentum_) opts += ", momentum=nullopt";
  else if (*momentum_ != 0.1) opts += fmt::format(", momentum={}", *momentum_);
  if (!affine()) opts += ", affine=false";
  if (!track_running_stats()) opts += ", track_running_stats=false";
  return fmt::format("{}({}{})", type_name(), num_features_, opts);
}

Tensor BatchNorm::forward(const Tensor& x) {
  ag::require_defined(type_name().c_str(), x, "the input");
  const Shape xs = x.shape();
  if (!rank_ok(xs.size()) || xs[1] != num_features_)
    throw ShapeError(fmt::format("{}: expected input {} with C = {}, got {}", describe(), expected_input(),
                                 num_features_, shape_str(xs)));
  check_dtype(*this, x, {&weight_, &running_mean_});
  const bool tracking = track_running_stats();
  const bool update = is_training() && tracking;
  const std::int64_t batches = tracking ? num_batches_tracked_.item<std::int64_t>() : 0;
  // PyTorch: momentum None averages all batches so far (factor 1/num_batches_tracked, this one included)
  const double factor = momentum_ ? *momentum_ : update ? 1.0 / static_cast<double>(batches + 1) : 0.0;
  // training, or no running statistics to use: batch statistics
  Tensor y = batch_norm(x, running_mean_, running_var_, weight_, bias_, /*training=*/is_training() || !tracking,
                        factor, eps_);
  if (update) num_batches_tracked_.mutable_data<std::int64_t>()[0] = batches + 1;
  return y;
}

// ---- GroupNorm --------------------------------------------------------------------------------------
GroupNorm::GroupNorm(std::size_t num_groups, std::size_t num_channels, double eps, bool affine, DType dtype)
    : num_groups_(num_groups), num_channels_(num_channels), eps_(eps) {
  if (num_groups == 0 || num_channels == 0 || num_channels % num_groups != 0)
    throw ValueError(fmt::format("GroupNorm: num_channels ({}) must be a positive multiple of num_groups ({})",
                                 num_channels, num_groups));
  check_eps("GroupNorm", eps);
  check_float("GroupNorm", dtype);
  if (affine) {
    weight_ = register_parameter("weight", ones({num_channels}, dtype));
    bias_ = register_parameter("bias", zeros({num_channels}, dtype));
  }
}

std::string GroupNorm::describe() const {
  return fmt::format("GroupNorm({}, {}{}{})", num_groups_, num_channels_, eps_note(eps_),
                     weight_.defined() ? "" : ", affine=false");
}

Tensor GroupNorm::forward(const Tensor& x) {
  ag::require_defined("GroupNorm", x, "the input");
  const Shape xs = x.shape();
  if (xs.size() < 2 || xs[1] != num_channels_)
    throw ShapeError(fmt::format("{}: expected input [N, C, *] with C = {}, got {}", describe(), num_channels_,
                                 shape_str(xs)));
  check_dtype(*this, x, {&weight_});
  return group_norm(x, num_groups_, weight_, bias_, eps_);
}

}  // namespace ag::nn
