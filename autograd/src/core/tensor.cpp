// Tensor handle: construction, accessors, creation functions (printing: format.cpp).
#include <cmath>
#include <cstring>

#include <xtensor/xbuilder.hpp>

#include "ag/format.hpp"
#include "core/internal.hpp"

namespace ag {

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

std::size_t numel(const Shape& shape, const char* op) {
  constexpr std::size_t kMax = std::size_t{1} << 60;  // x 8 bytes stays below PTRDIFF_MAX
  std::size_t nonzero = 1;
  bool empty = false;
  for (std::size_t d : shape) {
    if (d == 0) {
      empty = true;
      continue;
    }
    if (d > kMax || nonzero > kMax / d)
      throw ShapeError(fmt::format("{}: shape {} has too many elements (more than 2^60)", op, shape_str(shape)));
    nonzero *= d;
  }
  return empty ? 0 : nonzero;
}

namespace detail {

TensorImpl::~TensorImpl() {
  // A node recorded with keep_output needs this value for backward after the user drops the tensor.
  if (grad_fn && grad_fn->keep == Keep::inputs_and_output && !grad_fn->released)
    grad_fn->output_value.emplace(std::move(value));
}

void throw_dtype_access(DType have, DType want) {
  throw DtypeError(fmt::format("value<{}>(): the tensor's dtype is {}", dtype_name(want),
                               dtype_name(have)));
}
void throw_undefined(const char* what) {
  throw ValueError(fmt::format("{}: the tensor is undefined (default-constructed)", what));
}

std::size_t normalize_axis(const char* op, int axis, std::size_t ndim) {
  const long n = static_cast<long>(ndim);
  const long a = axis < 0 ? axis + n : axis;
  if (a < 0 || a >= n)
    throw ShapeError(fmt::format("{}: axis {} is out of range for a {}-d tensor", op, axis, ndim));
  return static_cast<std::size_t>(a);
}

std::size_t normalize_new_axis(const char* op, int axis, const Shape& in_shape) {
  const long n = static_cast<long>(in_shape.size());
  const long a = axis < 0 ? axis + n + 1 : axis;
  if (a < 0 || a > n)
    throw ShapeError(fmt::format("{}: axis {} is out of range [{}, {}] for a {}-d input {}", op, axis, -(n + 1), n,
                                 n, shape_str(in_shape)));
  return static_cast<std::size_t>(a);
}

std::vector<std::size_t> normalize_axes(const char* op, const Axes& axes, std::size_t ndim) {
  std::vector<std::size_t> out;
  out.reserve(axes.size());
  for (int a : axes) out.push_back(normalize_axis(op, a, ndim));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ShapeError(fmt::format("{}: repeated axis in [{}]", op, fmt::join(axes, ", ")));
  return out;
}

}  // namespace detail

void require_defined(const char* op, const Tensor& t, const char* what) {
  if (!t.defined()) throw ValueError(fmt::format("{}: {} is undefined", op, what));
}

namespace {
// Walks a nested list depth-first: fills `flat`, and checks every list at a depth has the same
// length (the shape is fixed by the first element seen at each depth).
void flatten_nested(const NestedList& l, std::size_t depth, Shape& shape, bool& shape_done,
                    std::vector<double>& flat) {
  if (!l.is_list()) {
    if (shape_done && depth != shape.size())
      throw ShapeError(fmt::format("Tensor: ragged nested list (a value at depth {}, expected depth {})",
                                   depth, shape.size()));
    if (!shape_done) shape_done = true;  // the first value fixes the number of dims
    flat.push_back(l.value());
    return;
  }
  const std::size_t n = l.items().size();
  if (!shape_done) {
    shape.push_back(n);
    if (n == 0) shape_done = true;
  } else if (depth >= shape.size() || shape[depth] != n) {
    throw ShapeError(fmt::format("Tensor: ragged nested list (a list of {} at depth {}, expected {})", n,
                                 depth, depth < shape.size() ? shape[depth] : 0));
  }
  for (const auto& item : l.items()) flatten_nested(item, depth + 1, shape, shape_done, flat);
}

// Literal values (doubles) as a tensor of `dtype`: through convert, so 2.5 or 300 given to an
// integer dtype that cannot hold them is a ValueError, not a silent truncation.
std::shared_ptr<detail::TensorImpl> from_literals(const std::vector<double>& flat, const Shape& shape, DType dtype,
                                                  bool rg) {
  xt::xarray<double> a = xt::xarray<double>::from_shape(shape);
  std::copy(flat.begin(), flat.end(), a.begin());
  Tensor t(std::move(a));
  if (!is_floating(dtype))
    for (std::size_t i = 0; i < flat.size(); ++i)
      if (flat[i] != std::trunc(flat[i]))
        throw ValueError(fmt::format("tensor: {} at flat index {} is not an integer, for dtype {}", flat[i], i,
                                     dtype_name(dtype)));
  Tensor c = detail::as_dtype("tensor", t, dtype);
  if (rg) c.requires_grad_(true);
  return c.impl_ptr();
}
}  // namespace

Tensor tensor(const NestedList& v, DType dtype, bool rg) {
  Shape shape;
  bool shape_done = false;
  std::vector<double> flat;
  flatten_nested(v, 0, shape, shape_done, flat);
  return Tensor(from_literals(flat, shape, dtype, rg));
}

Tensor::Tensor(std::initializer_list<double> v, DType dtype, bool rg) {
  const std::vector<double> flat(v);
  const Shape shape{v.size()};
  impl_ = from_literals(flat, shape, dtype, rg);
}

Tensor::Tensor(std::initializer_list<std::initializer_list<double>> v, DType dtype, bool rg) {
  std::vector<double> flat;
  const std::size_t cols = v.size() ? v.begin()->size() : 0;
  std::size_t r = 0;
  for (const auto& row : v) {
    if (row.size() != cols)
      throw ShapeError(fmt::format("Tensor: ragged nested list (row 0 has {} values, row {} has {})",
                                   cols, r, row.size()));
    flat.insert(flat.end(), row.begin(), row.end());
    ++r;
  }
  impl_ = from_literals(flat, Shape{v.size(), cols}, dtype, rg);
}

Tensor::Tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> v,
               DType dtype, bool rg) {
  std::vector<double> flat;
  const std::size_t d1 = v.size() ? v.begin()->size() : 0;
  const std::size_t d2 = d1 ? v.begin()->begin()->size() : 0;
  for (const auto& m : v) {
    if (m.size() != d1) throw ShapeError("Tensor: ragged nested list (inner lists differ in length)");
    for (const auto& row : m) {
      if (row.size() != d2) throw ShapeError("Tensor: ragged nested list (innermost lists differ in length)");
      flat.insert(flat.end(), row.begin(), row.end());
    }
  }
  const Shape shape{v.size(), d1, d2};
  impl_ = from_literals(flat, shape, dtype, rg);
}

const detail::TensorImpl& Tensor::checked() const {
  if (!impl_) detail::throw_undefined("Tensor");
  return *impl_;
}


Shape Tensor::shape() const {
  return std::visit([](const auto& a) { return detail::to_shape(a.shape()); }, checked().value);
}
std::size_t Tensor::dim() const {
  return std::visit([](const auto& a) { return a.dimension(); }, checked().value);
}
std::size_t Tensor::size(int axis) const {
  checked();
  const auto& s = detail::shape_ref(*this);
  const long n = static_cast<long>(s.size());
  if (axis < -n || axis >= n)
    throw IndexError(fmt::format("size: axis {} is out of range for a tensor of shape {} ({} dims)", axis,
                                 shape_str(shape()), n));
  return s[static_cast<std::size_t>(axis < 0 ? axis + n : axis)];
}
std::size_t Tensor::numel() const {
  return std::visit([](const auto& a) { return a.size(); }, checked().value);
}

double Tensor::item() const {
  if (numel() != 1)
    throw ValueError(fmt::format("item: needs a one-element tensor, got shape {}", shape_str(shape())));
  return std::visit([](const auto& a) { return static_cast<double>(*a.begin()); }, checked().value);
}

template <class T> T Tensor::item() const {
  if (numel() != 1)
    throw ValueError(fmt::format("item: needs a one-element tensor, got shape {}", shape_str(shape())));
  return detail::as_dtype("item", *this, dtype_of<T>::value).template value<T>()[0];
}

template <class T> xt::xarray<T> Tensor::to_xarray() const {
  checked();
  return detail::as_dtype("to_xarray", *this, dtype_of<T>::value).template value<T>();
}

template <class T> std::vector<T> Tensor::to_vector() const {
  checked();
  const Tensor c = detail::as_dtype("to_vector", *this, dtype_of<T>::value);
  const auto& v = c.template value<T>();
  return std::vector<T>(v.begin(), v.end());
}

Tensor& Tensor::copy_(const Tensor& src) {
  auto& im = const_cast<detail::TensorImpl&>(checked());
  require_defined("copy_", src, "src");
  if (im.requires_grad && is_grad_enabled())
    throw GradError(fmt::format("copy_: the destination {} {} requires grad; copy into it under "
                                "ag::NoGradGuard (in-place changes are not recorded)",
                                dtype_name(dtype()), shape_str(shape())));
  const Shape dst_shape = shape(), src_shape = src.shape();
  if (!detail::broadcastable_to(src_shape, dst_shape))
    throw ShapeError(fmt::format("copy_: source {} does not broadcast to the destination {}", shape_str(src_shape),
                                 shape_str(dst_shape)));
  NoGradGuard guard;
  const Tensor c = detail::as_dtype("copy_", broadcast_to(src, dst_shape), dtype());
  detail::dispatch_all(dtype(), [&](auto t) {
    using T = decltype(t);
    const T* from = c.template value<T>().data();  // a new array: never aliases ours
    std::copy(from, from + c.numel(), mutable_value<T>().data());
  });
  return *this;
}

std::uint64_t Tensor::version() const { return checked().version; }

bool Tensor::requires_grad() const { return checked().requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  auto& im = const_cast<detail::TensorImpl&>(checked());
  if (im.grad_fn && !on)
    throw GradError(fmt::format("requires_grad_(false): the tensor was produced by '{}' and is not a "
                                "leaf; use detach() instead", im.grad_fn->op));
  if (on) im.check_grad_dtype();
  if (!im.grad_fn) im.requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return checked().grad; }

void Tensor::set_grad(const Tensor& g) {
  auto& im = const_cast<detail::TensorImpl&>(checked());
  if (g.defined() && (g.dtype() != dtype() || g.shape() != shape()))
    throw GradError(fmt::format("set_grad: gradient {} {} does not match tensor {} {}",
                                dtype_name(g.dtype()), shape_str(g.shape()), dtype_name(dtype()),
                                shape_str(shape())));
  im.grad = g;
}

void Tensor::zero_grad(bool set_to_none) {
  auto& im = const_cast<detail::TensorImpl&>(checked());
  if (set_to_none || !im.grad.defined()) {
    im.grad = Tensor();
    return;
  }
  std::visit([](auto& a) { a.fill(0); }, im.grad.impl()->value);
  ++im.grad.impl()->version;
}

bool Tensor::is_leaf() const { return checked().grad_fn == nullptr; }

Tensor Tensor::detach() const {
  return Tensor(std::visit([](const auto& a) { return detail::new_impl(a); },
                           checked().value));
}

const char* Tensor::op_name() const {
  const auto& im = checked();
  return im.grad_fn ? im.grad_fn->op : "";
}

const std::string& Tensor::name() const { return checked().name; }
Tensor& Tensor::set_name(std::string n) {
  const_cast<detail::TensorImpl&>(checked()).name = std::move(n);
  return *this;
}

Tensor Tensor::to(DType d) const { return to_dtype(*this, d); }
// ---- method forms ------------------------------------------------------------------------------
Tensor Tensor::abs() const { return ag::abs(*this); }
Tensor Tensor::neg() const { return ag::neg(*this); }
Tensor Tensor::exp() const { return ag::exp(*this); }
Tensor Tensor::log() const { return ag::log(*this); }
Tensor Tensor::sqrt() const { return ag::sqrt(*this); }
Tensor Tensor::sin() const { return ag::sin(*this); }
Tensor Tensor::cos() const { return ag::cos(*this); }
Tensor Tensor::tanh() const { return ag::tanh(*this); }
Tensor Tensor::sigmoid() const { return ag::sigmoid(*this); }
Tensor Tensor::relu() const { return ag::relu(*this); }
Tensor Tensor::gelu() const { return ag::gelu(*this); }
Tensor Tensor::square() const { return ag::square(*this); }
Tensor Tensor::sign() const { return ag::sign(*this); }
Tensor Tensor::log1p() const { return ag::log1p(*this); }
Tensor Tensor::expm1() const { return ag::expm1(*this); }
Tensor Tensor::reciprocal() const { return ag::reciprocal(*this); }
Tensor Tensor::erf() const { return ag::erf(*this); }
Tensor Tensor::erfc() const { return ag::erfc(*this); }
Tensor Tensor::pow(double p) const { return ag::pow(*this, p); }
Tensor Tensor::pow(const Tensor& p) const { return ag::pow(*this, p); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return ag::clamp(*this, lo, hi); }
Tensor Tensor::masked_fill(const Tensor& mask, double value) const { return ag::masked_fill(*this, mask, value); }
Tensor Tensor::matmul(const Tensor& other) const { return ag::matmul(*this, other); }
Tensor Tensor::softmax(int axis) const { return ag::softmax(*this, axis); }
Tensor Tensor::log_softmax(int axis) const { return ag::log_softmax(*this, axis); }

Tensor Tensor::sum() const { return ag::sum(*this); }
Tensor Tensor::sum(const Axes& axes, bool keepdims) const { return ag::sum(*this, axes, keepdims); }
Tensor Tensor::mean() const { return ag::mean(*this); }
Tensor Tensor::mean(const Axes& axes, bool keepdims) const { return ag::mean(*this, axes, keepdims); }
Tensor Tensor::prod() const { return ag::prod(*this); }
Tensor Tensor::prod(const Axes& axes, bool keepdims) const { return ag::prod(*this, axes, keepdims); }
Tensor Tensor::max() const { return ag::max(*this); }
Tensor Tensor::max(const Axes& axes, bool keepdims) const { return ag::max(*this, axes, keepdims); }
Tensor Tensor::min() const { return ag::min(*this); }
Tensor Tensor::min(const Axes& axes, bool keepdims) const { return ag::min(*this, axes, keepdims); }
Tensor Tensor::argmax() const { return ag::argmax(*this); }
Tensor Tensor::argmax(int axis, bool keepdims) const { return ag::argmax(*this, axis, keepdims); }
Tensor Tensor::argmin() const { return ag::argmin(*this); }
Tensor Tensor::argmin(int axis, bool keepdims) const { return ag::argmin(*this, axis, keepdims); }
Tensor Tensor::var() const { return ag::var(*this); }
Tensor Tensor::std() const { return ag::std(*this); }
Tensor Tensor::norm() const { return ag::norm(*this); }
Tensor Tensor::cumsum(int axis) const { return ag::cumsum(*this, axis); }
Tensor Tensor::cumprod(int axis) const { return ag::cumprod(*this, axis); }
ValuesIndices Tensor::sort(int axis, bool descending) const { return ag::sort(*this, axis, descending); }
Tensor Tensor::argsort(int axis, bool descending) const { return ag::argsort(*this, axis, descending); }
ValuesIndices Tensor::topk(std::size_t k, int axis, bool largest, bool sorted) const {
  return ag::topk(*this, k, axis, largest, sorted);
}

Tensor Tensor::reshape(const std::vector<std::ptrdiff_t>& s) const { return ag::reshape(*this, s); }
Tensor Tensor::view(const std::vector<std::ptrdiff_t>& s) const { return ag::reshape(*this, s); }
Tensor Tensor::flatten(int start, int end) const { return ag::flatten(*this, start, end); }
Tensor Tensor::squeeze() const { return ag::squeeze(*this); }
Tensor Tensor::squeeze(const Axes& axes) const { return ag::squeeze(*this, axes); }
Tensor Tensor::unsqueeze(int axis) const { return ag::unsqueeze(*this, axis); }
Tensor Tensor::permute(const Axes& axes) const { return ag::permute(*this, axes); }
Tensor Tensor::transpose(int dim0, int dim1) const { return ag::transpose(*this, dim0, dim1); }
Tensor Tensor::t() const { return ag::transpose(*this, -2, -1); }
Tensor Tensor::expand(const Shape& shape) const { return ag::expand(*this, shape); }
Tensor Tensor::flip(const Axes& axes) const { return ag::flip(*this, axes); }
Tensor Tensor::index_select(int axis, const Tensor& indices) const { return ag::index_select(*this, axis, indices); }
Tensor Tensor::gather(int axis, const Tensor& indices) const { return ag::gather(*this, axis, indices); }

// ---- creation -------------------------------------------------------------------------------
namespace {
Tensor filled(const char* op, const Shape& shape, double value, DType dtype, bool rg) {
  numel(shape, op);
  if (!is_floating(dtype) && !(value == std::trunc(value) && detail::convert(op, scalar(value, f64), dtype).item() == value))
    throw ValueError(fmt::format("{}: value {} does not fit dtype {}", op, value, dtype_name(dtype)));
  return detail::dispatch_all(dtype, [&](auto t) {
    using T = decltype(t);
    return Tensor(xt::xarray<T>(shape, static_cast<T>(value)), rg);
  });
}
}  // namespace

template <class T> Tensor from_data(const T* data, const Shape& shape, bool rg) {
  const std::size_t n = numel(shape, "from_data");
  if (n > 0 && data == nullptr) throw ValueError(fmt::format("from_data: null pointer for shape {}", shape_str(shape)));
  xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
  if (n > 0) std::copy(data, data + n, a.data());
  return Tensor(std::move(a), rg);
}

Tensor from_blob(const void* ptr, const Shape& shape, DType dtype, bool rg) {
  const std::size_t n = numel(shape, "from_blob");
  if (n > 0 && ptr == nullptr)
    throw ValueError(fmt::format("from_blob: null pointer for {} {}", dtype_name(dtype), shape_str(shape)));
  return detail::dispatch_all(dtype, [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    if constexpr (std::is_same_v<T, bool>) {  // any byte other than 0 or 1 is not a valid bool
      const auto* b = static_cast<const unsigned char*>(ptr);
      for (std::size_t i = 0; i < n; ++i) {
        if (b[i] > 1)
          throw ValueError(fmt::format("from_blob: byte {} at index {} is not a bool (0 or 1)", int(b[i]), i));
        a.data()[i] = b[i] != 0;
      }
    } else if (n > 0) {
      std::memcpy(a.data(), ptr, n * sizeof(T));  // unaligned sources are fine
    }
    return Tensor(std::move(a), rg);
  });
}
template <class T> Tensor from_vector(const std::vector<T>& v, const Shape& shape, bool rg) {
  const std::size_t n = numel(shape, "from_vector");
  if (v.size() != n)
    throw ValueError(fmt::format("from_vector: {} values for shape {} ({} elements)", v.size(), shape_str(shape), n));
  if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is packed: no data()
    xt::xarray<bool> a = xt::xarray<bool>::from_shape(shape);
    std::copy(v.begin(), v.end(), a.begin());
    return Tensor(std::move(a), rg);
  } else {
    return from_data(v.data(), shape, rg);
  }
}
#define AG_TENSOR_INSTANTIATE(T)                                                \
  template xt::xarray<T> Tensor::to_xarray<T>() const;                          \
  template std::vector<T> Tensor::to_vector<T>() const;                         \
  template T Tensor::item<T>() const;                                           \
  template Tensor from_data<T>(const T*, const Shape&, bool);                   \
  template Tensor from_vector<T>(const std::vector<T>&, const Shape&, bool);
AG_TENSOR_INSTANTIATE(float)
AG_TENSOR_INSTANTIATE(double)
AG_TENSOR_INSTANTIATE(std::int64_t)
AG_TENSOR_INSTANTIATE(std::int32_t)
AG_TENSOR_INSTANTIATE(std::uint8_t)
AG_TENSOR_INSTANTIATE(bool)
#undef AG_TENSOR_INSTANTIATE

Tensor scalar(double v, DType dtype, bool rg) { return filled("scalar", {}, v, dtype, rg); }
Tensor full(const Shape& shape, double value, DType dtype, bool rg) {
  return filled("full", shape, value, dtype, rg);
}
Tensor zeros(const Shape& shape, DType dtype, bool rg) { return filled("zeros", shape, 0.0, dtype, rg); }
Tensor ones(const Shape& shape, DType dtype, bool rg) { return filled("ones", shape, 1.0, dtype, rg); }

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0.0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    throw ValueError(fmt::format("arange: bad range start={} stop={} step={}", start, stop, step));
  const double n = std::ceil((stop - start) / step);
  // compared as doubles: casting a count beyond size_t's range to size_t is undefined
  if (!(n <= static_cast<double>(std::size_t{1} << 60)))
    throw ValueError(fmt::format("arange: start={} stop={} step={} gives {:g} elements (more than 2^60)",
                                 start, stop, step, n));
  const std::size_t count = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (dtype == bool_) throw DtypeError("arange: dtype bool is not a range type");
  if (!is_floating(dtype) && count > 0)  // both ends must fit (checked before the casts)
    detail::convert("arange", Tensor(xt::xarray<double>({start, start + step * static_cast<double>(count - 1)})), dtype);
  return detail::dispatch_all(dtype, [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> a = xt::xarray<T>::from_shape({count});
    for (std::size_t i = 0; i < count; ++i) a(i) = static_cast<T>(start + step * static_cast<double>(i));
    return Tensor(std::move(a));
  });
}
Tensor arange(double stop, DType dtype) { return arange(0.0, stop, 1.0, dtype); }

Tensor linspace(double start, double stop, std::size_t num, DType dtype) {
  OpScope mark("linspace");
  numel({num}, "linspace");
  return detail::dispatch(dtype, [&](auto t) {  // floating only (DtypeError otherwise)
    using T = decltype(t);
    xt::xarray<T> a = xt::xarray<T>::from_shape({num});
    const double h = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
    for (std::size_t i = 0; i < num; ++i)
      a(i) = static_cast<T>(i + 1 == num && num > 1 ? stop : start + h * static_cast<double>(i));
    return Tensor(std::move(a));
  });
}

Tensor eye(std::size_t n, DType dtype) {
  numel({n, n}, "eye");
  return detail::dispatch_all(dtype, [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> a = xt::xarray<T>(Shape{n, n}, T(0));
    for (std::size_t i = 0; i < n; ++i) a(i, i) = T(1);
    return Tensor(std::move(a));
  });
}

Tensor zeros_like(const Tensor& t, bool rg) { return filled("zeros_like", t.shape(), 0.0, t.dtype(), rg); }
Tensor ones_like(const Tensor& t, bool rg) { return filled("ones_like", t.shape(), 1.0, t.dtype(), rg); }
Tensor full_like(const Tensor& t, double v, bool rg) { return filled("full_like", t.shape(), v, t.dtype(), rg); }

}  // namespace ag
