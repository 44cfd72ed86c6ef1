#pragma once
// Kept so existing includes compile; new code includes ag/nn/train/progress.hpp.
#include "ag/nn/train/progress.hpp"
