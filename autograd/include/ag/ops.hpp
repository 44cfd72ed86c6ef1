#pragma once
// Every differentiable op, one header per family under ag/ops/ (include just one to build faster).
// Binary ops broadcast numpy-style; both operands must have the same dtype (mixing float32 and
// float64 is a DtypeError: convert explicitly with x.to(ag::f64)).
#include "ag/ops/activation.hpp"
#include "ag/ops/attention.hpp"
#include "ag/ops/broadcast.hpp"
#include "ag/ops/compare.hpp"
#include "ag/ops/conv.hpp"
#include "ag/ops/elementwise.hpp"
#include "ag/ops/indexing.hpp"
#include "ag/ops/linalg.hpp"
#include "ag/ops/norm.hpp"
#include "ag/ops/pool.hpp"
#include "ag/ops/reduce.hpp"
#include "ag/ops/rnn.hpp"
#include "ag/ops/shape.hpp"
#include "ag/ops/softmax.hpp"
#include "ag/ops/sort.hpp"
