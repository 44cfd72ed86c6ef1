#pragma once
// Kept so that existing includes compile; new code includes ag/nn/data/dataset.hpp (Dataset,
// DataLoader) and ag/nn/data/preprocess.hpp (split, LabelEncoder, scalers).
#include "ag/nn/data/dataset.hpp"
#include "ag/nn/data/preprocess.hpp"
