// The floor: the same computations and their hand-derived gradients in plain C++ / raw cblas,
// with no framework at all. escape()/clobber() keep the compiler from skipping or hoisting work.
#include <cblas.h>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "floor";
std::vector<std::pair<std::string, std::string>> side_info() { return {}; }

BENCH_SIDE(tiny_graph) {
  float a[3], b[3], ga[3], gb[3], y = 0;
  std::copy(tiny_graph::a, tiny_graph::a + 3, a);
  std::copy(tiny_graph::b, tiny_graph::b + 3, b);
  auto step = [&] {
    escape(a);  // a, b may have changed: reload them
    escape(b);
    float s = 0;
    for (int i = 0; i < 3; ++i) s += a[i] * b[i] + a[i];
    y = s;
    for (int i = 0; i < 3; ++i) {  // y = Σ(a·b + a), seed 1: dy/da = b + 1, dy/db = a
      ga[i] = b[i] + 1.0f;
      gb[i] = a[i];
    }
    escape(ga);  // the results are observed
    escape(gb);
    escape(&y);
  };
  Result r = time_it(step, opt);
  r.check.push_back(y);
  r.check.insert(r.check.end(), ga, ga + 3);
  r.check.insert(r.check.end(), gb, gb + 3);
  return r;
}

BENCH_SIDE(matmul_fb) {
  const int n = static_cast<int>(matmul_fb::n);
  const std::size_t nn = matmul_fb::n * matmul_fb::n;
  std::vector<float> A(nn), B(nn), G(nn), C(nn), dA(nn), dB(nn);
  fill_uniform(A.data(), nn, matmul_fb::seed_a);
  fill_uniform(B.data(), nn, matmul_fb::seed_b);
  fill_uniform(G.data(), nn, matmul_fb::seed_g);
  auto step = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n,
                0.0f, C.data(), n);  // C = A·B
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, G.data(), n, B.data(), n,
                0.0f, dA.data(), n);  // dA = G·Bᵀ
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, G.data(), n,
                0.0f, dB.data(), n);  // dB = Aᵀ·G
    clobber();
  };
  Result r = time_it(step, opt);
  append_checksums(r.check, C.data(), nn);
  append_checksums(r.check, dA.data(), nn);
  append_checksums(r.check, dB.data(), nn);
  return r;
}

}  // namespace bench
