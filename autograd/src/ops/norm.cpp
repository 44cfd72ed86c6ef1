// layer_norm, batch_norm and group_norm share one kernel. x is seen as [N, C, S] (S = Π of the
// axes after C); element (n, c, s) sits at (n·C + c)·S + s, belongs to one statistics group and
// takes channel c's weight and bias:
//   layer_norm: N = Π leading axes, C = Π normalized_shape, S = 1; one group per sample n
//   group_norm: G groups of C/G consecutive channels per sample; group n·G + c/(C/G)
//   batch_norm: one group per channel c, over all n and s
// Forward: two passes for the statistics (mean, then Σ(x - mean)²; both in double), one for y.
// The mean and rstd per group are saved for a first-order backward (one fused loop); under
// create_graph the VJP recomputes them from x with ag ops, so it can be differentiated again.
#include <cmath>
#include <vector>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;

namespace {

struct Layout {
  std::size_t N = 0, C = 0, S = 1;
  std::size_t G = 1;         // groups per sample (ignored per_channel)
  bool per_channel = false;  // batch_norm: one group per channel, across the batch
  std::size_t groups() const { return per_channel ? C : N * G; }
  std::size_t count() const { return per_channel ? N * S : (C / G) * S; }  // elements per group
};

// Σ p[i], Σ (p[i] - m)² and Σ (p[i] - m)·q[i] over n contiguous values in double, with 4 partial
// sums (no single chain of dependent adds; the compiler may not reorder floating-point sums itself).
template <class T> double sum_of(const T* p, std::size_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
  }
  for (; i < n; ++i) a0 += p[i];
  return (a0 + a1) + (a2 + a3);
}
template <class T> double sq_dev(const T* p, std::size_t n, double m) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const double d0 = p[i] - m, d1 = p[i + 1] - m, d2 = p[i + 2] - m, d3 = p[i + 3] - m;
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  for (; i < n; ++i) a0 += (p[i] - m) * (p[i] - m);
  return (a0 + a1) + (a2 + a3);
}
template <class T> double dev_dot(const T* p, const T* q, std::size_t n, double m) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += (p[i] - m) * q[i];
    a1 += (p[i + 1] - m) * q[i + 1];
    a2 += (p[i + 2] - m) * q[i + 2];
    a3 += (p[i + 3] - m) * q[i + 3];
  }
  for (; i < n; ++i) a0 += (p[i] - m) * q[i];
  return (a0 + a1) + (a2 + a3);
}

// mean and rstd = 1/√(var + eps) per group; var also (biased), for batch_norm's running update.
struct Stats {
  std::vector<double> mean, rstd, var;
};

template <class T> Stats batch_stats(const Layout& L, const T* px, double eps) {
  const std::size_t ng = L.groups(), C = L.C, S = L.S;
  const double n = static_cast<double>(L.count());
  Stats st{std::vector<double>(ng, 0.0), std::vector<double>(ng), std::vector<double>(ng, 0.0)};
  if (!L.per_channel) {  // each group is one contiguous block: two passes over it
    const std::size_t k = L.count();
    for (std::size_t gi = 0; gi < ng; ++gi) {
      const T* p = px + gi * k;
      const double m = sum_of(p, k) / n;
      st.mean[gi] = m;
      st.var[gi] = sq_dev(p, k, m) / n;
    }
  } else if (S == 1) {  // [N, C]: channel c is column c
    for (std::size_t i = 0; i < L.N; ++i)
      for (std::size_t c = 0; c < C; ++c) st.mean[c] += px[i * C + c];
    for (double& m : st.mean) m /= n;
    for (std::size_t i = 0; i < L.N; ++i)
      for (std::size_t c = 0; c < C; ++c) {
        const double d = px[i * C + c] - st.mean[c];
        st.var[c] += d * d;
      }
  } else {  // channel c: rows (n, c) of S elements
    for (std::size_t i = 0; i < L.N; ++i)
      for (std::size_t c = 0; c < C; ++c) st.mean[c] += sum_of(px + (i * C + c) * S, S);
    for (double& m : st.mean) m /= n;
    for (std::size_t i = 0; i < L.N; ++i)
      for (std::size_t c = 0; c < C; ++c) st.var[c] += sq_dev(px + (i * C + c) * S, S, st.mean[c]);
  }
  if (L.per_channel)
    for (double& v : st.var) v /= n;
  for (std::size_t i = 0; i < ng; ++i) st.rstd[i] = 1.0 / std::sqrt(st.var[i] + eps);
  return st;
}

// The loops below come in three forms, so that every inner loop runs over contiguous memory with
// loop-invariant or contiguous parameters (and vectorises):
//   S > 1:             rows (n, c) of S elements; statistics, weight and bias fixed along a row
//   S = 1, per sample: a group is cpg = C/G consecutive channels of one sample; its statistics
//                      are fixed along it, the channel (weight, bias) runs with the element
//   S = 1, per channel: rows of C elements (one sample), everything indexed by the channel

// The affine as arrays over C (ones and zeros when undefined), so inner loops need no branch.
template <class T> std::vector<T> values_or(const Tensor& t, std::size_t n, T fill) {
  if (!t.defined()) return std::vector<T>(n, fill);
  const T* p = t.value<T>().data();
  return std::vector<T>(p, p + n);
}
template <class T> std::vector<T> as(const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); }

// y = (x - mean)·rstd·w + b per element.
template <class T>
Tensor normalize(const Layout& L, const Tensor& x, const Stats& st, const Tensor& w, const Tensor& b) {
  Tensor y = detail::empty_tensor<T>(detail::shape_ref(x));
  const T* px = x.value<T>().data();
  T* py = detail::data<T>(y);
  const std::size_t N = L.N, C = L.C, S = L.S;
  const std::vector<T> wv = values_or(w, C, T(1)), bv = values_or(b, C, T(0));
  if (S > 1) {
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) {
        const std::size_t gi = L.per_channel ? c : n * L.G + c / (C / L.G), off = (n * C + c) * S;
        const T m = static_cast<T>(st.mean[gi]), a = static_cast<T>(st.rstd[gi]) * wv[c], sh = bv[c];
        for (std::size_t s = 0; s < S; ++s) py[off + s] = (px[off + s] - m) * a + sh;
      }
  } else if (L.per_channel) {
    std::vector<T> m = as<T>(st.mean), a = as<T>(st.rstd);
    for (std::size_t c = 0; c < C; ++c) a[c] *= wv[c];
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) py[n * C + c] = (px[n * C + c] - m[c]) * a[c] + bv[c];
  } else {
    const std::size_t cpg = C / L.G;
    for (std::size_t gi = 0; gi < L.groups(); ++gi) {
      const T m = static_cast<T>(st.mean[gi]), r = static_cast<T>(st.rstd[gi]);
      const T* xr = px + gi * cpg;
      T* yr = py + gi * cpg;
      const T* wr = wv.data() + (gi % L.G) * cpg;
      const T* br = bv.data() + (gi % L.G) * cpg;
      for (std::size_t k = 0; k < cpg; ++k) yr[k] = (xr[k] - m) * r * wr[k] + br[k];
    }
  }
  return y;
}

// First-order VJP as loops: dx = rstd·(ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)) (batch statistics) or rstd·ĝ
// (fixed statistics: batch_norm in eval), dw[c] = Σ g·x̂, db[c] = Σ g. Pass 1 sums per channel
// (Σg, Σg·x̂) and per group (Σĝ, Σĝ·x̂) in double; pass 2 writes dx.
template <class T>
Grads fused_vjp(const Layout& L, const Stats& st, bool batch, const VjpContext& ctx, const Tensor& g) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const bool need_x = ctx.needs_grad(0), need_w = ctx.needs_grad(1), need_b = ctx.needs_grad(2);
  const T* px = x.value<T>().data();
  const T* pg = g.value<T>().data();
  const std::size_t N = L.N, C = L.C, S = L.S, cpg = L.per_channel ? 1 : C / L.G;
  const std::vector<T> wv = values_or(w, C, T(1));
  auto group_of = [&](std::size_t n, std::size_t c) { return L.per_channel ? c : n * L.G + c / cpg; };
  // pass 1. Per channel the group is the channel: Σĝ = w·Σg, Σĝ·x̂ = w·Σg·x̂ (filled after the loop).
  std::vector<double> dw(C, 0.0), db(C, 0.0);                          // Σg·x̂, Σg per channel
  std::vector<double> sum_g(L.groups(), 0.0), sum_gx(L.groups(), 0.0);  // Σĝ, Σĝ·x̂ per group
  if (S > 1) {
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) {
        const std::size_t gi = group_of(n, c), off = (n * C + c) * S;
        const double sg = sum_of(pg + off, S), sgx = st.rstd[gi] * dev_dot(px + off, pg + off, S, st.mean[gi]);
        dw[c] += sgx;
        db[c] += sg;
        if (!L.per_channel) {
          sum_g[gi] += wv[c] * sg;
          sum_gx[gi] += wv[c] * sgx;
        }
      }
  } else if (L.per_channel) {
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < C; ++c) {
        const double gv = pg[n * C + c];
        dw[c] += gv * (px[n * C + c] - st.mean[c]) * st.rstd[c];
        db[c] += gv;
      }
  } else {
    for (std::size_t gi = 0; gi < L.groups(); ++gi) {
      const double m = st.mean[gi], r = st.rstd[gi];
      const std::size_t c0 = (gi % L.G) * cpg;
      double sg = 0.0, sgx = 0.0;
      for (std::size_t k = 0; k < cpg; ++k) {
        const double gv = pg[gi * cpg + k], gxh = gv * (px[gi * cpg + k] - m) * r;
        dw[c0 + k] += gxh;
        db[c0 + k] += gv;
        sg += wv[c0 + k] * gv;
        sgx += wv[c0 + k] * gxh;
      }
      sum_g[gi] = sg;
      sum_gx[gi] = sgx;
    }
  }
  if (L.per_channel)
    for (std::size_t c = 0; c < C; ++c) {
      sum_g[c] = wv[c] * db[c];
      sum_gx[c] = wv[c] * dw[c];
    }
  Grads out(3);
  if (need_x) {  // pass 2
    Tensor dx = detail::empty_tensor<T>(detail::shape_ref(x));
    T* pd = detail::data<T>(dx);
    const double inv_n = batch ? 1.0 / static_cast<double>(L.count()) : 0.0;  // fixed statistics: no mean terms
    auto mean_g = [&](std::size_t gi) { return static_cast<T>(sum_g[gi] * inv_n); };
    auto mean_gx = [&](std::size_t gi) { return static_cast<T>(sum_gx[gi] * inv_n); };
    if (S > 1) {
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c) {
          const std::size_t gi = group_of(n, c), off = (n * C + c) * S;
          const T m = static_cast<T>(st.mean[gi]), r = static_cast<T>(st.rstd[gi]), wc = wv[c];
          const T mg = mean_g(gi), mgx = mean_gx(gi);
          for (std::size_t s = 0; s < S; ++s) {
            const T xh = (px[off + s] - m) * r;
            pd[off + s] = r * (wc * pg[off + s] - mg - xh * mgx);
          }
        }
    } else if (L.per_channel) {
      const std::vector<T> m = as<T>(st.mean), r = as<T>(st.rstd);
      std::vector<T> mg(C), mgx(C);
      for (std::size_t c = 0; c < C; ++c) {
        mg[c] = mean_g(c);
        mgx[c] = mean_gx(c);
      }
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c) {
          const std::size_t i = n * C + c;
          const T xh = (px[i] - m[c]) * r[c];
          pd[i] = r[c] * (wv[c] * pg[i] - mg[c] - xh * mgx[c]);
        }
    } else {
      for (std::size_t gi = 0; gi < L.groups(); ++gi) {
        const T m = static_cast<T>(st.mean[gi]), r = static_cast<T>(st.rstd[gi]);
        const T mg = mean_g(gi), mgx = mean_gx(gi);
        const T* wr = wv.data() + (gi % L.G) * cpg;
        const std::size_t off = gi * cpg;
        for (std::size_t k = 0; k < cpg; ++k) {
          const T xh = (px[off + k] - m) * r;
          pd[off + k] = r * (wr[k] * pg[off + k] - mg - xh * mgx);
        }
      }
    }
    out[0] = std::move(dx);
  }
  auto to_tensor = [](const std::vector<double>& v, const Tensor& like) {
    Tensor t = detail::empty_tensor<T>(detail::shape_ref(like));
    std::copy(v.begin(), v.end(), detail::data<T>(t));
    return t;
  };
  if (need_w) out[1] = to_tensor(dw, w);
  if (need_b) out[2] = to_tensor(db, ctx.input(2));
  return out;
}

std::vector<std::ptrdiff_t> dims(std::initializer_list<std::size_t> d) {
  return std::vector<std::ptrdiff_t>(d.begin(), d.end());
}

// The same VJP in ag ops (create_graph): the statistics recomputed from x, so that the result is
// differentiable in x, weight and g. `fixed`: batch_norm's eval statistics, constants [1, C, 1].
Grads graph_vjp(const Layout& L, const Stats& fixed, bool batch, double eps, const VjpContext& ctx,
                const Tensor& g_in) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Shape xs = x.shape();
  const auto nsc = dims({L.N, L.C, L.S});
  const Tensor g3 = reshape(same_shape(g_in, x) ? g_in : broadcast_to(g_in, xs), nsc);
  const Tensor w3 = w.defined() ? reshape(w, dims({1, L.C, 1})) : Tensor();
  const Tensor gh3 = w3.defined() ? mul(g3, w3) : g3;  // ĝ
  // groups laid out so each is reduced over `axes`
  const auto grouped = L.per_channel ? nsc : dims({L.N, L.G, (L.G ? L.C / L.G : 0) * L.S});
  const Axes axes = L.per_channel ? Axes{0, 2} : Axes{2};
  Tensor xhat3, dx;
  if (batch) {
    const Tensor xg = reshape(x, grouped);
    const Tensor xc = sub(xg, mean(xg, axes, true));
    const Tensor rstd = pow(add(mean(square(xc), axes, true), eps), -0.5);
    const Tensor xhat = mul(xc, rstd);
    xhat3 = reshape(xhat, nsc);
    if (ctx.needs_grad(0)) {
      const Tensor gh = reshape(gh3, grouped);
      dx = mul(rstd, sub(sub(gh, mean(gh, axes, true)), mul(xhat, mean(mul(gh, xhat), axes, true))));
    }
  } else {
    Tensor m = zeros({1, L.C, 1}, x.dtype()), r = zeros({1, L.C, 1}, x.dtype());
    dispatch(x.dtype(), [&](auto t) {
      using T = decltype(t);
      std::copy(fixed.mean.begin(), fixed.mean.end(), m.mutable_data<T>());
      std::copy(fixed.rstd.begin(), fixed.rstd.end(), r.mutable_data<T>());
    });
    xhat3 = mul(sub(reshape(x, nsc), m), r);
    if (ctx.needs_grad(0)) dx = mul(gh3, r);
  }
  Grads out(3);
  if (dx.defined()) out[0] = reshape(dx, detail::signed_shape(xs));
  if (ctx.needs_grad(1)) out[1] = reshape(sum(mul(g3, xhat3), {0, 2}), detail::signed_shape(w.shape()));
  if (ctx.needs_grad(2)) out[2] = reshape(sum(g3, {0, 2}), detail::signed_shape(ctx.input(2).shape()));
  return out;
}

// The one op behind all three: statistics (batch, or `fixed` when given), y, and the VJP.
Tensor normalize_op(const char* op, const Tensor& x, const Layout& L, const Tensor& w, const Tensor& b, double eps,
                    const Stats* fixed, Stats* batch_out) {
  const bool batch = fixed == nullptr;
  Stats st;
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    st = batch ? batch_stats<T>(L, x.value<T>().data(), eps) : *fixed;
    return normalize<T>(L, x, st, w, b);
  });
  if (batch_out) *batch_out = st;
  st.var.clear();  // the VJP needs mean and rstd only
  auto vjp = [L, st = std::move(st), batch, eps](const VjpContext& c, const Tensor& g) -> Grads {
    if (c.create_graph() || !same_shape(g, c.input(0))) return graph_vjp(L, st, batch, eps, c, g);
    return dispatch(g.dtype(), [&](auto t) { return fused_vjp<decltype(t)>(L, st, batch, c, g); });
  };
  return record(op, {x, w, b}, std::move(y), std::move(vjp));
}

// ---- argument checks ----------------------------------------------------------------------------
void check_eps(const char* op, double eps) {
  if (!(eps >= 0.0) || std::isinf(eps))
    throw ValueError(fmt::format("{}: eps must be finite and >= 0, got {}", op, eps));
}

// A floating x (DtypeError naming op), and an optional tensor `what` of x's dtype and shape `want`.
void check_floating(const char* op, const Tensor& x) {
  detail::require_defined(op, x);
  if (!is_floating(x.dtype()))
    throw DtypeError(fmt::format("{}: needs a floating input (float32 or float64), got {} {}", op,
                                 dtype_name(x.dtype()), shape_str(x.shape())));
}
void check_optional(const char* op, const Tensor& t, const char* what, const Shape& want, const Tensor& x,
                    const char* want_desc) {
  if (!t.defined()) return;
  if (t.dtype() != x.dtype())
    throw DtypeError(fmt::format("{}: {} is {} but the input is {} {} (convert with .to())", op, what,
                                 dtype_name(t.dtype()), dtype_name(x.dtype()), shape_str(x.shape())));
  if (t.shape() != want)
    throw ShapeError(fmt::format("{}: {} has shape {}, expected {} {} (input {})", op, what, shape_str(t.shape()),
                                 want_desc, shape_str(want), shape_str(x.shape())));
}

// [N, C, *]: N, C and S = Π *; ShapeError below 2 dims.
Layout channels_layout(const char* op, const Tensor& x) {
  const Shape xs = x.shape();
  if (xs.size() < 2)
    throw ShapeError(fmt::format("{}: input must be [N, C] or [N, C, *] (at least 2 dims), got {}", op, shape_str(xs)));
  Layout L;
  L.N = xs[0];
  L.C = xs[1];
  L.S = detail::prod(xs, 2);
  return L;
}

}  // namespace

// ---- layer_norm -----------------------------------------------------------------------------------
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  OpScope mark("layer_norm");
  check_floating("layer_norm", x);
  const Shape xs = x.shape();
  const std::size_t k = normalized_shape.size();
  if (k == 0)
    throw ValueError(
        fmt::format("layer_norm: normalized_shape must have at least 1 dim, got [] (input {})", shape_str(xs)));
  if (xs.size() < k ||
      !std::equal(normalized_shape.begin(), normalized_shape.end(), xs.end() - static_cast<std::ptrdiff_t>(k)))
    throw ShapeError(fmt::format("layer_norm: input of shape {} does not end with normalized_shape {}", shape_str(xs),
                                 shape_str(normalized_shape)));
  check_optional("layer_norm", weight, "weight", normalized_shape, x, "normalized_shape");
  check_optional("layer_norm", bias, "bias", normalized_shape, x, "normalized_shape");
  check_eps("layer_norm", eps);
  Layout L;
  L.N = detail::prod(xs, 0, xs.size() - k);
  L.C = detail::prod(normalized_shape);
  return normalize_op("layer_norm", x, L, weight, bias, eps, nullptr, nullptr);
}

// ---- group_norm -----------------------------------------------------------------------------------
Tensor group_norm(const Tensor& x, std::size_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  OpScope mark("group_norm");
  check_floating("group_norm", x);
  Layout L = channels_layout("group_norm", x);
  if (num_groups == 0)
    throw ValueError(fmt::format("group_norm: num_groups must be > 0 (input {})", shape_str(x.shape())));
  if (L.C % num_groups != 0)
    throw ShapeError(fmt::format("group_norm: the {} channels of input {} are not divisible by num_groups = {}", L.C,
                                 shape_str(x.shape()), num_groups));
  check_optional("group_norm", weight, "weight", {L.C}, x, "[C] =");
  check_optional("group_norm", bias, "bias", {L.C}, x, "[C] =");
  check_eps("group_norm", eps);
  L.G = num_groups;
  return normalize_op("group_norm", x, L, weight, bias, eps, nullptr, nullptr);
}

// ---- batch_norm -----------------------------------------------------------------------------------
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  OpScope mark("batch_norm");
  check_floating("batch_norm", x);
  Layout L = channels_layout("batch_norm", x);
  L.per_channel = true;
  const Shape c_shape{L.C};
  check_optional("batch_norm", running_mean, "running_mean", c_shape, x, "[C] =");
  check_optional("batch_norm", running_var, "running_var", c_shape, x, "[C] =");
  check_optional("batch_norm", weight, "weight", c_shape, x, "[C] =");
  check_optional("batch_norm", bias, "bias", c_shape, x, "[C] =");
  if (running_mean.defined() != running_var.defined())
    throw ValueError(fmt::format("batch_norm: running_mean and running_var must both be defined or both undefined "
                                 "(got only {}; input {})", running_mean.defined() ? "running_mean" : "running_var",
                                 shape_str(x.shape())));
  const bool tracking = running_mean.defined();
  for (const Tensor* r : {&running_mean, &running_var})
    if (r->defined() && r->requires_grad())
      throw GradError(fmt::format("batch_norm: {} requires grad, but the running statistics are buffers and are "
                                  "not differentiated (pass a detached tensor)",
                                  r == &running_mean ? "running_mean" : "running_var"));
  if (!(momentum >= 0.0 && momentum <= 1.0))
    throw ValueError(fmt::format("batch_norm: momentum must be in [0, 1], got {}", momentum));
  check_eps("batch_norm", eps);
  const bool use_batch = training || !tracking;
  if (use_batch && L.count() <= 1)
    throw ValueError(fmt::format("batch_norm: expected more than 1 value per channel when training, got input {} "
                                 "({} value(s) per channel)", shape_str(x.shape()), L.count()));

  if (!use_batch) {  // eval: the running statistics, fixed
    Stats fixed;
    dispatch(x.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* pm = running_mean.value<T>().data();
      const T* pv = running_var.value<T>().data();
      for (std::size_t c = 0; c < L.C; ++c) {
        fixed.mean.push_back(pm[c]);
        fixed.rstd.push_back(1.0 / std::sqrt(static_cast<double>(pv[c]) + eps));
      }
    });
    return normalize_op("batch_norm", x, L, weight, bias, eps, &fixed, nullptr);
  }
  Stats st;
  Tensor y = normalize_op("batch_norm", x, L, weight, bias, eps, nullptr, &st);
  if (training && tracking) {  // running = (1 - m)·running + m·batch, with the unbiased variance
    const double n = static_cast<double>(L.count()), unbias = n / (n - 1.0);
    Tensor rm = running_mean, rv = running_var;  // handles: the caller's tensors, written in place
    dispatch(x.dtype(), [&](auto t) {
      using T = decltype(t);
      T* pm = rm.mutable_data<T>();
      T* pv = rv.mutable_data<T>();
      for (std::size_t c = 0; c < L.C; ++c) {
        pm[c] = static_cast<T>((1.0 - momentum) * pm[c] + momentum * st.mean[c]);
        pv[c] = static_cast<T>((1.0 - momentum) * pv[c] + momentum * st.var[c] * unbias);
      }
    });
  }
  return y;
}

}  // namespace ag
