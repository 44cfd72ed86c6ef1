// Resumable training: generator and scheduler state, nn::Checkpoint, fit(resume_from) and
// ModelCheckpoint. The central claim: 6 epochs straight and 3 + resume + 3 in a fresh model and
// optimizer end with bit-identical weights.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/module_util.hpp"
#include "support/temp_dir.hpp"

using namespace nn_test;
namespace nn = ag::nn;
namespace fs = std::filesystem;

namespace {

using test_support::TempDir;

using test_support::read_bytes;

// A 3-class problem with 120 rows (not a multiple of the batch size, so the last batch is short).
nn::Dataset blobs(std::uint64_t seed) {
  ag::Generator g(seed);
  ag::Tensor x = ag::randn({120, 4}, g);
  std::vector<std::int64_t> y(120);
  const auto xv = x.to_vector<float>();
  for (std::size_t i = 0; i < 120; ++i) y[i] = (xv[4 * i] + 0.5f * xv[4 * i + 1] > 0.3f) + (xv[4 * i + 2] > 0.8f);
  return nn::Dataset(x, ag::from_vector(y, {120}));
}

// Dropout from the global generator and from its own, BatchNorm running statistics (buffers).
std::shared_ptr<nn::Sequential> make_model(std::uint64_t seed) {
  ag::Generator g(seed);
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Dense>(4, 16, g), std::make_shared<nn::BatchNorm1d>(16),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.2),
      std::make_shared<nn::Dense>(16, 16, g), std::make_shared<nn::Tanh>(),
      std::make_shared<nn::Dropout>(0.1, /*seed=*/77), std::make_shared<nn::Dense>(16, 3, g));
}

// One training setup: a fresh model, optimizer, scheduler and callbacks.
struct Run {
  std::shared_ptr<nn::Sequential> model;
  nn::AdamW opt;
  nn::StepLR sched;
  std::vector<std::shared_ptr<nn::Callback>> callbacks;
  nn::FitOptions o = quiet();
  explicit Run(std::uint64_t init_seed)
      : model(make_model(init_seed)), opt(model->parameters(), 0.01), sched(opt, 2, 0.5) {
    o.batch_size = 16;
    o.seed = 5;
    o.validation_data = blobs(2);
    o.metrics = {nn::metrics::accuracy()};
    callbacks = {std::make_shared<nn::SchedulerCallback>(sched),
                 std::make_shared<nn::EarlyStopping>("val_loss", /*patience=*/50, 0.0, nn::Mode::automatic,
                                                     /*restore_best_weights=*/false)};
  }
  nn::History fit(std::size_t epochs) {
    o.epochs = epochs;
    o.callbacks = callbacks;
    return nn::fit(*model, nn::CrossEntropyLoss(), opt, blobs(1), o);
  }
};

// Every parameter and buffer, widened exactly to float64.
std::vector<std::vector<double>> weights(const nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(t.to(ag::f64).to_vector<double>());
  return out;
}

std::vector<std::vector<double>> opt_state(const nn::Optimizer& opt) {
  std::vector<std::vector<double>> out;
  for (const auto& [name, t] : opt.state()) out.push_back(t.to(ag::f64).to_vector<double>());
  return out;
}

}  // namespace

TEST_CASE("Generator::state: set_state continues the same stream, spare normal included") {
  ag::Generator g(123);
  g.normal();  // leaves a Box-Muller spare behind
  const std::string s = g.state();
  std::vector<double> a;
  for (int i = 0; i < 5; ++i) a.push_back(g.normal());
  ag::Generator h(999);
  h.set_state(s);
  for (int i = 0; i < 5; ++i) CHECK(h.normal() == a[static_cast<std::size_t>(i)]);
  CHECK(h.next() == g.next());

  ag::Generator k(7);
  const std::uint64_t before = ag::Generator(k).next();
  CHECK_THROWS_AS(k.set_state("not a state"), ag::ValueError);
  CHECK_THROWS_AS(k.set_state(s + " 1"), ag::ValueError);
  CHECK(k.next() == before);  // unchanged by the failed calls
}

TEST_CASE("LRScheduler::state: a scheduler loaded from another's state steps the same way") {
  ag::Tensor p = ag::zeros({2}, ag::f32, true);
  nn::SGD o1({p}, 1.0), o2({p}, 1.0);
  nn::ReduceLROnPlateau s1(o1, nn::ReduceLROnPlateau::Mode::min, 0.5, /*patience=*/1);
  for (double m : {1.0, 0.9, 0.95, 0.97}) s1.step(m);  // best 0.9, two bad epochs -> one reduction
  CHECK(o1.lr() == 0.5);
  nn::ReduceLROnPlateau s2(o2, nn::ReduceLROnPlateau::Mode::min, 0.5, 1);
  s2.load_state(s1.state());
  o2.set_lr(o1.lr());
  CHECK(s2.best() == 0.9);
  CHECK(s2.last_epoch() == 4);
  for (double m : {0.99, 0.98, 0.5, 0.6, 0.7}) {
    s1.step(m);
    s2.step(m);
    CHECK(o1.lr() == o2.lr());
  }
  nn::StepLR step(o2, 3);
  CHECK_THROWS_AS(step.load_state(s1.state()), ag::ValueError);  // entries of another type
  CHECK(step.last_epoch() == 0);
}

TEST_CASE("fit resume: 6 epochs straight and 3 + 3 from a checkpoint give bit-identical weights") {
  TempDir dir;
  const std::string ckpt = dir.file("run.ckpt");

  ag::manual_seed(11);
  Run straight(3);
  const nn::History h6 = straight.fit(6);

  ag::manual_seed(11);
  Run first(3);
  first.callbacks.push_back(std::make_shared<nn::ModelCheckpoint>(ckpt));
  const nn::History h3 = first.fit(3);
  REQUIRE(fs::exists(ckpt));
  CHECK(h3.epochs() == 3);

  ag::manual_seed(999);  // another global generator state and another initialisation
  Run second(42);
  second.callbacks.push_back(std::make_shared<nn::ModelCheckpoint>(ckpt));
  CHECK(weights(*second.model) != weights(*straight.model));
  second.o.resume_from = ckpt;
  const nn::History resumed = second.fit(6);

  CHECK(weights(*second.model) == weights(*straight.model));  // bit for bit, buffers included
  CHECK(opt_state(second.opt) == opt_state(straight.opt));
  CHECK(second.opt.lr() == straight.opt.lr());
  CHECK(second.sched.last_epoch() == 6);
  REQUIRE(resumed.epochs() == 6);
  CHECK(resumed.loss == h6.loss);
  CHECK(resumed.val_loss == h6.val_loss);
  CHECK(resumed["accuracy"] == h6["accuracy"]);
  // the global generator continues where the uninterrupted run's is
  CHECK(ag::get_rng_state().state() == [&] {
    ag::manual_seed(11);
    Run again(3);
    again.fit(6);
    return ag::get_rng_state().state();
  }());
}

TEST_CASE("fit resume: a checkpoint written after early stopping trains no further") {
  TempDir dir;
  const std::string ckpt = dir.file("stopped.ckpt");
  Opposite p;  // validation loss rises every epoch
  nn::SGD sgd(p.model->parameters(), 0.05);
  nn::FitOptions o = quiet();
  o.epochs = 50;
  o.batch_size = 1;
  o.validation_data = p.val;
  o.callbacks = {std::make_shared<nn::EarlyStopping>("val_loss", 2), std::make_shared<nn::ModelCheckpoint>(ckpt)};
  const nn::History h = nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  REQUIRE(h.stopped_early);
  const auto w = weights(*p.model);
  o.resume_from = ckpt;
  const nn::History again = nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  CHECK(again.epochs() == h.epochs());
  CHECK(again.stopped_early);
  CHECK(weights(*p.model) == w);
}

TEST_CASE("Checkpoint::load: a checkpoint that does not fit is an IOError and changes nothing") {
  TempDir dir;
  const std::string ckpt = dir.file("a.ckpt");
  ag::manual_seed(3);
  Run a(1);
  a.callbacks.push_back(std::make_shared<nn::ModelCheckpoint>(ckpt));
  a.fit(2);

  Run b(2);
  b.fit(1);  // some optimizer state to protect
  const auto w = weights(*b.model);
  const auto st = opt_state(b.opt);
  const std::string rng = ag::get_rng_state().state();
  auto unchanged = [&] {
    CHECK(weights(*b.model) == w);
    CHECK(opt_state(b.opt) == st);
    CHECK(ag::get_rng_state().state() == rng);
    CHECK(b.sched.last_epoch() == 1);
  };

  SUBCASE("another architecture") {
    ag::Generator g(1);
    auto wide = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(4, 9, g));
    nn::AdamW opt(wide->parameters(), 0.01);
    nn::Checkpoint c(*wide, opt);
    CHECK(contains(error_of<ag::IOError>([&] { c.load(ckpt); }), "a.ckpt"));
  }
  SUBCASE("the callbacks of another run: rolled back after the model and optimizer were loaded") {
    // same count, but a KeepBestModel where an EarlyStopping was: its load fails after the model,
    // optimizer and scheduler parts have been applied, and they are put back
    b.callbacks = {std::make_shared<nn::SchedulerCallback>(b.sched), std::make_shared<nn::KeepBestModel>(),
                   std::make_shared<nn::ModelCheckpoint>(ckpt)};
    nn::Checkpoint c(*b.model, b.opt);
    nn::DataLoader loader(blobs(1), 16, true, 5);
    nn::History hist;
    c.loader(loader).callbacks(b.callbacks).history(hist);
    const std::string msg = error_of<ag::IOError>([&] { c.load(ckpt); });
    CHECK(contains(msg, "a.ckpt"));
    unchanged();
  }
  SUBCASE("another optimizer or no scheduler") {
    nn::SGD sgd(b.model->parameters(), 0.1);
    nn::Checkpoint c(*b.model, sgd);
    CHECK(contains(error_of<ag::IOError>([&] { c.load(ckpt); }), "AdamW"));
    nn::Checkpoint d(*b.model, b.opt);
    nn::DataLoader loader(blobs(1), 16, true, 5);
    d.loader(loader);  // the file holds the state of 3 callbacks, none are registered here
    CHECK(contains(error_of<ag::IOError>([&] { d.load(ckpt); }), "3 callbacks"));
    nn::StepLR other(b.opt, 5);
    nn::Checkpoint e(*b.model, b.opt);  // a scheduler registered, the file (written by fit) has none
    e.loader(loader).scheduler(other);
    CHECK(contains(error_of<ag::IOError>([&] { e.load(ckpt); }), "StepLR"));
    unchanged();
  }
  SUBCASE("a corrupt file, a model file") {
    auto bytes = read_bytes(ckpt);
    bytes[bytes.size() / 2] ^= 0x20;
    const std::string bad = dir.file("bad.ckpt");
    std::ofstream(bad, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
    b.o.resume_from = bad;
    CHECK(contains(error_of<ag::IOError>([&] { b.fit(4); }), "checksum"));
    nn::save(*b.model, dir.file("model.tg"));
    b.o.resume_from = dir.file("model.tg");
    CHECK(contains(error_of<ag::IOError>([&] { b.fit(4); }), "not a training checkpoint"));
    unchanged();
  }
}

TEST_CASE("Checkpoint in a loop of one's own: counters, loader order and extra generators") {
  TempDir dir;
  ag::Generator noise(8);
  auto model = make_model(1);
  nn::SGD opt(model->parameters(), 0.1, 0.9);
  nn::DataLoader loader(blobs(1), 32, true, 3);
  for (const nn::Batch& b : loader) (void)b;  // one pass: the loader's generator moves on
  noise.normal();
  nn::Checkpoint c(*model, opt);
  c.loader(loader).generator("noise", noise);
  c.epoch = 1;
  c.step = 4;
  c.save(dir.file("loop.ckpt"));
  for (const nn::Batch& b : loader) (void)b;
  const auto next_order = loader.order();
  const double next_noise = noise.normal();

  nn::DataLoader loader2(blobs(1), 32, true, 3);
  ag::Generator noise2(0);
  nn::Checkpoint d(*model, opt);
  d.loader(loader2).generator("noise", noise2);
  d.load(dir.file("loop.ckpt"));
  CHECK(d.epoch == 1);
  CHECK(d.step == 4);
  for (const nn::Batch& b : loader2) (void)b;
  CHECK(loader2.order() == next_order);
  CHECK(noise2.normal() == next_noise);

  nn::Checkpoint e(*model, opt);  // without the extra generator: the file has one this run lacks
  e.loader(loader2);
  CHECK(contains(error_of<ag::IOError>([&] { e.load(dir.file("loop.ckpt")); }), "rng.extra.noise"));
}

TEST_CASE("ModelCheckpoint: best-only weights by extension, one file per epoch, last only") {
  TempDir dir;
  Opposite p;  // val_loss is best at epoch 1 and rises after
  nn::SGD sgd(p.model->parameters(), 0.05);
  nn::FitOptions o = quiet();
  o.epochs = 4;
  o.batch_size = 1;
  o.validation_data = p.val;
  nn::ModelCheckpointOptions best;
  best.save_best_only = true;
  best.weights_only = true;
  nn::ModelCheckpointOptions every;
  every.every_n_epochs = 2;
  nn::ModelCheckpointOptions last;
  last.every_n_epochs = 0;
  auto best_cb = std::make_shared<nn::ModelCheckpoint>(dir.file("best.safetensors"), best);
  o.callbacks = {best_cb, std::make_shared<nn::ModelCheckpoint>(dir.file("e{epoch}.ckpt"), every),
                 std::make_shared<nn::ModelCheckpoint>(dir.file("last.tg"), [] {
                   nn::ModelCheckpointOptions w;
                   w.every_n_epochs = 0;
                   w.weights_only = true;
                   return w;
                 }()),
                 std::make_shared<nn::ModelCheckpoint>(dir.file("last.ckpt"), last)};
  auto epoch1 = std::make_shared<std::vector<std::vector<double>>>();
  struct Grab : nn::Callback {
    std::shared_ptr<std::vector<std::vector<double>>> into;
    void on_epoch_end(nn::TrainContext& ctx, std::size_t epoch, const nn::Logs&) override {
      if (epoch == 1) *into = weights(ctx.model);
    }
  };
  auto grab = std::make_shared<Grab>();
  grab->into = epoch1;
  o.callbacks.push_back(grab);
  nn::fit(*p.model, nn::MSELoss(), sgd, p.train, o);
  CHECK(best_cb->best_epoch() == 1);
  CHECK(fs::exists(dir.file("e2.ckpt")));
  CHECK(fs::exists(dir.file("e4.ckpt")));
  CHECK(!fs::exists(dir.file("e1.ckpt")));
  CHECK(!fs::exists(dir.file("e3.ckpt")));
  CHECK(fs::exists(dir.file("last.ckpt")));
  const auto final_w = weights(*p.model);
  nn::load(*p.model, dir.file("last.tg"));
  CHECK(weights(*p.model) == final_w);
  nn::load_state(*p.model, dir.file("best.safetensors"));
  CHECK(weights(*p.model) == *epoch1);
  CHECK_THROWS_AS(nn::ModelCheckpoint(""), ag::ValueError);
}
