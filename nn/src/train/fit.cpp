// fit / evaluate / predict.
#include "ag/nn/train/fit.hpp"

#include <chrono>
#include <cmath>
#include <iostream>

#include <fmt/core.h>

#include "ag/nn/dist.hpp"
#include "ag/nn/train/checkpoint.hpp"
#include "ag/nn/train/progress.hpp"
#include "ag/extend.hpp"

namespace ag::nn {

// ---- helpers -------------------------------------------------------------------------------------

namespace {

// Restores a module's training flag on scope exit.
class ModeGuard {
 public:
  ModeGuard(Module& m, bool training) : m_(m), was_(m.is_training()) { m_.train(training); }
  ~ModeGuard() { m_.train(was_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Module& m_;
  bool was_;
};

void check_dtype(const char* who, const Module& model, const Dataset& data, const char* what) {
  const auto params = model.parameters();
  if (params.empty() || !data.x().defined()) return;
  if (data.x().dtype() != model.dtype())
    throw DtypeError(fmt::format("{}: the {} is {} but the model's parameters are {} (convert one "
                                 "with .to())",
                                 who, what, dtype_name(data.x().dtype()), dtype_name(model.dtype())));
}

double scalar_loss(const char* who, const Tensor& loss) {
  ag::require_defined(who, loss, "the loss");
  if (loss.numel() != 1)
    throw ShapeError(fmt::format("{}: the loss must be a scalar (use a mean reduction), got shape {}",
                                 who, shape_str(loss.shape())));
  return loss.item();
}

// After the first backward of fit: when no parameter the optimizer holds received a gradient, the
// loss does not depend on them and training would silently keep it constant (typically a module
// that forgot register_parameter for a tensor its forward uses, or an optimizer built from another
// model's parameters). GradError naming the cause.
void check_gradients_reached(const Optimizer& opt) {
  std::size_t trainable = 0;
  for (const Tensor& p : opt.parameters()) {
    if (!p.requires_grad()) continue;
    if (p.grad().defined()) return;
    ++trainable;
  }
  const std::string why =
      !is_grad_enabled()
          ? "grad mode is off (is fit called under a NoGradGuard?)"
      : trainable == 0
          ? fmt::format("every one of the {} parameters the {} optimizer holds is frozen (requires_grad "
                        "false)", opt.parameters().size(), opt.type_name())
          : fmt::format("the loss does not depend on any of the {} trainable parameters the {} optimizer "
                        "holds (did the module register its parameters with register_parameter? was the "
                        "optimizer built from this model's parameters()?)", trainable, opt.type_name());
  throw GradError(fmt::format("fit: no parameter received a gradient on the first batch: {}", why));
}

// Row-weighted running means of the loss and the metrics.
struct Accumulator {
  double loss = 0.0;
  std::vector<double> metric;
  std::size_t rows = 0;
  explicit Accumulator(std::size_t m) : metric(m, 0.0) {}
  void add(double l, const std::vector<Metric>& metrics, const Tensor& pred, const Tensor& y,
           std::size_t n) {
    loss += l * static_cast<double>(n);
    for (std::size_t k = 0; k < metrics.size(); ++k)
      metric[k] += metrics[k].fn(pred, y) * static_cast<double>(n);
    rows += n;
  }
  // Sums over every rank (a distributed fit): then every rank's logs are the means over all rows.
  void all_reduce(dist::Communicator* comm) {
    if (comm == nullptr || comm->size() == 1) return;
    std::vector<double> v{loss, static_cast<double>(rows)};
    v.insert(v.end(), metric.begin(), metric.end());
    comm->all_reduce(v.data(), v.size());
    loss = v[0];
    rows = static_cast<std::size_t>(v[1]);
    std::copy(v.begin() + 2, v.end(), metric.begin());
  }
  Logs logs(const std::vector<Metric>& metrics, const std::string& prefix) const {
    Logs out;
    const double r = rows ? static_cast<double>(rows) : NAN;
    out.set(prefix + "loss", loss / r);
    for (std::size_t k = 0; k < metrics.size(); ++k) out.set(prefix + metrics[k].name, metric[k] / r);
    return out;
  }
};

std::string logs_text(const Logs& logs) {
  std::string s;
  for (const auto& [k, v] : logs.items()) s += (s.empty() ? "" : " - ") + k + " " + format_value(v);
  return s;
}

}  // namespace

// ---- evaluate / predict --------------------------------------------------------------------------

namespace {

// The row-weighted sums of the loss and metrics over `data` (eval mode, no grad).
Accumulator evaluate_sums(Module& model, const LossFn& loss_fn, const Dataset& data,
                          const std::vector<Metric>& metrics, std::size_t batch_size) {
  ModeGuard mode(model, false);
  NoGradGuard no_grad;
  Accumulator acc(metrics.size());
  if (data.size() == 0) return acc;
  DataLoader loader(data, batch_size, /*shuffle=*/false);
  for (const Batch& b : loader) {
    const Tensor pred = model(b.x);
    acc.add(scalar_loss("evaluate", loss_fn(pred, b.y)), metrics, pred, b.y, b.x.shape()[0]);
  }
  return acc;
}

}  // namespace

Logs evaluate(Module& model, const LossFn& loss_fn, const Dataset& data,
              const std::vector<Metric>& metrics, std::size_t batch_size) {
  if (data.size() == 0) throw ValueError("evaluate: the dataset is empty");
  check_dtype("evaluate", model, data, "data");
  return evaluate_sums(model, loss_fn, data, metrics, batch_size).logs(metrics, "");
}

Tensor predict(Module& model, const Tensor& x, std::size_t batch_size) {
  ag::require_defined("predict", x, "x");
  if (x.dim() == 0) throw ShapeError("predict: x needs rows along axis 0, got a 0-d tensor");
  if (batch_size == 0) throw ValueError("predict: batch_size must be at least 1");
  ModeGuard mode(model, false);
  NoGradGuard no_grad;
  const std::size_t n = x.shape()[0];
  if (n <= batch_size) return model(x);
  std::vector<Tensor> parts;
  for (std::size_t s = 0; s < n; s += batch_size) {
    const auto b = static_cast<std::ptrdiff_t>(s);
    const auto e = static_cast<std::ptrdiff_t>(std::min(n, s + batch_size));
    parts.push_back(model(slice(x, 0, b, e)));
  }
  return concat(parts, 0);
}

// ---- fit -----------------------------------------------------------------------------------------

History fit(Module& model, const LossFn& loss_fn, Optimizer& optimizer, const Dataset& train,
            const FitOptions& o) {
  if (train.size() == 0) throw ValueError("fit: the training set is empty");
  if (!loss_fn) throw ValueError("fit: no loss function");
  check_dtype("fit", model, train, "training data");
  if (o.validation_data) check_dtype("fit", model, *o.validation_data, "validation data");
  dist::Communicator* comm = o.communicator;
  const int rank = comm ? comm->rank() : 0;
  std::optional<DataLoader> shard_loader;  // a distributed fit: this rank's shard of every epoch
  if (comm) {
    dist::SamplerOptions so;
    so.shuffle = o.shuffle;
    so.seed = o.seed;
    so.uneven = o.drop_last ? dist::Uneven::drop : dist::Uneven::pad;
    shard_loader.emplace(train, o.batch_size, dist::sampler(train.size(), *comm, so), o.drop_last);
  }
  DataLoader loader = shard_loader ? std::move(*shard_loader)
                                   : DataLoader(train, o.batch_size, o.shuffle, o.seed, o.drop_last);
  if (loader.size() == 0)
    throw ValueError(fmt::format("fit: drop_last with batch_size {} leaves no batch of {} rows",
                                 o.batch_size, train.size()));

  std::ostream& out = o.out ? *o.out : std::cout;
  Verbosity verbosity = rank == 0 ? o.verbosity : Verbosity::silent;
  if (verbosity == Verbosity::automatic)
    verbosity = (o.out == nullptr || o.out == &std::cout) && stdout_is_terminal()
                    ? Verbosity::progress_bar
                    : Verbosity::epochs;
  const int width = static_cast<int>(std::to_string(o.epochs).size());

  History history;
  TrainContext ctx{model, optimizer, history, o.epochs, false, {}, {}, rank};
  ModeGuard mode(model, true);
  for (const auto& cb : o.callbacks) cb->on_train_begin(ctx);
  Checkpoint ckpt(model, optimizer);
  ckpt.loader(loader).callbacks(o.callbacks).history(history);
  if (!o.resume_from.empty()) {
    ckpt.load(o.resume_from);
    if (history.stopped_early) ctx.stop_training = true;
  }
  if (comm) loader.set_pass(ckpt.epoch);  // the sampler's pass p is epoch p + 1
  // Rank 0's weights everywhere, after any resume (every rank loaded the same file).
  std::optional<dist::DataParallel> dp;
  if (comm) dp.emplace(model, *comm);
  // Each rank evaluates its slice of the validation rows; the sums are combined.
  std::optional<Dataset> val_shard;
  if (comm && o.validation_data) {
    if (o.validation_data->size() == 0) throw ValueError("evaluate: the dataset is empty");
    dist::SamplerOptions so;
    so.shuffle = false;
    so.uneven = dist::Uneven::none;
    val_shard = o.validation_data->subset(
        dist::shard_indices(o.validation_data->size(), comm->rank(), comm->size(), 0, so));
  }

  using Clock = std::chrono::steady_clock;
  for (std::size_t epoch = ckpt.epoch + 1; epoch <= o.epochs && !ctx.stop_training; ++epoch) {
    const auto start = Clock::now();
    const std::string prefix = fmt::format("epoch {:>{}}/{}", epoch, width, o.epochs);
    std::optional<ProgressBar> bar;
    if (verbosity == Verbosity::progress_bar) bar.emplace(out, loader.size(), prefix, 30, o.terminal_width);

    model.train(true);
    Accumulator acc(o.metrics.size());
    std::size_t batch_no = 0;
    for (const Batch& b : loader) {
      ++batch_no;
      optimizer.zero_grad();
      model.zero_grad();
      const Tensor pred = model(b.x);
      const Tensor loss = loss_fn(pred, b.y);
      const double lv = scalar_loss("fit", loss);
      // Distributed: every rank learns of a non-finite loss anywhere and throws the same error (a
      // rank stopping alone would leave the others waiting in the next all-reduce).
      const bool bad = comm ? comm->all_reduce(std::isfinite(lv) ? 0.0 : 1.0) > 0.0 : !std::isfinite(lv);
      if (bad)
        throw ValueError(fmt::format("fit: the loss is {} at epoch {}, batch {} (lower the learning "
                                     "rate, or check the data)",
                                     std::isfinite(lv) && comm ? std::string("non-finite on another rank")
                                                               : fmt::format("{}", lv),
                                     epoch, batch_no));
      if (epoch == 1 && batch_no == 1) {
        if (loss.requires_grad()) loss.backward();  // (else check_gradients_reached explains why)
        check_gradients_reached(optimizer);
      } else {
        loss.backward();
      }
      if (dp) dp->reduce_gradients(b.x.shape()[0]);
      optimizer.step();
      ++ckpt.step;
      acc.add(lv, o.metrics, pred.detach(), b.y, b.x.shape()[0]);
      if (bar && bar->due(batch_no)) bar->update(batch_no, logs_text(acc.logs(o.metrics, "")));
    }

    acc.all_reduce(comm);
    Logs logs = acc.logs(o.metrics, "");
    if (val_shard) {
      Accumulator v = evaluate_sums(model, loss_fn, *val_shard, o.metrics, o.validation_batch_size);
      v.all_reduce(comm);
      const Logs vl = v.logs(o.metrics, "");
      for (const auto& [k, val] : vl.items()) logs.set("val_" + k, val);
    } else if (o.validation_data) {
      const Logs v = evaluate(model, loss_fn, *o.validation_data, o.metrics, o.validation_batch_size);
      for (const auto& [k, val] : v.items()) logs.set("val_" + k, val);
    }
    history.append(logs);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    history.seconds.push_back(seconds);

    if (bar) {
      bar->finish(logs_text(logs));
    } else if (verbosity == Verbosity::epochs) {
      out << prefix << " - " << format_elapsed(seconds) << " - " << logs_text(logs) << '\n';
      out.flush();
    }

    for (const auto& cb : o.callbacks) cb->on_epoch_end(ctx, epoch, logs);
    const bool last = ctx.stop_training || epoch == o.epochs;
    if (ctx.stop_training) {
      history.stopped_early = epoch < o.epochs;
      history.stop_reason = ctx.stop_reason;
    }
    ckpt.epoch = epoch;
    for (const auto& [path, last_only] : ctx.checkpoint_requests)
      if ((!last_only || last) && rank == 0) ckpt.save(path);
    ctx.checkpoint_requests.clear();
    if (ctx.stop_training) {
      if (verbosity != Verbosity::silent && !ctx.stop_reason.empty()) out << ctx.stop_reason << '\n';
      break;
    }
  }
  for (const auto& cb : o.callbacks) cb->on_train_end(ctx);
  return history;
}

}  // namespace ag::nn
