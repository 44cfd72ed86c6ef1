#pragma once
// Kept so existing includes compile; new code includes ag/nn/data/csv.hpp.
#include "ag/nn/data/csv.hpp"
