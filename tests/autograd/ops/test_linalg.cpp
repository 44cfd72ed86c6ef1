// matmul: every numpy shape case against a naive loop product, and its gradients against the
// hand-derived dA = g·Bᵀ (summed over broadcast batch dims), dB = Aᵀ·g.
#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

std::vector<double> values_of(const ag::Tensor& t) {
  xt::xarray<double> a = t.to_xarray<double>();
  return std::vector<double>(a.begin(), a.end());
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double eps) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(eps), "element " << i);
}

ag::Tensor tensor_from(const std::vector<double>& v, const ag::Shape& shape) {
  xt::xarray<double> a = xt::xarray<double>::from_shape(shape);
  std::copy(v.begin(), v.end(), a.begin());
  return ag::Tensor(std::move(a));
}

std::size_t product(const ag::Shape& s) {
  std::size_t n = 1;
  for (std::size_t d : s) n *= d;
  return n;
}

// Naive batched product on flat row-major buffers. A:[..,M,K], B:[..,K,N] (both at least 2-D;
// 1-D operands are promoted by the caller, which does not change the flat layout).
struct Naive {
  ag::Shape batch;  // broadcast batch shape
  std::size_t M, K, N;
  ag::Shape abatch, bbatch;

  Naive(const ag::Shape& as, const ag::Shape& bs) {
    M = as[as.size() - 2];
    K = as.back();
    N = bs.back();
    abatch.assign(as.begin(), as.end() - 2);
    bbatch.assign(bs.begin(), bs.end() - 2);
    const std::size_t nd = std::max(abatch.size(), bbatch.size());
    for (std::size_t i = 0; i < nd; ++i) {
      const std::size_t da = i < nd - abatch.size() ? 1 : abatch[i - (nd - abatch.size())];
      const std::size_t db = i < nd - bbatch.size() ? 1 : bbatch[i - (nd - bbatch.size())];
      batch.push_back(std::max(da, db));
    }
  }
  // matrix index into an operand with batch shape `own` for the output batch number `ob`
  std::size_t operand_matrix(std::size_t ob, const ag::Shape& own) const {
    std::vector<std::size_t> idx(batch.size());
    for (std::size_t d = batch.size(); d-- > 0;) {
      idx[d] = ob % batch[d];
      ob /= batch[d];
    }
    std::size_t off = 0;
    const std::size_t lead = batch.size() - own.size();
    for (std::size_t d = 0; d < own.size(); ++d) off = off * own[d] + (own[d] == 1 ? 0 : idx[lead + d]);
    return off;
  }
  std::vector<double> forward(const std::vector<double>& A, const std::vector<double>& B) const {
    std::vector<double> C(product(batch) * M * N, 0.0);
    for (std::size_t ob = 0; ob < product(batch); ++ob) {
      const std::size_t ao = operand_matrix(ob, abatch) * M * K, bo = operand_matrix(ob, bbatch) * K * N;
      for (std::size_t m = 0; m < M; ++m)
        for (std::size_t n = 0; n < N; ++n) {
          double acc = 0;
          for (std::size_t k = 0; k < K; ++k) acc += A[ao + m * K + k] * B[bo + k * N + n];
          C[ob * M * N + m * N + n] = acc;
        }
    }
    return C;
  }
  // dA[a,m,k] = Σ_{batches using a} Σ_n g[m,n]·B[k,n];  dB[b,k,n] = Σ_{batches using b} Σ_m A[m,k]·g[m,n]
  void backward(const std::vector<double>& A, const std::vector<double>& B, const std::vector<double>& g,
                std::vector<double>& dA, std::vector<double>& dB) const {
    dA.assign(A.size(), 0.0);
    dB.assign(B.size(), 0.0);
    for (std::size_t ob = 0; ob < product(batch); ++ob) {
      const std::size_t ao = operand_matrix(ob, abatch) * M * K, bo = operand_matrix(ob, bbatch) * K * N;
      const std::size_t go = ob * M * N;
      for (std::size_t m = 0; m < M; ++m)
        for (std::size_t n = 0; n < N; ++n)
          for (std::size_t k = 0; k < K; ++k) {
            dA[ao + m * K + k] += g[go + m * N + n] * B[bo + k * N + n];
            dB[bo + k * N + n] += A[ao + m * K + k] * g[go + m * N + n];
          }
    }
  }
};

// Runs matmul on random float64 operands of the given shapes and compares the result shape,
// values and both gradients with the naive loops.
void check_matmul_case(const ag::Shape& as, const ag::Shape& bs, const ag::Shape& want_shape,
                       ag::DType dtype = ag::f64) {
  INFO("A " << ag::shape_str(as) << " B " << ag::shape_str(bs));
  ag::Generator gen(as.size() * 100 + bs.size() * 10 + product(as) + product(bs));
  ag::Tensor A = ag::randn(as, gen, dtype).requires_grad_();
  ag::Tensor B = ag::randn(bs, gen, dtype).requires_grad_();
  ag::Tensor C = ag::matmul(A, B);
  REQUIRE(C.shape() == want_shape);
  CHECK(C.dtype() == dtype);

  ag::Shape pa = as, pb = bs;  // numpy promotion of 1-D operands
  if (pa.size() == 1) pa.insert(pa.begin(), 1);
  if (pb.size() == 1) pb.push_back(1);
  const Naive naive(pa, pb);
  const std::vector<double> av = values_of(A), bv = values_of(B);
  const double eps = dtype == ag::f64 ? 1e-12 : 1e-5;
  check_close(values_of(C), naive.forward(av, bv), eps);

  ag::Tensor G = ag::randn(want_shape, gen, dtype);  // L = Σ C ⊙ G, so dL/dC = G
  (C * G).sum().backward();
  std::vector<double> dA, dB;
  naive.backward(av, bv, values_of(G), dA, dB);
  REQUIRE(A.grad().shape() == as);
  REQUIRE(B.grad().shape() == bs);
  check_close(values_of(A.grad()), dA, eps);
  check_close(values_of(B.grad()), dB, eps);
}

}  // namespace

TEST_CASE("matmul of two vectors is a 0-d dot product") {
  ag::Tensor a({1.0, 2.0, 3.0}, ag::f64, true), b({4.0, -5.0, 6.0}, ag::f64, true);
  ag::Tensor c = ag::matmul(a, b);
  CHECK(c.dim() == 0);
  CHECK(c.item() == 12.0);  // 4 - 10 + 18
  c.backward();  // 0-d: seeded with 1
  CHECK(values_of(a.grad()) == std::vector<double>{4.0, -5.0, 6.0});
  CHECK(values_of(b.grad()) == std::vector<double>{1.0, 2.0, 3.0});
  check_matmul_case({7}, {7}, {});
}

TEST_CASE("matmul of a small matrix pair by hand") {
  ag::Tensor a({{1.0, 2.0}, {3.0, 4.0}}, ag::f64, true);
  ag::Tensor b({{5.0, 6.0, 7.0}, {8.0, 9.0, 10.0}}, ag::f64, true);
  ag::Tensor c = ag::matmul(a, b);
  CHECK(c.shape() == ag::Shape{2, 3});
  CHECK(values_of(c) == std::vector<double>{21, 24, 27, 47, 54, 61});
  c.sum().backward();
  // dA = 1·Bᵀ: row sums of B; dB = Aᵀ·1: column sums of A
  CHECK(values_of(a.grad()) == std::vector<double>{18, 27, 18, 27});
  CHECK(values_of(b.grad()) == std::vector<double>{4, 4, 4, 6, 6, 6});
}

TEST_CASE("matmul vector times matrix and matrix times vector") {
  check_matmul_case({4}, {4, 3}, {3});
  check_matmul_case({3, 4}, {4}, {3});
  ag::Tensor v({1.0, -1.0}, ag::f64);
  ag::Tensor m({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, ag::f64);
  CHECK(values_of(ag::matmul(v, m)) == std::vector<double>{-3, -3, -3});
  ag::Tensor w({1.0, 0.0, 2.0}, ag::f64);
  CHECK(values_of(ag::matmul(m, w)) == std::vector<double>{7, 16});
}

TEST_CASE("matmul of two matrices") {
  check_matmul_case({3, 5}, {5, 4}, {3, 4});
  check_matmul_case({1, 6}, {6, 1}, {1, 1});
  check_matmul_case({17, 9}, {9, 13}, {17, 13});
}

TEST_CASE("matmul batched 3-D by 3-D") { check_matmul_case({4, 3, 5}, {4, 5, 2}, {4, 3, 2}); }

TEST_CASE("matmul batched 3-D by 2-D shares the matrix") {
  check_matmul_case({4, 3, 5}, {5, 2}, {4, 3, 2});
  check_matmul_case({3, 5}, {4, 5, 2}, {4, 3, 2});  // and the other way round
}

TEST_CASE("matmul with vectors against batches") {
  check_matmul_case({5}, {3, 5, 2}, {3, 2});
  check_matmul_case({3, 2, 5}, {5}, {3, 2});
}

TEST_CASE("matmul broadcasts batch dims") {
  check_matmul_case({2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2});
  check_matmul_case({2, 1, 3, 4}, {1, 5, 4, 2}, {2, 5, 3, 2});
  check_matmul_case({1, 3, 4}, {6, 4, 2}, {6, 3, 2});
  check_matmul_case({6, 3, 4}, {1, 4, 2}, {6, 3, 2});
}

TEST_CASE("matmul in float32 matches the naive product") {
  check_matmul_case({8, 6}, {6, 5}, {8, 5}, ag::f32);
  check_matmul_case({2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2}, ag::f32);
}

TEST_CASE("matmul with an empty inner dimension gives zeros") {
  ag::Tensor a = ag::zeros({2, 0}, ag::f64), b = ag::zeros({0, 3}, ag::f64);
  ag::Tensor c = ag::matmul(a, b);
  CHECK(c.shape() == ag::Shape{2, 3});
  CHECK(values_of(c) == std::vector<double>(6, 0.0));
}

namespace {
// op(A)·op(B) for every transpose pair, with batch dims `batch` and op(A):[M,K], op(B):[K,N].
void check_transposes(const ag::Shape& batch, std::size_t M, std::size_t K, std::size_t N) {
  auto with = [&](std::initializer_list<std::size_t> mat) {
    ag::Shape s = batch;
    s.insert(s.end(), mat);
    return s;
  };
  ag::Generator gen(99 + M * K * N);
  ag::Tensor a = ag::randn(with({K, M}), gen, ag::f64).requires_grad_();  // op(a) = aᵀ: [..,M,K]
  ag::Tensor b = ag::randn(with({N, K}), gen, ag::f64).requires_grad_();  // op(b) = bᵀ: [..,K,N]
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      INFO("batch " << ag::shape_str(batch) << " M K N " << M << " " << K << " " << N << " ta " << ta
                    << " tb " << tb);
      // operands laid out so that op(A)·op(B) is [..,M,K]·[..,K,N]
      ag::Tensor A = ta ? a : ag::transpose(a, -1, -2).detach().requires_grad_();
      ag::Tensor B = tb ? b : ag::transpose(b, -1, -2).detach().requires_grad_();
      ag::Tensor C = ag::matmul_t(A, B, ta, tb);
      REQUIRE(C.shape() == with({M, N}));
      ag::Tensor At = ag::transpose(a, -1, -2).detach(), Bt = ag::transpose(b, -1, -2).detach();
      const Naive naive(with({M, K}), with({K, N}));
      const std::vector<double> atv = values_of(At), btv = values_of(Bt);
      check_close(values_of(C), naive.forward(atv, btv), 1e-12);

      ag::Tensor G = ag::randn(with({M, N}), gen, ag::f64);
      a.zero_grad();
      b.zero_grad();
      (C * G).sum().backward();
      std::vector<double> dAt, dBt;
      naive.backward(atv, btv, values_of(G), dAt, dBt);  // w.r.t. op(A) and op(B)
      // a transposed operand receives the transposed gradient
      ag::Tensor dA_want = tensor_from(dAt, with({M, K}));
      ag::Tensor dB_want = tensor_from(dBt, with({K, N}));
      if (ta) dA_want = ag::transpose(dA_want, -1, -2);
      if (tb) dB_want = ag::transpose(dB_want, -1, -2);
      REQUIRE(A.grad().shape() == dA_want.shape());
      REQUIRE(B.grad().shape() == dB_want.shape());
      check_close(values_of(A.grad()), values_of(dA_want), 1e-12);
      check_close(values_of(B.grad()), values_of(dB_want), 1e-12);
    }
}
}  // namespace

TEST_CASE("matmul_t transposes operands without copies and differentiates") {
  check_transposes({2}, 3, 4, 5);  // batched
  // 2-D operands take their own path; m·n·k <= 1024 runs a plain loop, larger ones BLAS
  check_transposes({}, 3, 4, 5);
  check_transposes({}, 1, 3, 16);  // the tutorial's per-row shapes
  check_transposes({}, 16, 1, 1);
  check_transposes({}, 12, 10, 11);
  // beyond the plain loop, one row, one column or rank one go to BLAS level 2 (?gemv, ?ger), in
  // the forward product and in the two backward ones
  check_transposes({}, 1, 40, 50);
  check_transposes({}, 40, 30, 1);
  check_transposes({}, 40, 1, 50);
}

TEST_CASE("matmul chains differentiate through both factors") {
  // L = Σ (A·B)·C with all-ones C: compare against the naive two-step product
  ag::Generator gen(3);
  ag::Tensor A = ag::randn({3, 4}, gen, ag::f64).requires_grad_();
  ag::Tensor B = ag::randn({4, 2}, gen, ag::f64).requires_grad_();
  ag::Tensor x({1.0, -2.0}, ag::f64, true);
  ag::Tensor y = ag::matmul(ag::matmul(A, B), x);  // [3]
  y.sum().backward();
  const Naive ab({3, 4}, {4, 2});
  const std::vector<double> av = values_of(A), bv = values_of(B);
  const std::vector<double> P = ab.forward(av, bv);  // [3,2]
  // dL/dx_n = Σ_m P[m,n]; dL/dP[m,n] = x_n
  std::vector<double> dx = {0, 0};
  for (std::size_t m = 0; m < 3; ++m)
    for (std::size_t n = 0; n < 2; ++n) dx[n] += P[m * 2 + n];
  check_close(values_of(x.grad()), dx, 1e-12);
  std::vector<double> gP(6), dA, dB;
  for (std::size_t m = 0; m < 3; ++m)
    for (std::size_t n = 0; n < 2; ++n) gP[m * 2 + n] = n == 0 ? 1.0 : -2.0;
  ab.backward(av, bv, gP, dA, dB);
  check_close(values_of(A.grad()), dA, 1e-12);
  check_close(values_of(B.grad()), dB, 1e-12);
}
