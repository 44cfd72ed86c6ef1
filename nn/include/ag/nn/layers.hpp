#pragma once
// Kept so that existing includes compile; new code includes ag/nn/modules/activation.hpp.
#include "ag/nn/modules/activation.hpp"
