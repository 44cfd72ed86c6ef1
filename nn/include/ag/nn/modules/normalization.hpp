#pragma once
// Normalisation layers: LayerNorm, BatchNorm1d, BatchNorm2d, GroupNorm (PyTorch's semantics and
// parameter/buffer names, so a PyTorch state dict maps onto them name for name). Each calls its
// op in ag/ops/norm.hpp; weight starts at ones, bias at zeros.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "ag/nn/module.hpp"

namespace ag::nn {

// y = (x - mean)/√(var + eps)·weight + bias over the trailing dims equal to normalized_shape, per
// sample (statistics of the input itself, the same in train and eval). weight, bias:
// normalized_shape (absent with elementwise_affine = false). x [..., *normalized_shape].
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, DType dtype = f32);
  // LayerNorm(features) = LayerNorm(Shape{features}); a braced {4} picks this one too.
  explicit LayerNorm(std::size_t features, double eps = 1e-5, bool elementwise_affine = true, DType dtype = f32);
  Tensor forward(const Tensor& x) override;  // ShapeError if x does not end with normalized_shape
  std::string type_name() const override { return "LayerNorm"; }
  std::string describe() const override;  // "LayerNorm([4])", non-default options appended
  const Shape& normalized_shape() const { return shape_; }
  double eps() const { return eps_; }
  const Tensor& weight() const { return weight_; }  // undefined without elementwise_affine
  const Tensor& bias() const { return bias_; }

 private:
  Shape shape_;
  double eps_;
  Tensor weight_, bias_;
};

// Batch normalisation over channel 1 (the base of BatchNorm1d / BatchNorm2d, which fix the rank).
// Parameters weight, bias [C] (affine); buffers running_mean [C] (zeros), running_var [C] (ones),
// num_batches_tracked (int64 0-d) when track_running_stats. As PyTorch:
//   training, tracking: batch statistics normalise; each call updates
//     running = (1 - f)·running + f·batch (unbiased batch variance) with f = momentum, or
//     f = 1/num_batches_tracked (a cumulative average) when momentum is nullopt (PyTorch's None);
//     num_batches_tracked += 1.
//   eval, tracking: the running statistics normalise (y is then linear in x).
//   not tracking: batch statistics in both modes, no buffers.
// Training needs more than one value per channel (ValueError). A call that throws changes nothing.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;  // ShapeError (naming describe()) for a wrong rank or C
  std::string describe() const override;    // "BatchNorm1d(4)", non-default options appended
  std::size_t num_features() const { return num_features_; }
  double eps() const { return eps_; }
  std::optional<double> momentum() const { return momentum_; }
  bool affine() const { return weight_.defined(); }
  bool track_running_stats() const { return running_mean_.defined(); }
  const Tensor& weight() const { return weight_; }  // undefined without affine
  const Tensor& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }  // undefined without tracking
  const Tensor& running_var() const { return running_var_; }
  const Tensor& num_batches_tracked() const { return num_batches_tracked_; }

 protected:
  BatchNorm(std::size_t num_features, double eps, std::optional<double> momentum, bool affine,
            bool track_running_stats, DType dtype);
  virtual bool rank_ok(std::size_t ndim) const = 0;
  virtual const char* expected_input() const = 0;  // "[N, C] or [N, C, L]", for errors

 private:
  std::size_t num_features_;
  double eps_;
  std::optional<double> momentum_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

// x [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::size_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true, DType dtype = f32)
      : BatchNorm(num_features, eps, momentum, affine, track_running_stats, dtype) {}
  std::string type_name() const override { return "BatchNorm1d"; }

 protected:
  bool rank_ok(std::size_t ndim) const override { return ndim == 2 || ndim == 3; }
  const char* expected_input() const override { return "[N, C] or [N, C, L]"; }
};

// x [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::size_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true, DType dtype = f32)
      : BatchNorm(num_features, eps, momentum, affine, track_running_stats, dtype) {}
  std::string type_name() const override { return "BatchNorm2d"; }

 protected:
  bool rank_ok(std::size_t ndim) const override { return ndim == 4; }
  const char* expected_input() const override { return "[N, C, H, W]"; }
};

// Statistics per sample over each group of num_channels/num_groups consecutive channels (and all
// positions), the same in train and eval; per-channel weight, bias [C] with affine. x [N, C, *].
// num_channels must be divisible by num_groups (ValueError).
class GroupNorm : public Module {
 public:
  GroupNorm(std::size_t num_groups, std::size_t num_channels, double eps = 1e-5, bool affine = true,
            DType dtype = f32);
  Tensor forward(const Tensor& x) override;  // ShapeError (naming describe()) unless x is [N, C, *]
  std::string type_name() const override { return "GroupNorm"; }
  std::string describe() const override;  // "GroupNorm(2, 6)", non-default options appended
  std::size_t num_groups() const { return num_groups_; }
  std::size_t num_channels() const { return num_channels_; }
  double eps() const { return eps_; }
  const Tensor& weight() const { return weight_; }  // undefined without affine
  const Tensor& bias() const { return bias_; }

 private:
  std::size_t num_groups_, num_channels_;
  double eps_;
  Tensor weight_, bias_;
};

}  // namespace ag::nn
