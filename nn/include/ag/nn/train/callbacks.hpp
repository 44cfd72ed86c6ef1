#pragma once
// Training callbacks for nn::fit: per-epoch logs, the history, early stopping, keeping the best
// weights, and stepping an LR scheduler.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/module.hpp"
#include "ag/nn/optim/optimizer.hpp"
#include "ag/nn/optim/scheduler.hpp"

namespace ag::nn {

// Named values in a fixed order: "loss", then the metrics, then "val_loss", "val_<metric>".
class Logs {
 public:
  void set(const std::string& name, double value);  // replaces or appends
  std::optional<double> get(const std::string& name) const;
  double at(const std::string& name) const;  // ValueError naming the known keys if missing
  bool has(const std::string& name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  std::string keys() const;  // "'loss', 'accuracy'" for messages

 private:
  std::vector<std::pair<std::string, double>> items_;
};

// What fit() returns: one value per completed epoch for every key of the epoch logs.
struct History {
  std::vector<double> loss;      // mean training loss over the epoch's rows
  std::vector<double> val_loss;  // empty without validation data
  std::map<std::string, std::vector<double>> metrics;  // "accuracy", "val_accuracy", "mse", ...
  std::vector<double> seconds;   // wall time of each epoch (training + validation)
  bool stopped_early = false;    // a callback ended training before the last epoch
  std::string stop_reason;
  std::size_t epochs() const { return loss.size(); }
  // "loss", "val_loss" or a metric name; ValueError if unknown.
  const std::vector<double>& operator[](const std::string& key) const;
  void append(const Logs& logs);  // internal: adds one epoch
};

// Handed to the callbacks; set stop_training to end fit() after this epoch.
struct TrainContext {
  Module& model;
  Optimizer& optimizer;
  const History& history;
  std::size_t epochs;  // the planned number
  bool stop_training = false;
  std::string stop_reason;
  // Asks fit to write a training checkpoint (nn::Checkpoint, ag/nn/train/checkpoint.hpp) to `path`
  // after every callback has seen this epoch, so the file holds exactly the state the next epoch
  // starts from (whatever the order of the callbacks). last_only: only if this epoch ends training.
  void request_checkpoint(std::string path, bool last_only = false) {
    checkpoint_requests.emplace_back(std::move(path), last_only);
  }
  std::vector<std::pair<std::string, bool>> checkpoint_requests;  // fit's: cleared every epoch
  // This process's rank in a distributed fit (FitOptions::communicator), else 0: a callback that
  // writes files or prints does so when rank == 0. Every rank sees the same logs.
  int rank = 0;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(TrainContext&) {}
  // epoch counts from 1; logs hold the epoch's loss, metrics and validation values.
  virtual void on_epoch_end(TrainContext&, std::size_t /*epoch*/, const Logs& /*logs*/) {}
  virtual void on_train_end(TrainContext&) {}
  // What a resumed run needs to behave as if it had never stopped (best value so far, patience
  // counter, kept weights, the scheduler's state), saved in training checkpoints. load_state runs
  // after on_train_begin and checks everything before it changes anything (ValueError naming the
  // entry); `model` is the model being trained, for kept weights. The defaults keep no state.
  virtual NamedTensors state() const { return {}; }
  virtual void load_state(const NamedTensors& state, const Module& model);
};

// A copy of a model's parameter values (not their grads), restorable in place.
class ParameterSnapshot {
 public:
  ParameterSnapshot() = default;
  explicit ParameterSnapshot(const Module& model);
  void restore(Module& model) const;  // ValueError if the model's parameters changed shape/dtype
  bool empty() const { return values_.empty(); }
  // For checkpoints: the values as entries "0", "1", ..., and back (ValueError unless they fit the
  // model's parameters one by one).
  NamedTensors state() const;
  static ParameterSnapshot from_state(const NamedTensors& state, const Module& model, const std::string& who);

 private:
  std::vector<Tensor> values_;
};

// min: lower is better (losses, mse); max: higher is better. auto: max when the monitored name
// contains "acc", min otherwise (Keras' rule).
enum class Mode { automatic, min, max };

// Tracks the best value of a monitored log entry. An epoch improves when
//   min: value < best - min_delta      max: value > best + min_delta
class MonitorTracker {
 public:
  MonitorTracker(std::string monitor, Mode mode, double min_delta);
  // Reads the monitored value (ValueError naming the available keys if absent); true if improved.
  bool update(std::size_t epoch, const Logs& logs, const char* who);
  void reset();
  const std::string& monitor() const { return monitor_; }
  bool higher_is_better() const { return max_; }
  std::optional<double> best() const { return best_; }
  std::size_t best_epoch() const { return best_epoch_; }  // 0 before the first update
  NamedTensors state() const;  // "best" (absent before the first update), "best_epoch"
  void load_state(const NamedTensors& state, const std::string& who);

 private:
  std::string monitor_;
  bool max_;
  double min_delta_;
  std::optional<double> best_;
  std::size_t best_epoch_ = 0;
};

// Stops training once `patience` epochs in a row have not improved the monitored value
// (patience 0 counts as 1). With restore_best_weights the model gets back the weights of its best
// epoch when training ends.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", std::size_t patience = 0,
                         double min_delta = 0.0, Mode mode = Mode::automatic,
                         bool restore_best_weights = false);
  void on_train_begin(TrainContext& ctx) override;
  void on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) override;
  void on_train_end(TrainContext& ctx) override;
  std::size_t stopped_epoch() const { return stopped_epoch_; }  // 0 if it never stopped training
  std::size_t best_epoch() const { return tracker_.best_epoch(); }
  std::optional<double> best() const { return tracker_.best(); }
  NamedTensors state() const override;
  void load_state(const NamedTensors& state, const Module& model) override;

 private:
  MonitorTracker tracker_;
  std::size_t patience_, wait_ = 0, stopped_epoch_ = 0;
  bool restore_;
  ParameterSnapshot best_weights_;
};

// Keeps a copy of the weights of the best epoch so far and puts them back into the model when
// training ends (Keras' ModelCheckpoint(save_best_only) + restore, in memory).
class KeepBestModel : public Callback {
 public:
  explicit KeepBestModel(std::string monitor = "val_loss", Mode mode = Mode::automatic,
                         double min_delta = 0.0);
  void on_train_begin(TrainContext& ctx) override;
  void on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) override;
  void on_train_end(TrainContext& ctx) override;
  std::size_t best_epoch() const { return tracker_.best_epoch(); }
  std::optional<double> best() const { return tracker_.best(); }
  NamedTensors state() const override;
  void load_state(const NamedTensors& state, const Module& model) override;

 private:
  MonitorTracker tracker_;
  ParameterSnapshot best_weights_;
};

// Steps an LR scheduler once per epoch: step(logs[monitor]) when a monitor is named
// (ReduceLROnPlateau), step() otherwise. The scheduler must outlive fit().
class SchedulerCallback : public Callback {
 public:
  explicit SchedulerCallback(LRScheduler& scheduler, std::string monitor = "");
  void on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) override;
  NamedTensors state() const override;  // the scheduler's state and type
  void load_state(const NamedTensors& state, const Module& model) override;

 private:
  LRScheduler& scheduler_;
  std::string monitor_;
};

// Writes checkpoints while fit trains (Keras' ModelCheckpoint, Lightning's ModelCheckpoint).
//   save_best_only = false: every `every_n_epochs` epochs and after the last epoch ("last");
//   save_best_only = true: whenever the monitored value improves ("best").
//   weights_only = false: a training checkpoint (model, optimizer, scheduler, generators, epoch,
//     history: resume with FitOptions::resume_from); true: the model's state only, by extension
//     (".safetensors"/".npz": nn::save_state, PyTorch layout; otherwise nn::save).
// "{epoch}" in the path is replaced by the epoch number (keeps one file per epoch).
struct ModelCheckpointOptions {
  bool save_best_only = false;
  std::string monitor = "val_loss";
  Mode mode = Mode::automatic;
  double min_delta = 0.0;
  std::size_t every_n_epochs = 1;  // 0 = only after the last epoch (save_best_only = false)
  bool weights_only = false;
};

class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, ModelCheckpointOptions options = {});
  void on_train_begin(TrainContext& ctx) override;
  void on_epoch_end(TrainContext& ctx, std::size_t epoch, const Logs& logs) override;
  NamedTensors state() const override;  // the best value so far
  void load_state(const NamedTensors& state, const Module& model) override;
  std::size_t best_epoch() const { return tracker_.best_epoch(); }
  std::optional<double> best() const { return tracker_.best(); }

 private:
  std::string path_for(std::size_t epoch) const;
  std::string path_;
  ModelCheckpointOptions o_;
  MonitorTracker tracker_;
};

}  // namespace ag::nn
