#pragma once
// Kept so existing includes compile; new code includes ag/nn/data/dataset.hpp, data/preprocess.hpp.
#include "ag/nn/data/dataset.hpp"
#include "ag/nn/data/preprocess.hpp"
