// Sequential: naming and indexing; gradients of whole models against finite differences (float64).
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

TEST_CASE("Sequential: children named 0, 1, ..., emplace and indexing") {
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
