#pragma once
// Kept so that existing includes compile; new code includes ag/nn/optim/scheduler.hpp.
#include "ag/nn/optim/scheduler.hpp"
