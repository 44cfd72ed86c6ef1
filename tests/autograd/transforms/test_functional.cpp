// ag/functional.hpp against closed forms: polynomials (exact Jacobians and Hessians), softmax's
// Jacobian diag(s) - s sᵀ, a two-layer net's Hessian against central differences of its gradient,
// the products (hvp, vhp, jvp) against the full matrices, composition, and the errors.
#include <cmath>
#include <functional>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

namespace {

using ag::Tensor;
using Ts = std::vector<Tensor>;

Tensor vec(std::vector<double> v, bool rg = false) { return opt::make(v, {v.size()}, ag::f64, rg); }

// m as a [rows, cols] matrix of doubles (the trailing axes flattened into cols).
std::vector<std::vector<double>> as_matrix(const Tensor& m, std::size_t rows) {
  const std::vector<double> v = opt::vals(m);
  REQUIRE(v.size() % rows == 0);
  const std::size_t cols = v.size() / rows;
  std::vector<std::vector<double>> r(rows, std::vector<double>(cols));
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) r[i][j] = v[i * cols + j];
  return r;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol * (1.0 + std::abs(want[i])),
                  "element " << i << ": " << got[i] << " vs " << want[i]);
}

// g(x) = [x0² x1, x1³ + x2, x0 x2]: a polynomial map R³ -> R³.
Tensor poly3(const Tensor& x) {
  Tensor x0 = ag::select(x, 0, 0), x1 = ag::select(x, 0, 1), x2 = ag::select(x, 0, 2);
  return ag::stack({x0 * x0 * x1, x1 * x1 * x1 + x2, x0 * x2}, 0);
}
std::vector<double> poly3_jacobian(double a, double b, double c) {
  return {2 * a * b, a * a, 0,  //
          0, 3 * b * b, 1,      //
          c, 0, a};
}

// A two-layer net's loss as a function of its weights: mean((tanh(X W1) w2 - y)²).
struct Net {
  Tensor X = opt::make({0.3, -1.2, 0.8, 1.5, 0.1, -0.4, -0.7, 0.9, 1.1, 0.2, -1.6, 0.5, 1.0, 0.4, -0.3}, {5, 3});
  Tensor y = vec({0.5, -0.2, 1.0, 0.3, -0.8});
  Tensor W1 = opt::make({0.4, -0.3, 0.2, 0.7, -0.5, 0.1, 0.6, -0.2, 0.3, 0.8, -0.6, 0.05}, {3, 4});
  Tensor w2 = vec({0.9, -0.4, 0.3, 0.6});
  Tensor loss(const Ts& p) const {
    Tensor r = ag::matmul(ag::tanh(ag::matmul(X, p[0])), p[1]) - y;
    return ag::mean(r * r);
  }
  // ∇ loss at p, flattened over both parameters (no history).
  std::vector<double> gradient(const Ts& p) const {
    Ts leaves = {p[0].detach().requires_grad_(), p[1].detach().requires_grad_()};
    Ts g = ag::grad({loss(leaves)}, leaves);
    std::vector<double> out = opt::vals(g[0]), b = opt::vals(g[1]);
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
};

}  // namespace

TEST_CASE("jacobian of a polynomial map is exact") {
  const Tensor x = vec({0.5, -1.5, 2.0});
  const Tensor J = ag::jacobian(poly3, x);
  check_values(J, {3, 3}, poly3_jacobian(0.5, -1.5, 2.0), 0);
  CHECK_FALSE(J.requires_grad());
}

TEST_CASE("hessian of a polynomial is exact, with the [i][j] blocks of a list") {
  // f(x) = Σ x³ + x0 x1: H = diag(6x) + (e0 e1ᵀ + e1 e0ᵀ)
  auto f = [](const Tensor& x) { return ag::sum(x * x * x) + ag::select(x, 0, 0) * ag::select(x, 0, 1); };
  const Tensor H = ag::hessian(f, vec({0.5, -1.5, 2.0}));
  check_values(H, {3, 3}, {3, 1, 0, 1, -9, 0, 0, 0, 12}, 0);

  // f(a, b) = Σ a² b + Σ b³ with a [2], b [2]: H_aa = diag(2b), H_ab = diag(2a), H_bb = diag(6b)
  auto g = [](const ag::TensorList& v) { return ag::sum(v[0] * v[0] * v[1]) + ag::sum(v[1] * v[1] * v[1]); };
  const auto Hs = ag::hessian(g, {vec({1.0, -2.0}), vec({0.5, 3.0})});
  REQUIRE(Hs.size() == 2);
  REQUIRE(Hs[0].size() == 2);
  check_values(Hs[0][0], {2, 2}, {1, 0, 0, 6}, 0);
  check_values(Hs[0][1], {2, 2}, {2, 0, 0, -4}, 0);
  check_values(Hs[1][0], {2, 2}, {2, 0, 0, -4}, 0);
  check_values(Hs[1][1], {2, 2}, {3, 0, 0, 18}, 0);
}

TEST_CASE("jacobian of softmax is diag(s) - s sᵀ, per row of a batch") {
  const Tensor x = vec({0.3, -1.0, 2.0, 0.5});
  const Tensor J = ag::jacobian([](const Tensor& v) { return ag::softmax(v, 0); }, x);
  const std::vector<double> s = opt::vals(ag::softmax(x, 0));
  std::vector<double> want;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 4; ++j) want.push_back((i == j ? s[i] : 0.0) - s[i] * s[j]);
  REQUIRE(J.shape() == ag::Shape{4, 4});
  check_close(opt::vals(J), want, 1e-14);

  // [2,3] along the last axis: J[b, i, c, j] = (b == c) (diag(s_b) - s_b s_bᵀ)[i, j]
  const Tensor X = opt::make({0.1, 0.7, -0.4, 1.2, -0.3, 0.0}, {2, 3});
  const Tensor JB = ag::jacobian([](const Tensor& v) { return ag::softmax(v, -1); }, X);
  REQUIRE(JB.shape() == ag::Shape{2, 3, 2, 3});
  const std::vector<double> S = opt::vals(ag::softmax(X, -1));
  std::vector<double> wantB;
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t c = 0; c < 2; ++c)
        for (std::size_t j = 0; j < 3; ++j)
          wantB.push_back(b != c ? 0.0 : (i == j ? S[3 * b + i] : 0.0) - S[3 * b + i] * S[3 * b + j]);
  check_close(opt::vals(JB), wantB, 1e-14);
}

TEST_CASE("hessian of a two-layer net's loss matches central differences of its gradient") {
  const Net net;
  auto loss = [&](const Ts& p) { return net.loss(p); };
  const Ts p = {net.W1, net.w2};
  const auto H = ag::hessian(loss, p);
  REQUIRE(H.size() == 2);
  REQUIRE(H[0][0].shape() == ag::Shape{3, 4, 3, 4});
  REQUIRE(H[0][1].shape() == ag::Shape{3, 4, 4});
  REQUIRE(H[1][0].shape() == ag::Shape{4, 3, 4});
  REQUIRE(H[1][1].shape() == ag::Shape{4, 4});
  // Column k of the full 16x16 Hessian by central differences of the gradient along e_k.
  const std::size_t n0 = 12, n = 16;
  const double eps = 1e-5;
  std::vector<std::vector<double>> fd(n, std::vector<double>(n));
  for (std::size_t k = 0; k < n; ++k) {
    auto shifted = [&](double s) {
      Ts q = {p[0].detach(), p[1].detach()};
      Tensor& t = k < n0 ? q[0] : q[1];
      t.mutable_data<double>()[k < n0 ? k : k - n0] += s;
      return net.gradient(q);
    };
    const std::vector<double> gp = shifted(eps), gm = shifted(-eps);
    for (std::size_t r = 0; r < n; ++r) fd[r][k] = (gp[r] - gm[r]) / (2 * eps);
  }
  const std::size_t sizes[2] = {n0, 4}, offs[2] = {0, n0};
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      const auto block = as_matrix(H[i][j], sizes[i]);
      for (std::size_t a = 0; a < sizes[i]; ++a)
        for (std::size_t b = 0; b < sizes[j]; ++b) {
          worst = std::max(worst, std::abs(block[a][b] - fd[offs[i] + a][offs[j] + b]));
          scale = std::max(scale, std::abs(fd[offs[i] + a][offs[j] + b]));
        }
    }
  INFO("largest |H - FD| " << worst << ", largest |H| " << scale);
  CHECK(scale > 0.1);  // a real Hessian, not zeros
  CHECK(worst < 1e-8);
}

TEST_CASE("hvp is H·v and vhp is vᵀ·H, for one tensor and for a list") {
  const Net net;
  auto loss = [&](const Ts& p) { return net.loss(p); };
  const Ts p = {net.W1, net.w2};
  const Ts v = {opt::make({0.3, -0.1, 0.5, 0.2, -0.7, 0.4, 0.1, 0.9, -0.3, 0.6, 0.2, -0.5}, {3, 4}), vec({1.0, -0.5, 0.25, 2.0})};
  const auto H = ag::hessian(loss, p);
  const auto hv = ag::hvp(loss, p, v);
  const auto vh = ag::vhp(loss, p, v);
  CHECK(hv.output.item() == doctest::Approx(net.loss(p).item()).epsilon(1e-15));
  const std::size_t sizes[2] = {12, 4};
  for (std::size_t i = 0; i < 2; ++i) {
    std::vector<double> Hv(sizes[i], 0.0), vH(sizes[i], 0.0);
    for (std::size_t j = 0; j < 2; ++j) {
      const auto Hij = as_matrix(H[i][j], sizes[i]);  // [n_i, n_j]
      const auto Hji = as_matrix(H[j][i], sizes[j]);  // [n_j, n_i]
      const std::vector<double> vj = opt::vals(v[j]);
      for (std::size_t a = 0; a < sizes[i]; ++a)
        for (std::size_t b = 0; b < sizes[j]; ++b) {
          Hv[a] += Hij[a][b] * vj[b];
          vH[a] += vj[b] * Hji[b][a];
        }
    }
    REQUIRE(hv.product[i].shape() == p[i].shape());
    check_close(opt::vals(hv.product[i]), Hv, 1e-12);
    check_close(opt::vals(vh.product[i]), vH, 1e-12);
  }
  // one tensor: f(x) = Σ x³ + (Σ x)², H = diag(6x) + 2·11ᵀ
  auto f = [](const Tensor& x) { return ag::sum(x * x * x) + ag::square(ag::sum(x)); };
  const Tensor x = vec({0.5, -1.0, 2.0});
  const Tensor u = vec({1.0, 2.0, -1.0});  // Σu = 2
  check_values(ag::hvp(f, x, u).product, {3}, {3 + 4, -12 + 4, -12 + 4});
  check_values(ag::vhp(f, x, u).product, {3}, {3 + 4, -12 + 4, -12 + 4});
}

TEST_CASE("jvp is J·t and vjp is vᵀ·J, for one tensor and for lists") {
  const Tensor x = vec({0.5, -1.5, 2.0});
  const Tensor t = vec({1.0, 0.25, -2.0});
  const auto [y, Jt] = ag::jvp(poly3, x, t);
  check_values(y, {3}, opt::vals(poly3(x)), 0);
  const std::vector<double> J = poly3_jacobian(0.5, -1.5, 2.0);
  const std::vector<double> tv = opt::vals(t);
  std::vector<double> want(3, 0.0), want_vjp(3, 0.0);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      want[i] += J[3 * i + j] * tv[j];
      want_vjp[j] += tv[i] * J[3 * i + j];
    }
  check_close(opt::vals(Jt), want, 1e-15);
  check_close(opt::vals(ag::vjp(poly3, x, t).vjp), want_vjp, 1e-15);

  // list -> list: f(a, b) = {a ⊙ b, Σ a + exp(b0)}, a, b [2]; t = (ta, tb)
  auto f = [](const std::vector<Tensor>& v) -> Ts { return {v[0] * v[1], ag::sum(v[0]) + ag::exp(ag::select(v[1], 0, 0))}; };
  const Tensor a = vec({0.5, 2.0}), b = vec({-1.0, 0.3});
  const Tensor ta = vec({1.0, -1.0}), tb = vec({0.5, 2.0});
  const auto r = ag::jvp(f, {a, b}, {ta, tb});
  REQUIRE(r.jvp.size() == 2);
  check_values(r.jvp[0], {2}, {1.0 * -1.0 + 0.5 * 0.5, -1.0 * 0.3 + 2.0 * 2.0});
  check_values(r.jvp[1], {}, {1.0 - 1.0 + std::exp(-1.0) * 0.5});
  // ... against the nested Jacobian: J[i][j] of shape out_i ++ in_j
  const auto Jl = ag::jacobian(f, {a, b});
  REQUIRE(Jl.size() == 2);
  REQUIRE(Jl[0].size() == 2);
  CHECK(Jl[0][0].shape() == ag::Shape{2, 2});
  CHECK(Jl[1][1].shape() == ag::Shape{2});
  check_values(Jl[0][0], {2, 2}, {-1.0, 0, 0, 0.3});
  check_values(Jl[0][1], {2, 2}, {0.5, 0, 0, 2.0});
  check_values(Jl[1][0], {2}, {1, 1});
  check_values(Jl[1][1], {2}, {std::exp(-1.0), 0});
  // vjp of lists: one cotangent per output
  const auto vj = ag::vjp(f, {a, b}, {vec({1.0, 2.0}), opt::make({3.0}, {})});
  check_values(vj.vjp[0], {2}, {-1.0 + 3.0, 0.6 + 3.0});
  check_values(vj.vjp[1], {2}, {0.5 + 3.0 * std::exp(-1.0), 4.0});
  // one tensor in, a list out: the Jacobian is one block per output
  const auto Jo = ag::jacobian([](const Tensor& v) -> Ts { return {v * 2.0, ag::sum(v)}; }, a);
  REQUIRE(Jo.size() == 2);
  check_values(Jo[0], {2, 2}, {2, 0, 0, 2});
  check_values(Jo[1], {2}, {1, 1});
}

TEST_CASE("transforms compose with create_graph: jacobian of a jacobian is the hessian, grad through a jvp") {
  auto f = [](const Tensor& x) { return ag::sum(ag::sin(x) * x * x); };
  const Tensor x = vec({0.5, -1.0, 2.0});
  const Tensor H = ag::hessian(f, x);
  const Tensor JJ = ag::jacobian(
      [&](const Tensor& v) { return ag::jacobian(f, v, {/*create_graph=*/true}); }, x);
  REQUIRE(JJ.shape() == ag::Shape{3, 3});
  check_close(opt::vals(JJ), opt::vals(H), 1e-14);
  // H of Σ sin(x) x² is diagonal: -sin(x) x² + 4 cos(x) x + 2 sin(x)
  std::vector<double> diag;
  for (double v : opt::vals(x)) diag.push_back(-std::sin(v) * v * v + 4 * std::cos(v) * v + 2 * std::sin(v));
  check_close(opt::vals(H), {diag[0], 0, 0, 0, diag[1], 0, 0, 0, diag[2]}, 1e-14);

  // d/dx Σ (J·t) for the elementwise g(x) = sin(x)·x: J·t = (cos x·x + sin x) ⊙ t, whose gradient is
  // (-sin x·x + 2 cos x) ⊙ t. The caller's x requires grad: the result is connected to it.
  const Tensor xl = vec({0.5, -1.0, 2.0}, true);
  const Tensor t = vec({1.0, -2.0, 0.5});
  const auto [y, Jt] = ag::jvp([](const Tensor& v) { return ag::sin(v) * v; }, xl, t, {true});
  REQUIRE(Jt.requires_grad());
  REQUIRE(y.requires_grad());
  const Tensor d = ag::grad({ag::sum(Jt)}, {xl})[0];
  std::vector<double> want;
  for (std::size_t i = 0; i < 3; ++i) {
    const double v = opt::vals(xl)[i];
    want.push_back((-std::sin(v) * v + 2 * std::cos(v)) * opt::vals(t)[i]);
  }
  check_close(opt::vals(d), want, 1e-14);
  // third derivatives: the jacobian of a hessian
  auto cube = [](const Tensor& v) { return ag::sum(v * v * v * v); };  // ∂³/∂x³ = 24x
  const Tensor T = ag::jacobian([&](const Tensor& v) { return ag::hessian(cube, v, {true}); }, x);
  REQUIRE(T.shape() == ag::Shape{3, 3, 3});
  const std::vector<double> tv = opt::vals(T), xv = opt::vals(x);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 3; ++k)
        CHECK(tv[9 * i + 3 * j + k] == doctest::Approx(i == j && j == k ? 24 * xv[i] : 0.0).epsilon(1e-14));
}

TEST_CASE("strict: an input the outputs do not depend on, or a cut path, is a GradError naming it") {
  auto f = [](const Ts& v) { return v[0] * 2.0; };  // ignores v[1]
  const Ts in = {vec({1.0, 2.0}), opt::make({1, 2, 3, 4, 5, 6}, {2, 3})};
  std::string msg = opt::message_of([&] { ag::jacobian(f, in); });
  CHECK(msg.find("jacobian") != std::string::npos);
  CHECK(msg.find("input 1 [2, 3]") != std::string::npos);
  CHECK(msg.find("strict=false") != std::string::npos);
  CHECK_THROWS_AS(ag::jacobian(f, in), ag::GradError);
  CHECK_THROWS_AS(ag::vjp(f, in, vec({1.0, 1.0})), ag::GradError);
  CHECK_THROWS_AS(ag::jvp(f, in, {vec({1.0, 1.0}), ag::ones({2, 3}, ag::f64)}), ag::GradError);
  CHECK_THROWS_AS(ag::hessian([](const Ts& v) { return ag::sum(v[0] * v[0]); }, in), ag::GradError);
  // strict=false: zeros of the right shapes
  const auto J = ag::jacobian(f, in, {false, false});
  check_values(J[0], {2, 2}, {2, 0, 0, 2}, 0);
  check_values(J[1], {2, 2, 3}, std::vector<double>(12, 0.0), 0);
  const auto r = ag::jvp(f, in, {vec({1.0, 1.0}), ag::ones({2, 3}, ag::f64)}, {false, false});
  check_values(r.jvp, {2}, {2, 2}, 0);

  // a non-differentiable path (detach) cuts the output from the input
  auto cut = [](const Tensor& x) { return x.detach() * 2.0; };
  msg = opt::message_of([&] { ag::jacobian(cut, vec({1.0, 2.0})); });
  CHECK(msg.find("output 0 [2] of f does not depend on input 0 [2]") != std::string::npos);
  CHECK_THROWS_AS(ag::jvp(cut, vec({1.0}), vec({1.0})), ag::GradError);
  check_values(ag::jacobian(cut, vec({1.0, 2.0}), {false, false}), {2, 2}, {0, 0, 0, 0}, 0);
  check_values(ag::vjp(cut, vec({1.0, 2.0}), vec({1.0, 1.0}), {false, false}).vjp, {2}, {0, 0}, 0);

  // a structurally zero second derivative is not an error: f = a + b² has H_ab = 0, H_aa = 0
  const auto H = ag::hessian([](const Ts& v) { return ag::sum(v[0]) + ag::sum(v[1] * v[1]); }, {vec({1.0}), vec({3.0})});
  check_values(H[0][0], {1, 1}, {0}, 0);
  check_values(H[0][1], {1, 1}, {0}, 0);
  check_values(H[1][1], {1, 1}, {2}, 0);
}

TEST_CASE("wrong tangent or cotangent shapes are a ShapeError naming both shapes") {
  const Tensor x = opt::make({1, 2, 3, 4, 5, 6}, {2, 3});
  auto f = [](const Tensor& v) { return ag::sum(v, {1}); };  // [2, 3] -> [2]
  std::string msg = opt::message_of([&] { ag::jvp(f, x, ag::ones({3, 2}, ag::f64)); });
  CHECK(msg.find("jvp: tangent[0] has shape [3, 2] but input 0 has shape [2, 3]") != std::string::npos);
  CHECK_THROWS_AS(ag::jvp(f, x, ag::ones({3, 2}, ag::f64)), ag::ShapeError);
  msg = opt::message_of([&] { ag::vjp(f, x, ag::ones({3}, ag::f64)); });
  CHECK(msg.find("vjp: v[0] has shape [3] but output 0 has shape [2]") != std::string::npos);
  CHECK_THROWS_AS(ag::vjp(f, x, ag::ones({3}, ag::f64)), ag::ShapeError);
  auto s = [](const Tensor& v) { return ag::sum(v * v); };
  CHECK_THROWS_AS(ag::hvp(s, x, ag::ones({6}, ag::f64)), ag::ShapeError);
  CHECK_THROWS_AS(ag::vhp(s, x, ag::ones({2, 2}, ag::f64)), ag::ShapeError);
  // hessian of a non-scalar: ShapeError naming the shape
  msg = opt::message_of([&] { ag::hessian(f, x); });
  CHECK(msg.find("hessian: f must return one single-element tensor") != std::string::npos);
  CHECK(msg.find("[2]") != std::string::npos);
  // the dtype of a tangent must be the input's; the count must match
  CHECK_THROWS_AS(ag::jvp(f, x, ag::ones({2, 3}, ag::f32)), ag::DtypeError);
  CHECK_THROWS_AS(ag::jvp(f, x, {ag::ones({2, 3}, ag::f64), ag::ones({2, 3}, ag::f64)}), ag::ValueError);
  // a vector-valued f needs v in vjp
  CHECK_THROWS_AS(ag::vjp(f, x), ag::ValueError);
  CHECK_THROWS_AS(ag::jacobian(f, Tensor()), ag::ValueError);
  CHECK_THROWS_AS(ag::jacobian(f, ag::Tensor({1, 2}, ag::i64)), ag::DtypeError);
}

TEST_CASE("transforms leave the caller's tensors alone, and run inside NoGradGuard") {
  Tensor x = vec({0.5, -1.0}, true);
  (x * x).sum().backward();
  const Tensor grad_before = x.grad();
  const std::vector<double> grad_values = opt::vals(grad_before);
  const std::uint64_t version = x.version();
  auto f = [](const Tensor& v) { return ag::sum(ag::exp(v) * v); };
  Tensor H;
  {
    ag::NoGradGuard no_grad;
    H = ag::hessian(f, x);
    CHECK_FALSE(ag::is_grad_enabled());
  }
  CHECK_FALSE(H.requires_grad());
  // d²/dx² e^x x = e^x (x + 2)
  check_close(opt::vals(H), {std::exp(0.5) * 2.5, 0, 0, std::exp(-1.0) * 1.0}, 1e-14);
  const auto r = ag::vjp(f, x);
  CHECK_FALSE(r.outputs.requires_grad());
  CHECK_FALSE(r.vjp.requires_grad());
  CHECK(x.grad().id() == grad_before.id());
  CHECK(opt::vals(x.grad()) == grad_values);
  CHECK(x.version() == version);
  CHECK(x.is_leaf());
}

TEST_CASE("ag::grad w.r.t. non-leaves runs nothing below them (hooks, releases)") {
  Tensor x = vec({0.5, -1.0}, true);
  Tensor a = x * 2.0;
  int below = 0;
  a.register_hook([&](const Tensor&) { ++below; });
  Tensor b = ag::exp(a);
  Tensor c = b * 3.0;
  const Tensor gb = ag::grad({ag::sum(c)}, {b}, {}, /*retain_graph=*/false)[0];
  check_values(gb, {2}, {3, 3});
  CHECK(below == 0);  // a's hook is below b: not reached
  // b's history was not released by that grad: backward from b still works
  ag::sum(b).backward();
  CHECK(below == 1);
  check_values(x.grad(), {2}, {2 * std::exp(1.0), 2 * std::exp(-2.0)});
}
