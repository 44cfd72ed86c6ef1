// scaled_dot_product_attention against a nested-loop reference (values) and against the
// composition matmul/softmax/matmul (gradients of the fused first-order loop, in float32 and
// float64), plus the defined behaviours: fully masked rows, causal with L != S, dropout.
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/testing/op_table.hpp"

namespace {

// out[b, l, :] = Σ_s softmax_s(scale·q[b,l]·k[b,s] + mask) v[b, s, :] in plain loops over
// [B, L, E], [B, S, E], [B, S, Ev]; allowed(b, l, s) false masks the pair out; a fully masked
// row gives zeros.
template <class Allowed>
std::vector<double> reference(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                              std::size_t B, std::size_t L, std::size_t S, std::size_t E, std::size_t Ev,
                              double scale, Allowed allowed) {
  std::vector<double> out(B * L * Ev, 0.0);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t l = 0; l < L; ++l) {
      std::vector<double> z(S, -std::numeric_limits<double>::infinity());
      double m = -std::numeric_limits<double>::infinity();
      for (std::size_t s = 0; s < S; ++s) {
        if (!allowed(b, l, s)) continue;
        double d = 0.0;
        for (std::size_t e = 0; e < E; ++e) d += q[(b * L + l) * E + e] * k[(b * S + s) * E + e];
        z[s] = d * scale;
        m = std::max(m, z[s]);
      }
      if (m == -std::numeric_limits<double>::infinity()) continue;
      double sum = 0.0;
      for (std::size_t s = 0; s < S; ++s) sum += std::exp(z[s] - m);
      for (std::size_t s = 0; s < S; ++s) {
        const double p = std::exp(z[s] - m) / sum;
        for (std::size_t e = 0; e < Ev; ++e) out[(b * L + l) * Ev + e] += p * v[(b * S + s) * Ev + e];
      }
    }
  return out;
}

void check_close(const std::vector<double>& a, const std::vector<double>& b, double eps) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(eps).scale(1.0));
}
void check_close(const ag::Tensor& a, const ag::Tensor& b, double eps) {
  REQUIRE(a.shape() == b.shape());
  check_close(a.to_vector<double>(), b.to_vector<double>(), eps);
}

ag::Tensor composed(const ag::Tensor& q, const ag::Tensor& k, const ag::Tensor& v, const ag::Tensor& add, double scale) {
  ag::Tensor z = ag::mul(ag::matmul(q, ag::transpose(k, -2, -1)), scale);
  if (add.defined()) z = z + add;
  return ag::matmul(ag::softmax(z, -1), v);
}

}  // namespace

TEST_CASE("scaled_dot_product_attention equals a nested-loop reference: plain, bool mask, causal with L 3 S 5") {
  ag::Generator gen(5);
  const std::size_t B = 2, L = 3, S = 5, E = 4, Ev = 3;
  const ag::Tensor q = ag::randn({B, L, E}, gen, ag::f64), k = ag::randn({B, S, E}, gen, ag::f64),
                   v = ag::randn({B, S, Ev}, gen, ag::f64);
  const auto qv = q.to_vector<double>(), kv = k.to_vector<double>(), vv = v.to_vector<double>();
  const double sc = 0.5;  // 1/√4
  check_close(ag::scaled_dot_product_attention(q, k, v).to_vector<double>(),
              reference(qv, kv, vv, B, L, S, E, Ev, sc, [](auto, auto, auto) { return true; }), 1e-12);
  // bool mask [B, 1, S] broadcast over the queries, true = takes part
  const ag::Tensor m = ag::testing::values({1, 0, 1, 1, 0, 0, 1, 1, 1, 1}, {2, 1, 5}).to(ag::bool_);
  const auto mv = m.to_vector<double>();
  check_close(ag::scaled_dot_product_attention(q, k, v, m).to_vector<double>(),
              reference(qv, kv, vv, B, L, S, E, Ev, sc, [&](auto b, auto, auto s) { return mv[b * S + s] != 0.0; }),
              1e-12);
  // causal: query l sees keys s <= l (torch.tril of [L, S])
  check_close(ag::scaled_dot_product_attention(q, k, v, {}, 0.0, true, 0.3).to_vector<double>(),
              reference(qv, kv, vv, B, L, S, E, Ev, 0.3, [](auto, auto l, auto s) { return s <= l; }), 1e-12);
  // float32 agrees to float rounding
  check_close(ag::scaled_dot_product_attention(q.to(ag::f32), k.to(ag::f32), v.to(ag::f32), m).to_vector<double>(),
              reference(qv, kv, vv, B, L, S, E, Ev, sc, [&](auto b, auto, auto s) { return mv[b * S + s] != 0.0; }),
              1e-5);
}

TEST_CASE("scaled_dot_product_attention gradients equal the composed form: heads broadcast, float mask, f32 and f64") {
  ag::Generator gen(8);
  for (ag::DType d : {ag::f32, ag::f64}) {
    const double eps = d == ag::f32 ? 2e-5 : 1e-12;
    ag::Tensor q = ag::randn({2, 3, 4, 8}, gen, d).requires_grad_();  // [N, H, L, E]
    ag::Tensor k = ag::randn({2, 1, 6, 8}, gen, d).requires_grad_();  // one head shared
    ag::Tensor v = ag::randn({2, 1, 6, 5}, gen, d).requires_grad_();
    ag::Tensor mask = ag::randn({4, 6}, gen, d).requires_grad_();
    const ag::Tensor w = ag::randn({2, 3, 4, 5}, gen, d);  // a fixed cotangent
    const ag::Tensor fused = ag::scaled_dot_product_attention(q, k, v, mask);
    const ag::Tensor ref = composed(q, k, v, mask, 1.0 / std::sqrt(8.0));
    check_close(fused, ref, eps);
    for (bool create_graph : {false, true}) {
      INFO("create_graph " << create_graph << " dtype " << ag::dtype_name(d));
      const auto gf = ag::grad({ag::sum(fused * w)}, {q, k, v, mask}, {}, true, create_graph);
      const auto gr = ag::grad({ag::sum(ref * w)}, {q, k, v, mask}, {}, true, create_graph);
      for (std::size_t i = 0; i < 4; ++i) {
        CHECK(gf[i].shape() == (i == 0 ? q : i == 1 ? k : i == 2 ? v : mask).shape());
        check_close(gf[i], gr[i], eps);
      }
    }
  }
}

TEST_CASE("scaled_dot_product_attention: a fully masked query row gives zeros and passes no gradient") {
  ag::Generator gen(3);
  ag::Tensor q = ag::randn({3, 2}, gen, ag::f64).requires_grad_(), k = ag::randn({4, 2}, gen, ag::f64).requires_grad_(),
             v = ag::randn({4, 3}, gen, ag::f64).requires_grad_();
  const ag::Tensor m = ag::testing::values({1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, {3, 4}).to(ag::bool_);
  const ag::Tensor y = ag::scaled_dot_product_attention(q, k, v, m);
  const auto yv = y.to_vector<double>();
  for (std::size_t e = 0; e < 3; ++e) CHECK(yv[3 + e] == 0.0);
  for (std::size_t e = 0; e < 3; ++e) CHECK(std::isfinite(yv[e]));
  // a float mask of -inf does the same
  const ag::Tensor fm = ag::where(m, ag::zeros({}, ag::f64), ag::full({}, -INFINITY, ag::f64));
  check_close(ag::scaled_dot_product_attention(q, k, v, fm), y, 1e-15);
  ag::sum(y * y).backward();
  const auto gq = q.grad().to_vector<double>();
  CHECK(gq[2] == 0.0);
  CHECK(gq[3] == 0.0);
  CHECK(gq[0] != 0.0);
  for (double g : k.grad().to_vector<double>()) CHECK(std::isfinite(g));
}

TEST_CASE("scaled_dot_product_attention dropout draws one uniform per score from the global generator") {
  ag::Generator gen(9);
  const ag::Tensor q = ag::randn({2, 3, 4}, gen, ag::f64), k = ag::randn({2, 5, 4}, gen, ag::f64),
                   v = ag::randn({2, 5, 2}, gen, ag::f64);
  ag::manual_seed(42);
  const ag::Tensor y = ag::scaled_dot_product_attention(q, k, v, {}, 0.4);
  ag::manual_seed(42);
  const ag::Tensor keep = ag::mul((ag::rand({2, 3, 5}, ag::f64) >= 0.4).to(ag::f64), 1.0 / 0.6);
  const ag::Tensor z = ag::mul(ag::matmul(q, ag::transpose(k, -2, -1)), 0.5);
  check_close(y, ag::matmul(ag::mul(ag::softmax(z, -1), keep), v), 1e-13);
  // dropout_p = 0 draws nothing
  ag::manual_seed(1);
  (void)ag::scaled_dot_product_attention(q, k, v);
  const double next = ag::default_generator().uniform01();
  ag::manual_seed(1);
  CHECK(ag::default_generator().uniform01() == next);
}
