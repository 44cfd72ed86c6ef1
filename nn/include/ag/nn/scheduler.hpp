#pragma once
// Kept so existing includes compile; new code includes ag/nn/optim/scheduler.hpp.
#include "ag/nn/optim/scheduler.hpp"
