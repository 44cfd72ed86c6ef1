// Logs, History, parameter snapshots and the callbacks.
#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/core.h>

#include "ag/nn/train/callbacks.hpp"
#include "ag/extend.hpp"

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

}  // namespace ag::nn
