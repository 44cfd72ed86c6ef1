// Dataset (rows of x and y) and DataLoader (batches: slices in order, or gathered rows of a
// per-pass permutation).
#include "ag/nn/data/dataset.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "ag/extend.hpp"

namespace ag::nn {

// ---- Dataset -------------------------------------------------------------------------------------

Dataset::Dataset(Tensor x, Tensor y) : x_(std::move(x)), y_(std::move(y)) {
  ag::require_defined("Dataset", x_, "x");
  ag::require_defined("Dataset", y_, "y");
  if (x_.dim() == 0 || y_.dim() == 0)
    throw ShapeError(fmt::format("Dataset: x {} and y {} need rows along axis 0 (0-d given)",
                                 shape_str(x_.shape()), shape_str(y_.shape())));
  if (x_.shape()[0] != y_.shape()[0])
    throw ShapeError(fmt::format("Dataset: x {} and y {} have different numbers of rows",
                                 shape_str(x_.shape()), shape_str(y_.shape())));
  size_ = x_.shape()[0];
}

Dataset Dataset::subset(const std::vector<std::size_t>& indices) const {
  for (std::size_t i : indices)
    if (i >= size_)
      throw IndexError(fmt::format("Dataset::subset: row {} out of range for {} rows", i, size_));
  NoGradGuard no_grad;
  return Dataset(index_select(x_, 0, indices), index_select(y_, 0, indices));
}

// ---- DataLoader ----------------------------------------------------------------------------------

std::vector<std::size_t> permutation(std::size_t n, Generator& gen) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[gen.below(i)]);
  return p;
}

DataLoader::DataLoader(Dataset data, std::size_t batch_size, bool shuffle, std::uint64_t seed,
                       bool drop_last)
    : data_(std::move(data)), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last),
      gen_(seed) {
  if (batch_size_ == 0) throw ValueError("DataLoader: batch_size must be at least 1");
  order_.resize(data_.size());
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;  // identity until a shuffle
}

DataLoader::DataLoader(Dataset data, std::size_t batch_size, Sampler sampler, bool drop_last)
    : data_(std::move(data)), batch_size_(batch_size), shuffle_(false), drop_last_(drop_last),
      sampler_(std::move(sampler)) {
  if (batch_size_ == 0) throw ValueError("DataLoader: batch_size must be at least 1");
  if (!sampler_) throw ValueError("DataLoader: the sampler is empty");
  take_sampler_order(0);  // the number of rows per pass
}

void DataLoader::take_sampler_order(std::size_t pass) {
  std::vector<std::size_t> rows = sampler_(pass);
  for (std::size_t i : rows)
    if (i >= data_.size())
      throw IndexError(fmt::format("DataLoader: the sampler gave row {} for pass {}, out of range for {} rows", i,
                                   pass, data_.size()));
  if (pass > 0 && rows.size() != order_.size())
    throw ValueError(fmt::format("DataLoader: the sampler gave {} rows for pass {} but {} before", rows.size(),
                                 pass, order_.size()));
  order_ = std::move(rows);
}

std::size_t DataLoader::size() const {
  const std::size_t n = order_.size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

DataLoader::iterator DataLoader::begin() {
  if (sampler_) take_sampler_order(pass_++);
  else if (shuffle_) order_ = permutation(data_.size(), gen_);
  return iterator(this, 0);
}

DataLoader::iterator DataLoader::end() { return iterator(this, size()); }

Batch DataLoader::batch(std::size_t b) const {
  const std::size_t start = b * batch_size_;
  const std::size_t stop = std::min(start + batch_size_, order_.size());
  NoGradGuard no_grad;
  if (!shuffle_ && !sampler_) {  // contiguous rows: a slice
    const auto s = static_cast<std::ptrdiff_t>(start), e = static_cast<std::ptrdiff_t>(stop);
    return {slice(data_.x(), 0, s, e), slice(data_.y(), 0, s, e)};
  }
  const std::vector<std::size_t> rows(order_.begin() + static_cast<std::ptrdiff_t>(start),
                                      order_.begin() + static_cast<std::ptrdiff_t>(stop));
  return {index_select(data_.x(), 0, rows), index_select(data_.y(), 0, rows)};
}

const Batch& DataLoader::iterator::operator*() const {
  if (!loaded_) {
    if (batch_ >= loader_->size()) throw IndexError("DataLoader: dereferencing the end iterator");
    current_ = loader_->batch(batch_);
    loaded_ = true;
  }
  return current_;
}

DataLoader::iterator& DataLoader::iterator::operator++() {
  ++batch_;
  loaded_ = false;
  current_ = Batch{};
  return *this;
}

}  // namespace ag::nn
