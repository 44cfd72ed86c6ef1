#pragma once
// Kept so that existing includes compile; new code includes the rule it uses,
// ag/nn/optim/{sgd,adam,rmsprop,adagrad}.hpp, and ag/nn/optim/clip_grad.hpp.
#include "ag/nn/optim/adagrad.hpp"
#include "ag/nn/optim/adam.hpp"
#include "ag/nn/optim/clip_grad.hpp"
#include "ag/nn/optim/rmsprop.hpp"
#include "ag/nn/optim/sgd.hpp"
