// Convolution and pooling layers (ag/nn/modules/conv.hpp, pooling.hpp): forward = the op with the
// layer's parameters, PyTorch's default initialisation, describe()/summary() with output shapes and
// parameter counts, save/load round trip, errors naming the layer, gradcheck_module.
#include <cmath>
#include <filesystem>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

std::shared_ptr<nn::Sequential> small_cnn(ag::Generator& gen) {
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 4, 3, gen, ag::Conv2dOptions().padding(1)), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Conv2d>(4, 6, 3, gen),
      std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(), std::make_shared<nn::Dense>(6, 3, gen));
}

}  // namespace

TEST_CASE("Conv2d, Conv1d, ConvTranspose2d: parameters, forward = the op, PyTorch's default initialisation") {
  ag::Generator gen(31);
  nn::Conv2d c(4, 6, {3, 2}, gen, ag::Conv2dOptions().stride(2).padding(1).groups(2), true, ag::f64);
  CHECK(c.weight().shape() == ag::Shape{6, 2, 3, 2});
  CHECK(c.bias().shape() == ag::Shape{6});
  CHECK(c.named_parameters().size() == 2);
  CHECK(c.describe() == "Conv2d(4 -> 6, 3×2, stride 2×2, padding (1, 1, 1, 1), groups 2)");
  const ag::Tensor x = ag::randn({2, 4, 7, 6}, gen, ag::f64);
  const ag::Tensor want = ag::conv2d(x, c.weight(), c.bias(), c.options());
  CHECK(values(c(x)) == values(want));
  // U(±1/√fan_in) for weight and bias, fan_in = in/groups·kh·kw = 12
  const double bound = 1.0 / std::sqrt(12.0);
  for (double v : values(c.weight())) CHECK(std::abs(v) <= bound);
  for (double v : values(c.bias())) CHECK(std::abs(v) <= bound);
  // a large layer fills the range: U(-a, a) has variance a²/3
  nn::Conv2d big(32, 64, 3, gen);
  const double b2 = 1.0 / std::sqrt(32.0 * 9.0);
  double sq = 0, mx = 0;
  for (double v : values(big.weight())) {
    sq += v * v;
    mx = std::max(mx, std::abs(v));
  }
  CHECK(mx <= b2);
  CHECK(mx > 0.99 * b2);
  CHECK(sq / double(big.weight().numel()) == doctest::Approx(b2 * b2 / 3).epsilon(0.03));
  // seeded: same generator seed, same weights
  ag::Generator g1(5), g2(5);
  CHECK(values(nn::Conv2d(3, 4, 3, g1).weight()) == values(nn::Conv2d(3, 4, 3, g2).weight()));

  nn::Conv1d c1(3, 5, 4, gen, ag::Conv1dOptions().padding("same"), false);
  CHECK(c1.weight().shape() == ag::Shape{5, 3, 4});
  CHECK_FALSE(c1.bias().defined());
  CHECK(c1.describe() == "Conv1d(3 -> 5, 4, padding \"same\", no bias)");
  CHECK(c1(ag::randn({2, 3, 9}, gen)).shape() == ag::Shape{2, 5, 9});

  nn::ConvTranspose2d t(4, 6, 2, gen, ag::ConvTranspose2dOptions().stride(2).groups(2));
  CHECK(t.weight().shape() == ag::Shape{4, 3, 2, 2});
  CHECK(t.bias().shape() == ag::Shape{6});
  CHECK(t.describe() == "ConvTranspose2d(4 -> 6, 2×2, stride 2×2, groups 2)");
  const double tb = 1.0 / std::sqrt(3.0 * 4.0);  // fan from the weight's second axis, as PyTorch
  for (double v : values(t.weight())) CHECK(std::abs(v) <= tb);
  CHECK(t(ag::randn({1, 4, 3, 5}, gen)).shape() == ag::Shape{1, 6, 6, 10});

  CHECK_THROWS_AS(nn::Conv2d(3, 4, 3, ag::Conv2dOptions().groups(2)), ag::ValueError);
  CHECK_THROWS_AS(nn::Conv2d(0, 4, 3), ag::ValueError);
  CHECK_THROWS_AS(nn::Conv2d(3, 4, 0), ag::ValueError);
}

TEST_CASE("pooling layers and Flatten: forward = the op, descriptions") {
  ag::Generator gen(32);
  const ag::Tensor x = ag::randn({2, 3, 6, 6}, gen);
  CHECK(values(nn::MaxPool2d(2)(x)) == values(ag::max_pool2d(x, 2)));
  CHECK(values(nn::MaxPool2d(ag::MaxPool2dOptions(3).stride(2).padding(1))(x)) == values(ag::max_pool2d(x, 3, 2, 1)));
  CHECK(values(nn::AvgPool2d(ag::AvgPool2dOptions(2).stride(1))(x)) == values(ag::avg_pool2d(x, 2, 1)));
  CHECK(values(nn::AdaptiveAvgPool2d({2, 3})(x)) == values(ag::adaptive_avg_pool2d(x, {2, 3})));
  const ag::Tensor s = ag::randn({2, 3, 8}, gen);
  CHECK(values(nn::MaxPool1d(2)(s)) == values(ag::max_pool1d(s, 2)));
  CHECK(values(nn::AvgPool1d(ag::AvgPool1dOptions(3).padding(1).count_include_pad(false))(s)) ==
        values(ag::avg_pool1d(s, 3, 3, 1, false)));
  CHECK(nn::Flatten()(x).shape() == ag::Shape{2, 108});
  CHECK(nn::Flatten(0, 1)(x).shape() == ag::Shape{6, 6, 6});
  CHECK(nn::MaxPool2d(2).describe() == "MaxPool2d(2×2)");
  CHECK(nn::MaxPool2d(ag::MaxPool2dOptions(3).stride(2).padding(1)).describe() == "MaxPool2d(3×3, stride 2×2, padding 1×1)");
  CHECK(nn::AvgPool1d(ag::AvgPool1dOptions(3).count_include_pad(false)).describe() == "AvgPool1d(3, count_include_pad false)");
  CHECK(nn::AdaptiveAvgPool2d(1).describe() == "AdaptiveAvgPool2d(1×1)");
  CHECK(nn::Flatten().describe() == "Flatten");
  CHECK(nn::MaxPool2d(2).parameters().empty());
}

TEST_CASE("a small CNN: summary() shows output shapes and parameter counts, errors name the layer") {
  ag::Generator gen(33);
  auto m = small_cnn(gen);
  const std::string s = nn::summary(*m, {2, 1, 8, 8});
  INFO(s);
  CHECK(contains(s, "0 (Conv2d(1 -> 4, 3×3, padding (1, 1, 1, 1)))"));
  CHECK(contains(s, "[2, 4, 8, 8]"));
  CHECK(contains(s, "2 (MaxPool2d(2×2))"));
  CHECK(contains(s, "[2, 4, 4, 4]"));
  CHECK(contains(s, "[2, 6, 2, 2]"));
  CHECK(contains(s, "[2, 6, 1, 1]"));
  CHECK(contains(s, "5 (Flatten)"));
  CHECK(contains(s, "Output shape: [2, 3]"));
  CHECK(contains(s, "40"));   // 4·1·3·3 + 4
  CHECK(contains(s, "222"));  // 6·4·3·3 + 6
  CHECK(contains(s, "Total params: 283"));  // 40 + 222 + 6·3 + 3
  // a wrong channel count names the layer and the shapes
  const std::string msg = error_of<ag::ShapeError>([&] { (*m)(ag::ones({2, 3, 8, 8})); });
  CHECK(contains(msg, "Conv2d(1 -> 4"));
  CHECK(contains(msg, "[2, 3, 8, 8]"));
  CHECK(contains(msg, "[4, 1, 3, 3]"));
  CHECK(contains(error_of<ag::DtypeError>([&] { (*m)(ag::ones({2, 1, 8, 8}, ag::f64)); }), "Conv2d(1 -> 4"));
}

TEST_CASE("a small CNN: saved and loaded, predictions identical, gradcheck_module passes") {
  ag::Generator gen(34);
  auto a = small_cnn(gen);
  const ag::Tensor x = ag::randn({3, 1, 8, 8}, gen);
  const std::vector<double> want = values((*a)(x));
  const std::string f = (std::filesystem::temp_directory_path() / "tapegrad-cnn.tgp").string();
  nn::save(*a, f);
  ag::Generator other(99);
  auto b = small_cnn(other);
  CHECK(values((*b)(x)) != want);
  nn::load(*b, f);
  std::filesystem::remove(f);
  CHECK(values((*b)(x)) == want);

  auto d = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(2, 3, 2, gen, ag::Conv2dOptions().stride(2).padding(1)),
                                            std::make_shared<nn::Tanh>(), std::make_shared<nn::AvgPool2d>(2),
                                            std::make_shared<nn::ConvTranspose2d>(3, 2, 2, gen, ag::ConvTranspose2dOptions().stride(2)));
  const ag::Tensor xi = ag::randn({2, 2, 5, 5}, gen, ag::f64);
  const ag::Tensor u = ag::randn({2, 2, 2, 2}, gen, ag::f64);  // [2, 3, 3, 3] -> [2, 3, 1, 1] -> [2, 2, 2, 2]
  const ag::GradcheckResult r = nn::gradcheck_module(*d, [&](nn::Module& m) { return ag::sum(m(xi) * u); });
  CHECK_MESSAGE(r.ok, r.report);
}
