// matmul: numpy semantics on top of one primitive, matmul_t = op(A)·op(B), batched over broadcast
// leading dims, one cblas ?gemm per batch (one in all when B has no batch dims).
#include "core/internal.hpp"
#include "ops/gemm.hpp"

namespace ag {
using detail::dispatch;
using detail::gemm;

namespace {

int blas_int(const char* op, std::size_t v) {
  if (v > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw ShapeError(fmt::format("{}: dimension {} is too large for BLAS", op, v));
  return static_cast<int>(v);
}

std::string mm_shapes(const Shape& a, const Shape& b, bool ta, bool tb) {
  return fmt::format("{}{} by {}{}", shape_str(a), ta ? "ᵀ" : "", shape_str(b), tb ? "ᵀ" : "");
}

template <class T>
xt::xarray<T> matmul_forward(const xt::xarray<T>& A, const xt::xarray<T>& B, bool ta, bool tb) {
  const Shape as = detail::to_shape(A.shape()), bs = detail::to_shape(B.shape());
  const std::size_t na = as.size(), nb = bs.size();
  const std::size_t M = ta ? as[na - 1] : as[na - 2];
  const std::size_t K = ta ? as[na - 2] : as[na - 1];
  const std::size_t Kb = tb ? bs[nb - 1] : bs[nb - 2];
  const std::size_t N = tb ? bs[nb - 2] : bs[nb - 1];
  if (K != Kb) throw ShapeError(fmt::format("matmul: cannot multiply {}", mm_shapes(as, bs, ta, tb)));
  const Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
  Shape batch = broadcast_shapes("matmul", abatch, bbatch);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  numel(out_shape, "matmul");  // [2^40, 0]·[0, 2^40]: inputs without elements, an output beyond any
  xt::xarray<T> C = xt::xarray<T>::from_shape(out_shape);
  if (C.size() == 0) return C;
  if (K == 0) {
    C.fill(T(0));
    return C;
  }
  const int lda = blas_int("matmul", as[na - 1]), ldb = blas_int("matmul", bs[nb - 1]);
  const int m = blas_int("matmul", M), n = blas_int("matmul", N), k = blas_int("matmul", K);
  std::size_t nbatch = 1;
  for (std::size_t d : batch) nbatch *= d;
  // B shared by every batch and A not transposed: fold the batch into the rows of one gemm.
  if (bbatch.empty() && !ta) {
    gemm(false, tb, blas_int("matmul", nbatch * M), n, k, A.data(), lda, B.data(), ldb, C.data(), n);
    return C;
  }
  const std::size_t a_mat = as[na - 2] * as[na - 1], b_mat = bs[nb - 2] * bs[nb - 1];
  const std::size_t nd = batch.size();
  // element strides (in matrices) of each operand over the broadcast batch dims (0 = broadcast),
  // and the batch index: one buffer
  std::vector<std::size_t> work(3 * nd + 1, 0);
  std::size_t* sa = work.data();
  std::size_t* sb = sa + nd;
  std::size_t* idx = sb + nd;
  for (std::size_t i = nd, stride_a = 1, stride_b = 1; i-- > 0;) {
    const std::ptrdiff_t ia = static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(nd - abatch.size());
    const std::ptrdiff_t ib = static_cast<std::ptrdiff_t>(i) - static_cast<std::ptrdiff_t>(nd - bbatch.size());
    if (ia >= 0) {
      sa[i] = abatch[ia] == 1 ? 0 : stride_a;
      stride_a *= abatch[ia];
    }
    if (ib >= 0) {
      sb[i] = bbatch[ib] == 1 ? 0 : stride_b;
      stride_b *= bbatch[ib];
    }
  }
  for (std::size_t bi = 0; bi < nbatch; ++bi) {
    std::size_t oa = 0, ob = 0;
    for (std::size_t d = 0; d < nd; ++d) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    gemm(ta, tb, m, n, k, A.data() + oa * a_mat, lda, B.data() + ob * b_mat, ldb, C.data() + bi * M * N, n);
    for (std::size_t d = nd; d-- > 0;) {  // next batch index, last dim fastest
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return C;
}

// Both operands 2-D (every matmul of a Dense layer and its VJP): no batch bookkeeping, no Shape
// copies; the result is built in place. Returns an undefined tensor for other ranks.
template <class T> Tensor matmul_2d(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const auto& as = detail::shape_ref(a);
  const auto& bs = detail::shape_ref(b);
  if (as.size() != 2 || bs.size() != 2) return Tensor();
  const std::size_t M = ta ? as[1] : as[0], K = ta ? as[0] : as[1];
  const std::size_t Kb = tb ? bs[1] : bs[0], N = tb ? bs[0] : bs[1];
  if (K != Kb)
    throw ShapeError(fmt::format("matmul: cannot multiply {}", mm_shapes(a.shape(), b.shape(), ta, tb)));
  if (K == 0) numel({M, N}, "matmul");  // inputs without elements bound nothing: [2^40, 0]·[0, 2^40]
  Tensor c = detail::empty_tensor<T>(detail::ShapeRef{M, N});
  T* pc = detail::data<T>(c);
  if (M * N == 0) return c;
  if (K == 0) {
    std::fill(pc, pc + M * N, T(0));
    return c;
  }
  gemm(ta, tb, blas_int("matmul", M), blas_int("matmul", N), blas_int("matmul", K), detail::data<T>(a),
       blas_int("matmul", as[1]), detail::data<T>(b), blas_int("matmul", bs[1]), pc, static_cast<int>(N));
  return c;
}

}  // namespace

Tensor matmul_t(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  OpScope mark("matmul");
  detail::check_same_dtype("matmul", a, b);
  if (a.dim() < 2 || b.dim() < 2)
    throw ShapeError(fmt::format("matmul_t: needs operands of at least 2 dims, got {}",
                                 mm_shapes(a.shape(), b.shape(), ta, tb)));
  detail::check_blas_once();
  Tensor y = dispatch(a.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor c = matmul_2d<T>(a, b, ta, tb);
    return c.defined() ? c : detail::wrap<T>(matmul_forward<T>(a.value<T>(), b.value<T>(), ta, tb));
  });
  return record("matmul", {a, b}, std::move(y), [ta, tb](const VjpContext& c, const Tensor& g) -> Grads {
    const Tensor& A = c.input(0);
    const Tensor& B = c.input(1);
    Tensor dA, dB;  // C = op(A)·op(B); g:[..,M,N]
    if (!ta && !tb) {
      if (c.needs_grad(0)) dA = matmul_t(g, B, false, true);  // g·Bᵀ
      if (c.needs_grad(1)) dB = matmul_t(A, g, true, false);  // Aᵀ·g
    } else if (!ta && tb) {
      if (c.needs_grad(0)) dA = matmul_t(g, B, false, false);  // g·B
      if (c.needs_grad(1)) dB = matmul_t(g, A, true, false);   // gᵀ·A
    } else if (ta && !tb) {
      if (c.needs_grad(0)) dA = matmul_t(B, g, false, true);   // B·gᵀ
      if (c.needs_grad(1)) dB = matmul_t(A, g, false, false);  // A·g
    } else {
      if (c.needs_grad(0)) dA = matmul_t(B, g, true, true);  // Bᵀ·gᵀ
      if (c.needs_grad(1)) dB = matmul_t(g, A, true, true);  // gᵀ·Aᵀ
    }
    return {dA, dB};  // batch dims that were broadcast are summed by the engine
  });
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype("matmul", a, b);
  const Shape as = a.shape(), bs = b.shape();
  if (as.empty() || bs.empty())
    throw ShapeError(fmt::format("matmul: 0-d operand in {} by {} (use mul for scalars)", shape_str(as),
                                 shape_str(bs)));
  const std::size_t ka = as.back(), kb = bs.size() == 1 ? bs[0] : bs[bs.size() - 2];
  if (ka != kb) throw ShapeError(fmt::format("matmul: cannot multiply {} by {}", shape_str(as), shape_str(bs)));
  const auto sz = [](std::size_t v) { return static_cast<std::ptrdiff_t>(v); };
  if (as.size() == 1 && bs.size() == 1)  // dot product -> 0-d
    return reshape(matmul_t(reshape(a, {1, sz(ka)}), reshape(b, {sz(kb), 1}), false, false), {});
  if (as.size() == 1) {  // [K]·[..,K,N] -> [..,N]
    Tensor r = matmul_t(reshape(a, {1, sz(ka)}), b, false, false);
    Shape rs = r.shape();
    rs.erase(rs.end() - 2);
    return reshape(r, std::vector<std::ptrdiff_t>(rs.begin(), rs.end()));
  }
  if (bs.size() == 1) {  // [..,M,K]·[K] -> [..,M]
    Tensor r = matmul_t(a, reshape(b, {sz(kb), 1}), false, false);
    Shape rs = r.shape();
    rs.pop_back();
    return reshape(r, std::vector<std::ptrdiff_t>(rs.begin(), rs.end()));
  }
  return matmul_t(a, b, false, false);
}

// y = x·W + b in one op for x:[M,K], W:[K,N], b:[N]: every row of y starts as b, then one gemm with
// beta = 1 adds x·W (as a hand-written BLAS loop does). Other shapes: matmul then add.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  OpScope mark("linear");
  detail::check_same_dtype("linear", x, w);
  detail::check_same_dtype("linear", x, b);
  const auto& xs = detail::shape_ref(x);
  const auto& ws = detail::shape_ref(w);
  const auto& bs = detail::shape_ref(b);
  if (xs.size() != 2 || ws.size() != 2 || bs.size() != 1 || xs[1] != ws[0] || bs[0] != ws[1]) {
    // other shapes: matmul then add, but bad shapes are named as linear's (the op the user called)
    const auto shapes = [&] {
      return fmt::format("x {} · W {} + b {}", shape_str(x.shape()), shape_str(w.shape()), shape_str(b.shape()));
    };
    if (ws.size() != 2) throw ShapeError(fmt::format("linear: W must be 2-D [in, out], got {}", shapes()));
    if (xs.empty() || xs.back() != ws[0])
      throw ShapeError(fmt::format("linear: x's last axis must equal W's rows ({}), got {}", ws[0], shapes()));
    Shape out(xs.begin(), xs.end() - 1);
    out.push_back(ws[1]);
    if (!detail::broadcastable_to(bs, out))
      throw ShapeError(fmt::format("linear: b does not broadcast to the output {}, got {}", shape_str(out), shapes()));
    return add(matmul(x, w), b);
  }
  detail::check_blas_once();
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const std::size_t M = xs[0], K = xs[1], N = ws[1];
    if (K == 0) numel({M, N}, "linear");
    Tensor r = detail::empty_tensor<T>(detail::ShapeRef{M, N});
    T* pr = detail::data<T>(r);
    const T* pb = b.value<T>().data();
    for (std::size_t i = 0; i < M; ++i) std::copy(pb, pb + N, pr + i * N);
    if (M * N * K > 0)
      gemm(false, false, blas_int("linear", M), blas_int("linear", N), blas_int("linear", K),
           x.value<T>().data(), static_cast<int>(K), w.value<T>().data(), static_cast<int>(N), pr,
           static_cast<int>(N), T(1));
    return r;
  });
  return record("linear", {x, w, b}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    // g:[M,N]; dx = g·Wᵀ, dW = xᵀ·g, db = Σ_rows g
    return {c.needs_grad(0) ? matmul_t(g, c.input(1), false, true) : Tensor(),
            c.needs_grad(1) ? matmul_t(c.input(0), g, true, false) : Tensor(),
            !c.needs_grad(2) ? Tensor() : c.create_graph() ? sum(g, {0}) : detail::sum_rows(g)};
  });
}

}  // namespace ag
