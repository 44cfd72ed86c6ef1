#pragma once
// Resumable training: everything a training run depends on in one file, so that a run stopped after
// epoch k and resumed from the file ends with bit-identical weights to one that never stopped.
//
// With fit (ag/nn/train/fit.hpp):
//   o.callbacks = {std::make_shared<nn::ModelCheckpoint>("run.ckpt")};   // every epoch and at the end
//   nn::fit(model, loss, opt, train, o);                                  // ... stopped after epoch 3
//   o.resume_from = "run.ckpt";                                           // a new process, same setup
//   nn::fit(model, loss, opt, train, o);                                  // continues with epoch 4
//
// In a loop of your own:
//   nn::Checkpoint ck(model, opt);
//   ck.scheduler(sched).loader(loader);
//   ck.epoch = epoch;  ck.save("run.ckpt");      ...      ck.load("run.ckpt");  epoch = ck.epoch;
//
// What it holds: the model's state_dict (parameters and persistent buffers), the optimizer's state
// (moments, step counts, learning rates) and type, the state of the registered scheduler, data
// loader (its shuffling generator), callbacks and extra generators, this thread's global generator
// (ag::manual_seed: Dropout's default, init), the generator of every Dropout in the model that owns
// or borrows one, the epoch and step counters and the History. Generators are saved as their exact
// state (ag::Generator::state()).
//
// The file is tapegrad's tensor container (ag/nn/state.hpp, kind 3 "training checkpoint"): written
// atomically with a CRC-32. load() checks the file and then applies each part; when any part does
// not fit (another architecture, optimizer or scheduler type, other callbacks, a missing part) it
// puts back everything it had changed and throws ag::IOError naming the file and the problem, so
// nothing changes.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/data/dataset.hpp"
#include "ag/nn/module.hpp"
#include "ag/nn/optim/optimizer.hpp"
#include "ag/nn/optim/scheduler.hpp"
#include "ag/nn/train/callbacks.hpp"

namespace ag::nn {

class Checkpoint {
 public:
  Checkpoint(Module& model, Optimizer& optimizer) : model_(model), optimizer_(optimizer) {}
  // Optional parts (references: they must outlive the Checkpoint). Registering the same kind twice
  // replaces the first.
  Checkpoint& scheduler(LRScheduler& s) { scheduler_ = &s; return *this; }
  Checkpoint& loader(DataLoader& l) { loader_ = &l; return *this; }
  Checkpoint& callbacks(const std::vector<std::shared_ptr<Callback>>& c) { callbacks_ = &c; return *this; }
  Checkpoint& history(History& h) { history_ = &h; return *this; }
  Checkpoint& generator(const std::string& name, Generator& g);  // any other generator the run draws from

  std::size_t epoch = 0;  // completed epochs
  std::size_t step = 0;   // completed optimizer steps

  void save(const std::string& path) const;
  void load(const std::string& path);  // all or nothing; IOError naming the file

 private:
  Module& model_;
  Optimizer& optimizer_;
  LRScheduler* scheduler_ = nullptr;
  DataLoader* loader_ = nullptr;
  const std::vector<std::shared_ptr<Callback>>* callbacks_ = nullptr;
  History* history_ = nullptr;
  std::vector<std::pair<std::string, Generator*>> generators_;
};

}  // namespace ag::nn
