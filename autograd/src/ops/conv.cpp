// Convolution ops: argument checks, the geometry, and the tape. The values come from the kernels
// of ops/conv_kernels.hpp (the backend seam). A convolution is bilinear, y = A_w x, and three
// recorded ops close under differentiation:
//   forward       y  = conv(x, w) + b          VJP: dx = convᵀ(g, w), dw = wgrad(x, g), db = Σ g
//   input grad    dx = convᵀ(gy, w) (+ b)      VJP: d gy = conv(u, w), dw = wgrad(u, gy), db = Σ u
//   weight grad   dw = wgrad(x, gy)            VJP: dx = convᵀ(gy, v), d gy = conv(x, v)
// (from ⟨u, convᵀ(gy, w)⟩ = ⟨conv(u, w), gy⟩ = ⟨wgrad(u, gy), w⟩), so derivatives of every order
// work. conv1d is conv2d with H = 1 on the same memory; conv_transpose2d is the input-grad op.
// unfold (im2col) and fold (col2im) are each other's adjoint.
#include <climits>
#include <memory>

#include "ops/conv_kernels.hpp"
#include "ops/kernels.hpp"

namespace ag {

using detail::ConvGeometry;
using Geo = std::shared_ptr<const ConvGeometry>;

namespace {

// ---- messages and checks -------------------------------------------------------------------------
std::string shapes_of(const Tensor& x, const Tensor& w, const Tensor& b) {
  std::string s = fmt::format("input {}, weight {}", shape_str(x.shape()), shape_str(w.shape()));
  if (b.defined()) s += fmt::format(", bias {}", shape_str(b.shape()));
  return s;
}

template <std::size_t D> std::string ints_str(const Ints<D>& v) {
  return D == 1 ? fmt::format("{}", v[0]) : fmt::format("({})", fmt::join(v.v, ", "));
}

template <std::size_t D> void check_positive(const char* op, const char* what, const Ints<D>& v, const std::string& shapes) {
  for (std::size_t a = 0; a < D; ++a)
    if (v[a] < 1) throw ValueError(fmt::format("{}: {} must be >= 1, got {} ({})", op, what, ints_str(v), shapes));
}
template <std::size_t D> void check_nonnegative(const char* op, const char* what, const Ints<D>& v, const std::string& shapes) {
  for (std::size_t a = 0; a < D; ++a)
    if (v[a] < 0) throw ValueError(fmt::format("{}: {} must be >= 0, got {} ({})", op, what, ints_str(v), shapes));
}

// Every size handed to the GEMM must fit its int arguments.
void check_int(const char* op, std::size_t v, const std::string& shapes) {
  if (v > static_cast<std::size_t>(INT_MAX))
    throw ShapeError(fmt::format("{}: a dimension of {} is too large for BLAS ({})", op, v, shapes));
}

// Per spatial axis (H, W; conv1d: only W): size, kernel, stride, dilation, padding before/after.
struct Axis {
  std::size_t n = 1, k = 1, s = 1, d = 1;
  std::ptrdiff_t pb = 0, pe = 0;
  std::size_t span() const { return d * (k - 1) + 1; }  // the dilated kernel's extent
  std::size_t padded() const { return static_cast<std::size_t>(static_cast<std::ptrdiff_t>(n) + pb + pe); }
  std::size_t out() const { return (padded() - span()) / s + 1; }
};

// The geometry from D spatial axes (the last D of x's shape). `ax` holds the axes, H first.
ConvGeometry geometry_of(std::size_t D, const Axis* ax) {
  ConvGeometry g;
  const Axis one;
  const Axis& h = D == 2 ? ax[0] : one;
  const Axis& w = ax[D - 1];
  g.H = h.n, g.kh = h.k, g.sh = h.s, g.dh = h.d, g.ph = h.pb, g.OH = D == 2 ? h.out() : 1;
  g.W = w.n, g.kw = w.k, g.sw = w.s, g.dw = w.d, g.pw = w.pb, g.OW = w.out();
  return g;
}

std::string span_str(std::size_t D, const Axis* ax, std::size_t (Axis::*f)() const) {
  return D == 1 ? fmt::format("{}", (ax[0].*f)()) : fmt::format("{}×{}", (ax[0].*f)(), (ax[1].*f)());
}

void check_kernel_fits(const char* op, std::size_t D, const Axis* ax, const std::string& shapes) {
  for (std::size_t a = 0; a < D; ++a)
    if (ax[a].span() > ax[a].padded())
      throw ShapeError(fmt::format("{}: the kernel (spanning {} with dilation) is larger than the padded input ({}) ({})",
                                   op, span_str(D, ax, &Axis::span), span_str(D, ax, &Axis::padded), shapes));
}

// Axes of t other than the channel axis: what a per-channel bias gradient sums over.
Axes all_but(std::size_t ndim, std::size_t channel) {
  Axes a;
  for (std::size_t d = 0; d < ndim; ++d)
    if (d != channel) a.push_back(static_cast<int>(d));
  return a;
}

// Σ of g over every axis but the channel axis: a plain loop (first order), ag::sum under create_graph.
Tensor channel_sum(const Tensor& g, std::size_t channel, bool create_graph) {
  const Shape s = g.shape();
  if (create_graph) return sum(g, all_but(s.size(), channel));
  return detail::dispatch(g.dtype(), [&](auto t) {
    using T = decltype(t);
    const std::size_t outer = detail::prod(s, 0, channel), C = s[channel], inner = detail::prod(s, channel + 1);
    Tensor r = detail::empty_tensor<T>(Shape{C});
    T* pr = detail::data<T>(r);
    const T* pg = detail::data<T>(g);
    for (std::size_t c = 0; c < C; ++c) {
      double acc = 0;
      for (std::size_t o = 0; o < outer; ++o) {
        const T* p = pg + (o * C + c) * inner;
        for (std::size_t i = 0; i < inner; ++i) acc += p[i];
      }
      pr[c] = static_cast<T>(acc);
    }
    return r;
  });
}

// ---- the three recorded ops ----------------------------------------------------------------------
struct Names {
  const char* forward;
  const char* input;
  const char* weight;
};
Names names_of(std::size_t D) {
  return D == 1 ? Names{"conv1d", "conv_transpose1d", "conv1d_weight"}
                : Names{"conv2d", "conv_transpose2d", "conv2d_weight"};
}
std::size_t spatial_dims(const ConvGeometry& g) { return g.w_shape.size() - 2; }

Tensor conv_rec(const Tensor& x, const Tensor& w, const Tensor& b, const Geo& g);
Tensor conv_input_rec(const Tensor& gy, const Tensor& w, const Tensor& b, const Geo& g);
Tensor conv_weight_rec(const Tensor& x, const Tensor& gy, const Geo& g);

Tensor conv_rec(const Tensor& x, const Tensor& w, const Tensor& b, const Geo& g) {
  const char* name = names_of(spatial_dims(*g)).forward;
  OpScope mark(name);
  Tensor y = detail::conv_forward(x, w, b, *g);
  return record(name, {x, w, b}, std::move(y), [g](const VjpContext& c, const Tensor& gy) -> Grads {
    return {c.needs_grad(0) ? conv_input_rec(gy, c.input(1), Tensor(), g) : Tensor(),
            c.needs_grad(1) ? conv_weight_rec(c.input(0), gy, g) : Tensor(),
            c.needs_grad(2) ? channel_sum(gy, g->channel_axis, c.create_graph()) : Tensor()};
  });
}

Tensor conv_input_rec(const Tensor& gy, const Tensor& w, const Tensor& b, const Geo& g) {
  const char* name = names_of(spatial_dims(*g)).input;
  OpScope mark(name);
  Tensor dx = detail::conv_input_grad(gy, w, b, *g);
  return record(name, {gy, w, b}, std::move(dx), [g](const VjpContext& c, const Tensor& u) -> Grads {
    return {c.needs_grad(0) ? conv_rec(u, c.input(1), Tensor(), g) : Tensor(),
            c.needs_grad(1) ? conv_weight_rec(u, c.input(0), g) : Tensor(),
            c.needs_grad(2) ? channel_sum(u, g->channel_axis, c.create_graph()) : Tensor()};
  });
}

Tensor conv_weight_rec(const Tensor& x, const Tensor& gy, const Geo& g) {
  const char* name = names_of(spatial_dims(*g)).weight;
  OpScope mark(name);
  Tensor dw = detail::conv_weight_grad(x, gy, *g);
  return record(name, {x, gy}, std::move(dw), [g](const VjpContext& c, const Tensor& v) -> Grads {
    return {c.needs_grad(0) ? conv_input_rec(c.input(1), v, Tensor(), g) : Tensor(),
            c.needs_grad(1) ? conv_rec(c.input(0), v, Tensor(), g) : Tensor()};
  });
}

// ---- conv1d / conv2d ---------------------------------------------------------------------------------
template <std::size_t D>
Tensor conv_nd(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions<D>& o) {
  OpScope mark(op);
  require_defined(op, x, "input");
  require_defined(op, w, "weight");
  detail::check_same_dtype(op, x, w);
  if (b.defined()) detail::check_same_dtype(op, x, b);
  const std::string shapes = shapes_of(x, w, b);
  const Shape xs = x.shape(), ws = w.shape();
  const char* layout = D == 2 ? "[N, C, H, W] (or [C, H, W])" : "[N, C, L] (or [C, L])";
  if (xs.size() != D + 2 && xs.size() != D + 1)
    throw ShapeError(fmt::format("{}: input must be {}, got {}-d ({})", op, layout, xs.size(), shapes));
  if (ws.size() != D + 2)
    throw ShapeError(fmt::format("{}: weight must be {}-d [C_out, C_in/groups{}], got {}-d ({})", op, D + 2,
                                 D == 2 ? ", kh, kw" : ", k", ws.size(), shapes));
  check_positive(op, "stride", o.stride(), shapes);
  check_positive(op, "dilation", o.dilation(), shapes);
  const int groups = o.groups();
  if (groups < 1) throw ValueError(fmt::format("{}: groups must be >= 1, got {} ({})", op, groups, shapes));
  const bool batched = xs.size() == D + 2;
  const std::size_t ca = batched ? 1 : 0, C = xs[ca], O = ws[0], Cg = ws[1], G = static_cast<std::size_t>(groups);
  if (C % G != 0)
    throw ShapeError(fmt::format("{}: groups = {} does not divide the {} input channels ({})", op, groups, C, shapes));
  if (O % G != 0)
    throw ShapeError(fmt::format("{}: groups = {} does not divide the {} output channels of the weight ({})", op,
                                 groups, O, shapes));
  if (Cg * G != C)
    throw ShapeError(fmt::format("{}: the input has {} channels but the weight expects {} (= {} per group × {} groups) ({})",
                                 op, C, Cg * G, Cg, groups, shapes));
  if (b.defined() && (b.dim() != 1 || b.shape()[0] != O))
    throw ShapeError(fmt::format("{}: bias must be [{}] (one per output channel) ({})", op, O, shapes));
  // padding per side
  const Padding<D>& pad = o.padding();
  if (pad.mode() == Padding<D>::Mode::unknown)
    throw ValueError(fmt::format("{}: padding \"{}\" is not \"same\" or \"valid\" ({})", op, pad.name(), shapes));
  std::array<Axis, D> ax;
  for (std::size_t a = 0; a < D; ++a) {
    Axis& A = ax[a];
    A.n = xs[xs.size() - D + a];
    A.k = ws[2 + a];
    A.s = static_cast<std::size_t>(o.stride()[a]);
    A.d = static_cast<std::size_t>(o.dilation()[a]);
    if (A.k == 0) throw ShapeError(fmt::format("{}: the kernel has a size-0 axis ({})", op, shapes));
    if (pad.mode() == Padding<D>::Mode::same) {
      if (A.s != 1)
        throw ValueError(fmt::format("{}: padding \"same\" needs stride 1, got stride {} ({})", op, ints_str(o.stride()), shapes));
      const std::size_t total = A.d * (A.k - 1);  // extra row/column at the end, as PyTorch
      A.pb = static_cast<std::ptrdiff_t>(total / 2);
      A.pe = static_cast<std::ptrdiff_t>(total - total / 2);
    } else if (pad.mode() == Padding<D>::Mode::explicit_sides) {
      A.pb = pad.begin_end()[2 * a];
      A.pe = pad.begin_end()[2 * a + 1];
      if (A.pb < 0 || A.pe < 0)
        throw ValueError(fmt::format("{}: padding must be >= 0, got ({}) ({})", op, fmt::join(pad.begin_end(), ", "), shapes));
    }
  }
  check_kernel_fits(op, D, ax.data(), shapes);
  auto g = std::make_shared<ConvGeometry>(geometry_of(D, ax.data()));
  g->N = batched ? xs[0] : 1;
  g->C = C, g->O = O, g->G = G;
  g->x_shape = xs, g->w_shape = ws;
  g->channel_axis = ca;
  g->y_shape = batched ? Shape{xs[0], O} : Shape{O};
  if (D == 2) g->y_shape.push_back(g->OH);
  g->y_shape.push_back(g->OW);
  numel(g->y_shape, op);
  for (std::size_t v : {O, Cg * g->kh * g->kw, g->OH * g->OW, C * g->H * g->W}) check_int(op, v, shapes);
  detail::check_blas_once();
  return conv_rec(x, w, b, g);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& options) {
  return conv_nd<2>("conv2d", x, w, b, options);
}
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Ints<2> stride, Padding<2> padding, Ints<2> dilation,
              int groups) {
  return conv_nd<2>("conv2d", x, w, b, Conv2dOptions().stride(stride).padding(std::move(padding)).dilation(dilation).groups(groups));
}
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv1dOptions& options) {
  return conv_nd<1>("conv1d", x, w, b, options);
}
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, Ints<1> stride, Padding<1> padding, Ints<1> dilation,
              int groups) {
  return conv_nd<1>("conv1d", x, w, b, Conv1dOptions().stride(stride).padding(std::move(padding)).dilation(dilation).groups(groups));
}

// ---- conv_transpose2d ------------------------------------------------------------------------------------
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTranspose2dOptions& o) {
  const char* op = "conv_transpose2d";
  constexpr std::size_t D = 2;
  OpScope mark(op);
  require_defined(op, x, "input");
  require_defined(op, w, "weight");
  detail::check_same_dtype(op, x, w);
  if (b.defined()) detail::check_same_dtype(op, x, b);
  const std::string shapes = shapes_of(x, w, b);
  const Shape xs = x.shape(), ws = w.shape();
  if (xs.size() != 4 && xs.size() != 3)
    throw ShapeError(fmt::format("{}: input must be [N, C, H, W] (or [C, H, W]), got {}-d ({})", op, xs.size(), shapes));
  if (ws.size() != 4)
    throw ShapeError(fmt::format("{}: weight must be 4-d [C_in, C_out/groups, kh, kw], got {}-d ({})", op, ws.size(), shapes));
  check_positive(op, "stride", o.stride(), shapes);
  check_positive(op, "dilation", o.dilation(), shapes);
  check_nonnegative(op, "padding", o.padding(), shapes);
  check_nonnegative(op, "output_padding", o.output_padding(), shapes);
  const int groups = o.groups();
  if (groups < 1) throw ValueError(fmt::format("{}: groups must be >= 1, got {} ({})", op, groups, shapes));
  const bool batched = xs.size() == 4;
  const std::size_t ca = batched ? 1 : 0, Cin = xs[ca], G = static_cast<std::size_t>(groups);
  if (ws[0] != Cin)
    throw ShapeError(fmt::format("{}: the input has {} channels but the weight's first axis is {} ({})", op, Cin, ws[0], shapes));
  if (Cin % G != 0)
    throw ShapeError(fmt::format("{}: groups = {} does not divide the {} input channels ({})", op, groups, Cin, shapes));
  const std::size_t Cout = ws[1] * G;
  if (b.defined() && (b.dim() != 1 || b.shape()[0] != Cout))
    throw ShapeError(fmt::format("{}: bias must be [{}] (one per output channel) ({})", op, Cout, shapes));
  // The conv2d whose input gradient this is: its input is y [.., Cout, OH, OW], its output is x.
  std::array<Axis, D> ax;
  for (std::size_t a = 0; a < D; ++a) {
    Axis& A = ax[a];
    const std::size_t n = xs[xs.size() - D + a];
    A.k = ws[2 + a];
    A.s = static_cast<std::size_t>(o.stride()[a]);
    A.d = static_cast<std::size_t>(o.dilation()[a]);
    A.pb = A.pe = o.padding()[a];
    const int op_pad = o.output_padding()[a];
    if (op_pad >= o.stride()[a] && op_pad >= o.dilation()[a])
      throw ValueError(fmt::format("{}: output_padding {} must be smaller than the stride {} or the dilation {} ({})", op,
                                   ints_str(o.output_padding()), ints_str(o.stride()), ints_str(o.dilation()), shapes));
    if (A.k == 0) throw ShapeError(fmt::format("{}: the kernel has a size-0 axis ({})", op, shapes));
    const std::ptrdiff_t full = (static_cast<std::ptrdiff_t>(n) - 1) * static_cast<std::ptrdiff_t>(A.s) +
                                static_cast<std::ptrdiff_t>(A.d * (A.k - 1)) + op_pad + 1;
    const std::ptrdiff_t out = full - 2 * A.pb;
    if (n == 0 || out < 1)
      throw ShapeError(fmt::format("{}: the output would have size {} along axis {} (padding {} trims more than the "
                                   "transposed input's {}) ({})", op, out, xs.size() - D + a, ints_str(o.padding()), full, shapes));
    A.n = static_cast<std::size_t>(out);
  }
  auto g = std::make_shared<ConvGeometry>(geometry_of(D, ax.data()));
  g->OH = xs[xs.size() - 2], g->OW = xs[xs.size() - 1];  // output_padding: the conv's own count may exceed x's
  g->N = batched ? xs[0] : 1;
  g->C = Cout, g->O = Cin, g->G = G;
  g->y_shape = xs, g->w_shape = ws;
  g->channel_axis = ca;
  g->x_shape = batched ? Shape{xs[0], Cout, g->H, g->W} : Shape{Cout, g->H, g->W};
  numel(g->x_shape, op);
  for (std::size_t v : {Cin, ws[1] * g->kh * g->kw, g->OH * g->OW, Cout * g->H * g->W}) check_int(op, v, shapes);
  detail::check_blas_once();
  return conv_input_rec(x, w, b, g);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, Ints<2> stride, Ints<2> padding,
                        Ints<2> output_padding, int groups, Ints<2> dilation) {
  return conv_transpose2d(
      x, w, b,
      ConvTranspose2dOptions().stride(stride).padding(padding).output_padding(output_padding).groups(groups).dilation(dilation));
}

// ---- unfold / fold ---------------------------------------------------------------------------------------
namespace {

Tensor fold_rec(const Tensor& cols, const Geo& g);

Tensor unfold_rec(const Tensor& x, const Geo& g) {
  OpScope mark("unfold");
  Tensor y = detail::im2col(x, *g);
  return record("unfold", {x}, std::move(y), [g](const VjpContext&, const Tensor& gy) -> Grads { return {fold_rec(gy, g)}; });
}

Tensor fold_rec(const Tensor& cols, const Geo& g) {
  OpScope mark("fold");
  Tensor x = detail::col2im(cols, *g);
  return record("fold", {cols}, std::move(x), [g](const VjpContext&, const Tensor& gx) -> Grads { return {unfold_rec(gx, g)}; });
}

// The geometry of unfold on an image of `image` ([N, C, H, W] or [C, H, W]).
Geo unfold_geometry(const char* op, const Shape& image, const Ints<2>& k, const Ints<2>& d, const Ints<2>& p,
                    const Ints<2>& s, const std::string& shapes) {
  check_positive(op, "kernel_size", k, shapes);
  check_positive(op, "dilation", d, shapes);
  check_nonnegative(op, "padding", p, shapes);
  check_positive(op, "stride", s, shapes);
  std::array<Axis, 2> ax;
  for (std::size_t a = 0; a < 2; ++a)
    ax[a] = Axis{image[image.size() - 2 + a], static_cast<std::size_t>(k[a]), static_cast<std::size_t>(s[a]),
                 static_cast<std::size_t>(d[a]), p[a], p[a]};
  check_kernel_fits(op, 2, ax.data(), shapes);
  auto g = std::make_shared<ConvGeometry>(geometry_of(2, ax.data()));
  const bool batched = image.size() == 4;
  g->N = batched ? image[0] : 1;
  g->C = image[image.size() - 3];
  g->x_shape = image;
  g->channel_axis = batched ? 1 : 0;
  const std::size_t rows = g->C * g->kh * g->kw, L = g->OH * g->OW;
  g->y_shape = batched ? Shape{g->N, rows, L} : Shape{rows, L};
  numel(g->y_shape, op);
  return g;
}

}  // namespace

Tensor unfold(const Tensor& x, Ints<2> kernel_size, Ints<2> dilation, Ints<2> padding, Ints<2> stride) {
  const char* op = "unfold";
  OpScope mark(op);
  require_defined(op, x, "input");
  const Shape xs = x.shape();
  const std::string shapes = fmt::format("input {}", shape_str(xs));
  if (xs.size() != 4 && xs.size() != 3)
    throw ShapeError(fmt::format("{}: input must be [N, C, H, W] (or [C, H, W]), got {}", op, shape_str(xs)));
  detail::dispatch(x.dtype(), [](auto) { return 0; });  // floating dtypes only
  return unfold_rec(x, unfold_geometry(op, xs, kernel_size, dilation, padding, stride, shapes));
}

Tensor fold(const Tensor& cols, Ints<2> output_size, Ints<2> kernel_size, Ints<2> dilation, Ints<2> padding,
            Ints<2> stride) {
  const char* op = "fold";
  OpScope mark(op);
  require_defined(op, cols, "input");
  const Shape cs = cols.shape();
  const std::string shapes = fmt::format("input {}, output_size {}", shape_str(cs), ints_str(output_size));
  if (cs.size() != 3 && cs.size() != 2)
    throw ShapeError(fmt::format("{}: input must be [N, C·kh·kw, L] (or [C·kh·kw, L]), got {}", op, shape_str(cs)));
  check_positive(op, "kernel_size", kernel_size, shapes);
  check_nonnegative(op, "output_size", output_size, shapes);
  detail::dispatch(cols.dtype(), [](auto) { return 0; });
  const std::size_t k2 = static_cast<std::size_t>(kernel_size[0]) * static_cast<std::size_t>(kernel_size[1]);
  const std::size_t rows = cs[cs.size() - 2];
  if (rows % k2 != 0)
    throw ShapeError(fmt::format("{}: the {} rows are not a multiple of the kernel's {} positions (kernel_size {}; {})", op,
                                 rows, k2, ints_str(kernel_size), shapes));
  Shape image = cs.size() == 3 ? Shape{cs[0], rows / k2} : Shape{rows / k2};
  image.push_back(static_cast<std::size_t>(output_size[0]));
  image.push_back(static_cast<std::size_t>(output_size[1]));
  Geo g = unfold_geometry(op, image, kernel_size, dilation, padding, stride, shapes);
  const std::size_t L = g->OH * g->OW;
  if (cs.back() != L)
    throw ShapeError(fmt::format("{}: the input has {} columns but output_size {} gives {} blocks ({}×{}) ({})", op, cs.back(),
                                 ints_str(output_size), L, g->OH, g->OW, shapes));
  return fold_rec(cols, g);
}

}  // namespace ag
