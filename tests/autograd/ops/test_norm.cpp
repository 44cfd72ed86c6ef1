// Normalisation ops (ag/ops/norm.hpp): layer_norm, batch_norm, group_norm. Values against hand
// computations and PyTorch's formulas, gradients against the same math composed from ag ops,
// batch_norm's running statistics, and the typed errors for bad arguments.
#include <cmath>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::message_of;
using opt::vals;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The reference: x̂·w + b composed from ag ops, with the statistics over `axes` of x viewed as `grouped`.
ag::Tensor composed(const ag::Tensor& x, const std::vector<std::ptrdiff_t>& grouped, const ag::Axes& axes,
                    const ag::Tensor& w, const ag::Tensor& b, const std::vector<std::ptrdiff_t>& affine, double eps) {
  const ag::Tensor xg = ag::reshape(x, grouped);
  const ag::Tensor xc = xg - ag::mean(xg, axes, true);
  const ag::Tensor v = ag::mean(ag::square(xc), axes, true);
  const ag::Shape s = x.shape();
  const std::vector<std::ptrdiff_t> xs(s.begin(), s.end());
  ag::Tensor y = ag::reshape(xc / ag::sqrt(v + eps), xs);
  if (w.defined()) y = y * ag::reshape(w, affine);
  if (b.defined()) y = y + ag::reshape(b, affine);
  return y;
}

// Gradients of Σ u·f(x, w, b) w.r.t. x, w, b from the op and from the composed reference agree.
template <class F, class R> void check_grads_match(F op, R reference, const ag::Shape& xs, const ag::Shape& ws) {
  ag::Generator gen(11);
  ag::Tensor x = ag::randn(xs, gen, ag::f64).requires_grad_();
  ag::Tensor w = ag::uniform(ws, 0.5, 1.5, gen, ag::f64).requires_grad_();
  ag::Tensor b = ag::randn(ws, gen, ag::f64).requires_grad_();
  const ag::Tensor u = ag::randn(xs, gen, ag::f64);
  const ag::Tensor y = op(x, w, b), r = reference(x, w, b);
  check(y, xs, vals(r), 1e-12);
  const auto g1 = ag::grad({ag::sum(y * u)}, {x, w, b});
  const auto g2 = ag::grad({ag::sum(r * u)}, {x, w, b});
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    check(g1[i], g2[i].shape(), vals(g2[i]), 1e-10);
  }
}

}  // namespace

// ---- layer_norm ----------------------------------------------------------------------------------
TEST_CASE("layer_norm: hand values with and without affine, float32 and float64") {
  const double a = std::sqrt(1.5), s = std::sqrt(26.0 / 3.0);
  for (ag::DType d : opt::kDtypes) {
    // rows (1, 2, 3): mean 2, var 2/3; (2, 4, 9): mean 5, var 26/3
    const ag::Tensor x = make({1, 2, 3, 2, 4, 9}, {2, 3}, d);
    check(ag::layer_norm(x, {3}, {}, {}, 0.0), {2, 3}, {-a, 0, a, -3 / s, -1 / s, 4 / s}, opt::tol(d) * 4);
    const ag::Tensor w = make({1, 2, -1}, {3}, d), b = make({0, 1, 0.5}, {3}, d);
    check(ag::layer_norm(x, {3}, w, b, 0.0), {2, 3}, {-a, 1, 0.5 - a, -3 / s, 1 - 2 / s, 0.5 - 4 / s},
          opt::tol(d) * 4);
    // eps inside the root: x̂ = (x - mean)/√(var + eps)
    const double e = 0.5;
    check(ag::layer_norm(x, {3}, {}, {}, e), {2, 3},
          {-1 / std::sqrt(2.0 / 3 + e), 0, 1 / std::sqrt(2.0 / 3 + e), -3 / std::sqrt(26.0 / 3 + e),
           -1 / std::sqrt(26.0 / 3 + e), 4 / std::sqrt(26.0 / 3 + e)},
          opt::tol(d) * 4);
    // both dims: mean 3.5 over all six
    const double m = 3.5, v = (6.25 + 2.25 + 0.25 + 2.25 + 0.25 + 30.25) / 6;
    std::vector<double> want;
    for (double xv : {1, 2, 3, 2, 4, 9}) want.push_back((xv - m) / std::sqrt(v + 1e-5));
    check(ag::layer_norm(x, {2, 3}), {2, 3}, want, opt::tol(d) * 4);
    CHECK(ag::layer_norm(x, {3}).dtype() == d);
  }
  // a constant row normalises to 0 (not NaN): var 0, rstd = 1/√eps
  check(ag::layer_norm(make({2, 2, 2}, {1, 3}), {3}), {1, 3}, {0, 0, 0}, 0);
  // an empty batch gives an empty result
  CHECK(ag::layer_norm(ag::zeros({0, 3}, ag::f64), {3}).shape() == ag::Shape{0, 3});
}

TEST_CASE("layer_norm: gradients equal those of the composed formula") {
  check_grads_match([](auto x, auto w, auto b) { return ag::layer_norm(x, {4}, w, b); },
                    [](auto x, auto w, auto b) { return composed(x, {6, 4}, {1}, w, b, {4}, 1e-5); }, {2, 3, 4}, {4});
  check_grads_match([](auto x, auto w, auto b) { return ag::layer_norm(x, {3, 4}, w, b, 0.1); },
                    [](auto x, auto w, auto b) { return composed(x, {2, 12}, {1}, w, b, {3, 4}, 0.1); }, {2, 3, 4},
                    {3, 4});
}

TEST_CASE("layer_norm: typed errors name the op and the shapes") {
  const ag::Tensor x = make({1, 2, 3, 4, 5, 6}, {2, 3});
  std::string m = message_of([&] { ag::layer_norm(x, {2}); });
  CHECK(has(m, "layer_norm"));
  CHECK(has(m, "[2, 3]"));
  CHECK(has(m, "normalized_shape [2]"));
  CHECK_THROWS_AS(ag::layer_norm(x, {2}), ag::ShapeError);
  CHECK_THROWS_AS(ag::layer_norm(x, {1, 2, 3}), ag::ShapeError);  // longer than x
  CHECK_THROWS_AS(ag::layer_norm(x, {}), ag::ValueError);
  m = message_of([&] { ag::layer_norm(x, {3}, make({1, 1}, {2})); });
  CHECK(has(m, "layer_norm: weight has shape [2], expected normalized_shape [3]"));
  CHECK_THROWS_AS(ag::layer_norm(x, {3}, make({1, 1}, {2})), ag::ShapeError);
  CHECK_THROWS_AS(ag::layer_norm(x, {3}, {}, make({1, 1, 1}, {1, 3})), ag::ShapeError);
  CHECK_THROWS_AS(ag::layer_norm(x, {3}, make({1, 1, 1}, {3}, ag::f32)), ag::DtypeError);
  CHECK_THROWS_AS(ag::layer_norm(x.to(ag::i64), {3}), ag::DtypeError);
  CHECK_THROWS_AS(ag::layer_norm(x, {3}, {}, {}, -1.0), ag::ValueError);
  CHECK_THROWS_AS(ag::layer_norm(x, {3}, {}, {}, std::nan("")), ag::ValueError);
  CHECK_THROWS_AS(ag::layer_norm(ag::Tensor(), {3}), ag::ValueError);
}

// ---- batch_norm ----------------------------------------------------------------------------------
TEST_CASE("batch_norm training: batch statistics, running statistics updated with the unbiased variance") {
  for (ag::DType d : opt::kDtypes) {
    // channel 0: 1..4, mean 2.5, var 1.25 (unbiased 5/3); channel 1: mean 27.5, var 218.75 (unbiased 875/3)
    const ag::Tensor x = make({1, 10, 2, 20, 3, 30, 4, 50}, {4, 2}, d);
    ag::Tensor rm = make({0, 0}, {2}, d), rv = make({1, 1}, {2}, d);
    const std::uint64_t v0 = rm.version();
    const ag::Tensor w = make({2, 1}, {2}, d), b = make({0, -1}, {2}, d);
    const ag::Tensor y = ag::batch_norm(x, rm, rv, w, b, true);
    const double s0 = std::sqrt(1.25 + 1e-5), s1 = std::sqrt(218.75 + 1e-5);
    check(y, {4, 2},
          {2 * -1.5 / s0, -17.5 / s1 - 1, 2 * -0.5 / s0, -7.5 / s1 - 1, 2 * 0.5 / s0, 2.5 / s1 - 1, 2 * 1.5 / s0,
           22.5 / s1 - 1},
          opt::tol(d) * 4);
    // running = 0.9·running + 0.1·batch
    check(rm, {2}, {0.25, 2.75}, opt::tol(d));
    check(rv, {2}, {0.9 + 0.1 * 5 / 3, 0.9 + 0.1 * 875 / 3}, opt::tol(d));
    CHECK(rm.version() > v0);  // written in place, like any in-place update
    // momentum 1: the running statistics become the batch's
    ag::batch_norm(x, rm, rv, {}, {}, true, 1.0);
    check(rm, {2}, {2.5, 27.5}, opt::tol(d));
    check(rv, {2}, {5.0 / 3, 875.0 / 3}, opt::tol(d) * 4);
  }
}

TEST_CASE("batch_norm: [N, C, L] reduces over N and L, k steps of running statistics") {
  // channel 0 holds 0..5 (mean 2.5, var 35/12, unbiased 3.5); channel 1 holds 10·(0..5)
  const ag::Tensor x = make({0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50}, {2, 2, 3});
  ag::Tensor rm = make({0, 0}, {2}), rv = make({1, 1}, {2});
  const double s0 = std::sqrt(35.0 / 12 + 1e-5), s1 = std::sqrt(3500.0 / 12 + 1e-5);
  check(ag::batch_norm(x, rm, rv, {}, {}, true), {2, 2, 3},
        {-2.5 / s0, -1.5 / s0, -0.5 / s0, -25 / s1, -15 / s1, -5 / s1, 0.5 / s0, 1.5 / s0, 2.5 / s0, 5 / s1, 15 / s1,
         25 / s1},
        1e-12);
  for (int k = 2; k <= 5; ++k) ag::batch_norm(x, rm, rv, {}, {}, true, 0.2);
  // after 1 step at 0.1 and 4 at 0.2 on the same batch: running = batch + (r0 - batch)·0.9·0.8⁴
  const double keep = 0.9 * std::pow(0.8, 4);
  check(rm, {2}, {2.5 * (1 - keep), 25 * (1 - keep)}, 1e-12);
  check(rv, {2}, {3.5 + (1 - 3.5) * keep, 350 + (1 - 350) * keep}, 1e-12);
}

TEST_CASE("batch_norm eval: the running statistics normalise, undefined ones mean batch statistics") {
  const ag::Tensor x = make({1, 10, 2, 20, 3, 30, 4, 50}, {4, 2}, ag::f64, true);
  const ag::Tensor rm = make({1, 20}, {2}), rv = make({4, 100}, {2});
  const ag::Tensor w = make({2, 1}, {2}, ag::f64, true), b = make({0, -1}, {2}, ag::f64, true);
  const ag::Tensor y = ag::batch_norm(x, rm, rv, w, b, false);
  const double s0 = std::sqrt(4 + 1e-5), s1 = std::sqrt(100 + 1e-5);
  check(y, {4, 2}, {0, -10 / s1 - 1, 2 / s0, -1, 4 / s0, 10 / s1 - 1, 6 / s0, 30 / s1 - 1}, 1e-12);
  check(rm, {2}, {1, 20}, 0);  // eval does not update
  // linear in x: dx = g·w/√(rv + eps); dw = Σ g·x̂; db = Σ g
  ag::sum(y).backward();
  check(x.grad(), {4, 2}, {2 / s0, 1 / s1, 2 / s0, 1 / s1, 2 / s0, 1 / s1, 2 / s0, 1 / s1}, 1e-12);
  check(w.grad(), {2}, {(0 + 1 + 2 + 3) / s0, (-10 + 0 + 10 + 30) / s1}, 1e-12);
  check(b.grad(), {2}, {4, 4}, 0);
  // no running statistics: batch statistics whatever `training` says (PyTorch's track_running_stats=False)
  check(ag::batch_norm(x, {}, {}, {}, {}, false), {4, 2}, vals(ag::batch_norm(x, {}, {}, {}, {}, true)), 0);
}

TEST_CASE("batch_norm: an eval graph keeps the statistics it used when the running ones move on") {
  const ag::Tensor x = make({1, 2, 3, 4}, {2, 2}, ag::f64, true);
  ag::Tensor rm = make({0, 0}, {2}), rv = make({1, 1}, {2});
  const ag::Tensor y = ag::batch_norm(x, rm, rv, {}, {}, false);
  ag::batch_norm(x.detach(), rm, rv, {}, {}, true);  // a training step writes rm, rv in place
  ag::sum(y).backward();                              // no version error: rm, rv are not inputs
  const double r = 1 / std::sqrt(1 + 1e-5);
  check(x.grad(), {2, 2}, {r, r, r, r}, 1e-12);
}

TEST_CASE("batch_norm: gradients equal those of the composed formula ([N, C] and [N, C, H, W])") {
  check_grads_match([](auto x, auto w, auto b) { return ag::batch_norm(x, {}, {}, w, b, true); },
                    [](auto x, auto w, auto b) { return composed(x, {5, 3, 1}, {0, 2}, w, b, {1, 3}, 1e-5); },
                    {5, 3}, {3});
  check_grads_match([](auto x, auto w, auto b) { return ag::batch_norm(x, {}, {}, w, b, true, 0.1, 0.01); },
                    [](auto x, auto w, auto b) { return composed(x, {2, 3, 4}, {0, 2}, w, b, {1, 3, 1, 1}, 0.01); },
                    {2, 3, 2, 2}, {3});
}

TEST_CASE("batch_norm: one value per channel in training is a ValueError, nothing is updated") {
  ag::Tensor rm = make({0, 0, 0}, {3}), rv = make({1, 1, 1}, {3});
  const ag::Tensor x = make({1, 2, 3}, {1, 3});
  const std::string m = message_of([&] { ag::batch_norm(x, rm, rv, {}, {}, true); });
  CHECK(has(m, "batch_norm"));
  CHECK(has(m, "more than 1 value per channel"));
  CHECK(has(m, "[1, 3]"));
  CHECK_THROWS_AS(ag::batch_norm(x, rm, rv, {}, {}, true), ag::ValueError);
  CHECK_THROWS_AS(ag::batch_norm(make({1, 2, 3}, {1, 3, 1}), {}, {}, {}, {}, false), ag::ValueError);  // untracked
  check(rm, {3}, {0, 0, 0}, 0);
  check(rv, {3}, {1, 1, 1}, 0);
  // eval with running statistics needs no batch
  check(ag::batch_norm(x, rm, rv, {}, {}, false), {1, 3}, {1 / std::sqrt(1 + 1e-5), 2 / std::sqrt(1 + 1e-5),
                                                           3 / std::sqrt(1 + 1e-5)}, 1e-12);
}

TEST_CASE("batch_norm: typed errors name the op and the shapes") {
  const ag::Tensor x = make({1, 2, 3, 4, 5, 6}, {2, 3});
  const ag::Tensor c3 = make({0, 0, 0}, {3}), c2 = make({0, 0}, {2});
  std::string m = message_of([&] { ag::batch_norm(make({1, 2}, {2}), {}, {}, {}, {}, true); });
  CHECK(has(m, "batch_norm: input must be [N, C] or [N, C, *]"));
  CHECK(has(m, "[2]"));
  CHECK_THROWS_AS(ag::batch_norm(make({1, 2}, {2}), {}, {}, {}, {}, true), ag::ShapeError);
  m = message_of([&] { ag::batch_norm(x, c2, c3, {}, {}, true); });
  CHECK(has(m, "batch_norm: running_mean has shape [2], expected [C] = [3] (input [2, 3])"));
  CHECK_THROWS_AS(ag::batch_norm(x, c3, c2, {}, {}, true), ag::ShapeError);
  CHECK_THROWS_AS(ag::batch_norm(x, {}, {}, c2, {}, true), ag::ShapeError);
  CHECK_THROWS_AS(ag::batch_norm(x, {}, {}, {}, c2, true), ag::ShapeError);
  CHECK_THROWS_AS(ag::batch_norm(x, c3, {}, {}, {}, true), ag::ValueError);  // only one running tensor
  CHECK_THROWS_AS(ag::batch_norm(x, c3.to(ag::f32), c3, {}, {}, true), ag::DtypeError);
  CHECK_THROWS_AS(ag::batch_norm(x, c3, make({1, 1, 1}, {3}, ag::f64, true), {}, {}, true), ag::GradError);
  CHECK_THROWS_AS(ag::batch_norm(x, c3, c3, {}, {}, true, 1.5), ag::ValueError);
  CHECK_THROWS_AS(ag::batch_norm(x, c3, c3, {}, {}, true, -0.1), ag::ValueError);
  CHECK_THROWS_AS(ag::batch_norm(x, c3, c3, {}, {}, true, 0.1, -1.0), ag::ValueError);
  CHECK_THROWS_AS(ag::batch_norm(x.to(ag::i32), {}, {}, {}, {}, true), ag::DtypeError);
}

// ---- group_norm ----------------------------------------------------------------------------------
TEST_CASE("group_norm: each group of channels per sample, per-channel affine") {
  ag::Generator gen(5);
  const ag::Tensor x = ag::randn({2, 6, 3}, gen, ag::f64);
  // 3 groups of 2 channels = layer_norm over [2, 3] of x viewed as [2, 3, 2, 3]
  const ag::Tensor ln = ag::reshape(ag::layer_norm(ag::reshape(x, {2, 3, 2, 3}), {2, 3}), {2, 6, 3});
  check(ag::group_norm(x, 3), {2, 6, 3}, vals(ln), 1e-12);
  // 1 group: layer_norm over [C, *]; C groups: instance norm (each channel alone)
  check(ag::group_norm(x, 1), {2, 6, 3}, vals(ag::layer_norm(x, {6, 3})), 1e-12);
  check(ag::group_norm(x, 6), {2, 6, 3}, vals(ag::layer_norm(x, {3})), 1e-12);
  // weight and bias per channel
  const ag::Tensor w = make({1, 2, 3, 4, 5, 6}, {6}), b = make({0, 0.5, 1, 1.5, 2, 2.5}, {6});
  const ag::Tensor want = ln * ag::reshape(w, {6, 1}) + ag::reshape(b, {6, 1});
  check(ag::group_norm(x, 3, w, b), {2, 6, 3}, vals(want), 1e-12);
  // hand values: one sample, 2 groups of 2 channels, S = 1: (1, 3 | 10, 14)
  check(ag::group_norm(make({1, 3, 10, 14}, {1, 4}), 2, {}, {}, 0.0), {1, 4}, {-1, 1, -1, 1}, 1e-15);
}

TEST_CASE("group_norm: gradients equal those of the composed formula") {
  check_grads_match([](auto x, auto w, auto b) { return ag::group_norm(x, 2, w, b); },
                    [](auto x, auto w, auto b) { return composed(x, {2, 2, 6}, {2}, w, b, {4, 1}, 1e-5); }, {2, 4, 3},
                    {4});
}

TEST_CASE("group_norm: typed errors name the op and the shapes") {
  const ag::Tensor x = ag::zeros({2, 6, 3}, ag::f64);
  std::string m = message_of([&] { ag::group_norm(x, 4); });
  CHECK(has(m, "group_norm: the 6 channels of input [2, 6, 3] are not divisible by num_groups = 4"));
  CHECK_THROWS_AS(ag::group_norm(x, 4), ag::ShapeError);
  CHECK_THROWS_AS(ag::group_norm(x, 0), ag::ValueError);
  CHECK_THROWS_AS(ag::group_norm(ag::zeros({6}, ag::f64), 2), ag::ShapeError);
  m = message_of([&] { ag::group_norm(x, 3, ag::ones({3}, ag::f64)); });
  CHECK(has(m, "group_norm: weight has shape [3], expected [C] = [6] (input [2, 6, 3])"));
  CHECK_THROWS_AS(ag::group_norm(x, 3, ag::ones({3}, ag::f64)), ag::ShapeError);
  CHECK_THROWS_AS(ag::group_norm(x, 3, {}, ag::ones({6}, ag::f32)), ag::DtypeError);
}

// ---- float32 ---------------------------------------------------------------------------------------
TEST_CASE("layer_norm, batch_norm, group_norm: float32 values and gradients follow float64") {
  ag::Generator gen(23);
  using Op = ag::Tensor (*)(const ag::Tensor&, const ag::Tensor&, const ag::Tensor&);
  struct Case {
    Op op;
    ag::Shape x, w;
  };
  const Case cases[] = {
      {[](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) { return ag::layer_norm(x, {8}, w, b); },
       {6, 8}, {8}},
      {[](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) {
         return ag::batch_norm(x, {}, {}, w, b, true);
       },
       {6, 4}, {4}},
      {[](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) {
         return ag::batch_norm(x, {}, {}, w, b, true);
       },
       {3, 4, 5}, {4}},
      {[](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) { return ag::group_norm(x, 2, w, b); },
       {3, 4, 5}, {4}},
      {[](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) { return ag::group_norm(x, 2, w, b); },
       {3, 4}, {4}},
  };
  for (const Case& k : cases) {
    CAPTURE(ag::shape_str(k.x));
    const ag::Tensor x = ag::randn(k.x, gen, ag::f64), w = ag::uniform(k.w, 0.5, 1.5, gen, ag::f64);
    const ag::Tensor b = ag::randn(k.w, gen, ag::f64), u = ag::randn(k.x, gen, ag::f64);
    std::vector<std::vector<double>> got[2];
    for (ag::DType d : opt::kDtypes) {
      ag::Tensor xd = x.to(d).requires_grad_(), wd = w.to(d).requires_grad_(), bd = b.to(d).requires_grad_();
      const ag::Tensor y = k.op(xd, wd, bd);
      CHECK(y.dtype() == d);
      ag::sum(y * u.to(d)).backward();
      got[d == ag::f64].assign({vals(y), vals(xd.grad()), vals(wd.grad()), vals(bd.grad())});
    }
    for (std::size_t i = 0; i < 4; ++i)
      for (std::size_t j = 0; j < got[1][i].size(); ++j)
        CHECK(got[0][i][j] == doctest::Approx(got[1][i][j]).epsilon(1e-4).scale(1.0));
  }
}
