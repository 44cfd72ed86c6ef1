#pragma once
// Data: a Dataset of (X, Y) tensors and a DataLoader that yields batches of rows.
//
//   nn::Dataset train(x, y);                                   // x [N, F], y [N, ...]
//   nn::DataLoader loader(train, /*batch_size=*/1, /*shuffle=*/true, /*seed=*/7);
//   for (const auto& [xb, yb] : loader) { ... }                // xb [1, F]: one row at a time
//
// One-hot encoding is the core op ag::one_hot(indices, num_classes) (ag/ops.hpp).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <type_traits>
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
//
// With a sampler instead, pass p (p = 0, 1, 2, ... counted by begin()) iterates the rows
// sampler(p), in that order (they may repeat or leave rows out): how each rank of a distributed run
// reads its own shard (ag::nn::dist::sampler). The sampler must return the same number of rows for
// every pass (size() is computed from pass 0's).
using Sampler = std::function<std::vector<std::size_t>(std::size_t pass)>;

class DataLoader {
 public:
  DataLoader(Dataset data, std::size_t batch_size = 1, bool shuffle = false,
             std::uint64_t seed = 0, bool drop_last = false);  // ValueError if batch_size == 0
  // IndexError (at construction or at begin()) when the sampler returns a row >= data.size().
  DataLoader(Dataset data, std::size_t batch_size, Sampler sampler, bool drop_last = false);
  // Any callable (a lambda without captures would otherwise also convert to `bool shuffle`).
  template <class F, std::enable_if_t<std::is_invocable_r_v<std::vector<std::size_t>, F&, std::size_t> &&
                                          !std::is_same_v<std::decay_t<F>, Sampler>, int> = 0>
  DataLoader(Dataset data, std::size_t batch_size, F sampler, bool drop_last = false)
      : DataLoader(std::move(data), batch_size, Sampler(std::move(sampler)), drop_last) {}

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
  // The shuffling generator (each begin() draws one permutation from it): checkpoints save it.
  Generator& generator() { return gen_; }
  // With a sampler: the pass number the next begin() asks it for (checkpoints save it; set it to
  // resume at a given epoch).
  std::size_t pass() const { return pass_; }
  void set_pass(std::size_t p) { pass_ = p; }

 private:
  void take_sampler_order(std::size_t pass);
  Batch batch(std::size_t b) const;
  Dataset data_;
  std::size_t batch_size_;
  bool shuffle_, drop_last_;
  Generator gen_;
  std::vector<std::size_t> order_;
  Sampler sampler_;  // empty: the shuffle/identity order over every row
  std::size_t pass_ = 0;
};

// A random permutation of 0..n-1 (Fisher-Yates) drawn from gen.
std::vector<std::size_t> permutation(std::size_t n, Generator& gen);

}  // namespace ag::nn
