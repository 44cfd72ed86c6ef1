#pragma once
// Kept so existing includes compile; new code includes ag/nn/optim/<rule>.hpp, optim/clip_grad.hpp.
#include "ag/nn/optim/adagrad.hpp"
#include "ag/nn/optim/adam.hpp"
#include "ag/nn/optim/clip_grad.hpp"
#include "ag/nn/optim/rmsprop.hpp"
#include "ag/nn/optim/sgd.hpp"
