#pragma once
// Kept so that existing includes compile; new code includes ag/nn/modules.hpp (every layer) or
// one of ag/nn/modules/{linear,activation,dropout,container}.hpp.
#include "ag/nn/modules.hpp"
