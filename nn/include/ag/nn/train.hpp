#pragma once
// Kept so that existing includes compile; new code includes ag/nn/train/fit.hpp (fit, evaluate,
// predict) and ag/nn/train/metrics.hpp. data/preprocess.hpp is included because train.hpp used
// to bring in all of data.hpp.
#include "ag/nn/data/preprocess.hpp"
#include "ag/nn/train/fit.hpp"
#include "ag/nn/train/metrics.hpp"
