// TensorList: an op's inputs and a VJP's gradients, up to kInline of them without a heap allocation.
#include <utility>
#include <vector>

#include "ag/extend.hpp"

namespace ag {

TensorList::TensorList(std::vector<Tensor>&& v) {
  if (v.size() <= kInline) {
    for (Tensor& t : v) inline_[n_++] = std::move(t);
  } else {
    n_ = v.size();
    heap_ = std::move(v);
  }
}
TensorList::TensorList(TensorList&& o) noexcept : heap_(std::move(o.heap_)), n_(o.n_) {
  for (std::size_t i = 0; i < kInline && i < n_; ++i) inline_[i] = std::move(o.inline_[i]);
  o.heap_.clear();
  o.n_ = 0;
}
TensorList& TensorList::operator=(TensorList&& o) noexcept {
  if (this == &o) return *this;
  if (n_ != 0) clear();
  if (o.n_ > kInline) {
    heap_.swap(o.heap_);  // o keeps our empty heap
  } else {
    for (std::size_t i = 0; i < o.n_; ++i) inline_[i] = std::move(o.inline_[i]);
  }
  n_ = o.n_;
  o.n_ = 0;
  return *this;
}
void TensorList::push_back_spilled(Tensor t) {
  if (n_ == kInline) {  // spill: every item moves to the heap
    heap_.reserve(2 * kInline);
    for (Tensor& x : inline_) heap_.push_back(std::move(x));
  }
  heap_.push_back(std::move(t));
  ++n_;
}
void TensorList::pop_back() noexcept {
  if (n_ == 0) return;
  if (n_ <= kInline) {
    inline_[--n_] = Tensor();
    return;
  }
  heap_.pop_back();
  if (--n_ == kInline) {  // back in place
    for (std::size_t i = 0; i < kInline; ++i) inline_[i] = std::move(heap_[i]);
    heap_.clear();
  }
}
void TensorList::resize(std::size_t n) {
  while (n_ > n) pop_back();
  while (n_ < n) push_back(Tensor());
}
void TensorList::clear() noexcept {
  for (std::size_t i = 0; i < kInline && i < n_; ++i) inline_[i] = Tensor();
  heap_.clear();
  n_ = 0;
}

}  // namespace ag
