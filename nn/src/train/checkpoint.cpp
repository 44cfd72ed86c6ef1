// Training checkpoints: see ag/nn/train/checkpoint.hpp.
#include "ag/nn/train/checkpoint.hpp"

#include <map>
#include <set>

#include <fmt/core.h>

#include "ag/detail/file_io.hpp"
#include "ag/nn/modules/dropout.hpp"
#include "ag/nn/state.hpp"
#include "train/entries.hpp"

namespace ag::nn {

namespace {

using detail::io_fail;

// Every generator a model's Dropout layers draw from other than the global one, by module name.
std::vector<std::pair<std::string, Generator*>> module_generators(Module& model) {
  std::vector<std::pair<std::string, Generator*>> out;
  for (const auto& [name, m] : model.named_modules())
    if (auto* d = dynamic_cast<Dropout*>(m); d && &d->generator() != &default_generator())
      out.emplace_back(name, &d->generator());
  return out;
}

struct Generators {  // the generators of a checkpoint, by entry name
  std::vector<std::pair<std::string, Generator*>> list;
  Generators(Module& model, DataLoader* loader, const std::vector<std::pair<std::string, Generator*>>& extra) {
    list.emplace_back("rng.global", &default_generator());
    if (loader) list.emplace_back("rng.loader", &loader->generator());
    for (const auto& [name, g] : module_generators(model)) list.emplace_back("rng.module." + name, g);
    for (const auto& [name, g] : extra) list.emplace_back("rng.extra." + name, g);
  }
};

std::string callback_prefix(std::size_t i) { return fmt::format("callback.{}.", i); }

}  // namespace

Checkpoint& Checkpoint::generator(const std::string& name, Generator& g) {
  for (auto& [n, p] : generators_)
    if (n == name) {
      p = &g;
      return *this;
    }
  generators_.emplace_back(name, &g);
  return *this;
}

void Checkpoint::save(const std::string& path) const {
  entries::Named e;
  entries::append(e, "model.", model_.state_dict());
  e.emplace_back("optimizer.type", entries::text(optimizer_.type_name()));
  entries::append(e, "optimizer.state.", optimizer_.state());
  if (scheduler_) {
    e.emplace_back("scheduler.type", entries::text(scheduler_->type_name()));
    entries::append(e, "scheduler.state.", scheduler_->state());
  }
  for (const auto& [name, g] : Generators(model_, loader_, generators_).list)
    e.emplace_back(name, entries::text(g->state()));
  if (callbacks_) {
    e.emplace_back("callbacks.count", entries::number(static_cast<double>(callbacks_->size())));
    for (std::size_t i = 0; i < callbacks_->size(); ++i) entries::append(e, callback_prefix(i), (*callbacks_)[i]->state());
  }
  e.emplace_back("progress.epoch", entries::number(static_cast<double>(epoch)));
  e.emplace_back("progress.step", entries::number(static_cast<double>(step)));
  if (history_) {
    const History& h = *history_;
    e.emplace_back("history.loss", entries::numbers(h.loss));
    e.emplace_back("history.val_loss", entries::numbers(h.val_loss));
    e.emplace_back("history.seconds", entries::numbers(h.seconds));
    for (const auto& [k, v] : h.metrics) e.emplace_back("history.metric." + k, entries::numbers(v));
    e.emplace_back("history.stopped_early", entries::number(h.stopped_early ? 1.0 : 0.0));
    e.emplace_back("history.stop_reason", entries::text(h.stop_reason));
  }
  save_tensors(path, e, FileKind::checkpoint, model_.type_name());
}

void Checkpoint::load(const std::string& path) {
  TensorFile f = load_tensors(path);
  if (f.kind != FileKind::checkpoint)
    io_fail(path, "is not a training checkpoint (nn::save / save_optimizer write model or optimizer "
                  "files; nn::Checkpoint::save and ModelCheckpoint write checkpoints)");
  std::set<std::string> names;
  for (const auto& entry : f.entries)
    if (!names.insert(entry.first).second) io_fail(path, fmt::format("duplicate entry '{}'", entry.first));
  const entries::Named& all = f.entries;

  // 1. Everything that can be checked without changing anything.
  const entries::Reader r(all, "the checkpoint");
  Generators gens(model_, loader_, generators_);
  std::vector<Generator> new_gens;
  History new_history;
  std::size_t new_epoch = 0, new_step = 0;
  try {
    if (const std::string t = r.text("optimizer.type"); t != optimizer_.type_name())
      throw ValueError(fmt::format("it holds the state of a {} optimizer, this run has a {}", t,
                                   optimizer_.type_name()));
    if (scheduler_ && !r.has("scheduler.type"))
      throw ValueError(fmt::format("this run has a {} scheduler but the checkpoint holds no scheduler state",
                                   scheduler_->type_name()));
    if (!scheduler_ && r.has("scheduler.type"))
      throw ValueError(fmt::format("it holds the state of a {} scheduler but none is registered "
                                   "(Checkpoint::scheduler)", r.text("scheduler.type")));
    if (scheduler_)
      if (const std::string t = r.text("scheduler.type"); t != scheduler_->type_name())
        throw ValueError(fmt::format("it holds the state of a {} scheduler, this run has a {}", t,
                                     scheduler_->type_name()));
    std::set<std::string> expected_rng;
    for (const auto& [name, g] : gens.list) {
      Generator copy = *g;
      if (!r.has(name))
        throw ValueError(fmt::format("it holds no state for the generator '{}' of this run{}", name,
                                     name.rfind("rng.module.", 0) == 0 ? " (a Dropout with its own generator)" : ""));
      copy.set_state(r.text(name));
      new_gens.push_back(copy);
      expected_rng.insert(name);
    }
    for (const auto& entry : all)
      if (entry.first.rfind("rng.", 0) == 0 && !expected_rng.count(entry.first))
        throw ValueError(fmt::format("it holds the generator '{}' which this run does not have", entry.first));
    const std::size_t n_cb = r.has("callbacks.count") ? r.count("callbacks.count") : 0;
    const std::size_t have_cb = callbacks_ ? callbacks_->size() : 0;
    if (n_cb != have_cb)
      throw ValueError(fmt::format("it was saved with {} callbacks, this run has {}", n_cb, have_cb));
    new_epoch = r.count("progress.epoch");
    new_step = r.count("progress.step");
    if (history_) {
      new_history.loss = r.numbers("history.loss");
      new_history.val_loss = r.numbers("history.val_loss");
      new_history.seconds = r.numbers("history.seconds");
      for (const auto& [k, v] : entries::with_prefix(all, "history.metric."))
        new_history.metrics[k] = r.numbers("history.metric." + k);
      new_history.stopped_early = r.number("history.stopped_early") != 0.0;
      new_history.stop_reason = r.text("history.stop_reason");
    }
  } catch (const IOError&) {
    throw;
  } catch (const Error& e) {
    io_fail(path, e.what());
  }

  // 2. What is there now, to put back if a part does not fit.
  const entries::Named old_model = entries::copy(model_.state_dict());
  const entries::Named old_opt = entries::copy(optimizer_.state());
  const entries::Named old_sched = scheduler_ ? entries::copy(scheduler_->state()) : entries::Named{};
  std::vector<entries::Named> old_cb;
  if (callbacks_)
    for (const auto& cb : *callbacks_) old_cb.push_back(entries::copy(cb->state()));

  // 3. Apply; each part checks its own entries before it changes anything.
  std::size_t applied = 0;  // parts changed so far: model, optimizer, scheduler, callbacks...
  try {
    model_.load_state_dict(entries::with_prefix(all, "model."), /*strict=*/true);
    ++applied;
    optimizer_.load_state(entries::with_prefix(all, "optimizer.state."));
    ++applied;
    if (scheduler_) scheduler_->load_state(entries::with_prefix(all, "scheduler.state."));
    ++applied;
    if (callbacks_)
      for (std::size_t i = 0; i < callbacks_->size(); ++i) {
        (*callbacks_)[i]->load_state(entries::with_prefix(all, callback_prefix(i)), model_);
        ++applied;
      }
  } catch (const Error& e) {
    const std::string what = e.what();
    if (applied > 0) model_.load_state_dict(old_model, true);
    if (applied > 1) optimizer_.load_state(old_opt);
    if (applied > 2 && scheduler_) scheduler_->load_state(old_sched);
    for (std::size_t i = 0; i + 3 < applied; ++i) (*callbacks_)[i]->load_state(old_cb[i], model_);
    io_fail(path, what);
  }
  // 4. The rest cannot fail.
  for (std::size_t i = 0; i < gens.list.size(); ++i) *gens.list[i].second = new_gens[i];
  if (history_) *history_ = std::move(new_history);
  epoch = new_epoch;
  step = new_step;
}

}  // namespace ag::nn
