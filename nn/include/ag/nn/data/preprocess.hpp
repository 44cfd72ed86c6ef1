#pragma once
// Preparing data before training: a seeded (optionally stratified) train/test split, class indices
// from label tensors, a LabelEncoder for string classes and feature scalers fitted on the
// training rows.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"
#include "ag/nn/data/dataset.hpp"

namespace ag::nn {

// Rows split into (train, test): round(test_fraction·N) test rows, at least 1 and at most N-1
// (ValueError otherwise), chosen by a permutation seeded with `seed`.
std::pair<Dataset, Dataset> train_test_split(const Dataset& data, double test_fraction,
                                             std::uint64_t seed = 0);
// Stratified: the same fraction is taken from every class (labels[i] is row i's class), so both
// parts keep the class proportions. labels.size() must equal data.size().
std::pair<Dataset, Dataset> train_test_split(const Dataset& data, double test_fraction,
                                             std::uint64_t seed,
                                             const std::vector<std::size_t>& stratify);

// Class indices from a label tensor: [N] or [N, 1] of exact non-negative integers (IndexError
// otherwise), or one-hot / probability rows [N, C] (the argmax of each row).
std::vector<std::size_t> class_indices(const Tensor& labels);

// String classes <-> indices 0..C-1. classes() is sorted: numerically when every class reads as a
// number ("2" < "10"), lexicographically otherwise. An unknown label is a ValueError naming it.
class LabelEncoder {
 public:
  LabelEncoder& fit(const std::vector<std::string>& labels);
  std::vector<std::size_t> transform(const std::vector<std::string>& labels) const;
  std::vector<std::size_t> fit_transform(const std::vector<std::string>& labels);
  std::vector<std::string> inverse_transform(const std::vector<std::size_t>& indices) const;
  // Indices held in a tensor (e.g. argmax(probs, 1)): exact non-negative integers.
  std::vector<std::string> inverse_transform(const Tensor& indices) const;
  std::size_t index(const std::string& label) const;
  const std::string& label(std::size_t index) const;  // IndexError when >= num_classes()
  const std::vector<std::string>& classes() const { return classes_; }
  std::size_t num_classes() const { return classes_.size(); }
  bool fitted() const { return !classes_.empty(); }

 private:
  void require_fitted(const char* who) const;
  std::vector<std::string> classes_;
};

// Feature scaling per column of x [N, F], fitted on the training rows only and then applied
// unchanged to validation/test rows. Statistics are computed in float64; transform returns x's
// dtype. A column count other than the fitted one is a ShapeError; use before fit a ValueError.
//
// StandardScaler: (x - mean) / std with the population std (divide by N). A zero-variance column
// gets scale 1, so it maps to 0.
class StandardScaler {
 public:
  StandardScaler& fit(const Tensor& x);
  Tensor transform(const Tensor& x) const;
  Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
  Tensor inverse_transform(const Tensor& x) const;  // x·std + mean
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }  // the std, 1 where it was 0

 private:
  std::vector<double> mean_, scale_;
};

// MinMaxScaler: (x - min) / (max - min) mapped onto [lo, hi]. A constant column (max = min) gets
// range 1, so it maps to lo. Rows outside the fitted range land outside [lo, hi] (no clipping).
class MinMaxScaler {
 public:
  explicit MinMaxScaler(double lo = 0.0, double hi = 1.0);  // ValueError unless lo < hi
  MinMaxScaler& fit(const Tensor& x);
  Tensor transform(const Tensor& x) const;
  Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
  Tensor inverse_transform(const Tensor& x) const;
  const std::vector<double>& data_min() const { return min_; }
  const std::vector<double>& data_max() const { return max_; }

 private:
  double lo_, hi_;
  std::vector<double> min_, max_;
};

}  // namespace ag::nn
