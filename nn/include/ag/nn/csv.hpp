#pragma once
// Kept so that existing includes compile; new code includes ag/nn/data/csv.hpp.
#include "ag/nn/data/csv.hpp"
