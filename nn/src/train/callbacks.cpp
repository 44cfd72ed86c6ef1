// Logs, History, parameter snapshots and the callbacks.
#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/core.h>

#include "ag/nn/train/callbacks.hpp"
#include "ag/extend.hpp"
#include "ag/nn/state.hpp"
#include "train/entries.hpp"

namespace ag::nn {

// ---- Logs / History ------------------------------------------------------------------------------

void Logs::set(const std::string& name, double value) {
  for (auto& [k, v] : items_)
    if (k == name) {
      v = value;
      return;
    }
  items_.emplace_back(name, value);
}

std::optional<double> Logs::get(const std::string& name) const {
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return std::nullopt;
}

std::string Logs::keys() const {
  std::string s;
  for (const auto& [k, v] : items_) s += (s.empty() ? "'" : ", '") + k + "'";
  return s.empty() ? "none" : s;
}

double Logs::at(const std::string& name) const {
  if (auto v = get(name)) return *v;
  throw ValueError(fmt::format("Logs: no entry '{}' (have: {})", name, keys()));
}

const std::vector<double>& History::operator[](const std::string& key) const {
  if (key == "loss") return loss;
  if (key == "val_loss") return val_loss;
  auto it = metrics.find(key);
  if (it != metrics.end()) return it->second;
  std::string known = "'loss'";
  if (!val_loss.empty()) known += ", 'val_loss'";
  for (const auto& [k, v] : metrics) known += ", '" + k + "'";
  throw ValueError(fmt::format("History: no entry '{}' (have: {})", key, known));
}

void History::append(const Logs& logs) {
  for (const auto& [k, v] : logs.items()) {
    if (k == "loss")
      loss.push_back(v);
    else if (k == "val_loss")
      val_loss.push_back(v);
    else
      metrics[k].push_back(v);
  }
}

// ---- ParameterSnapshot ---------------------------------------------------------------------------

ParameterSnapshot::ParameterSnapshot(const Module& model) {
  for (const Tensor& p : model.parameters())
    values_.push_back(ag::dispatch(p.dtype(), [&](auto t) {
      using T = decltype(t);
      return Tensor(xt::xarray<T>(p.value<T>()));  // a deep copy of the values
    }));
}

void ParameterSnapshot::restore(Module& model) const {
  std::vector<Tensor> params = model.parameters();
  if (params.size() != values_.size())
    throw ValueError(fmt::format("ParameterSnapshot::restore: {} saved tensors for {} parameters",
                                 values_.size(), params.size()));
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].shape() != values_[i].shape() || params[i].dtype() != values_[i].dtype())
      throw ValueError(fmt::format(
          "ParameterSnapshot::restore: parameter {} is {} {}, the snapshot holds {} {}", i,
          dtype_name(params[i].dtype()), shape_str(params[i].shape()),
          dtype_name(values_[i].dtype()), shape_str(values_[i].shape())));
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params.size(); ++i)
    ag::dispatch(params[i].dtype(), [&](auto t) {
      using T = decltype(t);
      params[i].mutable_value<T>() = values_[i].value<T>();
    });
}

NamedTensors ParameterSnapshot::state() const {
  NamedTensors out;
  for (std::size_t i = 0; i < values_.size(); ++i) out.emplace_back(std::to_string(i), values_[i]);
  return out;
}

ParameterSnapshot ParameterSnapshot::from_state(const NamedTensors& state, const Module& model,
                                                const std::string& who) {
  const std::vector<Tensor> params = model.parameters();
  if (state.size() != params.size())
    throw ValueError(fmt::format("{}: {} kept weights for a model with {} parameters", who, state.size(),
                                 params.size()));
  ParameterSnapshot snap;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& t = state[i].second;
    if (state[i].first != std::to_string(i) || t.shape() != params[i].shape() || t.dtype() != params[i].dtype())
      throw ValueError(fmt::format("{}: kept weight '{}' is {} {} but parameter {} is {} {}", who,
                                   state[i].first, dtype_name(t.dtype()), shape_str(t.shape()), i,
                                   dtype_name(params[i].dtype()), shape_str(params[i].shape())));
    snap.values_.push_back(entries::copy(t));
  }
  return snap;
}

void Callback::load_state(const NamedTensors& state, const Module&) {
  if (!state.empty())
    throw ValueError(fmt::format("callback: the checkpoint holds state ('{}', ...) for a callback that "
                                 "keeps none (are the callbacks in the order of the run that saved it?)",
                                 state.front().first));
}

// ---- MonitorTracker ------------------------------------------------------------------------------

namespace {
bool wants_max(const std::string& monitor, Mode mode) {
  if (mode == Mode::max) return true;
  if (mode == Mode::min) return false;
  return monitor.find("acc") != std::string::npos;
}
}  // namespace

MonitorTracker::MonitorTracker(std::string monitor, Mode mode, double min_delta)
    : monitor_(std::move(monitor)), max_(wants_max(monitor_, mode)), min_delta_(std::abs(min_delta)) {
  if (monitor_.empty()) throw ValueError("callback: the monitored key is empty");
}

void MonitorTracker::reset() {
  best_.reset();
  best_epoch_ = 0;
}

bool MonitorTracker::update(std::size_t epoch, const Logs& logs, const char* who) {
  const auto v = logs.get(monitor_);
  if (!v)
    throw ValueError(fmt::format("{}: monitored '{}' is not in the epoch logs (have: {}){}", who,
                                 monitor_, logs.keys(),
                                 monitor_.rfind("val_", 0) == 0 ? "; pass validation_data to fit"
                                                                : ""));
  if (std::isnan(*v)) return false;
  const bool improved = !best_ || (max_ ? *v > *best_ + min_delta_ : *v < *best_ - min_delta_);
  if (improved) {
    best_ = *v;
    best_epoch_ = epoch;
  }
  return improved;
}

NamedTensors MonitorTracker::state() const {
  NamedTensors out;
  if (best_) out.emplace_back("best", entries::number(*best_));
  out.emplace_back("best_epoch", entries::number(static_cast<double>(best_epoch_)));
  return out;
}

void MonitorTracker::load_state(const NamedTensors& state, const std::string& who) {
  const entries::Reader r(state, who);
  r.only({"best", "best_epoch"});
  const std::size_t epoch = r.count("best_epoch");
  std::optional<double> best;
  if (r.has("best")) best = r.number("best");
  best_ = best;
  best_epoch_ = epoch;
}

// ---- EarlyStopping -------------------------------------------------------------------------------

EarlyStopping::EarlyStopping(std::string monitor, std::size_t patience, double min_delta, Mode mode,
                             bool restore_best_weights)
    : tracker_(std::move(monitor), mode, min_delta), patience_(patience),
      restore_(restore_best_weights) {}

void EarlyStopping::on_train_begin(TrainContext&) {
  tracker_.reset();
  wait_ = 0;
  stopped_epoch_ = 0;
  best_weights_ = ParameterSnapshot();
}

void EarlyStopping::on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) {
  if (tracker_.update(epoch, logs, "EarlyStopping")) {
    wait_ = 0;
    if (restore_) best_weights_ = ParameterSnapshot(ctx.model);
    return;
  }
  ++wait_;
  if (wait_ >= std::max<std::size_t>(patience_, 1)) {
    stopped_epoch_ = epoch;
    ctx.stop_training = true;
    ctx.stop_reason = fmt::format(
        "EarlyStopping: {} did not improve for {} epoch{} (best {} at epoch {})", tracker_.monitor(),
        wait_, wait_ == 1 ? "" : "s", tracker_.best() ? *tracker_.best() : NAN,
        tracker_.best_epoch());
  }
}

void EarlyStopping::on_train_end(TrainContext& ctx) {
  if (restore_ && !best_weights_.empty()) best_weights_.restore(ctx.model);
}

NamedTensors EarlyStopping::state() const {
  NamedTensors out = tracker_.state();
  out.emplace_back("wait", entries::number(static_cast<double>(wait_)));
  out.emplace_back("stopped_epoch", entries::number(static_cast<double>(stopped_epoch_)));
  entries::append(out, "weights.", best_weights_.state());
  return out;
}

void EarlyStopping::load_state(const NamedTensors& state, const Module& model) {
  const std::string who = "EarlyStopping::load_state";
  const entries::Reader r(state, who);
  const std::size_t wait = r.count("wait"), stopped = r.count("stopped_epoch");
  const NamedTensors kept = entries::with_prefix(state, "weights.");
  ParameterSnapshot weights = kept.empty() ? ParameterSnapshot() : ParameterSnapshot::from_state(kept, model, who);
  NamedTensors rest;
  for (const auto& e : state)
    if (e.first != "wait" && e.first != "stopped_epoch" && e.first.rfind("weights.", 0) != 0) rest.push_back(e);
  MonitorTracker tracker = tracker_;
  tracker.load_state(rest, who);  // checked before anything changes
  tracker_ = tracker;
  wait_ = wait;
  stopped_epoch_ = stopped;
  best_weights_ = std::move(weights);
}

// ---- KeepBestModel -------------------------------------------------------------------------------

KeepBestModel::KeepBestModel(std::string monitor, Mode mode, double min_delta)
    : tracker_(std::move(monitor), mode, min_delta) {}

void KeepBestModel::on_train_begin(TrainContext&) {
  tracker_.reset();
  best_weights_ = ParameterSnapshot();
}

void KeepBestModel::on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) {
  if (tracker_.update(epoch, logs, "KeepBestModel")) best_weights_ = ParameterSnapshot(ctx.model);
}

void KeepBestModel::on_train_end(TrainContext& ctx) {
  if (!best_weights_.empty()) best_weights_.restore(ctx.model);
}

NamedTensors KeepBestModel::state() const {
  NamedTensors out = tracker_.state();
  entries::append(out, "weights.", best_weights_.state());
  return out;
}

void KeepBestModel::load_state(const NamedTensors& state, const Module& model) {
  const std::string who = "KeepBestModel::load_state";
  const NamedTensors kept = entries::with_prefix(state, "weights.");
  ParameterSnapshot weights = kept.empty() ? ParameterSnapshot() : ParameterSnapshot::from_state(kept, model, who);
  NamedTensors rest;
  for (const auto& e : state)
    if (e.first.rfind("weights.", 0) != 0) rest.push_back(e);
  tracker_.load_state(rest, who);  // the last check: nothing has changed if it throws
  best_weights_ = std::move(weights);
}

// ---- SchedulerCallback ---------------------------------------------------------------------------

SchedulerCallback::SchedulerCallback(LRScheduler& scheduler, std::string monitor)
    : scheduler_(scheduler), monitor_(std::move(monitor)) {}

void SchedulerCallback::on_epoch_end(TrainContext&, std::size_t, const Logs& logs) {
  if (monitor_.empty()) {
    scheduler_.step();
    return;
  }
  const auto v = logs.get(monitor_);
  if (!v)
    throw ValueError(fmt::format("SchedulerCallback: monitored '{}' is not in the epoch logs (have: {})",
                                 monitor_, logs.keys()));
  scheduler_.step(*v);
}

NamedTensors SchedulerCallback::state() const {
  NamedTensors out{{"type", entries::text(scheduler_.type_name())}};
  entries::append(out, "scheduler.", scheduler_.state());
  return out;
}

void SchedulerCallback::load_state(const NamedTensors& state, const Module&) {
  const entries::Reader r(state, "SchedulerCallback::load_state");
  const std::string type = r.text("type");
  if (type != scheduler_.type_name())
    throw ValueError(fmt::format("SchedulerCallback::load_state: the checkpoint holds a {} but this run "
                                 "steps a {}", type, scheduler_.type_name()));
  scheduler_.load_state(entries::with_prefix(state, "scheduler."));
}

// ---- ModelCheckpoint -----------------------------------------------------------------------------

ModelCheckpoint::ModelCheckpoint(std::string path, ModelCheckpointOptions options)
    : path_(std::move(path)), o_(std::move(options)), tracker_(o_.monitor, o_.mode, o_.min_delta) {
  if (path_.empty()) throw ValueError("ModelCheckpoint: the path is empty");
}

std::string ModelCheckpoint::path_for(std::size_t epoch) const {
  std::string p = path_;
  const std::string key = "{epoch}";
  for (std::size_t at = p.find(key); at != std::string::npos; at = p.find(key, at))
    p.replace(at, key.size(), std::to_string(epoch));
  return p;
}

void ModelCheckpoint::on_train_begin(TrainContext&) { tracker_.reset(); }

void ModelCheckpoint::on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) {
  const std::string path = path_for(epoch);
  bool now = false, last_only = false;
  if (o_.save_best_only) {
    now = tracker_.update(epoch, logs, "ModelCheckpoint");
  } else {
    now = o_.every_n_epochs > 0 && epoch % o_.every_n_epochs == 0;
    last_only = !now;
  }
  if (!now && !last_only) return;
  if (!o_.weights_only) {
    ctx.request_checkpoint(path, last_only);
  } else if (ctx.rank == 0 && (now || epoch == ctx.epochs || ctx.stop_training)) {
    // (rank 0 only in a distributed fit: every rank holds the same weights)
    // (weights written here: no other callback changes them during on_epoch_end; a stop requested
    // by a later callback in the list is not seen, so its last epoch is saved only when due)
    const auto ext = [&](const char* e) {
      const std::string s(e);
      return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
    };
    if (ext(".safetensors") || ext(".npz"))
      save_state(ctx.model, path);
    else
      save(ctx.model, path);
  }
}

NamedTensors ModelCheckpoint::state() const { return tracker_.state(); }

void ModelCheckpoint::load_state(const NamedTensors& state, const Module&) {
  tracker_.load_state(state, "ModelCheckpoint::load_state");
}

}  // namespace ag::nn
