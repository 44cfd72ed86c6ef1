// Normalisation layers: LayerNorm, BatchNorm1d/2d, GroupNorm. Values against hand computations,
// BatchNorm's buffers (names, dtypes, running statistics over k steps, eval), errors naming the
// layer, dtype conversion, and gradcheck_module in train and eval mode.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

std::vector<std::string> names(const std::vector<std::pair<std::string, ag::Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& p : named) out.push_back(p.first);
  return out;
}

// [4, 2]: channel 0 = 1..4 (mean 2.5, var 1.25, unbiased 5/3), channel 1 = 10, 20, 30, 50
// (mean 27.5, var 218.75, unbiased 875/3).
ag::Tensor batch4x2(ag::DType d = ag::f32) { return ag::tensor({{1, 10}, {2, 20}, {3, 30}, {4, 50}}, d); }

double rstd(double var, double eps = 1e-5) { return 1.0 / std::sqrt(var + eps); }

}  // namespace

// ---- LayerNorm --------------------------------------------------------------------------------------
TEST_CASE("LayerNorm: values, parameters, both constructors, describe") {
  nn::LayerNorm ln(3);
  CHECK(ln.normalized_shape() == ag::Shape{3});
  CHECK(names(ln.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  check_values(ln.weight(), {3}, {1, 1, 1});
  check_values(ln.bias(), {3}, {0, 0, 0});
  CHECK(ln.named_buffers().empty());
  CHECK(ln.describe() == "LayerNorm([3])");
  set_values(ln.weight(), {1, 2, -1});
  set_values(ln.bias(), {0, 1, 0.5});
  const double a = rstd(2.0 / 3);  // row (1, 2, 3): x̂ = (-1, 0, 1)/√(2/3 + eps)
  ag::Tensor y = ln(ag::tensor({{1, 2, 3}, {1, 2, 3}}));
  check_values(y, {2, 3}, {-a, 1, 0.5 - a, -a, 1, 0.5 - a}, 1e-6);
  ln.eval();  // the same in eval: statistics of the input itself
  check_values(ln(ag::tensor({{1, 2, 3}})), {1, 3}, {-a, 1, 0.5 - a}, 1e-6);

  nn::LayerNorm ln2({2, 3}, 1e-3, /*elementwise_affine=*/false, ag::f64);
  CHECK(ln2.normalized_shape() == ag::Shape{2, 3});
  CHECK(ln2.parameters().empty());
  CHECK(ln2.describe() == "LayerNorm([2, 3], eps=0.001, elementwise_affine=false)");
  const ag::Tensor x = ag::tensor({{{1, 2, 3}, {2, 4, 9}}}, ag::f64);
  check_values(ln2(x), {1, 2, 3}, values(ag::layer_norm(x, {2, 3}, {}, {}, 1e-3)));
  nn::LayerNorm braced({4});  // the features constructor, = LayerNorm(4)
  CHECK(braced.normalized_shape() == ag::Shape{4});
  CHECK(nn::LayerNorm(4, 1e-5, true, ag::f64).weight().dtype() == ag::f64);
}

TEST_CASE("LayerNorm: errors name the layer and the shapes") {
  nn::LayerNorm ln(4);
  const std::string m = error_of<ag::ShapeError>([&] { ln(ag::zeros({2, 3})); });
  CHECK(contains(m, "LayerNorm([4])"));
  CHECK(contains(m, "[2, 3]"));
  CHECK(contains(m, "[..., 4]"));
  CHECK_THROWS_AS(ln(ag::zeros({2, 3}, ag::f64)), ag::ShapeError);
  CHECK(contains(error_of<ag::DtypeError>([&] { ln(ag::zeros({2, 4}, ag::f64)); }),
                 "LayerNorm([4]): input is float64"));
  CHECK_THROWS_AS(nn::LayerNorm(ag::Shape{}), ag::ValueError);
  CHECK_THROWS_AS(nn::LayerNorm(4, -1.0), ag::ValueError);
  CHECK_THROWS_AS(nn::LayerNorm(4, 1e-5, true, ag::i64), ag::DtypeError);
}

// ---- BatchNorm --------------------------------------------------------------------------------------
TEST_CASE("BatchNorm1d: parameters and buffers under PyTorch's names, describe") {
  nn::BatchNorm1d bn(2);
  CHECK(bn.describe() == "BatchNorm1d(2)");
  CHECK(names(bn.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  CHECK(names(bn.named_buffers()) == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  check_values(bn.running_mean(), {2}, {0, 0});
  check_values(bn.running_var(), {2}, {1, 1});
  CHECK(bn.running_mean().dtype() == ag::f32);
  CHECK(bn.num_batches_tracked().dtype() == ag::i64);
  CHECK(bn.num_batches_tracked().shape() == ag::Shape{});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 0);
  for (const ag::Tensor& b : bn.buffers()) CHECK_FALSE(b.requires_grad());

  nn::BatchNorm1d bare(3, 1e-3, std::nullopt, /*affine=*/false, /*track_running_stats=*/false);
  CHECK(bare.parameters().empty());
  CHECK(bare.named_buffers().empty());
  CHECK(bare.describe() == "BatchNorm1d(3, eps=0.001, momentum=nullopt, affine=false, track_running_stats=false)");
  CHECK(nn::BatchNorm2d(8, 1e-5, 0.3).describe() == "BatchNorm2d(8, momentum=0.3)");

  // nested: dotted names, as in a PyTorch state dict ("1.running_mean")
  nn::Sequential seq(std::make_shared<nn::Dense>(3, 2), std::make_shared<nn::BatchNorm1d>(2));
  CHECK(names(seq.named_buffers()) ==
        std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
  CHECK(names(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});
}

TEST_CASE("BatchNorm1d train: batch statistics, running statistics after k steps, eval uses them") {
  nn::BatchNorm1d bn(2, 1e-5, 0.1, true, true, ag::f64);
  set_values(bn.weight(), {2, 1});
  set_values(bn.bias(), {0, -1});
  const ag::Tensor x = batch4x2(ag::f64);
  const double s0 = rstd(1.25), s1 = rstd(218.75);
  check_values(bn(x), {4, 2},
               {-3 * s0, -17.5 * s1 - 1, -s0, -7.5 * s1 - 1, s0, 2.5 * s1 - 1, 3 * s0, 22.5 * s1 - 1});
  for (int k = 2; k <= 3; ++k) bn(x);
  // 3 steps on the same batch: running = batch + (initial - batch)·0.9³
  const double keep = 0.9 * 0.9 * 0.9;
  check_values(bn.running_mean(), {2}, {2.5 * (1 - keep), 27.5 * (1 - keep)});
  check_values(bn.running_var(), {2}, {5.0 / 3 + (1 - 5.0 / 3) * keep, 875.0 / 3 + (1 - 875.0 / 3) * keep});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 3);

  bn.eval();
  const std::vector<double> rm = values(bn.running_mean()), rv = values(bn.running_var());
  const ag::Tensor xe = ag::tensor({{0, 0}, {5, 100}}, ag::f64);
  check_values(bn(xe), {2, 2},
               {2 * (0 - rm[0]) * rstd(rv[0]), (0 - rm[1]) * rstd(rv[1]) - 1, 2 * (5 - rm[0]) * rstd(rv[0]),
                (100 - rm[1]) * rstd(rv[1]) - 1});
  CHECK(values(bn.running_mean()) == rm);  // eval changes nothing
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 3);
  // one sample is fine in eval (no batch statistics)
  CHECK(bn(ag::tensor({{1, 2}}, ag::f64)).shape() == ag::Shape{1, 2});
  bn.train();
  bn(x);
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 4);
}

TEST_CASE("BatchNorm1d: momentum nullopt averages every batch so far (PyTorch's momentum=None)") {
  nn::BatchNorm1d bn(1, 1e-5, std::nullopt, false, true, ag::f64);
  bn(ag::tensor({{1}, {3}}, ag::f64));    // mean 2, unbiased var 2
  bn(ag::tensor({{10}, {20}}, ag::f64));  // mean 15, unbiased var 50
  bn(ag::tensor({{0}, {0}}, ag::f64));    // mean 0, var 0
  check_values(bn.running_mean(), {1}, {(2 + 15 + 0) / 3.0});
  check_values(bn.running_var(), {1}, {(2 + 50 + 0) / 3.0});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 3);
}

TEST_CASE("BatchNorm without running statistics uses batch statistics in eval too") {
  nn::BatchNorm1d bn(2, 1e-5, 0.1, true, /*track_running_stats=*/false);
  const ag::Tensor x = batch4x2();
  const std::vector<double> train = values(bn(x));
  bn.eval();
  CHECK(values(bn(x)) == train);
  CHECK_THROWS_AS(bn(ag::tensor({{1, 2}})), ag::ValueError);  // one value per channel, as in training
}

TEST_CASE("BatchNorm1d [N, C, L] and BatchNorm2d [N, C, H, W]: statistics over all axes but C") {
  ag::Generator gen(3);
  const ag::Tensor x3 = ag::randn({4, 3, 5}, gen, ag::f64);
  nn::BatchNorm1d bn1(3, 1e-5, 0.1, true, true, ag::f64);
  check_values(bn1(x3), {4, 3, 5}, values(ag::batch_norm(x3, {}, {}, {}, {}, true)));
  // the running mean is 0.1·the channel mean over N and L
  const std::vector<double> mean = values(ag::mean(x3, {0, 2}));
  check_values(bn1.running_mean(), {3}, {0.1 * mean[0], 0.1 * mean[1], 0.1 * mean[2]});

  const ag::Tensor x4 = ag::randn({2, 3, 2, 2}, gen, ag::f64);
  nn::BatchNorm2d bn2(3, 1e-5, 0.1, true, true, ag::f64);
  const std::vector<double> m4 = values(ag::mean(x4, {0, 2, 3}));
  const ag::Tensor y = bn2(x4);
  check_values(ag::mean(y, {0, 2, 3}), {3}, {0, 0, 0}, 1e-9);
  check_values(bn2.running_mean(), {3}, {0.1 * m4[0], 0.1 * m4[1], 0.1 * m4[2]});
}

TEST_CASE("BatchNorm: errors name the layer and the shapes, a failed call changes nothing") {
  nn::BatchNorm1d bn(4);
  std::string m = error_of<ag::ShapeError>([&] { bn(ag::zeros({2, 3})); });
  CHECK(contains(m, "BatchNorm1d(4)"));
  CHECK(contains(m, "[2, 3]"));
  CHECK(contains(m, "C = 4"));
  CHECK_THROWS_AS(bn(ag::zeros({2, 4, 3, 3})), ag::ShapeError);  // 4-D is BatchNorm2d's
  CHECK_THROWS_AS(bn(ag::zeros({4})), ag::ShapeError);
  nn::BatchNorm2d bn2(3);
  m = error_of<ag::ShapeError>([&] { bn2(ag::zeros({2, 3, 4})); });
  CHECK(contains(m, "BatchNorm2d(3): expected input [N, C, H, W] with C = 3, got [2, 3, 4]"));
  CHECK_THROWS_AS(bn2(ag::zeros({2, 4, 2, 2})), ag::ShapeError);
  CHECK(contains(error_of<ag::DtypeError>([&] { bn(ag::zeros({2, 4}, ag::f64)); }),
                 "BatchNorm1d(4): input is float64"));
  // one value per channel in training: ValueError naming batch_norm; buffers untouched
  m = error_of<ag::ValueError>([&] { bn(ag::ones({1, 4})); });
  CHECK(contains(m, "batch_norm"));
  CHECK(contains(m, "more than 1 value per channel"));
  check_values(bn.running_mean(), {4}, {0, 0, 0, 0});
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 0);
  CHECK_THROWS_AS(nn::BatchNorm1d(0), ag::ValueError);
  CHECK_THROWS_AS(nn::BatchNorm1d(2, 1e-5, 1.5), ag::ValueError);
  CHECK_THROWS_AS(nn::BatchNorm1d(2, -1.0), ag::ValueError);
  CHECK_THROWS_AS(nn::BatchNorm2d(2, 1e-5, 0.1, true, true, ag::i32), ag::DtypeError);
}

TEST_CASE("BatchNorm: to(f64) converts the floating buffers and keeps num_batches_tracked int64") {
  nn::BatchNorm1d bn(2);
  bn(batch4x2());
  const ag::Tensor rm = bn.running_mean();  // a handle: to() converts in place, the handle stays valid
  const std::vector<double> before = values(rm);
  bn.to(ag::f64);
  CHECK(rm.dtype() == ag::f64);
  CHECK(bn.running_mean().id() == rm.id());
  CHECK(bn.running_var().dtype() == ag::f64);
  CHECK(bn.weight().dtype() == ag::f64);
  CHECK(bn.num_batches_tracked().dtype() == ag::i64);
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 1);
  CHECK(values(rm) == before);  // float32 values are exact in float64
  bn(batch4x2(ag::f64));        // a float64 step works on the converted buffers
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 2);
  for (const auto& [name, b] : bn.named_buffers())
    CHECK(b.dtype() == (name == "num_batches_tracked" ? ag::i64 : ag::f64));
  CHECK_THROWS_AS(bn.to(ag::i64), ag::DtypeError);
}

// ---- GroupNorm --------------------------------------------------------------------------------------
TEST_CASE("GroupNorm: values, parameters, errors") {
  nn::GroupNorm gn(2, 4);
  CHECK(gn.describe() == "GroupNorm(2, 4)");
  CHECK(names(gn.named_parameters()) == std::vector<std::string>{"weight", "bias"});
  CHECK(gn.named_buffers().empty());
  set_values(gn.weight(), {1, 2, 3, 4});
  set_values(gn.bias(), {0, 0, 1, 1});
  // one sample, S = 1: groups (1, 3) and (10, 14) -> x̂ = (-1, 1, -1, 1)·√(var/(var + eps))
  const double a = std::sqrt(1 / (1 + 1e-5)), b = std::sqrt(4 / (4 + 1e-5));
  check_values(gn(ag::tensor({{1, 3, 10, 14}})), {1, 4}, {-a, 2 * a, 1 - 3 * b, 1 + 4 * b}, 1e-6);
  gn.eval();  // the same in eval
  check_values(gn(ag::tensor({{1, 3, 10, 14}})), {1, 4}, {-a, 2 * a, 1 - 3 * b, 1 + 4 * b}, 1e-6);
  CHECK(nn::GroupNorm(3, 6, 1e-3, false).describe() == "GroupNorm(3, 6, eps=0.001, affine=false)");
  const std::string m = error_of<ag::ShapeError>([&] { gn(ag::zeros({2, 6, 3})); });
  CHECK(contains(m, "GroupNorm(2, 4): expected input [N, C, *] with C = 4, got [2, 6, 3]"));
  CHECK_THROWS_AS(gn(ag::zeros({4})), ag::ShapeError);
  CHECK_THROWS_AS(nn::GroupNorm(4, 6), ag::ValueError);
  CHECK_THROWS_AS(nn::GroupNorm(0, 6), ag::ValueError);
}

// ---- gradcheck_module ---------------------------------------------------------------------------------
TEST_CASE("gradcheck_module: the normalisation layers in train and eval mode") {
  ag::Generator gen(17);
  const ag::Tensor x2 = ag::randn({5, 3}, gen, ag::f64), x4 = ag::randn({3, 2, 2, 2}, gen, ag::f64);
  auto perturb = [&](nn::Module& m) {  // non-trivial weights and running statistics
    for (ag::Tensor p : m.parameters()) p.copy_(ag::uniform(p.shape(), 0.5, 1.5, gen, ag::f64));
  };
  std::vector<std::pair<std::shared_ptr<nn::Module>, ag::Tensor>> cases = {
      {std::make_shared<nn::BatchNorm1d>(3), x2},
      {std::make_shared<nn::BatchNorm2d>(2), x4},
      {std::make_shared<nn::LayerNorm>(ag::Shape{2, 2}), x4},
      {std::make_shared<nn::GroupNorm>(2, 2), x4},
  };
  for (auto& [model, x] : cases) {
    CAPTURE(model->describe());
    {
      ag::NoGradGuard no_grad;
      perturb(*model);
    }
    (*model)(x.to(ag::f32));  // a training step: running statistics away from 0 and 1
    for (bool training : {true, false}) {
      CAPTURE(training);
      model->train(training);
      const ag::Tensor u = ag::randn(x.shape(), gen, ag::f64);
      const ag::GradcheckResult r =
          nn::gradcheck_module(*model, [&](nn::Module& m) { return ag::sum(ag::square(m(x)) * u); });
      CHECK_MESSAGE(r.ok, r.report);
      CHECK(model->dtype() == ag::f32);  // restored
    }
  }
}

TEST_CASE("BatchNorm1d: running statistics are saved and loaded with the model, eval predictions identical") {
  ag::Generator gen(8);
  auto make = [] {
    return std::make_shared<ag::nn::Sequential>(std::make_shared<ag::nn::Dense>(3, 4), std::make_shared<ag::nn::BatchNorm1d>(4));
  };
  auto a = make();
  for (int step = 0; step < 3; ++step) (*a)(ag::randn({8, 3}, gen));
  a->eval();
  const ag::Tensor x = ag::randn({5, 3}, gen);
  const std::vector<double> want = (*a)(x).to_vector<double>();
  const std::string f = (std::filesystem::temp_directory_path() / "tapegrad-bn.tgp").string();
  ag::nn::save(*a, f);
  auto b = make();
  ag::nn::load(*b, f);
  std::filesystem::remove(f);
  b->eval();
  CHECK((*b)(x).to_vector<double>() == want);
  auto& bn = static_cast<ag::nn::BatchNorm1d&>(*(*b)[1]);
  CHECK(bn.num_batches_tracked().item<std::int64_t>() == 3);
}
