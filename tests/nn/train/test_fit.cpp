// Training: metrics, fit (hand-computed first step, per-row SGD step count, loss decrease),
// evaluate/predict, callbacks (early stopping, keep-best, scheduler), progress output.
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

// Records the first parameter's values at the end of every epoch.
class WeightRecorder : public nn::Callback {
 public:
  void on_epoch_end(nn::TrainContext& ctx, std::size_t, const nn::Logs&) override {
    per_epoch.push_back(values(ctx.model.parameters()[0]));
  }
  std::vector<std::vector<double>> per_epoch;
};

nn::FitOptions quiet() {
  nn::FitOptions o;
  o.verbosity = nn::Verbosity::silent;
  return o;
}

// y = x on the training rows; the validation rows want y = -x, so every step towards the training
// target makes the validation loss worse (from w = 0: val loss = mean((w·x + x)²) grows with w).
struct Opposite {
  std::shared_ptr<nn::Dense> model = std::make_shared<nn::Dense>(1, 1, /*bias=*/false, nn::Init::zeros, ag::f64);
  ag::Tensor x = ag::tensor({{1.0}, {2.0}, {-1.0}, {0.5}}, ag::f64);
  nn::Dataset train{x, x};
  nn::Dataset val{x, -1.0 * x};
};

}  // namespace

TEST_CASE("accuracy_score: argmax rows, index or one-hot targets, single-output thresholds") {
  ag::Tensor p({{0.1, 0.7, 0.2}, {0.8, 0.1, 0.1}, {0.3, 0.3, 0.4}, {0.2, 0.5, 0.3}});
  CHECK(nn::accuracy_score(p, ag::Tensor({1, 0, 2, 0})) == doctest::Approx(0.75));
  CHECK(nn::accuracy_score(p, ag::tensor({{1.0}, {1.0}, {2.0}, {1.0}})) == doctest::Approx(0.75));
  CHECK(nn::accuracy_score(p, ag::one_hot({1, 0, 0, 1}, 3)) == doctest::Approx(0.75));
  ag::Tensor prob = ag::tensor({{0.9}, {0.4}, {0.6}, {0.2}});
  ag::Tensor y = ag::tensor({{1.0}, {1.0}, {0.0}, {0.0}});
  CHECK(nn::accuracy_score(prob, y) == doctest::Approx(0.5));
  ag::Tensor logits = ag::Tensor({2.0, -0.5, 0.1, -3.0});
  CHECK(nn::accuracy_score(logits, ag::Tensor({1, 0, 0, 0}), /*threshold=*/0.0) == doctest::Approx(0.75));
  CHECK(contains(error_of<ag::ShapeError>([&] { nn::accuracy_score(p, ag::one_hot({1, 0, 0, 1}, 4)); }),
                 "[4, 4]"));
  CHECK(!error_of<ag::ShapeError>([&] { nn::accuracy_score(prob, ag::zeros({3, 1})); }).empty());
}

TEST_CASE("mse_score / mae_score") {
  ag::Tensor p = ag::tensor({{1.0}, {2.0}, {4.0}}), t = ag::tensor({{1.0}, {0.0}, {5.0}});
  CHECK(nn::mse_score(p, t) == doctest::Approx(5.0 / 3.0));
  CHECK(nn::mae_score(p, t) == doctest::Approx(1.0));
  CHECK(!error_of<ag::ShapeError>([&] { nn::mse_score(p, ag::zeros({2, 1})); }).empty());
}

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

TEST_CASE("EarlyStopping: stops after `patience` epochs without improvement") {
  Opposite p;
  nn::SGD sgd(p.model->parameters(), 0.05);
  auto stop = std::make_shared<nn::EarlyStopping>("val_loss", /*patience=*/2);
  nn::FitOptions o = quiet();
  o.epochs = 50;
  o.batch_size = 1;
  o.validation_data = p.val;
  o.callbacks = {stop};
  const nn::History h = nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  // val_loss rises every epoch: best at epoch 1, epochs 2 and 3 do not improve -> stop at 3
  CHECK(h.epochs() == 3);
  CHECK(h.stopped_early);
  CHECK(stop->stopped_epoch() == 3);
  CHECK(stop->best_epoch() == 1);
  CHECK(contains(h.stop_reason, "val_loss"));
  CHECK(h.val_loss[1] > h.val_loss[0]);
}

TEST_CASE("EarlyStopping: min_delta, mode and a missing monitor") {
  nn::MonitorTracker t("val_loss", nn::Mode::automatic, 0.1);
  nn::Logs l;
  l.set("val_loss", 1.0);
  CHECK(t.update(1, l, "test"));
  l.set("val_loss", 0.95);  // better by less than min_delta: no improvement
  CHECK(!t.update(2, l, "test"));
  l.set("val_loss", 0.5);
  CHECK(t.update(3, l, "test"));
  CHECK(t.best_epoch() == 3);
  CHECK(*t.best() == 0.5);
  CHECK(nn::MonitorTracker("val_accuracy", nn::Mode::automatic, 0).higher_is_better());
  CHECK(!nn::MonitorTracker("val_loss", nn::Mode::automatic, 0).higher_is_better());
  CHECK(nn::MonitorTracker("val_loss", nn::Mode::max, 0).higher_is_better());

  Opposite p;
  nn::SGD sgd(p.model->parameters(), 0.05);
  nn::FitOptions o = quiet();
  o.callbacks = {std::make_shared<nn::EarlyStopping>("val_loss")};  // no validation data
  const std::string msg = error_of<ag::ValueError>([&] { nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o); });
  CHECK(contains(msg, "'val_loss'"));
  CHECK(contains(msg, "validation_data"));
}

TEST_CASE("EarlyStopping(restore_best_weights) and KeepBestModel put the best epoch's weights back") {
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    Opposite p;
    nn::SGD sgd(p.model->parameters(), 0.05);
    auto rec = std::make_shared<WeightRecorder>();
    nn::FitOptions o = quiet();
    o.epochs = 6;
    o.batch_size = 1;
    o.validation_data = p.val;
    std::shared_ptr<nn::Callback> cb;
    if (variant == 0)
      cb = std::make_shared<nn::EarlyStopping>("val_loss", 3, 0.0, nn::Mode::automatic, true);
    else
      cb = std::make_shared<nn::KeepBestModel>("val_loss");
    o.callbacks = {rec, cb};
    const nn::History h = nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
    REQUIRE(rec->per_epoch.size() == h.epochs());
    CHECK(h.epochs() == (variant == 0 ? 4u : 6u));
    // best val_loss: epoch 1; the weights moved after it, and are back to epoch 1's at the end
    CHECK(rec->per_epoch.back()[0] != doctest::Approx(rec->per_epoch[0][0]));
    CHECK(values(p.model->weight())[0] == rec->per_epoch[0][0]);
  }
}

TEST_CASE("KeepBestModel on a monitor that improves every epoch keeps the last weights") {
  Opposite p;
  nn::SGD sgd(p.model->parameters(), 0.05);
  auto best = std::make_shared<nn::KeepBestModel>("loss");
  auto rec = std::make_shared<WeightRecorder>();
  nn::FitOptions o = quiet();
  o.epochs = 4;
  o.batch_size = 1;
  o.callbacks = {rec, best};
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  CHECK(best->best_epoch() == 4);
  CHECK(values(p.model->weight())[0] == rec->per_epoch[3][0]);
}

TEST_CASE("SchedulerCallback steps the LR scheduler once per epoch") {
  Opposite p;
  nn::SGD sgd(p.model->parameters(), 0.08);
  nn::StepLR sched(sgd, 1, 0.5);
  nn::FitOptions o = quiet();
  o.epochs = 3;
  o.callbacks = {std::make_shared<nn::SchedulerCallback>(sched)};
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  CHECK(sgd.lr() == doctest::Approx(0.01));  // 0.08·0.5³
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
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  const std::string b = bar.str();
  CHECK(contains(b, "\r"));
  CHECK(contains(b, "ETA"));
  CHECK(contains(b, "epoch 3/3 [==============================] 2/2 - "));
  CHECK(std::count(b.begin(), b.end(), '\n') == 3);

  std::ostringstream none;
  o.out = &none;
  o.verbosity = nn::Verbosity::silent;
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  CHECK(none.str().empty());
}

TEST_CASE("ProgressBar frames, durations and values") {
  std::ostringstream os;
  nn::ProgressBar bar(os, 10, "epoch 1/2", 10);
  CHECK(bar.render(5, 10.0, false, "loss 1.0000") == "epoch 1/2 [=====>....] 5/10 - ETA 0:10 - loss 1.0000");
  CHECK(bar.render(0, 0.0, false, "") == "epoch 1/2 [..........] 0/10 - ETA ?");
  CHECK(bar.render(10, 3.25, true, "") == "epoch 1/2 [==========] 10/10 - 3.25s");
  CHECK(bar.render(10, 0.0123, true, "") == "epoch 1/2 [==========] 10/10 - 12ms");
  CHECK(nn::format_elapsed(75) == "1:15");
  CHECK(nn::format_duration(0.2) == "0:01");
  CHECK(nn::format_duration(65) == "1:05");
  CHECK(nn::format_duration(3723) == "1:02:03");
  CHECK(nn::format_value(0.123456) == "0.1235");
  CHECK(nn::format_value(0.00012346) == "1.235e-04");
  CHECK(nn::format_value(0.0) == "0.0000");
}
