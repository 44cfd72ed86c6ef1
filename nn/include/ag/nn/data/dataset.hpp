#pragma once
// Data: a Dataset of (X, Y) tensors, a DataLoader that yields batches of rows, a LabelEncoder for
// string classes, a seeded train/test split and feature scalers fitted on the training rows.
//
//   nn::Dataset train(x, y);                                   // x [N, F], y [N, ...]
//   nn::DataLoader loader(train, /*batch_size=*/1, /*shuffle=*/true, /*seed=*/7);
//   for (const auto& [xb, yb] : loader) { ... }                // xb [1, F]: one row at a time
//
// One-hot encoding is the core op ag::one_hot(indices, num_classes) (ag/ops.hpp).
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn {

// Rows along axis 0: x [N, ...] and y [N, ...] (y may be [N] class indices, [N, C] one-hot rows,
// [N, 1] targets...). Tensors are handles: a Dataset shares the data, it does not copy it.
class Dataset {
 public:
  Dataset() = default;
  Dataset(Tensor x, Tensor y);  // ShapeError unless both are at least 1-D with equal lengths
  std::size_t size() const { return size_; }
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }
  // The rows at `indices`, in that order (IndexError when one is >= size()).
  Dataset subset(const std::vector<std::size_t>& indices) const;

 private:
  Tensor x_, y_;
  std::size_t size_ = 0;
};

struct Batch {
  Tensor x, y;  // [B, ...] each
};

// Iterates a Dataset in batches of `batch_size` rows: ceil(N / B) batches, the last one smaller
// unless drop_last (then floor(N / B)). With shuffle, every pass (every begin()) draws a new
// permutation from the loader's own generator seeded with `seed`: the order differs from epoch
// to epoch and the whole sequence is reproducible. Without shuffle the rows keep their order.
class DataLoader {
 public:
  DataLoader(Dataset data, std::size_t batch_size = 1, bool shuffle = false,
             std::uint64_t seed = 0, bool drop_last = false);  // ValueError if batch_size == 0

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;
    const Batch& operator*() const;
    const Batch* operator->() const { return &**this; }
    iterator& operator++();
    bool operator==(const iterator& o) const { return batch_ == o.batch_; }
    bool operator!=(const iterator& o) const { return batch_ != o.batch_; }

   private:
    friend class DataLoader;
    iterator(const DataLoader* loader, std::size_t batch) : loader_(loader), batch_(batch) {}
    const DataLoader* loader_;
    std::size_t batch_;
    mutable Batch current_;
    mutable bool loaded_ = false;
  };

  iterator begin();  // starts a pass (reshuffles)
  iterator end();
  std::size_t size() const;  // number of batches per pass
  std::size_t batch_size() const { return batch_size_; }
  const Dataset& dataset() const { return data_; }
  // The row order of the current pass (set by begin()).
  const std::vector<std::size_t>& order() const { return order_; }

 private:
  Batch batch(std::size_t b) const;
  Dataset data_;
  std::size_t batch_size_;
  bool shuffle_, drop_last_;
  Generator gen_;
  std::vector<std::size_t> order_;
};

// A random permutation of 0..n-1 (Fisher-Yates) drawn from gen.
std::vector<std::size_t> permutation(std::size_t n, Generator& gen);

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
