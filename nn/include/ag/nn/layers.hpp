#pragma once
// Kept so existing includes compile; new code includes ag/nn/modules/<family>.hpp or modules.hpp.
#include "ag/nn/modules.hpp"
