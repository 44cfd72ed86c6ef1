#pragma once
// The implementation record behind a Tensor handle, the small-object pool it is allocated from,
// and the inline Tensor templates that read it. Included by ag/tensor.hpp; most users and op
// authors never name anything here (ag/extend.hpp has the helpers ops use).
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

namespace detail {
// One alternative per DType, in the enum's order (index() is the dtype).
using Storage = std::variant<xt::xarray<float>, xt::xarray<double>, xt::xarray<std::int64_t>,
                             xt::xarray<std::int32_t>, xt::xarray<std::uint8_t>, xt::xarray<bool>>;

struct TensorImpl {
  Storage value;
  Tensor grad;                      // accumulated gradient (leaves, or non-leaves with retain_grad)
  std::shared_ptr<Node> grad_fn;    // the node that produced this tensor; null for leaves
  std::string name;
  std::vector<std::pair<std::size_t, GradHook>> hooks;  // gradient hooks of a leaf
  std::uint64_t version = 0;        // bumped by every in-place change
  bool requires_grad = false;

  template <class A>
  explicit TensorImpl(A&& v, bool rg = false) : value(std::forward<A>(v)), requires_grad(rg) {
    if (rg) check_grad_dtype();
  }
  TensorImpl(Storage&& v, bool rg) : value(std::move(v)), requires_grad(rg) {
    if (rg) check_grad_dtype();
  }
  // Builds the xarray in place from an xtensor expression (no temporary array to move).
  template <class T, class E>
  TensorImpl(std::in_place_type_t<xt::xarray<T>> tag, E&& e) : value(tag, std::forward<E>(e)) {}
  ~TensorImpl();  // hands the value to grad_fn when the node will need it for backward
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  DType dtype() const noexcept { return static_cast<DType>(value.index()); }
  void check_grad_dtype() const;  // DtypeError: only floating tensors can require grad
};

[[noreturn]] void throw_dtype_access(DType have, DType want);
[[noreturn]] void throw_not_floating(DType d);  // DtypeError naming the op being run (OpScope)
[[noreturn]] void throw_undefined(const char* what);

// Small-object pool for tensor headers and graph nodes (two of the allocations every op makes): a
// per-thread free list per 64-byte size class, so a training step reuses last step's blocks
// without going through malloc. Blocks over 1 KiB, and builds with AddressSanitizer, use
// operator new directly.
void* small_alloc(std::size_t bytes);
void small_free(void* p, std::size_t bytes) noexcept;
std::size_t small_pool_cached_blocks() noexcept;  // free blocks this thread holds (tests)
bool small_pool_enabled() noexcept;               // false under AddressSanitizer
template <class T> struct SmallAllocator {
  using value_type = T;
  SmallAllocator() noexcept = default;
  template <class U> SmallAllocator(const SmallAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(small_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { small_free(p, n * sizeof(T)); }
  template <class U> bool operator==(const SmallAllocator<U>&) const noexcept { return true; }
  template <class U> bool operator!=(const SmallAllocator<U>&) const noexcept { return false; }
};
// A new TensorImpl (and its shared_ptr control block) from the pool.
template <class... A> std::shared_ptr<TensorImpl> new_impl(A&&... args) {
  return std::allocate_shared<TensorImpl>(SmallAllocator<TensorImpl>(), std::forward<A>(args)...);
}

template <class T> Tensor make_tensor(xt::xarray<T>&& v) { return Tensor(new_impl(std::move(v))); }
}  // namespace detail

inline DType Tensor::dtype() const {  // inline: every op asks, often several times
  if (!impl_) detail::throw_undefined("Tensor");
  return impl_->dtype();
}

template <class T> const xt::xarray<T>& Tensor::value() const {
  const auto& im = checked();
  if (im.dtype() != dtype_of<T>::value) detail::throw_dtype_access(im.dtype(), dtype_of<T>::value);
  return std::get<xt::xarray<T>>(im.value);
}

template <class T> xt::xarray<T>& Tensor::mutable_value() {
  auto& im = const_cast<detail::TensorImpl&>(checked());
  if (im.dtype() != dtype_of<T>::value) detail::throw_dtype_access(im.dtype(), dtype_of<T>::value);
  ++im.version;
  return std::get<xt::xarray<T>>(im.value);
}

template <class A, class>
Tensor::Tensor(A&& a, bool rg) : impl_(detail::new_impl(std::forward<A>(a), rg)) {}

}  // namespace ag
