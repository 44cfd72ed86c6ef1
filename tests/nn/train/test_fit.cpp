// Training: fit (hand-computed first step, per-row SGD step count, loss decrease, errors,
// output), evaluate and predict.
#include <sstream>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// SGD that counts its steps.
class CountingSGD : public nn::SGD {
 public:
  using nn::SGD::SGD;
  void step() override {
    ++steps;
    nn::SGD::step();
  }
  std::size_t steps = 0;
};

}  // namespace

TEST_CASE("fit: one full-batch epoch is exactly one gradient step (hand-computed)") {
  // y = w·x + b from w = b = 0 on x = (1, 2), y = (3, 5):
  //   L = mean((w·x + b - y)²) = (9 + 25)/2 = 17
  //   dL/dw = mean(2(w·x + b - y)·x) = (2·(-3)·1 + 2·(-5)·2)/2 = -13,  dL/db = (-6 - 10)/2 = -8
  //   lr 0.1: w = 1.3, b = 0.8
  nn::Dense model(1, 1, true, nn::Init::zeros, ag::f64);
  nn::SGD sgd(model.parameters(), 0.1);
  nn::Dataset data(ag::tensor({{1.0}, {2.0}}, ag::f64), ag::tensor({{3.0}, {5.0}}, ag::f64));
  nn::FitOptions o = quiet();
  o.epochs = 1;
  o.batch_size = 2;
  o.shuffle = false;
  const nn::History h = nn::fit(model, nn::MSELoss(), sgd, data, o);
  REQUIRE(h.loss.size() == 1);
  CHECK(h.loss[0] == doctest::Approx(17.0));
  check_values(model.weight(), {1, 1}, {1.3});
  check_values(model.bias(), {1}, {0.8});
}

TEST_CASE("fit: batch_size 1 makes one update per row per epoch (per-row SGD)") {
  nn::Dense model(1, 1, true, nn::Init::zeros, ag::f64);
  CountingSGD sgd(model.parameters(), 0.05);
  nn::Dataset data(ag::tensor({{1.0}, {2.0}, {3.0}, {4.0}, {5.0}}, ag::f64),
                   ag::tensor({{3.0}, {5.0}, {7.0}, {9.0}, {11.0}}, ag::f64));
  nn::FitOptions o = quiet();
  o.epochs = 3;
  o.batch_size = 1;
  nn::fit(model, nn::MSELoss(), sgd, data, o);
  CHECK(sgd.steps == 15);
  CountingSGD sgd2(model.parameters(), 0.05);
  o.batch_size = 2;  // 3 batches per epoch (2, 2, 1)
  nn::fit(model, nn::MSELoss(), sgd2, data, o);
  CHECK(sgd2.steps == 9);
  CountingSGD sgd3(model.parameters(), 0.05);
  o.drop_last = true;
  nn::fit(model, nn::MSELoss(), sgd3, data, o);
  CHECK(sgd3.steps == 6);
}

TEST_CASE("fit: a tiny problem's loss falls, validation and metrics are recorded") {
  // y = 2x - 1, learned by per-row SGD; metrics: mse on the training batches and validation.
  ag::Generator gen(3);
  const ag::Tensor x = ag::uniform({32, 1}, -1, 1, gen, ag::f64);
  const ag::Tensor y = 2.0 * x - 1.0;
  nn::Dense model(1, 1, gen, true, nn::Init::glorot_uniform, ag::f64);
  nn::SGD sgd(model.parameters(), 0.1);
  nn::FitOptions o = quiet();
  o.epochs = 20;
  o.batch_size = 1;
  o.seed = 1;
  o.validation_data = nn::Dataset(x, y);
  o.metrics = {nn::metrics::mse()};
  const nn::History h = nn::fit(model, nn::MSELoss(), sgd, nn::Dataset(x, y), o);
  REQUIRE(h.epochs() == 20);
  CHECK(h.val_loss.size() == 20);
  CHECK(h["mse"].size() == 20);
  CHECK(h["val_mse"].size() == 20);
  CHECK(h.seconds.size() == 20);
  CHECK(!h.stopped_early);
  CHECK(h.loss.back() < 1e-3 * h.loss.front());
  CHECK(h["mse"][5] == doctest::Approx(h.loss[5]));  // MSE loss = MSE metric, same batches
  CHECK(h.val_loss.back() < 1e-4);
  check_values(model.weight(), {1, 1}, {2.0}, 1e-2);
  check_values(model.bias(), {1}, {-1.0}, 1e-2);
  CHECK(!error_of<ag::ValueError>([&] { (void)h["accuracy"]; }).empty());
}

TEST_CASE("fit: errors for a non-finite loss, mismatched dtypes and an empty drop_last pass") {
  nn::Dense model(1, 1, true, nn::Init::zeros, ag::f64);
  nn::SGD sgd(model.parameters(), 0.1);
  nn::Dataset data(ag::tensor({{1.0}, {2.0}}, ag::f64), ag::tensor({{3.0}, {5.0}}, ag::f64));
  nn::FitOptions o = quiet();
  o.batch_size = 1;
  o.shuffle = false;
  auto nan_loss = [](const ag::Tensor& p, const ag::Tensor& t) {
    return nn::mse_loss(p, t) * std::nan("");
  };
  const std::string msg = error_of<ag::ValueError>([&] { nn::fit(model, nan_loss, sgd, data, o); });
  CHECK(contains(msg, "epoch 1, batch 1"));
  CHECK(contains(msg, "nan"));

  nn::Dataset f32_data(ag::tensor({{1.0}}), ag::tensor({{1.0}}));
  const std::string dt = error_of<ag::DtypeError>([&] { nn::fit(model, nn::MSELoss(), sgd, f32_data, o); });
  CHECK(contains(dt, "float32"));
  CHECK(contains(dt, "float64"));

  o.batch_size = 3;
  o.drop_last = true;
  CHECK(!error_of<ag::ValueError>([&] { nn::fit(model, nn::MSELoss(), sgd, data, o); }).empty());
}

TEST_CASE("fit: a loss that no parameter of the optimizer reaches is a GradError, not a silent constant loss") {
  nn::Dataset data(ag::tensor({{1.0}, {2.0}}, ag::f64), ag::tensor({{3.0}, {5.0}}, ag::f64));
  nn::FitOptions o = quiet();
  o.epochs = 3;
  // the case: forward uses a tensor that was never registered, the registered one is unused
  struct Forgetful : nn::Module {
    ag::Tensor w = ag::full({1, 1}, 2.0, ag::f64).requires_grad_(true), unused;
    Forgetful() { unused = register_parameter("unused", ag::Tensor({0.5}, ag::f64)); }
    ag::Tensor forward(const ag::Tensor& x) override { return ag::matmul(x, w); }
    std::string type_name() const override { return "Forgetful"; }
  } m;
  CountingSGD sgd(m.parameters(), 0.1);
  std::string msg = error_of<ag::GradError>([&] { nn::fit(m, nn::MSELoss(), sgd, data, o); });
  INFO(msg);
  CHECK(contains(msg, "fit: no parameter received a gradient"));
  CHECK(contains(msg, "1 trainable parameters the SGD optimizer"));
  CHECK(contains(msg, "register_parameter"));
  CHECK(sgd.steps == 0);  // refused before the first step
  check_values(m.w, {1, 1}, {2.0});
  check_values(m.unused, {1}, {0.5});
  // an optimizer built from another model's parameters
  nn::Dense model(1, 1, true, nn::Init::zeros, ag::f64), other(1, 1, true, nn::Init::zeros, ag::f64);
  CountingSGD wrong(other.parameters(), 0.1);
  msg = error_of<ag::GradError>([&] { nn::fit(model, nn::MSELoss(), wrong, data, o); });
  CHECK(contains(msg, "2 trainable parameters the SGD optimizer"));
  CHECK(wrong.steps == 0);
  // every parameter frozen: the loss does not even require grad
  for (auto& p : model.parameters()) p.requires_grad_(false);
  nn::Adam adam(model.parameters(), 0.1);  // accepted, as in PyTorch
  msg = error_of<ag::GradError>([&] { nn::fit(model, nn::MSELoss(), adam, data, o); });
  CHECK(contains(msg, "fit: no parameter received a gradient"));
  CHECK(contains(msg, "every one of the 2 parameters the Adam optimizer holds is frozen"));
  check_values(model.weight(), {1, 1}, {0.0});
  // grad mode off around fit
  for (auto& p : model.parameters()) p.requires_grad_(true);
  {
    ag::NoGradGuard ng;
    msg = error_of<ag::GradError>([&] { nn::fit(model, nn::MSELoss(), adam, data, o); });
  }
  CHECK(contains(msg, "grad mode is off"));
  // partly frozen trains the rest: the bias alone moves (hand-computed as in the first test case:
  // w = 0, dL/db = -8, so b = 0.8 after one full-batch SGD step)
  ag::Tensor(model.weight()).requires_grad_(false);
  nn::SGD sgd2(model.parameters(), 0.1);
  o.epochs = 1;
  o.batch_size = 2;
  o.shuffle = false;
  const nn::History h = nn::fit(model, nn::MSELoss(), sgd2, data, o);
  CHECK(h.loss[0] == doctest::Approx(17.0));
  check_values(model.weight(), {1, 1}, {0.0});
  check_values(model.bias(), {1}, {0.8});
}

TEST_CASE("evaluate and predict: no grad, eval mode, batches agree with one pass") {
  ag::Generator gen(4);
  nn::Sequential model(std::make_shared<nn::Dense>(3, 5, gen), std::make_shared<nn::Dropout>(0.5, 1),
                       std::make_shared<nn::Dense>(5, 2, gen));
  const ag::Tensor x = ag::randn({7, 3}, gen);
  CHECK(model.is_training());
  const ag::Tensor full = nn::predict(model, x);
  const ag::Tensor batched = nn::predict(model, x, 3);  // 3 + 3 + 1 rows
  CHECK(model.is_training());  // flag restored
  CHECK(!full.requires_grad());
  REQUIRE(batched.shape() == ag::Shape{7, 2});
  const auto a = values(full), b = values(batched);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]));
  // eval mode: dropout is the identity, so the result equals a plain eval-mode forward
  model.eval();
  const auto plain = values(ag::no_grad([&] { return model(x); }));
  model.train();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(plain[i]));

  // evaluate: row-weighted mean loss over uneven batches = the loss over all rows at once
  const ag::Tensor y = ag::randn({7, 2}, gen);
  const nn::Logs l = nn::evaluate(model, nn::MSELoss(), nn::Dataset(x, y), {nn::metrics::mae()}, 3);
  CHECK(l.at("loss") == doctest::Approx(nn::mse_score(full, y)));
  CHECK(l.at("mae") == doctest::Approx(nn::mae_score(full, y)));
  CHECK(model.is_training());
}

TEST_CASE("fit output: per-epoch lines, a progress bar, or nothing") {
  Opposite p;
  nn::SGD sgd(p.model->parameters(), 0.05);
  nn::FitOptions o;
  o.epochs = 3;
  o.batch_size = 2;
  o.metrics = {nn::metrics::mse()};
  std::ostringstream lines;
  o.out = &lines;  // not std::cout: automatic means per-epoch lines
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  const std::string s = lines.str();
  CHECK(std::count(s.begin(), s.end(), '\n') == 3);
  CHECK(contains(s, "epoch 1/3 - "));
  CHECK(contains(s, "epoch 3/3 - "));
  CHECK(contains(s, " - loss "));
  CHECK(contains(s, " - mse "));
  CHECK(!contains(s, "\r"));

  std::ostringstream bar;
  o.out = &bar;
  o.verbosity = nn::Verbosity::progress_bar;
  o.terminal_width = 120;  // not whatever COLUMNS says where the tests run
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  const std::string b = bar.str();
  CHECK(contains(b, "\r"));
  CHECK(contains(b, "ETA"));
  CHECK(contains(b, "epoch 3/3 [==============================] 2/2 - "));
  CHECK(std::count(b.begin(), b.end(), '\n') == 3);

  // a 40-column terminal (issue 14 item 15): no redrawn frame reaches the last column; each
  // epoch's final frame keeps the loss and the metric
  std::ostringstream narrow;
  o.out = &narrow;
  o.terminal_width = 40;
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  const std::string n = narrow.str();
  CHECK(std::count(n.begin(), n.end(), '\n') == 3);
  std::size_t frames = 0;
  for (std::size_t at = n.find('\r'); at != std::string::npos;) {
    const std::size_t next = n.find('\r', at + 1);
    std::string frame = n.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    INFO("frame '" << frame << "'");
    if (frame.back() == '\n') {
      CHECK(contains(frame, " 2/2 - "));
      CHECK(contains(frame, " - loss "));
      CHECK(contains(frame, " - mse "));
    } else {
      CHECK(frame.size() <= 39);
      CHECK(contains(frame, "epoch "));
      CHECK(contains(frame, "/2 - "));
      ++frames;
    }
    at = next;
  }
  CHECK(frames >= 3);

  std::ostringstream none;
  o.out = &none;
  o.verbosity = nn::Verbosity::silent;
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  CHECK(none.str().empty());
}

TEST_CASE("fit: int64 class labels train a classifier with cross_entropy and the accuracy metric") {
  // two blobs: class 0 around (-1, -1), class 1 around (+1, +1); labels int64 [N]
  ag::Generator gen(5);
  const ag::Tensor noise = ag::randn({40, 2}, gen) * 0.3;
  const ag::Tensor labels = ag::concat({ag::zeros({20}, ag::i64), ag::ones({20}, ag::i64)}, 0);
  const ag::Tensor centers = ag::unsqueeze(labels * 2 - 1, 1);  // int64 -1 / +1
  const ag::Tensor x = noise + centers;                          // float32
  REQUIRE(x.dtype() == ag::f32);
  nn::Dense model(2, 2, gen);
  nn::SGD sgd(model.parameters(), 0.5);
  nn::FitOptions o = quiet();
  o.epochs = 30;
  o.batch_size = 8;
  o.seed = 2;
  o.metrics = {nn::metrics::accuracy()};
  const nn::History h = nn::fit(model, nn::CrossEntropyLoss(), sgd, nn::Dataset(x, labels), o);
  CHECK(h.loss.back() < 0.5 * h.loss.front());
  CHECK(h["accuracy"].back() >= 0.95);
  const ag::Tensor pred = ag::argmax(nn::predict(model, x), 1);
  CHECK(pred.dtype() == ag::i64);
  CHECK(ag::sum(pred == labels).item<std::int64_t>() >= 38);
}
