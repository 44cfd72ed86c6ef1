#pragma once
// Everything in ag::nn: modules and layers, losses, optimizers and schedulers, save/load, and
// data loading and training.
#include "ag/ag.hpp"
#include "ag/nn/gradcheck.hpp"
#include "ag/nn/init.hpp"
#include "ag/nn/losses.hpp"
#include "ag/nn/module.hpp"
#include "ag/nn/modules.hpp"
#include "ag/nn/state.hpp"
#include "ag/nn/summary.hpp"

#include "ag/nn/optim/optimizer.hpp"
#include "ag/nn/optim/sgd.hpp"
#include "ag/nn/optim/adam.hpp"
#include "ag/nn/optim/rmsprop.hpp"
#include "ag/nn/optim/adagrad.hpp"
#include "ag/nn/optim/clip_grad.hpp"
#include "ag/nn/optim/scheduler.hpp"

#include "ag/nn/data/dataset.hpp"
#include "ag/nn/data/preprocess.hpp"
#include "ag/nn/data/csv.hpp"

#include "ag/nn/train/fit.hpp"
#include "ag/nn/train/metrics.hpp"
#include "ag/nn/train/callbacks.hpp"
#include "ag/nn/train/checkpoint.hpp"
#include "ag/nn/train/progress.hpp"

#include "ag/nn/dist.hpp"
