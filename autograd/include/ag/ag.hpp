#pragma once
// Everything in the autograd core: tensors, the tape, ops, random numbers, formatting, graph views
// and the profiler.
#include "ag/autograd.hpp"
#include "ag/blas.hpp"
#include "ag/errors.hpp"
#include "ag/format.hpp"
#include "ag/graph.hpp"
#include "ag/ops.hpp"
#include "ag/profiler.hpp"
#include "ag/random.hpp"
#include "ag/tensor.hpp"
