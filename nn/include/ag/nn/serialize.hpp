#pragma once
// Kept so existing includes compile; new code includes ag/nn/state.hpp.
#include "ag/nn/state.hpp"
