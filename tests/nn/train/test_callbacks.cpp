// Callbacks in fit: early stopping, keeping the best weights, stepping an LR scheduler.
#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// Records the first parameter's values at the end of every epoch.
class WeightRecorder : public nn::Callback {
 public:
  void on_epoch_end(nn::TrainContext& ctx, std::size_t, const nn::Logs&) override {
    per_epoch.push_back(values(ctx.model.parameters()[0]));
  }
  std::vector<std::vector<double>> per_epoch;
};

}  // namespace

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
