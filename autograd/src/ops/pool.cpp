// Pooling: every op sees x as P = N·C planes of H×W (1-d: H = 1), pooled plane by plane.
// Max pooling saves, per output, the position of its window's maximum in the plane; its VJP is a
// scatter-add of g to those positions and the scatter's VJP is the gather back (both linear, each
// the other's adjoint, both recorded: second order works; the positions are constants).
// Average and adaptive average pooling are one linear map, a mean over separable windows (a row
// range × a column range per output, each with its divisor); its adjoint spreads g/divisor over
// the window, and the two are each other's VJP.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

#include "ops/kernels.hpp"

namespace ag {

namespace {

template <std::size_t D> std::string ints_str(const Ints<D>& v) {
  return D == 1 ? fmt::format("{}", v[0]) : fmt::format("({})", fmt::join(v.v, ", "));
}

// P planes of H×W in, P planes of OH×OW out; the tensors' own shapes for the results.
struct Planes {
  std::size_t P = 1, H = 1, W = 1, OH = 1, OW = 1;
  Shape x_shape, y_shape;
};

// The planes of x for a D-d pool (x: D+1 or D+2 dims); out = the output's spatial sizes.
template <std::size_t D> Planes planes_of(const char* op, const Tensor& x, const std::array<std::size_t, D>& out) {
  const Shape xs = x.shape();
  Planes p;
  p.x_shape = xs;
  p.y_shape = Shape(xs.begin(), xs.end() - D);
  for (std::size_t a = 0; a < D; ++a) p.y_shape.push_back(out[a]);
  p.P = detail::prod(xs, 0, xs.size() - D);
  p.H = D == 2 ? xs[xs.size() - 2] : 1;
  p.W = xs.back();
  p.OH = D == 2 ? out[0] : 1;
  p.OW = out[D - 1];
  numel(p.y_shape, op);
  return p;
}

template <std::size_t D> void check_rank(const char* op, const Tensor& x) {
  require_defined(op, x, "input");
  if (x.dim() != D + 1 && x.dim() != D + 2)
    throw ShapeError(fmt::format("{}: input must be {}, got {}", op,
                                 D == 2 ? "[N, C, H, W] or [C, H, W]" : "[N, C, L] or [C, L]", shape_str(x.shape())));
  detail::dispatch(x.dtype(), [](auto) { return 0; });  // floating dtypes only (DtypeError naming op)
}

// Per axis of a sliding-window pool: kernel, stride, padding, dilation; the window count.
struct Slide {
  std::size_t n, k, s, p, d;
};

template <std::size_t D>
std::array<Slide, D> slides_of(const char* op, const Tensor& x, const Ints<D>& k, const Ints<D>& s, const Ints<D>& p,
                               const Ints<D>& d, std::array<std::size_t, D>& out) {
  const Shape xs = x.shape();
  const std::string args = fmt::format("input {}, kernel_size {}, stride {}, padding {}", shape_str(xs), ints_str(k),
                                       ints_str(s), ints_str(p));
  std::array<Slide, D> sl;
  for (std::size_t a = 0; a < D; ++a) {
    if (k[a] < 1) throw ValueError(fmt::format("{}: kernel_size must be >= 1 ({})", op, args));
    if (s[a] < 1) throw ValueError(fmt::format("{}: stride must be >= 1 ({})", op, args));
    if (d[a] < 1) throw ValueError(fmt::format("{}: dilation must be >= 1, got {} ({})", op, ints_str(d), args));
    if (p[a] < 0 || 2 * p[a] > k[a])
      throw ValueError(fmt::format("{}: padding must be between 0 and half the kernel size ({})", op, args));
    const std::size_t n = xs[xs.size() - D + a];
    sl[a] = Slide{n, std::size_t(k[a]), std::size_t(s[a]), std::size_t(p[a]), std::size_t(d[a])};
    const std::size_t span = sl[a].d * (sl[a].k - 1) + 1;
    if (span > n + 2 * sl[a].p)
      throw ShapeError(fmt::format("{}: the window (spanning {}) is larger than the padded input ({}) ({})", op, span,
                                   n + 2 * sl[a].p, args));
    out[a] = (n + 2 * sl[a].p - span) / sl[a].s + 1;
  }
  return sl;
}

// ---- max pooling ---------------------------------------------------------------------------------------
struct MaxGeo {
  Planes pl;
  std::size_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  const char* name = "max_pool2d";
};
using Positions = std::shared_ptr<const std::vector<std::int32_t>>;  // per output, in its plane; -1: none
using MaxShared = std::shared_ptr<const MaxGeo>;

template <class T> void max_forward(const T* x, T* y, std::int32_t* at, const MaxGeo& g) {
  const Planes& p = g.pl;
  const auto H = static_cast<std::ptrdiff_t>(p.H), W = static_cast<std::ptrdiff_t>(p.W);
  if (g.ph == 0 && g.pw == 0) {
    // No padding: every window lies inside the plane (the output size guarantees it), so no bounds
    // checks. Same rule as below: the first maximum wins, and the first NaN wins and stays.
    const bool two_by_two = g.kh == 2 && g.kw == 2 && g.dh == 1 && g.dw == 1;
    for (std::size_t q = 0; q < p.P; ++q) {
      const T* xp = x + q * p.H * p.W;
      for (std::size_t oh = 0; oh < p.OH; ++oh)
        for (std::size_t ow = 0; ow < p.OW; ++ow) {
          const std::size_t first = oh * g.sh * p.W + ow * g.sw;
          T best = xp[first];
          std::size_t arg = first;
          if (two_by_two) {  // the common 2×2 window, unrolled
            const std::size_t k1 = first + 1, k2 = first + p.W, k3 = first + p.W + 1;
            const T v1 = xp[k1], v2 = xp[k2], v3 = xp[k3];
            // without a NaN after the first value, "larger" alone decides (conditional moves, no
            // branches to mispredict on random data); otherwise the careful loop below
            if (!((v1 != v1) | (v2 != v2) | (v3 != v3))) {
              // the index by a mask, so that the compiler cannot turn it into a branch
              auto take = [&](T v, std::size_t k) {
                const std::size_t m = std::size_t{0} - static_cast<std::size_t>(v > best);
                arg = (k & m) | (arg & ~m);
                best = v > best ? v : best;
              };
              take(v1, k1);
              take(v2, k2);
              take(v3, k3);
              const std::size_t o = (q * p.OH + oh) * p.OW + ow;
              y[o] = best;
              at[o] = static_cast<std::int32_t>(arg);
              continue;
            }
          }
          // branch-free (random data mispredicts a comparison half the time): take v when it is
          // larger, or when it is the first NaN
          for (std::size_t i = 0; i < g.kh; ++i)
            for (std::size_t j = 0; j < g.kw; ++j) {
              const std::size_t k = first + i * g.dh * p.W + j * g.dw;
              const T v = xp[k];
              const bool take = (v > best) | ((v != v) & (best == best));
              best = take ? v : best;
              arg = take ? k : arg;
            }
          const std::size_t o = (q * p.OH + oh) * p.OW + ow;
          y[o] = best;
          at[o] = static_cast<std::int32_t>(arg);
        }
    }
    return;
  }
  for (std::size_t q = 0; q < p.P; ++q) {
    const T* xp = x + q * p.H * p.W;
    for (std::size_t oh = 0; oh < p.OH; ++oh)
      for (std::size_t ow = 0; ow < p.OW; ++ow) {
        T best = -std::numeric_limits<T>::infinity();
        std::int32_t arg = -1;
        for (std::size_t i = 0; i < g.kh; ++i) {
          const std::ptrdiff_t ih = static_cast<std::ptrdiff_t>(oh * g.sh + i * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
          if (ih < 0 || ih >= H) continue;
          for (std::size_t j = 0; j < g.kw; ++j) {
            const std::ptrdiff_t iw = static_cast<std::ptrdiff_t>(ow * g.sw + j * g.dw) - static_cast<std::ptrdiff_t>(g.pw);
            if (iw < 0 || iw >= W) continue;
            const T v = xp[ih * W + iw];
            // the first maximum wins; a NaN wins over numbers and the first NaN stays
            if (arg < 0 || (!std::isnan(best) && (v > best || std::isnan(v)))) {
              best = v;
              arg = static_cast<std::int32_t>(ih * W + iw);
            }
          }
        }
        const std::size_t o = (q * p.OH + oh) * p.OW + ow;
        y[o] = best;
        at[o] = arg;
      }
  }
}

Tensor max_gather(const Tensor& u, const Positions& at, const MaxShared& g);

// dx [x_shape]: g's values added at their windows' argmax positions.
Tensor max_scatter(const Tensor& gy, const Positions& at, const MaxShared& g) {
  OpScope mark(g->name);
  Tensor dx = detail::dispatch(gy.dtype(), [&](auto t) {
    using T = decltype(t);
    const Planes& p = g->pl;
    Tensor r = detail::empty_tensor<T>(p.x_shape);
    T* pr = detail::data<T>(r);
    const T* pg = detail::data<T>(gy);
    const std::size_t HW = p.H * p.W, L = p.OH * p.OW;
    std::fill(pr, pr + p.P * HW, T(0));
    const std::int32_t* pa = at->data();
    for (std::size_t q = 0; q < p.P; ++q)
      for (std::size_t o = 0; o < L; ++o)
        if (pa[q * L + o] >= 0) pr[q * HW + static_cast<std::size_t>(pa[q * L + o])] += pg[q * L + o];
    return r;
  });
  return record(g->name, {gy}, std::move(dx), [at, g](const VjpContext&, const Tensor& u) -> Grads {
    return {max_gather(u, at, g)};
  });
}

// y [y_shape]: u read at each output's argmax position (0 where a window had none).
Tensor max_gather(const Tensor& u, const Positions& at, const MaxShared& g) {
  OpScope mark(g->name);
  Tensor y = detail::dispatch(u.dtype(), [&](auto t) {
    using T = decltype(t);
    const Planes& p = g->pl;
    Tensor r = detail::empty_tensor<T>(p.y_shape);
    T* pr = detail::data<T>(r);
    const T* pu = detail::data<T>(u);
    const std::size_t HW = p.H * p.W, L = p.OH * p.OW;
    const std::int32_t* pa = at->data();
    for (std::size_t q = 0; q < p.P; ++q)
      for (std::size_t o = 0; o < L; ++o)
        pr[q * L + o] = pa[q * L + o] >= 0 ? pu[q * HW + static_cast<std::size_t>(pa[q * L + o])] : T(0);
    return r;
  });
  return record(g->name, {u}, std::move(y), [at, g](const VjpContext&, const Tensor& v) -> Grads {
    return {max_scatter(v, at, g)};
  });
}

template <std::size_t D> Tensor max_pool_nd(const char* op, const Tensor& x, const MaxPoolOptions<D>& o) {
  OpScope mark(op);
  check_rank<D>(op, x);
  std::array<std::size_t, D> out{};
  const auto sl = slides_of<D>(op, x, o.kernel_size(), o.stride(), o.padding(), o.dilation(), out);
  auto g = std::make_shared<MaxGeo>();
  g->pl = planes_of<D>(op, x, out);
  g->name = op;
  if (g->pl.H * g->pl.W > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    throw ShapeError(fmt::format("{}: a plane of {} values is too large ({})", op, g->pl.H * g->pl.W, shape_str(x.shape())));
  const Slide& w = sl[D - 1];
  g->kw = w.k, g->sw = w.s, g->pw = w.p, g->dw = w.d;
  if (D == 2) g->kh = sl[0].k, g->sh = sl[0].s, g->ph = sl[0].p, g->dh = sl[0].d;
  auto at = std::make_shared<std::vector<std::int32_t>>(g->pl.P * g->pl.OH * g->pl.OW);
  Tensor y = detail::dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(g->pl.y_shape);
    max_forward<T>(detail::data<T>(x), detail::data<T>(r), at->data(), *g);
    return r;
  });
  return record(op, {x}, std::move(y), [at = Positions(at), g = MaxShared(g)](const VjpContext&, const Tensor& gy) -> Grads {
    return {max_scatter(gy, at, g)};
  });
}

// ---- average pooling (sliding and adaptive) -------------------------------------------------------------
// One window along an axis: inputs [begin, end), and this axis' factor of the divisor.
struct Window {
  std::size_t begin, end;
  double count;
};
struct MeanGeo {
  Planes pl;
  std::vector<Window> rows, cols;  // OH and OW windows
  const char* name;
};
using MeanShared = std::shared_ptr<const MeanGeo>;

Tensor window_spread(const Tensor& gy, const MeanShared& g);

// y[q, oh, ow] = Σ_{rows[oh] × cols[ow]} x[q] / (rows[oh].count·cols[ow].count), summed in double.
Tensor window_mean(const Tensor& x, const MeanShared& g) {
  OpScope mark(g->name);
  Tensor y = detail::dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const Planes& p = g->pl;
    Tensor r = detail::empty_tensor<T>(p.y_shape);
    T* pr = detail::data<T>(r);
    const T* px = detail::data<T>(x);
    for (std::size_t q = 0; q < p.P; ++q) {
      const T* xp = px + q * p.H * p.W;
      for (std::size_t oh = 0; oh < p.OH; ++oh) {
        const Window& wr = g->rows[oh];
        for (std::size_t ow = 0; ow < p.OW; ++ow) {
          const Window& wc = g->cols[ow];
          double acc = 0;
          for (std::size_t h = wr.begin; h < wr.end; ++h)
            for (std::size_t w = wc.begin; w < wc.end; ++w) acc += xp[h * p.W + w];
          const double div = wr.count * wc.count;
          pr[(q * p.OH + oh) * p.OW + ow] = static_cast<T>(div > 0 ? acc / div : 0.0);
        }
      }
    }
    return r;
  });
  return record(g->name, {x}, std::move(y), [g](const VjpContext&, const Tensor& gy) -> Grads { return {window_spread(gy, g)}; });
}

// The adjoint: dx[q, h, w] = Σ over the windows holding (h, w) of g / divisor.
Tensor window_spread(const Tensor& gy, const MeanShared& g) {
  OpScope mark(g->name);
  Tensor dx = detail::dispatch(gy.dtype(), [&](auto t) {
    using T = decltype(t);
    const Planes& p = g->pl;
    Tensor r = detail::empty_tensor<T>(p.x_shape);
    T* pr = detail::data<T>(r);
    const T* pg = detail::data<T>(gy);
    std::fill(pr, pr + p.P * p.H * p.W, T(0));
    for (std::size_t q = 0; q < p.P; ++q) {
      T* dp = pr + q * p.H * p.W;
      for (std::size_t oh = 0; oh < p.OH; ++oh) {
        const Window& wr = g->rows[oh];
        for (std::size_t ow = 0; ow < p.OW; ++ow) {
          const Window& wc = g->cols[ow];
          const double div = wr.count * wc.count;
          const T v = static_cast<T>(div > 0 ? pg[(q * p.OH + oh) * p.OW + ow] / div : 0.0);
          for (std::size_t h = wr.begin; h < wr.end; ++h)
            for (std::size_t w = wc.begin; w < wc.end; ++w) dp[h * p.W + w] += v;
        }
      }
    }
    return r;
  });
  return record(g->name, {gy}, std::move(dx), [g](const VjpContext&, const Tensor& u) -> Grads { return {window_mean(u, g)}; });
}

// Sliding windows o·s - p .. o·s - p + k - 1, clipped to [0, n); divisor factor k or the clipped count.
std::vector<Window> sliding(const Slide& sl, std::size_t out, bool include_pad) {
  std::vector<Window> w(out);
  for (std::size_t o = 0; o < out; ++o) {
    const std::ptrdiff_t b = static_cast<std::ptrdiff_t>(o * sl.s) - static_cast<std::ptrdiff_t>(sl.p);
    const std::ptrdiff_t e = b + static_cast<std::ptrdiff_t>(sl.k);
    const std::size_t cb = static_cast<std::size_t>(std::max<std::ptrdiff_t>(b, 0));
    const std::size_t ce = std::min(static_cast<std::size_t>(std::max<std::ptrdiff_t>(e, 0)), sl.n);
    w[o] = Window{cb, std::max(cb, ce), include_pad ? double(sl.k) : double(ce > cb ? ce - cb : 0)};
  }
  return w;
}

// Adaptive windows floor(o·n/out) .. ceil((o+1)·n/out).
std::vector<Window> adaptive(std::size_t n, std::size_t out) {
  std::vector<Window> w(out);
  for (std::size_t o = 0; o < out; ++o) {
    const std::size_t b = o * n / out, e = ((o + 1) * n + out - 1) / out;
    w[o] = Window{b, e, double(e - b)};
  }
  return w;
}

template <std::size_t D> Tensor avg_pool_nd(const char* op, const Tensor& x, const AvgPoolOptions<D>& o) {
  OpScope mark(op);
  check_rank<D>(op, x);
  std::array<std::size_t, D> out{};
  const auto sl = slides_of<D>(op, x, o.kernel_size(), o.stride(), o.padding(), Ints<D>(1), out);
  auto g = std::make_shared<MeanGeo>();
  g->pl = planes_of<D>(op, x, out);
  g->name = op;
  g->cols = sliding(sl[D - 1], out[D - 1], o.count_include_pad());
  g->rows = D == 2 ? sliding(sl[0], out[0], o.count_include_pad()) : std::vector<Window>{Window{0, 1, 1.0}};
  return window_mean(x, g);
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options) { return max_pool_nd<2>("max_pool2d", x, options); }
Tensor max_pool2d(const Tensor& x, Ints<2> kernel_size) { return max_pool2d(x, MaxPool2dOptions(kernel_size)); }
Tensor max_pool2d(const Tensor& x, Ints<2> kernel_size, Ints<2> stride, Ints<2> padding, Ints<2> dilation) {
  return max_pool2d(x, MaxPool2dOptions(kernel_size).stride(stride).padding(padding).dilation(dilation));
}
Tensor max_pool1d(const Tensor& x, const MaxPool1dOptions& options) { return max_pool_nd<1>("max_pool1d", x, options); }
Tensor max_pool1d(const Tensor& x, Ints<1> kernel_size) { return max_pool1d(x, MaxPool1dOptions(kernel_size)); }
Tensor max_pool1d(const Tensor& x, Ints<1> kernel_size, Ints<1> stride, Ints<1> padding, Ints<1> dilation) {
  return max_pool1d(x, MaxPool1dOptions(kernel_size).stride(stride).padding(padding).dilation(dilation));
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options) { return avg_pool_nd<2>("avg_pool2d", x, options); }
Tensor avg_pool2d(const Tensor& x, Ints<2> kernel_size) { return avg_pool2d(x, AvgPool2dOptions(kernel_size)); }
Tensor avg_pool2d(const Tensor& x, Ints<2> kernel_size, Ints<2> stride, Ints<2> padding, bool count_include_pad) {
  return avg_pool2d(x, AvgPool2dOptions(kernel_size).stride(stride).padding(padding).count_include_pad(count_include_pad));
}
Tensor avg_pool1d(const Tensor& x, const AvgPool1dOptions& options) { return avg_pool_nd<1>("avg_pool1d", x, options); }
Tensor avg_pool1d(const Tensor& x, Ints<1> kernel_size) { return avg_pool1d(x, AvgPool1dOptions(kernel_size)); }
Tensor avg_pool1d(const Tensor& x, Ints<1> kernel_size, Ints<1> stride, Ints<1> padding, bool count_include_pad) {
  return avg_pool1d(x, AvgPool1dOptions(kernel_size).stride(stride).padding(padding).count_include_pad(count_include_pad));
}

Tensor adaptive_avg_pool2d(const Tensor& x, Ints<2> output_size) {
  const char* op = "adaptive_avg_pool2d";
  OpScope mark(op);
  check_rank<2>(op, x);
  const Shape xs = x.shape();
  for (std::size_t a = 0; a < 2; ++a) {
    if (output_size[a] < 1)
      throw ValueError(fmt::format("{}: output_size must be >= 1, got {} (input {})", op, ints_str(output_size), shape_str(xs)));
    if (xs[xs.size() - 2 + a] == 0)
      throw ShapeError(fmt::format("{}: the input has an empty spatial axis ({}), nothing to average", op, shape_str(xs)));
  }
  const std::array<std::size_t, 2> out{std::size_t(output_size[0]), std::size_t(output_size[1])};
  auto g = std::make_shared<MeanGeo>();
  g->pl = planes_of<2>(op, x, out);
  g->name = op;
  g->rows = adaptive(g->pl.H, out[0]);
  g->cols = adaptive(g->pl.W, out[1]);
  return window_mean(x, g);
}

}  // namespace ag
