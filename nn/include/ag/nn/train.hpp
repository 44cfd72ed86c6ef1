#pragma once
// Kept so existing includes compile; new code includes ag/nn/train/fit.hpp, train/metrics.hpp.
#include "ag/nn/data/preprocess.hpp"  // train.hpp used to bring in all of data.hpp
#include "ag/nn/train/fit.hpp"
#include "ag/nn/train/metrics.hpp"
