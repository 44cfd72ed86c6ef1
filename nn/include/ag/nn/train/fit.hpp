#pragma once
// Training loop, Keras style:
//
//   auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(4, 16, gen),
//                                                 std::make_shared<nn::ReLU>(),
//                                                 std::make_shared<nn::Dense>(16, 3, gen));
//   nn::Adam opt(model->parameters(), 1e-2);
//   nn::FitOptions o;
//   o.epochs = 50;  o.batch_size = 16;  o.validation_data = val;
//   o.metrics = {nn::metrics::accuracy()};
//   o.callbacks = {std::make_shared<nn::EarlyStopping>("val_loss", 5)};
//   nn::History h = nn::fit(*model, nn::CrossEntropyLoss(), opt, train, o);
//   nn::Logs test = nn::evaluate(*model, nn::CrossEntropyLoss(), test_set, o.metrics);
//   ag::Tensor probs = ag::softmax(nn::predict(*model, test_set.x()));
//
// One step per batch: zero the grads, forward, loss, backward, optimizer step. The loss function
// must return a scalar reduced with the mean (the epoch loss is the row-weighted mean of the batch
// losses). Training metrics are computed on each batch's predictions as it is trained on (the
// weights change during the epoch, as in Keras); validation values after the epoch, in eval mode.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ag/nn/data/dataset.hpp"
#include "ag/nn/module.hpp"
#include "ag/nn/optim/optimizer.hpp"
#include "ag/nn/train/callbacks.hpp"
#include "ag/nn/train/metrics.hpp"

namespace ag::nn::dist {
class Communicator;
}

namespace ag::nn {

// loss(prediction, target) -> scalar tensor. A Loss object (nn::MSELoss(), nn::CrossEntropyLoss())
// or a lambda.
using LossFn = std::function<Tensor(const Tensor& pred, const Tensor& target)>;

enum class Verbosity {
  silent,        // prints nothing
  epochs,        // one line per epoch
  progress_bar,  // a live bar per epoch (ETA, loss, metrics), kept as the epoch's line
  automatic,     // progress_bar when the output is std::cout and stdout is a terminal, else epochs
};

struct FitOptions {
  std::size_t epochs = 10;
  std::size_t batch_size = 32;  // 1 = one row at a time (per-row SGD)
  bool shuffle = true;
  bool drop_last = false;
  std::uint64_t seed = 0;  // the shuffling order
  std::optional<Dataset> validation_data;
  std::size_t validation_batch_size = 256;
  std::vector<Metric> metrics;
  std::vector<std::shared_ptr<Callback>> callbacks;
  Verbosity verbosity = Verbosity::automatic;
  std::ostream* out = nullptr;  // nullptr: std::cout
  // The progress bar's line width in columns (it uses at most this - 1). 0: the terminal's width
  // when `out` is std::cout on a terminal, else the COLUMNS environment variable, else 80.
  std::size_t terminal_width = 0;
  // A training checkpoint (ModelCheckpoint writes them; ag/nn/train/checkpoint.hpp) to continue
  // from: the model, optimizer, callbacks' state (schedulers included), generators, history and
  // epoch are restored and training goes on with the next epoch up to `epochs` (the total), ending
  // with bit-identical weights to a run that never stopped. Set up the run as the saved one was
  // (model, optimizer, callbacks in the same order, options); anything that does not fit is an
  // IOError and nothing changes. A checkpoint saved after early stopping trains no further.
  std::string resume_from;
  // Data-parallel training (ag/nn/dist.hpp): every rank calls fit with the same model, optimizer,
  // data and options and its communicator (e.g. &dist::world()). Then batch_size is per rank (the
  // global batch is size() * batch_size); each epoch every rank reads its shard of the shuffled
  // data (dist::sampler: padded with repeated rows to equal length, or cut when drop_last); the
  // model starts from rank 0's weights and gradients are averaged over every rank's rows
  // (dist::DataParallel) so the copies stay identical. Losses and metrics are means over every
  // rank's rows (validation: each rank evaluates its slice, the sums are combined), so every rank
  // reports and decides (early stopping) alike. Only rank 0 prints and writes checkpoints; on resume
  // every rank reads resume_from (it must be visible to all). nullptr: one process as before.
  dist::Communicator* communicator = nullptr;
};

// Trains `model` in place and returns the per-epoch history. The model's training flag is set
// for the epochs and restored afterwards. A non-finite loss is a ValueError naming the epoch and
// batch; data whose dtype differs from the model's parameters is a DtypeError. When no parameter
// the optimizer holds receives a gradient from the first batch's loss (a module that forgot
// register_parameter, an optimizer built from another model, every parameter frozen), fit throws
// a GradError instead of training with a constant loss.
History fit(Module& model, const LossFn& loss_fn, Optimizer& optimizer, const Dataset& train,
            const FitOptions& options = {});

// Mean loss and metrics over `data`, without recording (no grad) and in eval mode (the training
// flag is restored). Keys: "loss" and each metric's name.
Logs evaluate(Module& model, const LossFn& loss_fn, const Dataset& data,
              const std::vector<Metric>& metrics = {}, std::size_t batch_size = 256);

// The model's outputs for every row of x, in batches, no grad, eval mode (flag restored).
Tensor predict(Module& model, const Tensor& x, std::size_t batch_size = 256);

}  // namespace ag::nn
