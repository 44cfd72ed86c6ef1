#pragma once
// Kept so that existing includes compile; new code includes ag/nn/train/progress.hpp.
#include "ag/nn/train/progress.hpp"
