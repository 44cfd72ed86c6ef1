// Layers against hand-computed values; gradients against finite differences (float64).
#include <cmath>

#include <doctest/doctest.h>

#include "ag/doctest_gradcheck.hpp"
#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// d<u, model(x)>/d(param) by central differences, perturbing each parameter value in place,
// against the gradient from backward: a gradcheck of the module's parameters.
void check_param_grads(nn::Module& model, const ag::Tensor& x, double eps = 1e-6, double tol = 1e-6) {
  ag::Generator gen(99);
  ag::Tensor y0 = ag::no_grad([&] { return model(x); });
  ag::Tensor u = ag::randn(y0.shape(), gen, ag::f64);
  auto objective = [&] { return ag::no_grad([&] { return (model(x) * u).sum().item(); }); };
  model.zero_grad();
  (model(x) * u).sum().backward();
  for (auto& [name, p] : model.named_parameters()) {
    REQUIRE_MESSAGE(p.grad().defined(), name);
    const std::vector<double> ana = values(p.grad());
    for (std::size_t k = 0; k < p.numel(); ++k) {
      double& v = p.mutable_value<double>().flat(k);
      const double v0 = v;
      v = v0 + eps;
      const double fp = objective();
      v = v0 - eps;
      const double fm = objective();
      v = v0;
      const double num = (fp - fm) / (2 * eps);
      CHECK_MESSAGE(std::abs(ana[k] - num) <= tol * (1 + std::abs(num)),
                    name << "[" << k << "]: backward " << ana[k] << " vs numerical " << num);
    }
  }
}

}  // namespace

TEST_CASE("Dense: y = x·W + b with W [in, out]") {
  nn::Dense d(3, 2, /*bias*/ true, nn::Init::glorot_uniform, ag::f64);
  CHECK(d.weight().shape() == ag::Shape{3, 2});
  CHECK(d.bias().shape() == ag::Shape{2});
  check_values(d.bias(), {2}, {0, 0});  // bias starts at zero
  set_values(d.weight(), {1, 2, 3, 4, 5, 6});  // [[1,2],[3,4],[5,6]]
  set_values(d.bias(), {0.5, -1});
  ag::Tensor x({{1, 0, -1}, {2, 1, 0}}, ag::f64);
  ag::Tensor y = d(x);
  // row 0: [1-5, 2-6] + b = [-3.5, -5]; row 1: [2+3, 4+4] + b = [5.5, 7]
  check_values(y, {2, 2}, {-3.5, -5, 5.5, 7});
  y.sum().backward();
  // dW = xᵀ·1: column sums of x repeated over out; db = N
  check_values(d.weight().grad(), {3, 2}, {3, 3, 1, 1, -1, -1});
  check_values(d.bias().grad(), {2}, {2, 2});
  // a single row [in] gives [out]
  check_values(d(ag::Tensor({1, 0, -1}, ag::f64)), {2}, {-3.5, -5});

  nn::Dense nb(3, 2, /*bias*/ false);
  CHECK_FALSE(nb.bias().defined());
  CHECK(nb.named_parameters().size() == 1);
  CHECK(nb.describe() == "Dense(3 -> 2, no bias)");
}

TEST_CASE("Dense: initialisation is seeded and has the documented scale") {
  ag::Generator g1(11), g2(11);
  nn::Dense a(200, 300, g1), b(200, 300, g2);
  CHECK(values(a.weight()) == values(b.weight()));  // same seed, same weights
  const double limit = std::sqrt(6.0 / 500.0);
  double sq = 0, mx = 0;
  for (double v : values(a.weight())) {
    sq += v * v;
    mx = std::max(mx, std::abs(v));
  }
  CHECK(mx <= limit);
  CHECK(mx > 0.99 * limit);
  // U(-a, a) has variance a²/3
  CHECK(sq / 60000.0 == doctest::Approx(limit * limit / 3).epsilon(0.03));

  ag::Generator g3(12);
  nn::Dense h(400, 100, g3, true, nn::Init::he_normal);
  double s2 = 0, s1 = 0;
  for (double v : values(h.weight())) {
    s1 += v;
    s2 += v * v;
  }
  CHECK(std::abs(s1 / 40000.0) < 0.003);
  CHECK(std::sqrt(s2 / 40000.0) == doctest::Approx(std::sqrt(2.0 / 400.0)).epsilon(0.03));

  ag::Generator g4(13);
  nn::Dense hu(50, 10, g4, true, nn::Init::he_uniform);
  const double hl = std::sqrt(6.0 / 50.0);
  for (double v : values(hu.weight())) CHECK(std::abs(v) <= hl);
  // global generator: reproducible through manual_seed
  ag::manual_seed(21);
  nn::Dense c(4, 3);
  ag::manual_seed(21);
  nn::Dense e(4, 3);
  CHECK(values(c.weight()) == values(e.weight()));
}

TEST_CASE("Dense: wrong feature count or dtype names the layer and the shapes") {
  nn::Dense d(3, 4);
  std::string msg = error_of<ag::ShapeError>([&] { d(ag::ones({2, 5})); });
  CHECK(contains(msg, "Dense(3 -> 4)"));
  CHECK(contains(msg, "[2, 5]"));
  CHECK(contains(msg, "expected 3"));
  msg = error_of<ag::DtypeError>([&] { d(ag::ones({2, 3}, ag::f64)); });
  CHECK(contains(msg, "Dense(3 -> 4)"));
  CHECK(contains(msg, "float64"));
  CHECK(contains(error_of<ag::ShapeError>([&] { d(ag::scalar(1.0)); }), "[]"));
  CHECK_THROWS_AS(nn::Dense(0, 3), ag::ValueError);

  nn::Sequential seq(std::make_shared<nn::Dense>(2, 3), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Dense>(4, 1));
  msg = error_of<ag::ShapeError>([&] { seq(ag::ones({5, 2})); });
  CHECK(contains(msg, "Sequential layer 2 (Dense(4 -> 1))"));
  CHECK(contains(msg, "[5, 3]"));
}

TEST_CASE("activations: values") {
  ag::Tensor x({{-2, -0.5, 0, 1.5}}, ag::f64);
  check_values(nn::ReLU()(x), {1, 4}, {0, 0, 0, 1.5});
  check_values(nn::LeakyReLU(0.1)(x), {1, 4}, {-0.2, -0.05, 0, 1.5});
  check_values(nn::LeakyReLU()(x), {1, 4}, {-0.02, -0.005, 0, 1.5});
  check_values(nn::Sigmoid()(x), {1, 4},
               {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5, 1 / (1 + std::exp(-1.5))});
  check_values(nn::Tanh()(x), {1, 4}, {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(1.5)});
}

TEST_CASE("Softmax / LogSoftmax: rows sum to 1, stable for large inputs") {
  ag::Tensor z({{1, 2, 3}, {1000, 1000, 1000}, {-5, 0, 5}}, ag::f64);
  ag::Tensor p = nn::Softmax()(z);
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double t = std::exp(-10.0) + std::exp(-5.0) + 1.0;
  check_values(p, {3, 3},
               {std::exp(1.0) / s, std::exp(2.0) / s, std::exp(3.0) / s, 1. / 3, 1. / 3, 1. / 3,
                std::exp(-10.0) / t, std::exp(-5.0) / t, 1 / t});
  check_values(ag::sum(p, {1}), {3}, {1, 1, 1});
  ag::Tensor lp = nn::LogSoftmax()(z);
  check_values(lp, {3, 3}, {1 - std::log(s), 2 - std::log(s), 3 - std::log(s), -std::log(3.0),
                            -std::log(3.0), -std::log(3.0), -10 - std::log(t), -5 - std::log(t),
                            -std::log(t)});
  // axis 0: columns sum to 1
  check_values(ag::sum(nn::Softmax(0)(z), {0}), {3}, {1, 1, 1});
  // float32 with large logits stays finite
  ag::Tensor p32 = nn::Softmax()(ag::Tensor({{100, 200, 300}}, ag::f32));
  for (double v : values(p32)) CHECK(std::isfinite(v));
  check_values(ag::sum(p32, {1}), {1}, {1}, 1e-6);
}

TEST_CASE("Dropout: inverted scaling in training, identity in eval") {
  nn::Dropout d(0.25, std::uint64_t{7});
  ag::Tensor x = ag::full({100, 100}, 2.0, ag::f64, true);
  ag::Tensor y = d(x);
  std::size_t zeros = 0;
  for (double v : values(y)) {
    CHECK((v == 0.0 || v == doctest::Approx(2.0 / 0.75)));
    zeros += v == 0.0;
  }
  // 10000 Bernoulli(0.25) draws: 2500 ± 43 (1 sd)
  CHECK(zeros > 2300);
  CHECK(zeros < 2700);
  y.sum().backward();
  const std::vector<double> g = values(x.grad()), yv = values(y);
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(yv[i] / 2.0));  // mask

  nn::Dropout same(0.25, std::uint64_t{7});
  CHECK(values(same(x)) == yv);  // same seed, same mask
  d.eval();
  ag::Tensor ye = d(x);
  CHECK(ye.id() == x.id());
  nn::Dropout all(1.0, std::uint64_t{1});
  for (double v : values(all(x))) CHECK(v == 0.0);
  nn::Dropout none(0.0);
  CHECK(values(none(x)) == values(x));
  CHECK_THROWS_AS(nn::Dropout(1.5), ag::ValueError);
  CHECK_THROWS_AS(nn::Dropout(-0.1), ag::ValueError);
  ag::Generator gen(3);
  nn::Dropout shared(0.5, gen);
  ag::Tensor a = shared(x), b = shared(x);
  CHECK(values(a) != values(b));  // the shared generator advances
}

TEST_CASE("Sequential: children named 0, 1, ...; emplace and indexing") {
  nn::Sequential s;
  auto d = s.emplace<nn::Dense>(2, 3);
  s.push_back(std::make_shared<nn::Sigmoid>());
  CHECK(s.size() == 2);
  CHECK(s[0] == d);
  CHECK(s[1]->type_name() == "Sigmoid");
  CHECK(contains(error_of<ag::IndexError>([&] { s[2]; }), "index 2 out of range (size 2)"));
  auto np = s.named_parameters();
  REQUIRE(np.size() == 2);
  CHECK(np[0].first == "0.weight");
  CHECK(np[1].first == "0.bias");
  CHECK(s(ag::ones({4, 2})).shape() == ag::Shape{4, 3});
  CHECK_THROWS_AS(s.push_back(nullptr), ag::ValueError);
}

TEST_CASE("gradcheck: layers and a full MLP in float64 (input and parameter gradients)") {
  ag::Generator gen(31);
  auto mlp = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Dense>(3, 5, gen), std::make_shared<nn::Tanh>(),
      std::make_shared<nn::Dense>(5, 4, gen, true, nn::Init::he_normal),
      std::make_shared<nn::LeakyReLU>(0.2), std::make_shared<nn::Dense>(4, 4, gen),
      std::make_shared<nn::Sigmoid>(), std::make_shared<nn::Dense>(4, 3, gen),
      std::make_shared<nn::Softmax>());
  mlp->to(ag::f64);
  // biases away from zero so no LeakyReLU input sits on its kink
  for (auto& [name, p] : mlp->named_parameters())
    if (contains(name, "bias")) set_values(p, values(ag::uniform(p.shape(), 0.3, 0.6, gen, ag::f64)));
  ag::Tensor x = ag::randn({6, 3}, gen, ag::f64).requires_grad_();
  CHECK_GRADCHECK([&](const std::vector<ag::Tensor>& in) { return (*mlp)(in[0]); }, {x});
  check_param_grads(*mlp, x.detach());

  nn::Sequential ls(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::LogSoftmax>());
  ls.to(ag::f64);
  CHECK_GRADCHECK([&](const std::vector<ag::Tensor>& in) { return ls(in[0]); }, {x});
  check_param_grads(ls, x.detach());

  nn::Sequential relu(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::ReLU>());
  relu.to(ag::f64);
  // inputs chosen so no pre-activation is within 1e-3 of the kink
  ag::Tensor xr({{0.7, -1.2, 0.4}, {1.5, 0.3, -0.8}}, ag::f64, true);
  ag::Tensor pre = ag::no_grad([&] { return (*relu[0])(xr); });
  for (double v : values(pre)) REQUIRE(std::abs(v) > 1e-3);
  CHECK_GRADCHECK([&](const std::vector<ag::Tensor>& in) { return relu(in[0]); }, {xr});
  check_param_grads(relu, xr.detach());
}
