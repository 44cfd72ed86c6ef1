// Fused LSTM and GRU gate ops. Forward: one loop over [B, H] computing every gate of a step.
// VJP: one loop that recomputes the gates from the saved inputs (cheaper than keeping them) for a
// first-order backward; the same formulas in ag ops under create_graph.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/fast_exp.hpp"
#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::exp_f;

namespace {

template <class T> T sig(T v) {
  if constexpr (std::is_same_v<T, float>)
    return 1.0f / (1.0f + exp_f(-v));
  else
    return T(1) / (T(1) + std::exp(-v));
}

// tanh in the gate loops. float: tanh|v| = (1 - e^{-2|v|}) / (1 + e^{-2|v|}) from exp_f, and the
// odd Taylor series to v¹¹ below |v| < 1/4, where 1 - e^{-2|v|} would cancel (truncation < 1e-10
// relative there); within 3 ulps. (glibc's tanhf goes through expm1f: a third of an LSTM
// training step.) double: std::tanh (gradcheck runs in double).
template <class T> T tanh_(T v) {
  if constexpr (std::is_same_v<T, float>) {
    const float a = std::fabs(v), s = v * v;
    const float small =
        v * (1.0f + s * (-1.0f / 3 + s * (2.0f / 15 + s * (-17.0f / 315 + s * (62.0f / 2835 + s * (-1382.0f / 155925))))));
    const float e = exp_f(-2.0f * a);
    const float big = std::copysign((1.0f - e) / (1.0f + e), v);
    return a < 0.25f ? small : big;
  } else {
    return std::tanh(v);
  }
}

// [B, k·H] and [B, H] of one dtype; returns H.
std::size_t check_gates(const char* op, const Tensor& gates, std::size_t k, const Tensor& state, const char* name,
                        const Tensor* gh = nullptr) {
  require_defined(op, gates, "the gates");
  require_defined(op, state, name);
  if (gh) require_defined(op, *gh, "gh");
  const bool ranks = gates.dim() == 2 && state.dim() == 2 && (!gh || gh->dim() == 2);
  const std::size_t H = ranks ? state.size(1) : 0;
  if (!ranks || gates.size(1) != k * H || gates.size(0) != state.size(0) || (gh && gh->shape() != gates.shape()))
    throw ShapeError(fmt::format("{}: gates {}{}{} and {} {} do not fit: expected [B, {}·H] and [B, H]", op,
                                 shape_str(gates.shape()), gh ? " and gh " : "", gh ? shape_str(gh->shape()) : "",
                                 name, shape_str(state.shape()), k));
  if (gates.dtype() != state.dtype() || (gh && gh->dtype() != gates.dtype()))
    throw DtypeError(fmt::format("{}: gates are {} but {} is {}{}", op, dtype_name(gates.dtype()), name,
                                 dtype_name(state.dtype()), gh ? fmt::format(" and gh {}", dtype_name(gh->dtype())) : ""));
  return H;
}

// One row of the LSTM gate math: a [4H] pre-activations, c [H] -> y [2H] = [h' | c'].
template <class T>
void lstm_forward_row(const T* __restrict a, const T* __restrict c, T* __restrict y, std::size_t H) {
  for (std::size_t j = 0; j < H; ++j) {
    const T c2 = sig(a[H + j]) * c[j] + sig(a[j]) * tanh_(a[2 * H + j]);
    y[j] = sig(a[3 * H + j]) * tanh_(c2);
    y[H + j] = c2;
  }
}

// Its VJP for one row: g [2H] = [g_h | g_c] -> da [4H], dc [H] (the gates recomputed from a and c).
template <class T>
void lstm_backward_row(const T* __restrict a, const T* __restrict c, const T* __restrict g, T* __restrict da,
                       T* __restrict dc, std::size_t H) {
  for (std::size_t j = 0; j < H; ++j) {
    const T i = sig(a[j]), f = sig(a[H + j]), gg = tanh_(a[2 * H + j]), o = sig(a[3 * H + j]);
    const T tc = tanh_(f * c[j] + i * gg);
    const T dc2 = g[H + j] + g[j] * o * (T(1) - tc * tc);
    da[j] = dc2 * gg * i * (T(1) - i);
    da[H + j] = dc2 * c[j] * f * (T(1) - f);
    da[2 * H + j] = dc2 * i * (T(1) - gg * gg);
    da[3 * H + j] = g[j] * tc * o * (T(1) - o);
    dc[j] = dc2 * f;
  }
}

std::vector<Tensor> split4(const Tensor& a, std::size_t parts) { return split(a, parts, -1); }

}  // namespace

Tensor lstm_gates(const Tensor& gates, const Tensor& c) {
  OpScope mark("lstm_gates");
  const std::size_t H = check_gates("lstm_gates", gates, 4, c, "c");
  const std::size_t B = gates.size(0);
  Tensor out = dispatch(gates.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor y = detail::empty_tensor<T>(Shape{B, 2 * H});
    const T* a = detail::data<T>(gates);
    const T* pc = detail::data<T>(c);
    T* py = detail::data<T>(y);
    for (std::size_t b = 0; b < B; ++b, a += 4 * H, pc += H, py += 2 * H) lstm_forward_row(a, pc, py, H);
    return y;
  });
  return record("lstm_gates", {gates, c}, std::move(out), [H](const VjpContext& ctx, const Tensor& g) -> Grads {
    const Tensor& a = ctx.input(0);
    const Tensor& c = ctx.input(1);
    if (ctx.create_graph()) {
      const std::vector<Tensor> p = split4(a, 4), gs = split4(g, 2);  // a_i a_f a_g a_o; g_h g_c
      const Tensor i = sigmoid(p[0]), f = sigmoid(p[1]), gg = tanh(p[2]), o = sigmoid(p[3]);
      const Tensor tc = tanh(f * c + i * gg);
      const Tensor dc2 = gs[1] + gs[0] * o * (1.0 - tc * tc);  // through h' = o·tanh(c') and c' itself
      const Tensor da = concat({dc2 * gg * i * (1.0 - i), dc2 * c * f * (1.0 - f), dc2 * i * (1.0 - gg * gg),
                                gs[0] * tc * o * (1.0 - o)},
                               1);
      return {da, dc2 * f};
    }
    return dispatch(g.dtype(), [&](auto t) -> Grads {
      using T = decltype(t);
      const std::size_t B = a.size(0);
      Tensor da = detail::empty_tensor<T>(Shape{B, 4 * H}), dc = detail::empty_tensor<T>(Shape{B, H});
      const T* pa = detail::data<T>(a);
      const T* pc = detail::data<T>(c);
      const T* pg = detail::data<T>(g);
      T* pda = detail::data<T>(da);
      T* pdc = detail::data<T>(dc);
      for (std::size_t b = 0; b < B; ++b, pa += 4 * H, pc += H, pg += 2 * H, pda += 4 * H, pdc += H)
        lstm_backward_row(pa, pc, pg, pda, pdc, H);
      return {ctx.needs_grad(0) ? da : Tensor(), ctx.needs_grad(1) ? dc : Tensor()};
    });
  });
}

Tensor gru_gates(const Tensor& gx, const Tensor& gh, const Tensor& h) {
  OpScope mark("gru_gates");
  const std::size_t H = check_gates("gru_gates", gx, 3, h, "h", &gh);
  const std::size_t B = gx.size(0);
  Tensor out = dispatch(gx.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor y = detail::empty_tensor<T>(Shape{B, H});
    const T* px = detail::data<T>(gx);
    const T* pg = detail::data<T>(gh);
    const T* ph = detail::data<T>(h);
    T* py = detail::data<T>(y);
    for (std::size_t b = 0; b < B; ++b, px += 3 * H, pg += 3 * H, ph += H, py += H)
      for (std::size_t j = 0; j < H; ++j) {
        const T r = sig(px[j] + pg[j]), z = sig(px[H + j] + pg[H + j]);
        const T n = tanh_(px[2 * H + j] + r * pg[2 * H + j]);
        py[j] = n + z * (ph[j] - n);
      }
    return y;
  });
  return record("gru_gates", {gx, gh, h}, std::move(out), [H](const VjpContext& ctx, const Tensor& g) -> Grads {
    const Tensor& gx = ctx.input(0);
    const Tensor& gh = ctx.input(1);
    const Tensor& h = ctx.input(2);
    if (ctx.create_graph()) {
      const std::vector<Tensor> xs = split4(gx, 3), hs = split4(gh, 3);
      const Tensor r = sigmoid(xs[0] + hs[0]), z = sigmoid(xs[1] + hs[1]);
      const Tensor n = tanh(xs[2] + r * hs[2]);
      const Tensor dan = g * (1.0 - z) * (1.0 - n * n);  // through n = tanh(a_n)
      const Tensor daz = g * (h - n) * z * (1.0 - z);
      const Tensor dar = dan * hs[2] * r * (1.0 - r);
      return {concat({dar, daz, dan}, 1), concat({dar, daz, dan * r}, 1), g * z};
    }
    return dispatch(g.dtype(), [&](auto t) -> Grads {
      using T = decltype(t);
      const std::size_t B = gx.size(0);
      Tensor dgx = detail::empty_tensor<T>(Shape{B, 3 * H}), dgh = detail::empty_tensor<T>(Shape{B, 3 * H}),
             dh = detail::empty_tensor<T>(Shape{B, H});
      const T* px = detail::data<T>(gx);
      const T* pgh = detail::data<T>(gh);
      const T* ph = detail::data<T>(h);
      const T* pg = detail::data<T>(g);
      T* pdx = detail::data<T>(dgx);
      T* pdh = detail::data<T>(dgh);
      T* pd = detail::data<T>(dh);
      for (std::size_t b = 0; b < B; ++b, px += 3 * H, pgh += 3 * H, ph += H, pg += H, pdx += 3 * H, pdh += 3 * H, pd += H)
        for (std::size_t j = 0; j < H; ++j) {
          const T r = sig(px[j] + pgh[j]), z = sig(px[H + j] + pgh[H + j]);
          const T n = tanh_(px[2 * H + j] + r * pgh[2 * H + j]);
          const T dan = pg[j] * (T(1) - z) * (T(1) - n * n);
          const T daz = pg[j] * (ph[j] - n) * z * (T(1) - z);
          const T dar = dan * pgh[2 * H + j] * r * (T(1) - r);
          pdx[j] = pdh[j] = dar;
          pdx[H + j] = pdh[H + j] = daz;
          pdx[2 * H + j] = dan;
          pdh[2 * H + j] = dan * r;
          pd[j] = pg[j] * z;
        }
      return {ctx.needs_grad(0) ? dgx : Tensor(), ctx.needs_grad(1) ? dgh : Tensor(), ctx.needs_grad(2) ? dh : Tensor()};
    });
  });
}

}  // namespace ag
