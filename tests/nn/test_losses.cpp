// Losses against hand-computed values and gradients; stability at extreme inputs; error paths.
#include <cmath>
#include <functional>
#include <utility>

#include <doctest/doctest.h>

#include "ag/doctest_gradcheck.hpp"
#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;
using nn::Reduction;

TEST_CASE("mse_loss / l1_loss: values, reductions, gradients") {
  ag::Tensor p({{1, 2}, {3, 4}}, ag::f64, true);
  ag::Tensor t({{0, 2}, {5, 3}}, ag::f64);  // d = [1, 0, -2, 1]
  ag::Tensor l = nn::mse_loss(p, t);
  CHECK(l.item() == doctest::Approx(1.5));
  CHECK(nn::mse_loss(p, t, Reduction::sum).item() == doctest::Approx(6.0));
  check_values(nn::mse_loss(p, t, Reduction::none), {2, 2}, {1, 0, 4, 1});
  l.backward();
  check_values(p.grad(), {2, 2}, {0.5, 0, -1, 0.5});  // 2d/N
  p.zero_grad();
  ag::Tensor l1 = nn::l1_loss(p, t);
  CHECK(l1.item() == doctest::Approx(1.0));
  l1.backward();
  check_values(p.grad(), {2, 2}, {0.25, 0, -0.25, 0.25});  // sign(d)/N, 0 at d = 0
  CHECK(nn::l1_loss(p, t, Reduction::sum).item() == doctest::Approx(4.0));
  CHECK(nn::MSELoss(Reduction::sum)(p, t).item() == doctest::Approx(6.0));
  CHECK(nn::L1Loss()(p, t).item() == doctest::Approx(1.0));
}

TEST_CASE("huber_loss: quadratic inside delta, linear outside") {
  ag::Tensor p({{0.5, -3}, {0.2, 2}}, ag::f64, true);
  ag::Tensor t = ag::zeros({2, 2}, ag::f64);
  // δ = 1.5: 0.5·0.25, 1.5·(3 - 0.75), 0.5·0.04, 1.5·(2 - 0.75)
  check_values(nn::huber_loss(p, t, 1.5, Reduction::none), {2, 2}, {0.125, 3.375, 0.02, 1.875});
  ag::Tensor l = nn::huber_loss(p, t, 1.5);
  CHECK(l.item() == doctest::Approx(5.395 / 4));
  l.backward();
  check_values(p.grad(), {2, 2}, {0.5 / 4, -1.5 / 4, 0.2 / 4, 1.5 / 4});  // d, or δ·sign(d)
  CHECK(nn::HuberLoss(1.5, Reduction::sum)(p, t).item() == doctest::Approx(5.395));
  CHECK_THROWS_AS(nn::huber_loss(p, t, 0.0), ag::ValueError);
}

TEST_CASE("bce_loss: values, gradient, clamping keeps it finite") {
  ag::Tensor p({0.9, 0.2}, ag::f64, true);
  ag::Tensor y({1, 0}, ag::f64);
  ag::Tensor l = nn::bce_loss(p, y);
  CHECK(l.item() == doctest::Approx((-std::log(0.9) - std::log(0.8)) / 2).epsilon(1e-12));
  l.backward();
  check_values(p.grad(), {2}, {-1 / 0.9 / 2, 1 / 0.8 / 2});  // -y/p + (1-y)/(1-p)
  // log-loss grows without bound as the probability of the true class goes to 0 ...
  double prev = 0;
  for (double q : {1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6}) {
    const double v = nn::bce_loss(ag::Tensor({q}, ag::f64), ag::Tensor({1}, ag::f64)).item();
    CHECK(v == doctest::Approx(-std::log(q)).epsilon(1e-9));
    CHECK(v > prev);
    prev = v;
  }
  // ... and the probability path is clamped at p = eps: finite, -log(eps)
  check_values(nn::bce_loss(ag::Tensor({0, 1}, ag::f64), ag::Tensor({1, 0}, ag::f64), Reduction::none),
               {2}, {-std::log(1e-7), -std::log(1e-7)}, 1e-6);
  for (double v : values(nn::bce_loss(ag::Tensor({0, 1}), ag::Tensor({1, 0}), Reduction::none))) {
    CHECK(std::isfinite(v));
    CHECK(v > 15.0);  // float32: 1 - 1e-7 rounds to 1 - 2^-23
  }
  CHECK(nn::BCELoss()(p, y).item() == doctest::Approx(l.item()));
}

// Issue 14 item 6: in float32 with eps = 1e-8, 1 - eps rounds to 1, and a confident correct
// prediction (p = 1, y = 1) gave 0·log 0 = NaN: training diverged silently.
TEST_CASE("bce_loss in float32 with eps below the dtype's resolution stays finite (logs clamped at -100)") {
  ag::Tensor p({1.0, 0.0, 1.0, 0.5}, ag::f32, true);
  const ag::Tensor y({1.0, 0.0, 0.0, 1.0}, ag::f32);
  ag::Tensor l = nn::bce_loss(p, y, Reduction::none, 1e-8);
  // confident and right: 0; confident and wrong: the clamp, 100; p = 0.5: log 2
  check_values(l, {4}, {0.0, 0.0, 100.0, std::log(2.0)}, 1e-5);
  l.sum().backward();
  for (double v : values(p.grad())) CHECK(std::isfinite(v));
  // d/dp = (p - y)/(p(1 - p)) = -2 at p = 0.5, y = 1; 0 where p was clamped (saturated)
  CHECK(values(p.grad())[3] == doctest::Approx(-2.0).epsilon(1e-5));
  // the same in float64 at an ordinary point matches the closed form, and targets get gradients
  ag::Tensor q({0.3, 0.8}, ag::f64, true), t({0.6, 0.1}, ag::f64, true);
  nn::bce_loss(q, t, Reduction::sum).backward();
  check_values(q.grad(), {2}, {(0.3 - 0.6) / (0.3 * 0.7), (0.8 - 0.1) / (0.8 * 0.2)});
  check_values(t.grad(), {2}, {std::log(0.7) - std::log(0.3), std::log(0.2) - std::log(0.8)});
}

TEST_CASE("bce_with_logits: stable for any logit, d/dz = sigmoid(z) - y") {
  ag::Tensor z({-1000, 0, 2, 1000}, ag::f64, true);
  ag::Tensor y({1, 1, 0, 1}, ag::f64);
  ag::Tensor l = nn::bce_with_logits(z, y, Reduction::none);
  check_values(l, {4}, {1000, std::log(2.0), std::log(1 + std::exp(2.0)), 0});
  l.sum().backward();
  check_values(z.grad(), {4}, {-1, -0.5, 1 / (1 + std::exp(-2.0)), 0});
  // float32: the same, finite
  ag::Tensor l32 = nn::bce_with_logits(ag::Tensor({-1000, 1000, -50}), ag::Tensor({1, 0, 1}), Reduction::none);
  check_values(l32, {3}, {1000, 1000, 50}, 1e-6);
  // the loss keeps growing as the true class' logit goes to -inf, and stays finite
  double prev = 0;
  for (double zz : {-10.0, -100.0, -1e4, -1e6}) {
    const double v = nn::bce_with_logits(ag::Tensor({zz}), ag::Tensor({1})).item();
    CHECK(std::isfinite(v));
    CHECK(v > prev);
    CHECK(v == doctest::Approx(-zz + std::log1p(std::exp(zz))).epsilon(1e-6));  // log(1 + e^-z)
    prev = v;
  }
  // agrees with the probability form where that one is accurate
  ag::Tensor zm({-2, -0.5, 0.3, 3}, ag::f64);
  ag::Tensor ym({0, 1, 1, 0}, ag::f64);
  CHECK(nn::bce_with_logits(zm, ym).item() ==
        doctest::Approx(nn::bce_loss(ag::sigmoid(zm), ym).item()).epsilon(1e-12));
  CHECK(nn::BCEWithLogitsLoss(Reduction::sum)(zm, ym).item() ==
        doctest::Approx(4 * nn::bce_loss(ag::sigmoid(zm), ym).item()).epsilon(1e-12));
}

TEST_CASE("cross_entropy: class indices, one-hot rows, gradient softmax - onehot") {
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double row0 = std::log(s) - 3, row1 = std::log(3.0);
  ag::Tensor z({{1, 2, 3}, {1, 1, 1}}, ag::f64, true);
  ag::Tensor l = nn::cross_entropy(z, std::vector<std::size_t>{2, 0});
  CHECK(l.item() == doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  l.backward();
  check_values(z.grad(), {2, 3},
               {std::exp(1.0) / s / 2, std::exp(2.0) / s / 2, (std::exp(3.0) / s - 1) / 2,
                (1. / 3 - 1) / 2, 1. / 6, 1. / 6});
  // the same through a one-hot target, an index tensor, and the module form
  ag::Tensor onehot({{0, 0, 1}, {1, 0, 0}}, ag::f64);
  CHECK(nn::cross_entropy(z, onehot).item() == doctest::Approx(l.item()).epsilon(1e-12));
  CHECK(nn::cross_entropy(z, ag::Tensor({2, 0})).item() == doctest::Approx(l.item()).epsilon(1e-12));
  CHECK(nn::CrossEntropyLoss()(z, onehot).item() == doctest::Approx(l.item()).epsilon(1e-12));
  check_values(nn::cross_entropy(z, std::vector<std::size_t>{2, 0}, Reduction::none), {2}, {row0, row1});
  CHECK(nn::cross_entropy(z, onehot, Reduction::sum).item() == doctest::Approx(row0 + row1));
  // soft targets
  ag::Tensor soft({{0.5, 0.5, 0}, {0, 0, 1}}, ag::f64);
  CHECK(nn::cross_entropy(z, soft, Reduction::sum).item() ==
        doctest::Approx(0.5 * (std::log(s) - 1) + 0.5 * (std::log(s) - 2) + std::log(3.0)));
  // nll_loss on log_softmax is the same loss
  CHECK(nn::nll_loss(ag::log_softmax(z, -1), std::vector<std::size_t>{2, 0}).item() ==
        doctest::Approx(l.item()).epsilon(1e-12));
  CHECK(nn::NLLLoss(Reduction::sum)(ag::log_softmax(z, -1), onehot).item() ==
        doctest::Approx(row0 + row1).epsilon(1e-12));
  // nll_loss picks -lp[n, class]
  check_values(nn::nll_loss(ag::Tensor({{-0.1, -2.5}, {-1.2, -0.4}}, ag::f64), ag::Tensor({1, 0}),
                            Reduction::none), {2}, {2.5, 1.2});
}

TEST_CASE("cross_entropy / nll_loss: int64, int32 and uint8 class indices (float indices deprecated)") {
  ag::Tensor z({{1, 2, 3}, {1, 1, 1}, {0, 4, -1}}, ag::f64, true);
  const double want = nn::cross_entropy(z, std::vector<std::size_t>{2, 0, 1}).item();
  for (ag::DType d : {ag::i64, ag::i32, ag::u8, ag::f64}) {
    const ag::Tensor t = ag::tensor({2, 0, 1}, d);
    CHECK(nn::cross_entropy(z, t).item() == doctest::Approx(want).epsilon(1e-14));
    CHECK(nn::cross_entropy(z, t, Reduction::mean, 0.1).item() ==
          doctest::Approx(nn::cross_entropy(z, std::vector<std::size_t>{2, 0, 1}, Reduction::mean, 0.1).item())
              .epsilon(1e-14));
    CHECK(nn::nll_loss(ag::log_softmax(z, -1), t).item() == doctest::Approx(want).epsilon(1e-14));
  }
  // the predicted classes feed straight back in: argmax is int64
  const ag::Tensor pred = ag::argmax(z, 1);
  CHECK(pred.dtype() == ag::i64);
  CHECK(nn::cross_entropy(z, pred).item() == doctest::Approx(want).epsilon(1e-14));  // argmax = {2, 0, 1}
  CHECK_THROWS_AS(nn::cross_entropy(z, ag::tensor({3, 0, 1}, ag::i64)), ag::IndexError);
  CHECK_THROWS_AS(nn::nll_loss(z, ag::tensor({0, -1, 1}, ag::i32)), ag::IndexError);
  CHECK_THROWS_AS(nn::cross_entropy(z, ag::gt(ag::tensor({1, 0, 1}, ag::i64), 0)), ag::DtypeError);
}

TEST_CASE("cross_entropy: label smoothing mixes in the uniform distribution") {
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0), L = std::log(s);
  ag::Tensor z({{1, 2, 3}, {1, 1, 1}}, ag::f64);
  // q' = 0.9·onehot + 0.1/3: row 0 = 0.9(L - 3) + (0.1/3)·Σ(L - z_c) = 0.9(L-3) + (0.1/3)(3L - 6)
  const double r0 = 0.9 * (L - 3) + (0.1 / 3) * (3 * L - 6), r1 = std::log(3.0);
  check_values(nn::cross_entropy(z, std::vector<std::size_t>{2, 0}, Reduction::none, 0.1), {2}, {r0, r1});
  ag::Tensor onehot({{0, 0, 1}, {1, 0, 0}}, ag::f64);
  CHECK(nn::CrossEntropyLoss(Reduction::mean, 0.1)(z, onehot).item() == doctest::Approx((r0 + r1) / 2));
  CHECK_THROWS_AS(nn::cross_entropy(z, onehot, Reduction::mean, 1.5), ag::ValueError);
}

TEST_CASE("cross_entropy: grows without bound for a wrong confident logit, yet stays finite") {
  double prev = 0;
  for (double k : {10.0, 100.0, 1000.0, 1e5}) {
    for (ag::DType d : {ag::f32, ag::f64}) {
      ag::Tensor z = ag::Tensor({{0.0, k}}, d);
      const double v = nn::cross_entropy(z, std::vector<std::size_t>{0}).item();
      CHECK(std::isfinite(v));
      CHECK(v == doctest::Approx(k + std::log1p(std::exp(-k))).epsilon(1e-6));  // log(1 + e^k)
    }
    const double v = nn::cross_entropy(ag::Tensor({{0.0, k}}, ag::f64), std::vector<std::size_t>{0}).item();
    CHECK(v > prev);
    prev = v;
  }
  // the probability path: softmax then -log p(true) overflows to inf where the logits path does not
  ag::Tensor z({{0.0, 1000.0}}, ag::f32);
  const double naive = -std::log(values(ag::softmax(z, -1))[0]);
  CHECK(std::isinf(naive));
  CHECK(std::isfinite(nn::cross_entropy(z, std::vector<std::size_t>{0}).item()));
}

TEST_CASE("losses: error paths name the loss and the shapes") {
  ag::Tensor a = ag::zeros({2, 2}), b = ag::zeros({2, 1});
  std::string msg = error_of<ag::ShapeError>([&] { nn::mse_loss(a, b); });
  CHECK(contains(msg, "mse_loss"));
  CHECK(contains(msg, "[2, 2]"));
  CHECK(contains(msg, "[2, 1]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::bce_with_logits(a, b); }), "bce_with_logits"));
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::huber_loss(a, b); }), "huber_loss"));
  msg = error_of<ag::DtypeError>([&] { nn::mse_loss(a, ag::zeros({2, 2}, ag::f64)); });
  CHECK(contains(msg, "float32"));
  CHECK(contains(msg, "float64"));

  ag::Tensor z = ag::zeros({2, 3});
  msg = error_of<ag::ShapeError>([&] { nn::cross_entropy(z, ag::zeros({3})); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "[3]"));
  CHECK(contains(msg, "[2, 3]"));
  CHECK(contains(msg, "[2]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::cross_entropy(z, std::vector<std::size_t>{0, 1, 2}); }),
                 "cross_entropy"));
  msg = error_of<ag::IndexError>([&] { nn::cross_entropy(z, std::vector<std::size_t>{0, 3}); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "3 classes"));
  CHECK_THROWS_AS(nn::cross_entropy(z, ag::Tensor({0.5, 1})), ag::IndexError);
  CHECK_THROWS_AS(nn::nll_loss(z, ag::Tensor({-1, 1})), ag::IndexError);
  CHECK(contains(error_of<ag::DtypeError>([&] { nn::cross_entropy(z, ag::zeros({2, 3}, ag::f64)); }),
                 "cross_entropy"));
  CHECK_THROWS_AS(nn::cross_entropy(ag::scalar(1.0), ag::scalar(0.0)), ag::ShapeError);
  CHECK_THROWS_AS(nn::mse_loss(ag::Tensor(), a), ag::ValueError);
}

TEST_CASE("gradcheck: every loss in float64") {
  ag::Generator gen(17);
  ag::Tensor p = ag::randn({4, 3}, gen, ag::f64).requires_grad_();
  ag::Tensor t = ag::randn({4, 3}, gen, ag::f64);
  ag::Tensor prob = ag::uniform({4, 3}, 0.1, 0.9, gen, ag::f64).requires_grad_();
  ag::Tensor y = ag::rand({4, 3}, gen, ag::f64);
  ag::Tensor onehot({{0, 1, 0}, {1, 0, 0}, {0, 0, 1}, {0, 1, 0}}, ag::f64);
  using In = const std::vector<ag::Tensor>&;
  CHECK_GRADCHECK([&](In in) { return nn::mse_loss(in[0], t); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::l1_loss(in[0], t, Reduction::none); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::huber_loss(in[0], t, 0.7, Reduction::sum); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::bce_loss(in[0], y); }, {prob});
  CHECK_GRADCHECK([&](In in) { return nn::bce_loss(in[0], in[1], Reduction::none); }, {prob, y.detach().requires_grad_()});
  CHECK_GRADGRADCHECK([&](In in) { return nn::bce_loss(in[0], in[1]); }, {prob, y.detach().requires_grad_()});
  CHECK_GRADCHECK([&](In in) { return nn::bce_with_logits(in[0], y, Reduction::none); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], onehot); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], ag::Tensor({1, 0, 2, 2}), Reduction::none, 0.2); },
                  {p});
  CHECK_GRADCHECK([&](In in) { return nn::nll_loss(ag::log_softmax(in[0], -1), ag::Tensor({1, 0, 2, 2})); }, {p});
  // class indices [N] with logits [N, C], mean or sum: the fused cross-entropy op, and its VJP
  // under create_graph (written with ag ops) for second derivatives
  CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], ag::Tensor({1, 0, 2, 2})); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], ag::Tensor({1, 0, 2, 2}), Reduction::sum); }, {p});
  CHECK_GRADGRADCHECK([&](In in) { return nn::cross_entropy(in[0], ag::Tensor({1, 0, 2, 2})); }, {p});
  CHECK_GRADCHECK([&](In in) { return nn::mse_loss(in[0], t, Reduction::sum); }, {p});
  CHECK_GRADGRADCHECK([&](In in) { return nn::mse_loss(in[0], in[1]); }, {p, t.detach().requires_grad_()});
  // gradients w.r.t. the targets too (soft labels, regression targets)
  ag::Tensor tr = t.detach().requires_grad_();
  CHECK_GRADCHECK([&](In in) { return nn::mse_loss(in[0], in[1]); }, {p, tr});
  ag::Tensor yr = y.detach().requires_grad_();
  CHECK_GRADCHECK([&](In in) { return nn::bce_with_logits(in[0], in[1]); }, {p, yr});
  // class weights and ignore_index (fused and composed cross-entropy, nll_loss), every reduction
  ag::Tensor z = ag::randn({5, 3}, gen, ag::f64).requires_grad_();
  const ag::Tensor w({0.5, 2.0, 1.5}, ag::f64);
  const ag::Tensor cls = ag::tensor({1, 0, -100, 2, 2}, ag::i64);
  for (Reduction r : {Reduction::mean, Reduction::sum, Reduction::none}) {
    INFO(nn::reduction_name(r));
    CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], cls, {r, w, -100, 0.0}); }, {z});
    CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], cls, {r, w, -100, 0.3}); }, {z});
    CHECK_GRADCHECK([&](In in) { return nn::nll_loss(ag::log_softmax(in[0], -1), cls, {r, w, -100}); }, {z});
  }
  CHECK_GRADGRADCHECK([&](In in) { return nn::cross_entropy(in[0], cls, {Reduction::mean, w, -100, 0.0}); }, {z});
  const ag::Tensor soft = ag::softmax(ag::randn({5, 3}, gen, ag::f64), -1);
  CHECK_GRADCHECK([&](In in) { return nn::cross_entropy(in[0], soft, {Reduction::mean, w, std::nullopt, 0.1}); }, {z});
  // kl_div w.r.t. the log-probabilities and the target, both target forms
  ag::Tensor lp = ag::log_softmax(ag::randn({4, 3}, gen, ag::f64), -1).detach().requires_grad_();
  ag::Tensor q = ag::softmax(ag::randn({4, 3}, gen, ag::f64), -1).detach().requires_grad_();
  for (Reduction r : {Reduction::mean, Reduction::batchmean, Reduction::sum, Reduction::none}) {
    INFO(nn::reduction_name(r));
    CHECK_GRADCHECK([&](In in) { return nn::kl_div(in[0], in[1], r); }, {lp, q});
    CHECK_GRADCHECK([&](In in) { return nn::kl_div(in[0], ag::log(in[1]), r, true); }, {lp, q});
  }
  CHECK_GRADGRADCHECK([&](In in) { return nn::kl_div(in[0], in[1], Reduction::batchmean); }, {lp, q});
  // margin losses away from their kinks
  ag::Tensor x1 = ag::randn({6}, gen, ag::f64).requires_grad_();
  ag::Tensor x2 = ag::randn({6}, gen, ag::f64).requires_grad_();
  const ag::Tensor pm({1, -1, 1, -1, 1, -1}, ag::f64);
  CHECK_GRADCHECK([&](In in) { return nn::margin_ranking_loss(in[0], in[1], pm, 0.3); }, {x1, x2});
  CHECK_GRADCHECK([&](In in) { return nn::margin_ranking_loss(in[0], in[1], pm, 0.1, Reduction::none); }, {x1, x2});
  ag::Tensor d = ag::uniform({6}, 0.1, 2.0, gen, ag::f64).requires_grad_();
  CHECK_GRADCHECK([&](In in) { return nn::hinge_embedding_loss(in[0], pm, 2.5); }, {d});
  CHECK_GRADCHECK([&](In in) { return nn::hinge_embedding_loss(in[0], pm, 1.0, Reduction::sum); }, {d});
  // a cosine embedding loss built on ag::cosine_similarity: 1 - cos for similar pairs
  ag::Tensor e1 = ag::randn({4, 3}, gen, ag::f64).requires_grad_();
  ag::Tensor e2 = ag::randn({4, 3}, gen, ag::f64).requires_grad_();
  CHECK_GRADCHECK([&](In in) { return ag::mean(1.0 - ag::cosine_similarity(in[0], in[1])); }, {e1, e2});
}

TEST_CASE("cross_entropy: the fused class-index path matches log_softmax + nll_loss") {
  ag::Generator gen(5);
  for (ag::DType dt : {ag::f32, ag::f64}) {
    ag::Tensor z = ag::randn({6, 4}, gen, dt).requires_grad_();
    ag::Tensor cls({3, 0, 1, 1, 2, 0}, dt);
    for (Reduction r : {Reduction::mean, Reduction::sum}) {
      z.zero_grad();
      ag::Tensor fused = nn::cross_entropy(z, cls, r);
      CHECK(std::string(fused.op_name()) == "cross_entropy");
      fused.backward();
      const ag::Tensor g_fused = z.grad();
      z.zero_grad();
      ag::Tensor composed = nn::nll_loss(ag::log_softmax(z, -1), cls, r);
      composed.backward();
      const double eps = dt == ag::f32 ? 1e-6 : 1e-13;
      CHECK(fused.item() == doctest::Approx(composed.item()).epsilon(eps));
      const auto a = g_fused.to_xarray<double>(), b = z.grad().to_xarray<double>();
      for (std::size_t i = 0; i < a.size(); ++i) CHECK(a.data()[i] == doctest::Approx(b.data()[i]).epsilon(eps));
    }
  }
  // a fractional or out-of-range index is an IndexError naming the op and the logits' shape
  ag::Tensor z = ag::zeros({2, 3});
  const std::string msg = error_of<ag::IndexError>([&] { nn::cross_entropy(z, ag::Tensor({0.5, 1})); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "[2, 3]"));
}

TEST_CASE("bad input: a mean loss over an empty batch names the loss, not 'mean'") {
  // Issue 14 item 12: mse_loss/cross_entropy on empty input said "mean: no elements...".
  const ag::Tensor e = ag::zeros({0, 3}, ag::f64);
  for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"mse_loss", [&] { nn::mse_loss(e, e); }},
           {"l1_loss", [&] { nn::l1_loss(e, e); }},
           {"bce_with_logits", [&] { nn::bce_with_logits(e, e); }},
           {"cross_entropy", [&] { nn::cross_entropy(e, e); }},
           {"cross_entropy", [&] { nn::cross_entropy(e, ag::zeros({0}, ag::f64)); }},
       }) {
    INFO(name);
    const std::string msg = error_of<ag::ValueError>(f);
    CHECK(msg.rfind(name + ":", 0) == 0);
    CHECK(contains(msg, "[0"));
  }
  CHECK(nn::mse_loss(e, e, Reduction::sum).item() == 0.0);
}

// ---- class weights and ignore_index (PyTorch's weight / ignore_index) -------------------------------------
namespace {
// -log_softmax(z)[n, c] for the rows of z, in double
double nll_of(const std::vector<double>& row, std::size_t c) {
  double s = 0;
  for (double v : row) s += std::exp(v);
  return std::log(s) - row[c];
}
}  // namespace

TEST_CASE("cross_entropy / nll_loss with class weights: w[c]·loss, the mean divides by Σ w[c_n]") {
  const std::vector<std::vector<double>> rows = {{1, 2, 3}, {1, 1, 1}, {0, 4, -1}, {2, -1, 0.5}};
  ag::Tensor z({{1, 2, 3}, {1, 1, 1}, {0, 4, -1}, {2, -1, 0.5}}, ag::f64, true);
  const std::vector<std::size_t> cls = {2, 0, 1, 0};
  const ag::Tensor w({0.5, 2.0, 1.5}, ag::f64);
  std::vector<double> per_row;
  double sum = 0, wsum = 0;
  for (std::size_t n = 0; n < 4; ++n) {
    const double wn = values(w)[cls[n]];
    per_row.push_back(wn * nll_of(rows[n], cls[n]));
    sum += per_row.back();
    wsum += wn;
  }
  nn::CrossEntropyOptions o;
  o.weight = w;
  o.reduction = Reduction::none;
  check_values(nn::cross_entropy(z, cls, o), {4}, per_row);
  o.reduction = Reduction::sum;
  CHECK(nn::cross_entropy(z, cls, o).item() == doctest::Approx(sum).epsilon(1e-13));
  o.reduction = Reduction::mean;
  ag::Tensor l = nn::cross_entropy(z, cls, o);  // the fused path
  CHECK(std::string(l.op_name()) == "cross_entropy");
  CHECK(l.item() == doctest::Approx(sum / wsum).epsilon(1e-13));  // not sum / 4
  // gradient: w[c_n]·(softmax - onehot) / Σw
  l.backward();
  const ag::Tensor p = ag::softmax(z.detach(), -1);
  std::vector<double> want;
  for (std::size_t n = 0; n < 4; ++n)
    for (std::size_t c = 0; c < 3; ++c)
      want.push_back(values(w)[cls[n]] * (values(p)[n * 3 + c] - (c == cls[n] ? 1.0 : 0.0)) / wsum);
  check_values(z.grad(), {4, 3}, want);
  // the same through the composed path (3-D logits [1, 4, 3]), nll_loss, and the module forms
  ag::Tensor z3 = ag::reshape(z.detach(), {1, 4, 3});
  ag::Tensor t3 = ag::tensor({{2, 0, 1, 0}}, ag::i64);
  CHECK(nn::cross_entropy(z3, t3, o).item() == doctest::Approx(sum / wsum).epsilon(1e-13));
  nn::NLLLossOptions no;
  no.weight = w;
  CHECK(nn::nll_loss(ag::log_softmax(z, -1), cls, no).item() == doctest::Approx(sum / wsum).epsilon(1e-13));
  CHECK(nn::CrossEntropyLoss(o)(z, ag::tensor({2, 0, 1, 0}, ag::i64)).item() ==
        doctest::Approx(sum / wsum).epsilon(1e-13));
  CHECK(nn::NLLLoss(no)(ag::log_softmax(z, -1), ag::tensor({2, 0, 1, 0}, ag::i32)).item() ==
        doctest::Approx(sum / wsum).epsilon(1e-13));
  CHECK(nn::CrossEntropyLoss(o).options().weight.defined());
  // a float32 model takes float64 weights (converted)
  CHECK(nn::cross_entropy(z.detach().to(ag::f32), cls, o).item() == doctest::Approx(sum / wsum).epsilon(1e-6));
  // probability rows: -Σ_c w_c·q_c·lp_c per row, and the mean divides by the row count
  const ag::Tensor onehot = ag::one_hot(cls, 3, ag::f64);
  CHECK(nn::cross_entropy(z, onehot, o).item() == doctest::Approx(sum / 4).epsilon(1e-13));
  no.reduction = Reduction::sum;
  CHECK(nn::nll_loss(ag::log_softmax(z, -1), onehot, no).item() == doctest::Approx(sum).epsilon(1e-13));
}

TEST_CASE("cross_entropy / nll_loss with ignore_index: ignored rows give 0 loss, 0 gradient, no count") {
  const std::vector<std::vector<double>> rows = {{1, 2, 3}, {1, 1, 1}, {0, 4, -1}, {2, -1, 0.5}};
  ag::Tensor z({{1, 2, 3}, {1, 1, 1}, {0, 4, -1}, {2, -1, 0.5}}, ag::f64, true);
  const ag::Tensor t = ag::tensor({2, -100, 1, -100}, ag::i64);  // PyTorch's default ignore value
  const double l0 = nll_of(rows[0], 2), l2 = nll_of(rows[2], 1);
  nn::CrossEntropyOptions o;
  o.ignore_index = -100;
  for (Reduction r : {Reduction::mean, Reduction::sum}) {
    z.zero_grad();
    o.reduction = r;
    ag::Tensor l = nn::cross_entropy(z, t, o);
    CHECK(l.item() == doctest::Approx(r == Reduction::mean ? (l0 + l2) / 2 : l0 + l2).epsilon(1e-13));
    l.backward();
    const std::vector<double> g = values(z.grad());
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(g[3 + c] == 0.0);  // ignored rows: exactly 0
      CHECK(g[9 + c] == 0.0);
      CHECK(g[c] != 0.0);
    }
  }
  o.reduction = Reduction::none;
  check_values(nn::cross_entropy(z, t, o), {4}, {l0, 0, l2, 0});
  // an index inside [0, C) can be the ignored one too; nll_loss and the composed path agree
  nn::NLLLossOptions no;
  no.ignore_index = 0;
  const ag::Tensor t0 = ag::tensor({2, 0, 1, 0}, ag::i64);
  CHECK(nn::nll_loss(ag::log_softmax(z, -1), t0, no).item() == doctest::Approx((l0 + l2) / 2).epsilon(1e-13));
  o.ignore_index = 0;
  o.reduction = Reduction::mean;
  CHECK(nn::cross_entropy(ag::reshape(z, {2, 2, 3}), ag::reshape(t0, {2, 2}), o).item() ==
        doctest::Approx((l0 + l2) / 2).epsilon(1e-13));
  // every row ignored: sum 0, mean a ValueError naming the loss (PyTorch: NaN)
  o.ignore_index = -100;
  const ag::Tensor all = ag::tensor({-100, -100, -100, -100}, ag::i64);
  o.reduction = Reduction::sum;
  CHECK(nn::cross_entropy(z, all, o).item() == 0.0);
  o.reduction = Reduction::mean;
  std::string msg = error_of<ag::ValueError>([&] { nn::cross_entropy(z, all, o); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "ignored"));
  msg = error_of<ag::ValueError>([&] { nn::nll_loss(z, all, nn::NLLLossOptions{Reduction::mean, ag::Tensor(), -100}); });
  CHECK(contains(msg, "nll_loss"));
  // other out-of-range indices are still errors, and the message names ignore_index
  msg = error_of<ag::IndexError>([&] { nn::cross_entropy(z, ag::tensor({2, -1, 1, 0}, ag::i64), o); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "3 classes"));
  CHECK(contains(msg, "ignore_index = -100"));
}

TEST_CASE("cross_entropy: weight, ignore_index and label smoothing together follow PyTorch's formula") {
  // PyTorch: loss_n = (1-ε)·w[c_n]·nll_n + (ε/C)·(-Σ_c w_c·lp_nc), 0 for ignored rows;
  // mean = Σ loss_n / Σ_{n not ignored} w[c_n]
  const std::vector<std::vector<double>> rows = {{1, 2, 3}, {1, 1, 1}, {0, 4, -1}, {2, -1, 0.5}};
  ag::Tensor z({{1, 2, 3}, {1, 1, 1}, {0, 4, -1}, {2, -1, 0.5}}, ag::f64, true);
  const std::vector<double> w = {0.5, 2.0, 1.5};
  const std::vector<long> cls = {2, 1, -100, 0};
  const double eps = 0.2;
  std::vector<double> per_row;
  double total = 0, wsum = 0;
  for (std::size_t n = 0; n < 4; ++n) {
    if (cls[n] < 0) {
      per_row.push_back(0);
      continue;
    }
    const auto c = static_cast<std::size_t>(cls[n]);
    double smooth = 0;
    for (std::size_t k = 0; k < 3; ++k) smooth += w[k] * nll_of(rows[n], k);
    per_row.push_back((1 - eps) * w[c] * nll_of(rows[n], c) + eps / 3 * smooth);
    total += per_row.back();
    wsum += w[c];
  }
  nn::CrossEntropyOptions o{Reduction::none, ag::Tensor({0.5, 2.0, 1.5}, ag::f64), -100, eps};
  const ag::Tensor t = ag::tensor({2, 1, -100, 0}, ag::i64);
  check_values(nn::cross_entropy(z, t, o), {4}, per_row);
  o.reduction = Reduction::mean;
  ag::Tensor l = nn::cross_entropy(z, t, o);
  CHECK(l.item() == doctest::Approx(total / wsum).epsilon(1e-13));
  l.backward();
  for (std::size_t c = 0; c < 3; ++c) CHECK(values(z.grad())[6 + c] == 0.0);
  // ε = 0 with the same options is the fused op; it agrees with the composed one
  o.label_smoothing = 0;
  z.zero_grad();
  ag::Tensor fused = nn::cross_entropy(z, t, o);
  fused.backward();
  const std::vector<double> gf = values(z.grad());
  z.zero_grad();
  nn::NLLLossOptions no{Reduction::mean, o.weight, -100};
  ag::Tensor composed = nn::nll_loss(ag::log_softmax(z, -1), t, no);
  composed.backward();
  CHECK(std::string(fused.op_name()) == "cross_entropy");
  CHECK(fused.item() == doctest::Approx(composed.item()).epsilon(1e-14));
  check_values(z.grad(), {4, 3}, gf, 1e-13);
}

TEST_CASE("cross_entropy / nll_loss options: bad weights and ignore_index with probability rows") {
  ag::Tensor z = ag::zeros({2, 3});
  nn::CrossEntropyOptions o;
  o.weight = ag::Tensor({1.0, 2.0});
  std::string msg = error_of<ag::ShapeError>([&] { nn::cross_entropy(z, std::vector<std::size_t>{0, 1}, o); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "[2]"));
  CHECK(contains(msg, "[3]"));
  CHECK(contains(msg, "[2, 3]"));
  o.weight = ag::tensor({1, 2, 3}, ag::i64);
  msg = error_of<ag::DtypeError>([&] { nn::cross_entropy(z, std::vector<std::size_t>{0, 1}, o); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "int64"));
  nn::NLLLossOptions no;
  no.weight = ag::ones({3, 1});
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::nll_loss(z, std::vector<std::size_t>{0, 1}, no); }), "nll_loss"));
  o = nn::CrossEntropyOptions();
  o.ignore_index = -100;
  msg = error_of<ag::ValueError>([&] { nn::cross_entropy(z, ag::zeros({2, 3}), o); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "ignore_index"));
  CHECK(contains(msg, "[2, 3]"));
  o = nn::CrossEntropyOptions();
  o.reduction = Reduction::batchmean;
  CHECK_THROWS_AS(nn::cross_entropy(z, std::vector<std::size_t>{0, 1}, o), ag::ValueError);
}

// ---- kl_div ------------------------------------------------------------------------------------------------
TEST_CASE("kl_div: t·(log t - lp) with 0 where t = 0, log_target, mean / batchmean / sum / none") {
  ag::Tensor lp = ag::log(ag::Tensor({{0.2, 0.3, 0.5}, {0.6, 0.3, 0.1}}, ag::f64)).detach().requires_grad_();
  const ag::Tensor t({{0.1, 0.0, 0.9}, {0.5, 0.25, 0.25}}, ag::f64);
  const std::vector<double> lpv = values(lp), tv = values(t);
  std::vector<double> pointwise;
  double sum = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    pointwise.push_back(tv[i] == 0 ? 0.0 : tv[i] * (std::log(tv[i]) - lpv[i]));
    sum += pointwise.back();
  }
  check_values(nn::kl_div(lp, t, Reduction::none), {2, 3}, pointwise);
  CHECK(nn::kl_div(lp, t, Reduction::sum).item() == doctest::Approx(sum).epsilon(1e-14));
  ag::Tensor mean = nn::kl_div(lp, t);
  CHECK(mean.item() == doctest::Approx(sum / 6).epsilon(1e-14));
  ag::Tensor batchmean = nn::kl_div(lp, t, Reduction::batchmean);
  CHECK(batchmean.item() == doctest::Approx(sum / 2).epsilon(1e-14));  // the mean KL per row
  // batchmean is the true KL: KL(t‖p) of each row, averaged
  double kl = 0;
  for (std::size_t i = 0; i < 6; ++i)
    if (tv[i] > 0) kl += tv[i] * std::log(tv[i] / std::exp(lpv[i]));
  CHECK(batchmean.item() == doctest::Approx(kl / 2).epsilon(1e-13));
  batchmean.backward();
  std::vector<double> want;
  for (double v : tv) want.push_back(-v / 2);  // d/dlp = -t / N
  check_values(lp.grad(), {2, 3}, want);
  // log_target: e^lt·(lt - lp) is the same divergence; its t = 0 entry is e^-inf·(-inf - lp) -> NaN
  // in IEEE arithmetic, so compare on a target without zeros
  const ag::Tensor t2({{0.1, 0.2, 0.7}, {0.5, 0.25, 0.25}}, ag::f64);
  CHECK(nn::kl_div(lp, ag::log(t2), Reduction::sum, true).item() ==
        doctest::Approx(nn::kl_div(lp, t2, Reduction::sum).item()).epsilon(1e-14));
  CHECK(nn::KLDivLoss(Reduction::batchmean, true)(lp, ag::log(t2)).item() ==
        doctest::Approx(nn::kl_div(lp, t2, Reduction::sum).item() / 2).epsilon(1e-14));
  CHECK(nn::KLDivLoss()(lp, t).item() == doctest::Approx(sum / 6).epsilon(1e-14));
  CHECK(nn::KLDivLoss(Reduction::batchmean).log_target() == false);
  // KL(p‖p) = 0, and a 0-d input's batchmean is its sum
  CHECK(nn::kl_div(lp, ag::exp(lp), Reduction::batchmean).item() == doctest::Approx(0.0).scale(1.0));
  CHECK(nn::kl_div(ag::scalar(std::log(0.5), ag::f64), ag::scalar(0.25, ag::f64), Reduction::batchmean).item() ==
        doctest::Approx(0.25 * std::log(0.5)).epsilon(1e-14));
  // gradient w.r.t. the target: log t + 1 - lp
  ag::Tensor tt = t2.detach().requires_grad_();
  nn::kl_div(lp.detach(), tt, Reduction::sum).backward();
  want.clear();
  for (std::size_t i = 0; i < 6; ++i) want.push_back(std::log(values(t2)[i]) + 1 - lpv[i]);
  check_values(tt.grad(), {2, 3}, want);
}

TEST_CASE("kl_div: bad input names the loss and the shapes, batchmean is kl_div's alone") {
  ag::Tensor a = ag::zeros({2, 3}), b = ag::zeros({3, 2});
  std::string msg = error_of<ag::ShapeError>([&] { nn::kl_div(a, b); });
  CHECK(contains(msg, "kl_div"));
  CHECK(contains(msg, "[2, 3]"));
  CHECK(contains(msg, "[3, 2]"));
  CHECK(contains(error_of<ag::DtypeError>([&] { nn::kl_div(a, ag::zeros({2, 3}, ag::f64)); }), "kl_div"));
  CHECK(contains(error_of<ag::DtypeError>([&] { nn::kl_div(ag::zeros({2}, ag::i64), ag::zeros({2}, ag::i64)); }),
                 "kl_div"));
  msg = error_of<ag::ValueError>([&] { nn::kl_div(ag::zeros({0, 3}), ag::zeros({0, 3}), Reduction::batchmean); });
  CHECK(contains(msg, "kl_div"));
  CHECK(contains(msg, "[0, 3]"));
  CHECK(std::string(nn::reduction_name(Reduction::batchmean)) == "batchmean");
  for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"mse_loss", [&] { nn::mse_loss(a, a, Reduction::batchmean); }},
           {"l1_loss", [&] { nn::l1_loss(a, a, Reduction::batchmean); }},
           {"bce_with_logits", [&] { nn::bce_with_logits(a, a, Reduction::batchmean); }},
           {"cross_entropy", [&] { nn::cross_entropy(a, std::vector<std::size_t>{0, 1}, Reduction::batchmean); }},
           {"nll_loss", [&] { nn::nll_loss(a, std::vector<std::size_t>{0, 1}, Reduction::batchmean); }},
           {"hinge_embedding_loss", [&] { nn::hinge_embedding_loss(a, ag::ones({2, 3}), 1.0, Reduction::batchmean); }},
       }) {
    INFO(name);
    msg = error_of<ag::ValueError>(f);
    CHECK(msg.rfind(name + ":", 0) == 0);
    CHECK(contains(msg, "batchmean"));
  }
}

// ---- margin losses ---------------------------------------------------------------------------------------
TEST_CASE("margin_ranking_loss: max(0, -y·(x1 - x2) + margin), gradient -y where active") {
  ag::Tensor x1({0.5, 2.0, -1.0, 0.3}, ag::f64, true);
  ag::Tensor x2({1.0, 1.0, 0.5, 0.3}, ag::f64, true);
  const ag::Tensor y({1, 1, -1, -1}, ag::f64);
  // margin 0.2: -y·d + m = 0.7, -0.8 -> 0, -1.3 -> 0, 0.2
  check_values(nn::margin_ranking_loss(x1, x2, y, 0.2, Reduction::none), {4}, {0.7, 0, 0, 0.2});
  ag::Tensor l = nn::margin_ranking_loss(x1, x2, y, 0.2);
  CHECK(l.item() == doctest::Approx(0.9 / 4).epsilon(1e-14));
  l.backward();
  check_values(x1.grad(), {4}, {-0.25, 0, 0, 0.25});
  check_values(x2.grad(), {4}, {0.25, 0, 0, -0.25});
  // margin 0 by default; int64 labels; the module form
  check_values(nn::margin_ranking_loss(x1, x2, ag::tensor({1, 1, -1, -1}, ag::i64), 0.0, Reduction::none), {4},
               {0.5, 0, 0, 0});
  CHECK(nn::margin_ranking_loss(x1, x2, y).item() == doctest::Approx(0.5 / 4));
  nn::MarginRankingLoss m(0.2, Reduction::sum);
  CHECK(m(x1, x2, y).item() == doctest::Approx(0.9));
  CHECK(m.margin() == 0.2);
  CHECK(m.reduction() == Reduction::sum);
  CHECK(m.type_name() == "MarginRankingLoss");
  // at the kink (-y·d + m = 0) the gradient passes, as PyTorch's clamp_min
  ag::Tensor a({1.0}, ag::f64, true);
  nn::margin_ranking_loss(a, ag::Tensor({1.0}, ag::f64), ag::Tensor({1.0}, ag::f64)).backward();
  check_values(a.grad(), {1}, {-1});
}

TEST_CASE("hinge_embedding_loss: x where y = 1, max(0, margin - x) where y = -1") {
  ag::Tensor x({{0.3, 2.5}, {0.4, 1.5}}, ag::f64, true);
  const ag::Tensor y({{1, -1}, {-1, 1}}, ag::f64);
  check_values(nn::hinge_embedding_loss(x, y, 1.0, Reduction::none), {2, 2}, {0.3, 0, 0.6, 1.5});
  ag::Tensor l = nn::hinge_embedding_loss(x, y);
  CHECK(l.item() == doctest::Approx(2.4 / 4).epsilon(1e-14));
  l.backward();
  check_values(x.grad(), {2, 2}, {0.25, 0, -0.25, 0.25});
  check_values(nn::hinge_embedding_loss(x, y, 3.0, Reduction::none), {2, 2}, {0.3, 0.5, 2.6, 1.5});
  CHECK(nn::HingeEmbeddingLoss(3.0, Reduction::sum)(x, ag::tensor({{1, -1}, {-1, 1}}, ag::i32)).item() ==
        doctest::Approx(4.9));
  CHECK(nn::HingeEmbeddingLoss().margin() == 1.0);
  // float32
  CHECK(nn::hinge_embedding_loss(ag::Tensor({0.5}), ag::Tensor({-1})).item() == doctest::Approx(0.5));
}

TEST_CASE("margin losses: bad labels, shapes and dtypes name the loss") {
  ag::Tensor x = ag::zeros({2, 3}, ag::f64);
  std::string msg = error_of<ag::ValueError>([&] { nn::hinge_embedding_loss(x, ag::zeros({2, 3}, ag::f64)); });
  CHECK(contains(msg, "hinge_embedding_loss"));
  CHECK(contains(msg, "1 or -1"));
  CHECK(contains(msg, "[2, 3]"));
  msg = error_of<ag::ValueError>([&] { nn::margin_ranking_loss(x, x, ag::tensor({{1, 1, 0}, {1, 1, 1}}, ag::i64)); });
  CHECK(contains(msg, "margin_ranking_loss"));
  CHECK(contains(msg, "y[2] = 0"));
  msg = error_of<ag::ShapeError>([&] { nn::margin_ranking_loss(x, ag::zeros({3, 2}, ag::f64), ag::ones({2, 3}, ag::f64)); });
  CHECK(contains(msg, "margin_ranking_loss"));
  CHECK(contains(msg, "[2, 3]"));
  CHECK(contains(msg, "[3, 2]"));
  msg = error_of<ag::ShapeError>([&] { nn::hinge_embedding_loss(x, ag::ones({3}, ag::f64)); });
  CHECK(contains(msg, "hinge_embedding_loss"));
  CHECK(contains(msg, "[3]"));
  msg = error_of<ag::DtypeError>([&] { nn::margin_ranking_loss(x, ag::zeros({2, 3}), ag::ones({2, 3}, ag::f64)); });
  CHECK(contains(msg, "margin_ranking_loss"));
  CHECK(contains(msg, "float32"));
  msg = error_of<ag::DtypeError>([&] { nn::hinge_embedding_loss(x, ag::ones({2, 3})); });
  CHECK(contains(msg, "hinge_embedding_loss"));
  CHECK_THROWS_AS(nn::hinge_embedding_loss(x, ag::gt(ag::ones({2, 3}), 0.0)), ag::DtypeError);
  CHECK_THROWS_AS(nn::hinge_embedding_loss(ag::ones({2}, ag::i64), ag::ones({2}, ag::i64)), ag::DtypeError);
  CHECK_THROWS_AS(nn::margin_ranking_loss(x, x, ag::Tensor()), ag::ValueError);
}
