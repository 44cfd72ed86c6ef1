// Fused LSTM and GRU gate ops. Forward: one loop over [B, H] computing every gate of a step.
// VJP: one loop that recomputes the gates from the saved inputs (cheaper than keeping them) for a
// first-order backward; the same formulas in ag ops under create_graph.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ag/backward.hpp"
#include "ops/fast_exp.hpp"
#include "ops/gemm.hpp"
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


// ---- lstm_sequence ---------------------------------------------------------------------------------
// Forward: per step (in processing order s, time t = s or T-1-s), A_t = gx_t + h_prev·W_hhᵀ, then
// the gate rows write [h_t | c_t] into out[t]. The pre-activations A are kept for the backward
// ([T, B, 4H], what the hand-written floor keeps); h_prev and c_prev are read back from out.
// Backward through time, as one loop: the cotangent of out[t] plus the carries (dh, dc) from the
// step after goes through the gate derivatives to dA_t (= dgx_t) and the new dc; dh = dA_t·W_hh.
// dW_hh = Σ_t dA_tᵀ·h_prev(t) in one product with K = T·B at the end, over rows gathered in time
// order. Under create_graph the VJP differentiates the per-step composition (lstm_gates and
// matmul_t per step), so higher derivatives see the same math.
namespace {

Tensor lstm_sequence_composed(const Tensor& gx, const Tensor& w_hh, const Tensor& h0, const Tensor& c0, bool reverse) {
  const std::size_t T = gx.size(0);
  const auto H = static_cast<std::ptrdiff_t>(h0.size(1));
  Tensor h = h0, c = c0;
  std::vector<Tensor> outs(T);
  for (std::size_t s = 0; s < T; ++s) {
    const std::size_t t = reverse ? T - 1 - s : s;
    const Tensor hc = lstm_gates(select(gx, 0, static_cast<std::ptrdiff_t>(t)) + matmul_t(h, w_hh, false, true), c);
    h = slice(hc, 1, 0, H);
    c = slice(hc, 1, H, 2 * H);
    outs[t] = hc;
  }
  return stack(outs, 0);
}

}  // namespace

Tensor lstm_sequence(const Tensor& gx, const Tensor& w_hh, const Tensor& h0, const Tensor& c0, bool reverse) {
  OpScope mark("lstm_sequence");
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&gx, "gx"}, {&w_hh, "w_hh"}, {&h0, "h0"}, {&c0, "c0"}})
    require_defined("lstm_sequence", *t, name);
  const bool ranks = gx.dim() == 3 && w_hh.dim() == 2 && h0.dim() == 2 && c0.dim() == 2;
  const std::size_t H = ranks ? h0.size(1) : 0;
  if (!ranks || gx.size(0) == 0 || gx.size(2) != 4 * H || gx.size(1) != h0.size(0) || w_hh.shape() != Shape{4 * H, H} ||
      c0.shape() != h0.shape())
    throw ShapeError(fmt::format("lstm_sequence: gx {}, w_hh {}, h0 {} and c0 {} do not fit: expected [T, B, 4H] "
                                 "(T >= 1), [4H, H], [B, H] and [B, H]",
                                 shape_str(gx.shape()), shape_str(w_hh.shape()), shape_str(h0.shape()),
                                 shape_str(c0.shape())));
  if (!is_floating(gx.dtype()) || w_hh.dtype() != gx.dtype() || h0.dtype() != gx.dtype() || c0.dtype() != gx.dtype())
    throw DtypeError(fmt::format("lstm_sequence: gx {}, w_hh {}, h0 {} and c0 {} must have one floating dtype",
                                 dtype_name(gx.dtype()), dtype_name(w_hh.dtype()), dtype_name(h0.dtype()),
                                 dtype_name(c0.dtype())));
  const std::size_t T = gx.size(0), B = gx.size(1), G = 4 * H;
  const int iB = static_cast<int>(B), iH = static_cast<int>(H), iG = static_cast<int>(G);
  Tensor act;  // [T, B, 4H] pre-activations
  Tensor out = dispatch(gx.dtype(), [&](auto tag) {
    using T_ = decltype(tag);
    Tensor y = detail::empty_tensor<T_>(Shape{T, B, 2 * H});
    act = detail::empty_tensor<T_>(Shape{T, B, G});
    const T_* pgx = detail::data<T_>(gx);
    const T_* w = detail::data<T_>(w_hh);
    T_* py = detail::data<T_>(y);
    T_* pa = detail::data<T_>(act);
    const T_* hp = detail::data<T_>(h0);
    const T_* cp = detail::data<T_>(c0);
    int ldh = iH;  // h_prev: h0 [B, H], later the h half of out[t'] (row stride 2H)
    std::size_t ldc = H;
    for (std::size_t s = 0; s < T; ++s) {
      const std::size_t t = reverse ? T - 1 - s : s;
      T_* a = pa + t * B * G;
      std::copy(pgx + t * B * G, pgx + (t + 1) * B * G, a);
      detail::gemm(false, true, iB, iG, iH, hp, ldh, w, iH, a, iG, T_(1));
      T_* yt = py + t * B * 2 * H;
      for (std::size_t b = 0; b < B; ++b) lstm_forward_row(a + b * G, cp + b * ldc, yt + b * 2 * H, H);
      hp = yt;
      cp = yt + H;
      ldh = 2 * iH;
      ldc = 2 * H;
    }
    return y;
  });
  return record(
      "lstm_sequence", {gx, w_hh, h0, c0}, std::move(out),
      [act, reverse, T, B, H, G, iB, iH, iG](const VjpContext& ctx, const Tensor& g) -> Grads {
        if (ctx.create_graph()) {
          std::vector<Tensor> targets;
          std::vector<std::size_t> where;
          for (std::size_t k = 0; k < 4; ++k)
            if (ctx.needs_grad(k)) {
              targets.push_back(ctx.input(k));
              where.push_back(k);
            }
          const Tensor y = lstm_sequence_composed(ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3), reverse);
          std::vector<Tensor> d = grad({y}, targets, {g}, /*retain_graph=*/true, /*create_graph=*/true,
                                       /*allow_unused=*/true);
          Grads out(4);
          for (std::size_t i = 0; i < where.size(); ++i) out[where[i]] = d[i];
          return out;
        }
        const Tensor y = ctx.output();
        return dispatch(g.dtype(), [&](auto tag) -> Grads {
          using T_ = decltype(tag);
          Tensor dgx = detail::empty_tensor<T_>(Shape{T, B, G});
          Tensor hprev = detail::empty_tensor<T_>(Shape{T, B, H});  // the h each step read, by time
          Tensor dh = detail::empty_tensor<T_>(Shape{B, H}), dc = detail::empty_tensor<T_>(Shape{B, H});
          std::vector<T_> gcomb(B * 2 * H);
          const T_* pa = detail::data<T_>(act);
          const T_* pg = detail::data<T_>(g);
          const T_* py = detail::data<T_>(y);
          const T_* w = detail::data<T_>(ctx.input(1));
          const T_* h0 = detail::data<T_>(ctx.input(2));
          const T_* c0 = detail::data<T_>(ctx.input(3));
          T_* pd = detail::data<T_>(dgx);
          T_* phv = detail::data<T_>(hprev);
          T_* pdh = detail::data<T_>(dh);
          T_* pdc = detail::data<T_>(dc);
          std::fill(pdh, pdh + B * H, T_(0));
          std::fill(pdc, pdc + B * H, T_(0));
          for (std::size_t s = T; s-- > 0;) {
            const std::size_t t = reverse ? T - 1 - s : s;
            const T_* prev = s == 0 ? nullptr : py + (reverse ? t + 1 : t - 1) * B * 2 * H;  // out of the step before
            const T_* gt = pg + t * B * 2 * H;
            for (std::size_t k = 0; k < B * H; ++k) {
              const std::size_t b = k / H, j = k % H;
              gcomb[b * 2 * H + j] = gt[b * 2 * H + j] + pdh[k];
              gcomb[b * 2 * H + H + j] = gt[b * 2 * H + H + j] + pdc[k];
            }
            for (std::size_t b = 0; b < B; ++b) {
              const T_* cprev = prev ? prev + b * 2 * H + H : c0 + b * H;
              const T_* hrow = prev ? prev + b * 2 * H : h0 + b * H;
              lstm_backward_row(pa + (t * B + b) * G, cprev, gcomb.data() + b * 2 * H, pd + (t * B + b) * G, pdc + b * H, H);
              std::copy(hrow, hrow + H, phv + (t * B + b) * H);
            }
            detail::gemm(false, false, iB, iH, iG, pd + t * B * G, iG, w, iH, pdh, iH, T_(0));  // dh = dA_t·W_hh
          }
          Tensor dw;
          if (ctx.needs_grad(1)) {
            dw = detail::empty_tensor<T_>(Shape{G, H});
            detail::gemm(true, false, iG, iH, static_cast<int>(T * B), pd, iG, phv, iH, detail::data<T_>(dw), iH, T_(0));
          }
          return {ctx.needs_grad(0) ? dgx : Tensor(), dw, ctx.needs_grad(2) ? dh : Tensor(),
                  ctx.needs_grad(3) ? dc : Tensor()};
        });
      },
      keep_output);
}

}  // namespace ag
