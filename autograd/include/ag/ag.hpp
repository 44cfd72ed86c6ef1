#pragma once
// Everything in the autograd core: tensors, the tape, ops, random numbers and formatting.
#include "ag/autograd.hpp"
#include "ag/errors.hpp"
#include "ag/format.hpp"
#include "ag/ops.hpp"
#include "ag/random.hpp"
#include "ag/tensor.hpp"
