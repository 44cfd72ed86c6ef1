#pragma once
// Kept so existing includes compile; new code includes ag/nn/optim/optimizer.hpp.
#include "ag/nn/optim/optimizer.hpp"
