#pragma once
// Kept so that existing includes compile; new code includes ag/nn/train/fit.hpp.
#include "ag/nn/train/fit.hpp"
