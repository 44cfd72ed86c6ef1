#pragma once
// Everything in the autograd core: tensors, the tape and its extension API, ops, random numbers,
// formatting, functional transforms and checkpointing, graph views, the profiler and the gradient
// checker (ag/doctest_gradcheck.hpp, which needs doctest, is the one header left out).
#include "ag/autograd.hpp"
#include "ag/blas.hpp"
#include "ag/checkpoint.hpp"
#include "ag/conv_backend.hpp"
#include "ag/errors.hpp"
#include "ag/format.hpp"
#include "ag/functional.hpp"
#include "ag/gradcheck.hpp"
#include "ag/graph.hpp"
#include "ag/ops.hpp"
#include "ag/profiler.hpp"
#include "ag/random.hpp"
#include "ag/tensor.hpp"
