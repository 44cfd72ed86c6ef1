// Portable convolution backend: im2col + detail::gemm. For one sample the columns are
// [C·kh·kw, L] (L = OH·OW; row (c·kh + i)·kw + j), so group g's rows are one contiguous block and
// each group is one GEMM: y_g [O/G, L] = w_g [O/G, K]·cols_g [K, L], K = (C/G)·kh·kw.
// Small images are batched: the columns of several samples sit side by side ([C·kh·kw, m·L]) so
// one GEMM covers them (fewer, larger BLAS calls); the chunk is sized to keep the buffer small.
// Float32 convolutions go to oneDNN instead (ops/conv_onednn.cpp) when it was built in and the
// backend selection (ag/conv_backend.hpp) allows it.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "ag/blas.hpp"
#include "ag/conv_backend.hpp"
#include "core/internal.hpp"
#include "ops/conv_kernels.hpp"
#include "ops/gemm.hpp"
#ifdef TAPEGRAD_HAVE_ONEDNN
#include "ops/conv_onednn.hpp"
#endif

namespace ag::detail {

namespace {

constexpr std::size_t kColumnBudget = std::size_t{1} << 18;  // elements of one chunk's columns

// Output positions o in [lo, hi) whose tap at input offset `off` (= i·d - p) lands inside [0, n):
// 0 <= o·s + off < n.
struct Span {
  std::size_t lo, hi;
};
Span inside(std::ptrdiff_t off, std::size_t s, std::size_t n, std::size_t out) {
  const auto S = static_cast<std::ptrdiff_t>(s);
  const std::ptrdiff_t lo = off >= 0 ? 0 : (-off + S - 1) / S;
  const std::ptrdiff_t lim = static_cast<std::ptrdiff_t>(n) - off;  // o·s < lim
  const std::ptrdiff_t hi = lim <= 0 ? 0 : (lim - 1) / S + 1;
  const std::size_t h = std::min(static_cast<std::size_t>(hi), out);
  return {std::min(static_cast<std::size_t>(lo), h), h};
}

// cols[r·ld + l] for the nc channels at x ([nc, H, W]): row r = (c·kh + i)·kw + j.
template <class T> void im2col_sample(const T* x, std::size_t nc, const ConvGeometry& g, T* cols, std::size_t ld) {
  const std::size_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  for (std::size_t c = 0; c < nc; ++c) {
    const T* xc = x + c * H * W;
    for (std::size_t i = 0; i < g.kh; ++i) {
      const std::ptrdiff_t offh = static_cast<std::ptrdiff_t>(i * g.dh) - g.ph;
      const Span sh = inside(offh, g.sh, H, OH);
      for (std::size_t j = 0; j < g.kw; ++j) {
        const std::ptrdiff_t offw = static_cast<std::ptrdiff_t>(j * g.dw) - g.pw;
        const Span sw = inside(offw, g.sw, W, OW);
        T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
        for (std::size_t oh = 0; oh < OH; ++oh) {
          T* r = row + oh * OW;
          if (oh < sh.lo || oh >= sh.hi) {
            std::fill(r, r + OW, T(0));
            continue;
          }
          const T* xr = xc + static_cast<std::ptrdiff_t>(oh * g.sh) * static_cast<std::ptrdiff_t>(W) + offh * static_cast<std::ptrdiff_t>(W);
          std::fill(r, r + sw.lo, T(0));
          if (g.sw == 1) {
            std::copy(xr + static_cast<std::ptrdiff_t>(sw.lo) + offw, xr + static_cast<std::ptrdiff_t>(sw.hi) + offw, r + sw.lo);
          } else {
            for (std::size_t ow = sw.lo; ow < sw.hi; ++ow) r[ow] = xr[static_cast<std::ptrdiff_t>(ow * g.sw) + offw];
          }
          std::fill(r + sw.hi, r + OW, T(0));
        }
      }
    }
  }
}

// The adjoint: x ([nc, H, W], already holding values) += the columns added back where they were read.
template <class T> void col2im_sample(const T* cols, std::size_t ld, std::size_t nc, const ConvGeometry& g, T* x) {
  const std::size_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  for (std::size_t c = 0; c < nc; ++c) {
    T* xc = x + c * H * W;
    for (std::size_t i = 0; i < g.kh; ++i) {
      const std::ptrdiff_t offh = static_cast<std::ptrdiff_t>(i * g.dh) - g.ph;
      const Span sh = inside(offh, g.sh, H, OH);
      for (std::size_t j = 0; j < g.kw; ++j) {
        const std::ptrdiff_t offw = static_cast<std::ptrdiff_t>(j * g.dw) - g.pw;
        const Span sw = inside(offw, g.sw, W, OW);
        const T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
        for (std::size_t oh = sh.lo; oh < sh.hi; ++oh) {
          const T* r = row + oh * OW;
          T* xr = xc + static_cast<std::ptrdiff_t>(oh * g.sh) * static_cast<std::ptrdiff_t>(W) + offh * static_cast<std::ptrdiff_t>(W);
          if (g.sw == 1) {
            T* dst = xr + offw;
            for (std::size_t ow = sw.lo; ow < sw.hi; ++ow) dst[ow] += r[ow];
          } else {
            for (std::size_t ow = sw.lo; ow < sw.hi; ++ow) xr[static_cast<std::ptrdiff_t>(ow * g.sw) + offw] += r[ow];
          }
        }
      }
    }
  }
}

int as_int(std::size_t v) { return static_cast<int>(v); }  // the ops checked every size fits

// Samples per chunk: as many as keep the chunk's columns within the budget (at least one).
std::size_t chunk_of(const ConvGeometry& g) {
  const std::size_t per = std::max<std::size_t>(1, g.C * g.kh * g.kw * g.OH * g.OW);
  return std::max<std::size_t>(1, std::min(g.N, kColumnBudget / per));
}

// dst [O, m·L] <- src [m, O, L] (the chunk's gy side by side), and back.
template <class T> void gather_chunk(const T* src, std::size_t m, std::size_t O, std::size_t L, T* dst) {
  for (std::size_t s = 0; s < m; ++s)
    for (std::size_t o = 0; o < O; ++o) std::copy(src + (s * O + o) * L, src + (s * O + o + 1) * L, dst + o * m * L + s * L);
}

template <class T> void forward_t(const T* x, const T* w, const T* b, T* y, const ConvGeometry& g) {
  const std::size_t Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.kh * g.kw, L = g.OH * g.OW, CHW = g.C * g.H * g.W;
  const std::size_t nb = g.pointwise() ? 1 : chunk_of(g);
  std::vector<T> cols(g.pointwise() ? 0 : g.C * g.kh * g.kw * L * nb);
  std::vector<T> tmp(nb > 1 ? g.O * L * nb : 0);
  for (std::size_t n0 = 0; n0 < g.N; n0 += nb) {
    const std::size_t m = std::min(nb, g.N - n0), ld = m * L;
    const T* c = x + n0 * CHW;  // pointwise: the input is its own columns
    if (!g.pointwise()) {
      for (std::size_t s = 0; s < m; ++s) im2col_sample(x + (n0 + s) * CHW, g.C, g, cols.data() + s * L, ld);
      c = cols.data();
    }
    if (nb == 1) {  // straight into y, starting from the bias
      T* yn = y + n0 * g.O * L;
      T beta = T(0);
      if (b) {
        for (std::size_t o = 0; o < g.O; ++o) std::fill(yn + o * L, yn + (o + 1) * L, b[o]);
        beta = T(1);
      }
      for (std::size_t q = 0; q < g.G; ++q)
        gemm(false, false, as_int(Og), as_int(L), as_int(K), w + q * Og * K, as_int(K), c + q * K * L, as_int(L),
             yn + q * Og * L, as_int(L), beta);
      continue;
    }
    for (std::size_t q = 0; q < g.G; ++q)
      gemm(false, false, as_int(Og), as_int(ld), as_int(K), w + q * Og * K, as_int(K), c + q * K * ld, as_int(ld),
           tmp.data() + q * Og * ld, as_int(ld));
    for (std::size_t s = 0; s < m; ++s)
      for (std::size_t o = 0; o < g.O; ++o) {
        const T* src = tmp.data() + o * ld + s * L;
        T* dst = y + ((n0 + s) * g.O + o) * L;
        if (b) {
          const T bo = b[o];
          for (std::size_t l = 0; l < L; ++l) dst[l] = src[l] + bo;
        } else {
          std::copy(src, src + L, dst);
        }
      }
  }
}

// dx[n, c] += b[c] (the bias of a transposed convolution).
template <class T> void add_channel_bias(T* dx, const T* b, const ConvGeometry& g) {
  const std::size_t HW = g.H * g.W;
  for (std::size_t n = 0; n < g.N; ++n)
    for (std::size_t c = 0; c < g.C; ++c) {
      T* p = dx + (n * g.C + c) * HW;
      const T bc = b[c];
      for (std::size_t i = 0; i < HW; ++i) p[i] += bc;
    }
}

template <class T> void input_grad_t(const T* gy, const T* w, const T* b, T* dx, const ConvGeometry& g) {
  const std::size_t Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.kh * g.kw, L = g.OH * g.OW, HW = g.H * g.W,
                    CHW = g.C * HW;
  const bool direct = g.pointwise();  // dcols is dx itself
  const std::size_t nb = direct ? 1 : chunk_of(g);
  std::vector<T> cols(direct ? 0 : g.C * g.kh * g.kw * L * nb);
  std::vector<T> gbuf(nb > 1 ? g.O * L * nb : 0);
  for (std::size_t n0 = 0; n0 < g.N; n0 += nb) {
    const std::size_t m = std::min(nb, g.N - n0), ld = m * L;
    const T* gc = gy + n0 * g.O * L;
    if (m > 1) {
      gather_chunk(gc, m, g.O, L, gbuf.data());
      gc = gbuf.data();
    }
    T* dc = direct ? dx + n0 * CHW : cols.data();
    for (std::size_t q = 0; q < g.G; ++q)  // dcols_q = w_qᵀ·gy_q
      gemm(true, false, as_int(K), as_int(ld), as_int(Og), w + q * Og * K, as_int(K), gc + q * Og * ld, as_int(ld),
           dc + q * K * ld, as_int(ld));
    if (direct) continue;
    for (std::size_t s = 0; s < m; ++s) {
      T* dxn = dx + (n0 + s) * CHW;
      std::fill(dxn, dxn + CHW, T(0));
      col2im_sample(cols.data() + s * L, ld, g.C, g, dxn);
    }
  }
  if (b) add_channel_bias(dx, b, g);
}

template <class T> void weight_grad_t(const T* x, const T* gy, T* dw, const ConvGeometry& g) {
  const std::size_t Cg = g.C / g.G, Og = g.O / g.G, K = Cg * g.kh * g.kw, L = g.OH * g.OW, CHW = g.C * g.H * g.W;
  const std::size_t nb = g.pointwise() ? 1 : chunk_of(g);
  std::vector<T> cols(g.pointwise() ? 0 : g.C * g.kh * g.kw * L * nb);
  std::vector<T> gbuf(nb > 1 ? g.O * L * nb : 0);
  std::fill(dw, dw + g.O * K, T(0));
  for (std::size_t n0 = 0; n0 < g.N; n0 += nb) {
    const std::size_t m = std::min(nb, g.N - n0), ld = m * L;
    const T* c = x + n0 * CHW;
    if (!g.pointwise()) {
      for (std::size_t s = 0; s < m; ++s) im2col_sample(x + (n0 + s) * CHW, g.C, g, cols.data() + s * L, ld);
      c = cols.data();
    }
    const T* gc = gy + n0 * g.O * L;
    if (m > 1) {
      gather_chunk(gc, m, g.O, L, gbuf.data());
      gc = gbuf.data();
    }
    for (std::size_t q = 0; q < g.G; ++q)  // dw_q += gy_q·cols_qᵀ
      gemm(false, true, as_int(Og), as_int(K), as_int(ld), gc + q * Og * ld, as_int(ld), c + q * K * ld, as_int(ld),
           dw + q * Og * K, as_int(K), T(1));
  }
}

// ---- backend selection ---------------------------------------------------------------------------

constexpr bool kHaveOnednn =
#ifdef TAPEGRAD_HAVE_ONEDNN
    true;
#else
    false;
#endif

// TAPEGRAD_CONV_BACKEND, read once; an unknown or unavailable value is reported and ignored.
ConvBackend backend_from_env() {
  const char* v = std::getenv("TAPEGRAD_CONV_BACKEND");
  if (v == nullptr || *v == '\0') return ConvBackend::automatic;
  const std::string s = v;
  if (s == "automatic") return ConvBackend::automatic;
  if (s == "portable") return ConvBackend::portable;
  if (s == "onednn" && kHaveOnednn) return ConvBackend::onednn;
  std::fprintf(stderr, "tapegrad: TAPEGRAD_CONV_BACKEND=%s is not %s; using automatic\n", v,
               kHaveOnednn ? "portable, onednn or automatic" : "portable or automatic (built without oneDNN)");
  return ConvBackend::automatic;
}

std::atomic<ConvBackend>& selected() {
  static std::atomic<ConvBackend> b{backend_from_env()};
  return b;
}

thread_local ConvKernelCounts counts;

// Whether this float32 convolution should try oneDNN (which may still decline a geometry).
template <class T> bool use_onednn() {
  if constexpr (!std::is_same_v<T, float> || !kHaveOnednn) return false;
  else return selected().load(std::memory_order_relaxed) != ConvBackend::portable;
}

}  // namespace

Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g) {
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor y = empty_tensor<T>(g.y_shape);
    if (y.numel() == 0) return y;
#ifdef TAPEGRAD_HAVE_ONEDNN
    if constexpr (std::is_same_v<T, float>)
      if (use_onednn<T>() && onednn_conv_forward(data<T>(x), data<T>(w), b.defined() ? data<T>(b) : nullptr, data<T>(y), g))
        return ++counts.onednn, y;
#endif
    ++counts.portable;
    forward_t<T>(data<T>(x), data<T>(w), b.defined() ? data<T>(b) : nullptr, data<T>(y), g);
    return y;
  });
}

Tensor conv_input_grad(const Tensor& gy, const Tensor& w, const Tensor& b, const ConvGeometry& g) {
  return dispatch(gy.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor dx = empty_tensor<T>(g.x_shape);
    if (dx.numel() == 0) return dx;
#ifdef TAPEGRAD_HAVE_ONEDNN
    if constexpr (std::is_same_v<T, float>)
      if (use_onednn<T>() && onednn_conv_input_grad(data<T>(gy), data<T>(w), data<T>(dx), g)) {
        if (b.defined()) add_channel_bias(data<T>(dx), data<T>(b), g);
        return ++counts.onednn, dx;
      }
#endif
    ++counts.portable;
    input_grad_t<T>(data<T>(gy), data<T>(w), b.defined() ? data<T>(b) : nullptr, data<T>(dx), g);
    return dx;
  });
}

Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const ConvGeometry& g) {
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor dw = empty_tensor<T>(g.w_shape);
    if (dw.numel() == 0) return dw;
#ifdef TAPEGRAD_HAVE_ONEDNN
    if constexpr (std::is_same_v<T, float>)
      if (use_onednn<T>() && onednn_conv_weight_grad(data<T>(x), data<T>(gy), data<T>(dw), g)) return ++counts.onednn, dw;
#endif
    ++counts.portable;
    weight_grad_t<T>(data<T>(x), data<T>(gy), data<T>(dw), g);
    return dw;
  });
}

Tensor im2col(const Tensor& x, const ConvGeometry& g) {
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor y = empty_tensor<T>(g.y_shape);
    const std::size_t L = g.OH * g.OW, rows = g.C * g.kh * g.kw, CHW = g.C * g.H * g.W;
    const T* px = data<T>(x);
    T* py = data<T>(y);
    for (std::size_t n = 0; n < g.N; ++n) im2col_sample(px + n * CHW, g.C, g, py + n * rows * L, L);
    return y;
  });
}

Tensor col2im(const Tensor& cols, const ConvGeometry& g) {
  return dispatch(cols.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor x = empty_tensor<T>(g.x_shape);
    const std::size_t L = g.OH * g.OW, rows = g.C * g.kh * g.kw, CHW = g.C * g.H * g.W;
    const T* pc = data<T>(cols);
    T* px = data<T>(x);
    std::fill(px, px + g.N * CHW, T(0));
    for (std::size_t n = 0; n < g.N; ++n) col2im_sample(pc + n * rows * L, L, g.C, g, px + n * CHW);
    return x;
  });
}

}  // namespace ag::detail

namespace ag {

void set_conv_backend(ConvBackend backend) {
  if (!conv_backend_available(backend))
    throw ValueError("set_conv_backend: oneDNN is not available (tapegrad was built without it: "
                     "TAPEGRAD_WITH_ONEDNN=OFF or libdnnl not found)");
  detail::selected().store(backend);
}

ConvBackend conv_backend() { return detail::selected().load(); }

ConvKernelCounts conv_kernel_counts() { return detail::counts; }

bool conv_backend_available(ConvBackend backend) { return backend != ConvBackend::onednn || detail::kHaveOnednn; }

std::string conv_backend_info() {
#ifdef TAPEGRAD_HAVE_ONEDNN
  if (conv_backend() != ConvBackend::portable) return detail::onednn_info();
#endif
  return "portable (im2col + " + blas_info() + ")";
}

}  // namespace ag
