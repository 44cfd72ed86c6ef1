#pragma once
// ag::Tensor: a shared handle to an N-d array (of a dtype chosen at run time: ag/dtype.hpp) plus
// its autograd state. Copying a Tensor copies the handle, not the data (like torch.Tensor).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <xtensor/xarray.hpp>

#include "ag/dtype.hpp"
#include "ag/errors.hpp"

namespace ag {

using Shape = std::vector<std::size_t>;
using Axes = std::vector<int>;  // negative axes count from the end
std::string shape_str(const Shape& s);  // "[2, 3]"

namespace detail {
struct TensorImpl;
struct Node;
// The element types a tensor stores (in DType's order).
template <class T> inline constexpr bool is_element_type =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint8_t> || std::is_same_v<T, bool>;
}  // namespace detail

class Tensor;
struct ValuesIndices;  // ag/ops/sort.hpp
// A gradient hook: called with a gradient during backward; a defined result replaces it.
using GradHook = std::function<Tensor(const Tensor& grad)>;

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  // Nested initializer lists, e.g. Tensor({{1, 2}, {3, 4}}, ag::f64). Lists whose innermost
  // lists have one element ({{1.0}, {2.0}}) are ambiguous here: use ag::tensor(...) for those.
  Tensor(std::initializer_list<double> v, DType dtype = f32, bool requires_grad = false);
  Tensor(std::initializer_list<std::initializer_list<double>> v, DType dtype = f32,
         bool requires_grad = false);
  Tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> v,
         DType dtype = f32, bool requires_grad = false);
  // From xtensor containers (copied or moved); the dtype follows T (float, double, int64_t,
  // int32_t, uint8_t, bool). (A template, so that a braced list never picks xarray's nested-list
  // constructors.)
  template <class A, class = std::enable_if_t<detail::is_element_type<typename std::decay_t<A>::value_type> &&
                                              std::is_same_v<std::decay_t<A>, xt::xarray<typename std::decay_t<A>::value_type>>>>
  explicit Tensor(A&& a, bool requires_grad = false);

  bool defined() const noexcept { return impl_ != nullptr; }
  explicit operator bool() const = delete;  // ambiguous: defined? nonzero? Say which.

  DType dtype() const;
  Shape shape() const;
  std::size_t dim() const;
  std::size_t size(int axis) const;  // shape()[axis] without a copy; axis < 0 counts from the end
  std::size_t numel() const;
  double item() const;  // the value of a one-element tensor
  template <class T> T item() const;  // ... converted to T (int64_t: exact for int64 tensors)

  // Read access to the values; T must match dtype() (DtypeError otherwise).
  template <class T> const xt::xarray<T>& value() const;
  // Write access: bumps the version counter; a backward that needs the old values (a VJP reading
  // this tensor as an input or output) then raises GradError, like PyTorch.
  template <class T> xt::xarray<T>& mutable_value();
  // A copy of the values converted to T, whatever the dtype (checked as x.to(dtype_of<T>) is).
  template <class T> xt::xarray<T> to_xarray() const;
  template <class T> std::vector<T> to_vector() const;  // ... row-major, as a flat std::vector
  // Contiguous row-major access to numel() values; T must match dtype() (DtypeError otherwise).
  // mutable_data bumps the version counter like mutable_value.
  template <class T> const T* data() const { return value<T>().data(); }
  template <class T> T* mutable_data() { return mutable_value<T>().data(); }
  // Copies src's values into this tensor in place (torch's copy_): src broadcasts to this shape
  // and is converted to this dtype. Not recorded: a tensor that requires grad takes it only
  // under ag::NoGradGuard (GradError otherwise) — how weights are loaded from anywhere.
  Tensor& copy_(const Tensor& src);
  std::uint64_t version() const;

  // autograd state
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // leaves only
  Tensor grad() const;                     // undefined until a backward reaches this tensor
  void set_grad(const Tensor& g);          // replaces .grad (shape and dtype must match)
  void zero_grad(bool set_to_none = true);  // none (default, like PyTorch 2) or zeros
  bool is_leaf() const;                    // true unless produced by a recorded op
  Tensor detach() const;                   // same values, no history, requires_grad false
  const char* op_name() const;             // producing op ("mul", ...) or "" for a leaf
  const std::string& name() const;
  Tensor& set_name(std::string name);

  // Hooks: h(grad) runs when a backward (or ag::grad) computes this tensor's gradient — for a
  // leaf once per backward with the total, before it reaches .grad; for a non-leaf before it flows
  // on to the inputs. A defined result replaces the gradient (same shape and dtype); hooks run in
  // registration order. A hook may also return nothing (void). Returns a handle for remove_hook.
  std::size_t register_hook(GradHook hook);
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F&, const Tensor&>>, int> = 0>
  std::size_t register_hook(F hook) {
    return register_hook(GradHook([h = std::move(hook)](const Tensor& g) mutable {
      h(g);
      return Tensor();
    }));
  }
  void remove_hook(std::size_t handle);  // ValueError if no such hook on this tensor
  Tensor& retain_grad();      // a non-leaf keeps its gradient in .grad (a leaf always does)
  bool retains_grad() const;  // true after retain_grad() on a non-leaf (false for leaves)

  // Reverse sweep from this tensor. A scalar is seeded with 1; otherwise pass `gradient`.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;

  // Dtype conversion (returns *this if same dtype); differentiable between float dtypes. To an
  // integer dtype it truncates toward zero; NaN, infinities and values out of the target's range
  // are a ValueError (not undefined behaviour); to bool: nonzero is true.
  Tensor to(DType d) const;

  // Method forms of common ops, as in PyTorch (x.relu().sum(), x.max(1)); each is the free
  // function in ag/ops/ of the same name (see there for the math). ValuesIndices is in
  // ag/ops/sort.hpp (included by ag/ops.hpp).
  Tensor abs() const;
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor gelu() const;
  Tensor square() const;
  Tensor sign() const;
  Tensor log1p() const;
  Tensor expm1() const;
  Tensor reciprocal() const;
  Tensor erf() const;
  Tensor erfc() const;
  Tensor pow(double p) const;
  Tensor pow(const Tensor& p) const;
  Tensor clamp(std::optional<double> lo, std::optional<double> hi) const;
  Tensor masked_fill(const Tensor& mask, double value) const;
  Tensor matmul(const Tensor& other) const;
  Tensor softmax(int axis = -1) const;
  Tensor log_softmax(int axis = -1) const;

  Tensor sum() const;
  Tensor sum(const Axes& axes, bool keepdims = false) const;
  Tensor mean() const;
  Tensor mean(const Axes& axes, bool keepdims = false) const;
  Tensor prod() const;
  Tensor prod(const Axes& axes, bool keepdims = false) const;
  Tensor max() const;
  Tensor max(const Axes& axes, bool keepdims = false) const;  // x.max({1}): values, ties share g
  Tensor min() const;
  Tensor min(const Axes& axes, bool keepdims = false) const;
  // x.max(1): torch.max(x, dim) — values and int64 indices (a braced {1} means the form above)
  // (defined in ag/ops/sort.hpp, where ValuesIndices is complete)
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  ValuesIndices max(I axis, bool keepdims = false) const;
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  ValuesIndices min(I axis, bool keepdims = false) const;
  Tensor argmax() const;
  Tensor argmax(int axis, bool keepdims = false) const;
  Tensor argmin() const;
  Tensor argmin(int axis, bool keepdims = false) const;
  Tensor var() const;
  Tensor std() const;
  Tensor norm() const;
  Tensor cumsum(int axis) const;
  Tensor cumprod(int axis) const;
  ValuesIndices sort(int axis = -1, bool descending = false) const;
  Tensor argsort(int axis = -1, bool descending = false) const;
  ValuesIndices topk(std::size_t k, int axis = -1, bool largest = true, bool sorted = true) const;

  Tensor reshape(const std::vector<std::ptrdiff_t>& shape) const;
  Tensor view(const std::vector<std::ptrdiff_t>& shape) const;  // = reshape (values are always contiguous)
  Tensor flatten(int start = 0, int end = -1) const;
  Tensor squeeze() const;
  Tensor squeeze(const Axes& axes) const;
  Tensor unsqueeze(int axis) const;
  Tensor permute(const Axes& axes) const;
  Tensor transpose(int dim0, int dim1) const;
  Tensor t() const;  // swap the last two axes
  Tensor expand(const Shape& shape) const;
  Tensor flip(const Axes& axes) const;
  Tensor index_select(int axis, const Tensor& indices) const;
  Tensor gather(int axis, const Tensor& indices) const;

  // Identity of the underlying tensor (for maps, tests).
  const void* id() const noexcept { return impl_.get(); }

  // internal
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}
  detail::TensorImpl* impl() const noexcept { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const noexcept { return impl_; }

 private:
  const detail::TensorImpl& checked() const;
  std::shared_ptr<detail::TensorImpl> impl_;
};

// ---- creation -------------------------------------------------------------------------------
// A value or a list of NestedLists: any depth, e.g. ag::tensor({{1.0}, {2.0}}) is a [2, 1] column
// and ag::tensor(3.0) a 0-d scalar. Ragged lists are a ShapeError.
class NestedList {
 public:
  NestedList(double v) : value_(v) {}  // implicit by design: list literals
  NestedList(std::initializer_list<NestedList> items) : items_(items), is_list_(true) {}
  bool is_list() const { return is_list_; }
  double value() const { return value_; }
  const std::vector<NestedList>& items() const { return items_; }
 private:
  double value_ = 0.0;
  std::vector<NestedList> items_;
  bool is_list_ = false;
};
Tensor tensor(const NestedList& values, DType dtype = f32, bool requires_grad = false);
// Elements of a tensor of this shape: the one checked shape product behind every creation,
// reshape, broadcast and file loader. A shape that cannot exist raises ShapeError naming `op`:
// the product of its non-zero extents (xtensor's strides hold them even when another extent is 0)
// must stay within 2^60 elements, so that strides and byte counts cannot overflow.
std::size_t numel(const Shape& shape, const char* op = "numel");

// A tensor holding a copy of numel(shape) values read row-major from `data`; the dtype follows
// T (float, double, int64_t, int32_t, uint8_t, bool). from_vector/tensor check that v has exactly
// that many values (ValueError).
template <class T> Tensor from_data(const T* data, const Shape& shape, bool requires_grad = false);
template <class T> Tensor from_vector(const std::vector<T>& v, const Shape& shape, bool requires_grad = false);
template <class T> Tensor tensor(const std::vector<T>& v, const Shape& shape, bool requires_grad = false) {
  return from_vector(v, shape, requires_grad);
}
// A copy of numel(shape) values of `dtype` read from raw memory (a buffer from a file, a sensor, a
// database or another library); ptr needs no particular alignment. The tensor owns its copy, so
// the buffer may be freed right after. (No non-owning view: a tensor's storage must outlive every
// graph that saved it, which a borrowed buffer cannot promise.)
Tensor from_blob(const void* ptr, const Shape& shape, DType dtype, bool requires_grad = false);

Tensor scalar(double v, DType dtype = f32, bool requires_grad = false);  // 0-d tensor
Tensor zeros(const Shape& shape, DType dtype = f32, bool requires_grad = false);
Tensor ones(const Shape& shape, DType dtype = f32, bool requires_grad = false);
Tensor full(const Shape& shape, double value, DType dtype = f32, bool requires_grad = false);
Tensor arange(double start, double stop, double step = 1.0, DType dtype = f32);
Tensor arange(double stop, DType dtype = f32);
Tensor linspace(double start, double stop, std::size_t num, DType dtype = f32);
Tensor eye(std::size_t n, DType dtype = f32);
Tensor zeros_like(const Tensor& t, bool requires_grad = false);
Tensor ones_like(const Tensor& t, bool requires_grad = false);
Tensor full_like(const Tensor& t, double value, bool requires_grad = false);

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::ostream& operator<<(std::ostream& os, DType d);

}  // namespace ag

#include "ag/detail/tensor_impl.hpp"  // the record behind the inline templates above

namespace ag {

#define AG_TENSOR_EXTERN(T)                                \
  extern template xt::xarray<T> Tensor::to_xarray<T>() const; \
  extern template std::vector<T> Tensor::to_vector<T>() const; \
  extern template T Tensor::item<T>() const;                 \
  extern template Tensor from_data<T>(const T*, const Shape&, bool); \
  extern template Tensor from_vector<T>(const std::vector<T>&, const Shape&, bool);
AG_TENSOR_EXTERN(float)
AG_TENSOR_EXTERN(double)
AG_TENSOR_EXTERN(std::int64_t)
AG_TENSOR_EXTERN(std::int32_t)
AG_TENSOR_EXTERN(std::uint8_t)
AG_TENSOR_EXTERN(bool)
#undef AG_TENSOR_EXTERN

}  // namespace ag
