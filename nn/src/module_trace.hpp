#pragma once
// The calls summary() sees (not installed). summary() records every Module::operator() call made
// while it runs the model: it points active_trace at a Trace, and operator() appends one row per
// call, in pre-order (a container before its layers), with the call's depth and output shape.
#include <cstddef>
#include <vector>

#include "ag/nn/module.hpp"

namespace ag::nn::detail {

struct TraceRow {
  const Module* module;
  std::size_t depth;
  Shape output;
};
struct Trace {
  std::vector<TraceRow> rows;
  std::size_t depth = 0;
};
extern thread_local Trace* active_trace;  // nullptr outside summary(); defined in module.cpp

}  // namespace ag::nn::detail
