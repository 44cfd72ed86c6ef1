#pragma once
// Kept so existing includes compile; new code includes ag/nn/train/callbacks.hpp.
#include "ag/nn/train/callbacks.hpp"
