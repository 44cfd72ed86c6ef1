// einsum (ag/ops/linalg.hpp): values against matmul and explicit loops, and its gradients.
#include <cmath>
#include <string>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::vals;

namespace {

// Deterministic, distinct values: 0.1·(i + 1)·(-1)^i over the shape.
ag::Tensor filled(const ag::Shape& s, double scale = 0.1) {
  std::vector<double> v(ag::numel(s));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * static_cast<double>(i + 1) * (i % 2 ? -1.0 : 1.0);
  return make(v, s, ag::f64, true);
}

void check_close(const ag::Tensor& got, const ag::Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> a = vals(got), b = vals(want);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(a[i] == doctest::Approx(b[i]).epsilon(1e-12), "element " << i);
}

}  // namespace

TEST_CASE("einsum: the matrix products agree with matmul") {
  ag::Tensor a = filled({2, 3}), b = filled({3, 4}), c = filled({4, 2});
  check_close(ag::einsum("ij,jk->ik", {a, b}), ag::matmul(a, b));
  check_close(ag::einsum("ij,jk", {a, b}), ag::matmul(a, b));                 // implicit output "ik"
  check_close(ag::einsum(" ij , jk -> ki ", {a, b}), ag::transpose(ag::matmul(a, b)));
  check_close(ag::einsum("ij,jk,kl->il", {a, b, c}), ag::matmul(ag::matmul(a, b), c));
  check_close(ag::einsum("ij,kj->ik", {a, ag::transpose(b)}), ag::matmul(a, b));  // transposed operand
  ag::Tensor p = filled({2, 2, 3}), q = filled({2, 3, 4});
  check_close(ag::einsum("bij,bjk->bik", {p, q}), ag::matmul(p, q));
  ag::Tensor qh = filled({2, 3, 4, 5}), kh = filled({2, 3, 6, 5});
  check_close(ag::einsum("bhqd,bhkd->bhqk", {qh, kh}), ag::matmul(qh, ag::transpose(kh, -1, -2)));
  ag::Tensor d4 = filled({2, 2});
  check_close(ag::einsum("ij,jk,kl,lm->im", {a, b, c, d4}), ag::matmul(ag::matmul(ag::matmul(a, b), c), d4));
  CHECK(ag::einsum("ij,jk->ik", {a.to(ag::f32), b.to(ag::f32)}).dtype() == ag::f32);
}

TEST_CASE("einsum: dot, outer, transpose, sums, diagonal and trace against explicit loops") {
  ag::Tensor u = make({1, 2, 3}, {3}), w = make({4, 5, 6}, {3});
  check(ag::einsum("i,i->", {u, w}), {}, {32}, 0);
  check(ag::einsum("i,i", {u, w}), {}, {32}, 0);
  check(ag::einsum("i,j->ij", {u, make({1, 10}, {2})}), {3, 2}, {1, 10, 2, 20, 3, 30}, 0);
  check(ag::einsum("i,j", {u, make({1, 10}, {2})}), {3, 2}, {1, 10, 2, 20, 3, 30}, 0);
  ag::Tensor m = make({1, 2, 3, 4, 5, 6}, {2, 3});
  check(ag::einsum("ij->ji", {m}), {3, 2}, {1, 4, 2, 5, 3, 6}, 0);
  check(ag::einsum("ji", {m}), {3, 2}, {1, 4, 2, 5, 3, 6}, 0);  // implicit: letters in ASCII order
  check(ag::einsum("ij->j", {m}), {3}, {5, 7, 9}, 0);
  check(ag::einsum("ij->i", {m}), {2}, {6, 15}, 0);
  check(ag::einsum("ij->", {m}), {}, {21}, 0);
  check(ag::einsum("ij", {m}), {2, 3}, vals(m), 0);
  check(ag::einsum("ij,ij->ij", {m, m}), {2, 3}, {1, 4, 9, 16, 25, 36}, 0);  // elementwise
  check(ag::einsum("ij,j->i", {m, u}), {2}, {14, 32}, 0);                     // matrix·vector
  check(ag::einsum("Ab,b->A", {m, u}), {2}, {14, 32}, 0);                     // upper case letters
  ag::Tensor s = make({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  check(ag::einsum("ii->i", {s}), {3}, {1, 5, 9}, 0);
  check(ag::einsum("ii", {s}), {}, {15}, 0);  // implicit: i is used twice, so summed: the trace
  check(ag::einsum("ii,i->", {s, u}), {}, {1 + 10 + 27}, 0);
  // a 3-D contraction against its loop: out[a, c] = Σ_b x[a, b, c]·y[c, b]
  ag::Tensor x = filled({2, 3, 4}), y = filled({4, 3}, 0.3);
  const auto xv = x.value<double>();
  const auto yv = y.value<double>();
  std::vector<double> want;
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t c = 0; c < 4; ++c) {
      double acc = 0;
      for (std::size_t b = 0; b < 3; ++b) acc += xv(a, b, c) * yv(c, b);
      want.push_back(acc);
    }
  check(ag::einsum("abc,cb->ac", {x, y}), {2, 4}, want, 1e-12);
  // a scalar operand
  check(ag::einsum(",i->i", {make({2}, {}), u}), {3}, {2, 4, 6}, 0);
}

TEST_CASE("einsum: gradients match the composed matmul, and second order works") {
  ag::Tensor a = filled({2, 3}), b = filled({3, 2}, 0.2);
  const ag::Tensor wt = filled({2, 2}, 0.7);
  (ag::einsum("ij,jk->ik", {a, b}) * wt).sum().backward();
  const std::vector<double> ga = vals(a.grad()), gb = vals(b.grad());
  ag::Tensor a2 = filled({2, 3}), b2 = filled({3, 2}, 0.2);
  (ag::matmul(a2, b2) * wt).sum().backward();
  check(a.grad(), {2, 3}, vals(a2.grad()), 1e-12);
  check(b.grad(), {3, 2}, vals(b2.grad()), 1e-12);
  // d/du of Σ (u·u)² = 4(u·u)u; its derivative along 1: 4(u·u)·1 + 8(u·1)u
  ag::Tensor u = make({1, 2, 3}, {3}, ag::f64, true);
  ag::Tensor gu = ag::grad({ag::square(ag::einsum("i,i->", {u, u}))}, {u}, {}, true, true)[0];
  check(gu, {3}, {56, 112, 168}, 1e-12);
  check(ag::grad({ag::sum(gu)}, {u})[0], {3}, {56 + 48, 56 + 96, 56 + 144}, 1e-12);
}
