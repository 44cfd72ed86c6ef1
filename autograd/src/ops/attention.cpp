// scaled_dot_product_attention: per (batch, head) slice one gemm for the scores, the masked
// softmax row by row in place (max subtracted, sum in double), one gemm for the output. The
// probabilities P are kept for the backward (cheaper than a second score gemm). First-order VJP:
// two gemms per input plus one fused loop for dZ; under create_graph the same formulas in ag
// ops on a differentiable recomputation of P, so second derivatives work.
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "ag/ops/attention.hpp"
#include "ag/random.hpp"
#include "ops/fast_exp.hpp"
#include "ops/gemm.hpp"
#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

std::string shapes_of(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask) {
  return fmt::format("q {}, k {}, v {}{}{}", shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()),
                     mask.defined() ? ", attn_mask " : "", mask.defined() ? shape_str(mask.shape()) : "");
}

int blas_int(std::size_t v) {
  if (v > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw ShapeError(fmt::format("{}: dimension {} is too large for BLAS", kOp, v));
  return static_cast<int>(v);
}

// Offset (in elements) of an operand's slice for every index of the broadcast batch shape
// `batch` (row-major order); the operand has batch dims `own` (right-aligned, 1 = broadcast) and
// `step` elements per slice.
std::vector<std::size_t> batch_offsets(const Shape& batch, const Shape& own, std::size_t step) {
  const std::size_t nd = batch.size(), lead = nd - own.size();
  std::vector<std::size_t> stride(nd, 0);
  for (std::size_t d = nd, s = step; d-- > lead;) {
    const std::size_t n = own[d - lead];
    stride[d] = n == 1 ? 0 : s;
    s *= n;
  }
  const std::size_t total = detail::prod(batch);
  std::vector<std::size_t> off(total), idx(nd, 0);
  for (std::size_t b = 0, o = 0; b < total; ++b) {
    off[b] = o;
    for (std::size_t d = nd; d-- > 0;) {  // next batch index, last dim fastest
      o += stride[d];
      if (++idx[d] < batch[d]) break;
      o -= stride[d] * batch[d];
      idx[d] = 0;
    }
  }
  return off;
}

Shape lead_dims(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// Row reductions with independent accumulators, so the loops vectorize (a single running max or
// sum is a dependency chain the compiler may not reorder). Sums in double.
template <class T> T row_max(const T* p, std::size_t n) {
  T m[8];
  std::fill(m, m + 8, -std::numeric_limits<T>::infinity());
  std::size_t s = 0;
  for (; s + 8 <= n; s += 8)
    for (std::size_t j = 0; j < 8; ++j) m[j] = std::max(m[j], p[s + j]);
  for (; s < n; ++s) m[0] = std::max(m[0], p[s]);
  return *std::max_element(m, m + 8);
}
template <class T> double row_sum(const T* p, std::size_t n) {
  double a[4] = {0, 0, 0, 0};
  std::size_t s = 0;
  for (; s + 4 <= n; s += 4)
    for (std::size_t j = 0; j < 4; ++j) a[j] += p[s + j];
  for (; s < n; ++s) a[0] += p[s];
  return (a[0] + a[1]) + (a[2] + a[3]);
}
template <class T> double row_dot(const T* p, const T* q, std::size_t n) {
  double a[4] = {0, 0, 0, 0};
  std::size_t s = 0;
  for (; s + 4 <= n; s += 4)
    for (std::size_t j = 0; j < 4; ++j) a[j] += static_cast<double>(p[s + j]) * q[s + j];
  for (; s < n; ++s) a[0] += static_cast<double>(p[s]) * q[s];
  return (a[0] + a[1]) + (a[2] + a[3]);
}

// The masks as one additive constant for the recomputation under create_graph: 0 where the pair
// takes part, -inf where a bool mask or is_causal masks it out (float masks stay an input).
Tensor additive_constant(const Tensor& bool_mask, bool causal, std::size_t L, std::size_t S, DType dt) {
  const double ninf = -std::numeric_limits<double>::infinity();
  if (bool_mask.defined()) return where(bool_mask, zeros({}, dt), full({}, ninf, dt));
  if (!causal) return Tensor();
  Tensor c = zeros({L, S}, dt);
  dispatch(dt, [&](auto t) {
    using T = decltype(t);
    T* p = detail::data<T>(c);
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t s = l + 1; s < S; ++s) p[l * S + s] = -std::numeric_limits<T>::infinity();
    return 0;
  });
  return c;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale_opt) {
  OpScope mark(kOp);
  detail::require_defined(kOp, q);
  detail::require_defined(kOp, k);
  detail::require_defined(kOp, v);
  const auto shapes = [&] { return shapes_of(q, k, v, attn_mask); };
  if (!is_floating(q.dtype()) || k.dtype() != q.dtype() || v.dtype() != q.dtype())
    throw DtypeError(fmt::format("{}: q, k and v must share one floating dtype, got {}, {} and {} ({})", kOp,
                                 dtype_name(q.dtype()), dtype_name(k.dtype()), dtype_name(v.dtype()), shapes()));
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2)
    throw ShapeError(fmt::format("{}: q, k and v need at least 2 dims ([..., L, E], [..., S, E], [..., S, Ev]), "
                                 "got {}", kOp, shapes()));
  const Shape qs = q.shape(), ks = k.shape(), vs = v.shape();
  const std::size_t L = qs[qs.size() - 2], E = qs.back(), S = ks[ks.size() - 2], Ev = vs.back();
  if (ks.back() != E)
    throw ShapeError(fmt::format("{}: q and k must have the same last dim E ({} vs {}), got {}", kOp, E,
                                 ks.back(), shapes()));
  if (vs[vs.size() - 2] != S)
    throw ShapeError(fmt::format("{}: k and v must have the same number of keys S ({} vs {}), got {}", kOp, S,
                                 vs[vs.size() - 2], shapes()));
  Shape batch;
  try {
    batch = broadcast_shapes(kOp, broadcast_shapes(kOp, lead_dims(qs), lead_dims(ks)), lead_dims(vs));
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("{}: the leading (batch, head) dims of q, k and v do not broadcast, got {}", kOp,
                                 shapes()));
  }
  Shape score_shape = batch;
  score_shape.push_back(L);
  score_shape.push_back(S);
  const bool float_mask = attn_mask.defined() && is_floating(attn_mask.dtype());
  const bool bool_mask = attn_mask.defined() && attn_mask.dtype() == bool_;
  if (attn_mask.defined()) {
    if (!float_mask && !bool_mask)
      throw DtypeError(fmt::format("{}: attn_mask must be bool (true = takes part) or {} (added to the scores), "
                                   "got {} ({})", kOp, dtype_name(q.dtype()), dtype_name(attn_mask.dtype()), shapes()));
    if (float_mask && attn_mask.dtype() != q.dtype())
      throw DtypeError(fmt::format("{}: a floating attn_mask must have q's dtype {}, got {} ({})", kOp,
                                   dtype_name(q.dtype()), dtype_name(attn_mask.dtype()), shapes()));
    if (!detail::broadcastable_to(attn_mask.shape(), score_shape))
      throw ShapeError(fmt::format("{}: attn_mask must broadcast to the scores [..., L, S] = {}, got {}", kOp,
                                   shape_str(score_shape), shapes()));
    if (is_causal)
      throw ValueError(fmt::format("{}: give attn_mask or is_causal, not both ({})", kOp, shapes()));
  }
  if (!(dropout_p >= 0.0 && dropout_p < 1.0))
    throw ValueError(fmt::format("{}: dropout_p must be in [0, 1), got {} ({})", kOp, dropout_p, shapes()));
  const double scale = scale_opt ? *scale_opt : E > 0 ? 1.0 / std::sqrt(static_cast<double>(E)) : 1.0;
  if (!std::isfinite(scale))
    throw ValueError(fmt::format("{}: scale must be finite, got {} ({})", kOp, scale, shapes()));

  Shape out_shape = batch;
  out_shape.push_back(L);
  out_shape.push_back(Ev);
  numel(score_shape, kOp);
  const std::size_t nb = detail::prod(batch);
  const std::vector<std::size_t> oq = batch_offsets(batch, lead_dims(qs), L * E);
  const std::vector<std::size_t> ok = batch_offsets(batch, lead_dims(ks), S * E);
  const std::vector<std::size_t> ov = batch_offsets(batch, lead_dims(vs), S * Ev);
  // the mask seen as [batch..., L, S] with stride 0 along its broadcast axes
  std::vector<std::size_t> om;
  std::size_t m_row = 0, m_col = 0;
  if (attn_mask.defined()) {
    Shape mp(score_shape.size() - attn_mask.dim(), 1);
    for (std::size_t d : attn_mask.shape()) mp.push_back(d);
    const std::size_t mL = mp[mp.size() - 2], mS = mp.back();
    m_col = mS == 1 ? 0 : 1;
    m_row = mL == 1 ? 0 : mS;
    om = batch_offsets(batch, lead_dims(mp), mL * mS);
  }
  Tensor P, D, out;
  std::vector<std::uint8_t> dead(nb * L, 0);  // query rows with every key masked out
  bool any_dead = false;
  dispatch(q.dtype(), [&](auto t) {
    using T = decltype(t);
    constexpr T ninf = -std::numeric_limits<T>::infinity();
    P = detail::empty_tensor<T>(score_shape);
    out = detail::empty_tensor<T>(out_shape);
    if (dropout_p > 0.0) D = detail::empty_tensor<T>(score_shape);
    T* pp = detail::data<T>(P);
    T* po = detail::data<T>(out);
    T* pd = D.defined() ? detail::data<T>(D) : nullptr;
    const T* pq = detail::data<T>(q);
    const T* pk = detail::data<T>(k);
    const T* pv = detail::data<T>(v);
    const T* fm = float_mask ? attn_mask.value<T>().data() : nullptr;
    const bool* bm = bool_mask ? attn_mask.value<bool>().data() : nullptr;
    const T sc = static_cast<T>(scale);
    const T keep = static_cast<T>(1.0 / (1.0 - dropout_p));
    std::vector<T> dropped(D.defined() ? L * S : 0);  // (P∘D) of one slice, the left gemm operand
    Generator& gen = default_generator();
    const double threshold = std::ldexp(dropout_p, 53);  // Generator::uniform01() >= p, exactly
    for (std::size_t b = 0; b < nb; ++b) {
      T* z = pp + b * L * S;
      if (L * S > 0) {
        if (E > 0) detail::gemm(false, true, blas_int(L), blas_int(S), blas_int(E), pq + oq[b], blas_int(E),
                                pk + ok[b], blas_int(E), z, blas_int(S));
        else std::fill(z, z + L * S, T(0));
      }
      for (std::size_t l = 0; l < L; ++l) {
        T* row = z + l * S;
        T m = ninf;
        if (!fm && !bm && !is_causal) {  // the common case: loops without branches
          for (std::size_t s = 0; s < S; ++s) row[s] *= sc;
          m = row_max(row, S);
        } else {
          const std::size_t mrow = attn_mask.defined() ? om[b] + l * m_row : 0;
          for (std::size_t s = 0; s < S; ++s) {
            T zs = row[s] * sc;
            if (fm) zs += fm[mrow + s * m_col];
            else if (bm && !bm[mrow + s * m_col]) zs = ninf;
            if (is_causal && s > l) zs = ninf;
            row[s] = zs;
            m = std::max(m, zs);
          }
        }
        if (m == ninf) {  // every key masked out: a zero row (PyTorch >= 2.5; NaN before)
          std::fill(row, row + S, T(0));
          dead[b * L + l] = 1;
          any_dead = true;
          continue;
        }
        // e^(z - max), the sum in double; masked keys (-inf) give exactly 0
        for (std::size_t s = 0; s < S; ++s) {
          if constexpr (std::is_same_v<T, float>) row[s] = row[s] == ninf ? 0.0f : detail::exp_f(row[s] - m);
          else row[s] = std::exp(row[s] - m);
        }
        const T inv = static_cast<T>(1.0 / row_sum(row, S));
        for (std::size_t s = 0; s < S; ++s) row[s] *= inv;
      }
      const T* left = z;
      if (pd) {  // one uniform draw per score, in row-major order (as nn::Dropout)
        T* db = pd + b * L * S;
        for (std::size_t i = 0; i < L * S; ++i) {  // u = (r >> 11)·2⁻⁵³ >= p, compared as integers
          db[i] = static_cast<double>(gen.next() >> 11) >= threshold ? keep : T(0);
          dropped[i] = z[i] * db[i];
        }
        left = dropped.data();
      }
      T* ob = po + b * L * Ev;
      if (L * Ev == 0) continue;
      if (S == 0) std::fill(ob, ob + L * Ev, T(0));
      else detail::gemm(false, false, blas_int(L), blas_int(Ev), blas_int(S), left, blas_int(S), pv + ov[b],
                        blas_int(Ev), ob, blas_int(Ev));
    }
    return 0;
  });

  // dead rows as a bool [batch..., L, 1] for the create_graph recomputation
  Tensor dead_rows;
  if (any_dead) {
    Shape ds = batch;
    ds.push_back(L);
    ds.push_back(1);
    dead_rows = detail::empty_tensor<bool>(ds);
    bool* p = detail::data<bool>(dead_rows);
    for (std::size_t i = 0; i < dead.size(); ++i) p[i] = dead[i] != 0;
  }
  const Tensor bmask = bool_mask ? attn_mask : Tensor();
  auto vjp = [P, D, bmask, dead_rows, scale, is_causal, L, S](const VjpContext& c, const Tensor& g) -> Grads {
    const Tensor& qi = c.input(0);
    const Tensor& ki = c.input(1);
    const Tensor& vi = c.input(2);
    const bool has_mask = c.num_inputs() == 4;
    const bool need_z = c.needs_grad(0) || c.needs_grad(1) || (has_mask && c.needs_grad(3));
    Grads grads;
    Tensor p = P;
    if (c.create_graph()) {  // P again, as a differentiable function of q, k (and the float mask)
      Tensor z = mul(matmul_t(qi, ki, false, true), scale);
      if (has_mask) z = add(z, c.input(3));
      const Tensor cst = additive_constant(bmask, is_causal, L, S, qi.dtype());
      if (cst.defined()) z = add(z, cst);
      const Tensor zero = zeros({}, qi.dtype());
      if (dead_rows.defined()) z = where(dead_rows, zero, z);  // finite rows, zeroed again below
      p = softmax(z, -1);
      if (dead_rows.defined()) p = where(dead_rows, zero, p);
    }
    const Tensor a = D.defined() ? mul(p, D) : p;
    const Tensor dv = c.needs_grad(2) ? matmul_t(a, g, true, false) : Tensor();
    Tensor dz;
    if (need_z) {
      Tensor dp = matmul_t(g, vi, false, true);  // [batch..., L, S]
      if (D.defined()) dp = mul(dp, D);
      if (c.create_graph() || dp.shape() != P.shape()) {
        dz = mul(p, sub(dp, sum(mul(dp, p), {-1}, true)));
      } else {  // dZ = P∘(dP - Σ_s dP∘P), one pass per row
        dz = dispatch(P.dtype(), [&](auto t) {
          using T = decltype(t);
          Tensor r = detail::empty_tensor<T>(detail::shape_ref(P));
          const T* pp = detail::data<T>(P);
          const T* pg = detail::data<T>(dp);
          T* pr = detail::data<T>(r);
          const std::size_t rows = S == 0 ? 0 : P.numel() / S;
          for (std::size_t i = 0; i < rows; ++i) {
            const T* y = pp + i * S;
            const T* gr = pg + i * S;
            const T d = static_cast<T>(row_dot(gr, y, S));
            T* o = pr + i * S;
            for (std::size_t s = 0; s < S; ++s) o[s] = y[s] * (gr[s] - d);
          }
          return r;
        });
      }
    }
    grads.push_back(c.needs_grad(0) ? mul(matmul_t(dz, ki, false, false), scale) : Tensor());
    grads.push_back(c.needs_grad(1) ? mul(matmul_t(dz, qi, true, false), scale) : Tensor());
    grads.push_back(dv);
    if (has_mask) grads.push_back(c.needs_grad(3) ? dz : Tensor());
    return grads;  // leading dims that were broadcast are summed by the engine
  };
  if (float_mask) return record(kOp, {q, k, v, attn_mask}, std::move(out), std::move(vjp));
  return record(kOp, {q, k, v}, std::move(out), std::move(vjp));
}

}  // namespace ag
