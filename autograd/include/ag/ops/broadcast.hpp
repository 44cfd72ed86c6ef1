#pragma once
// Broadcasting (numpy rules) and its adjoint, the engine's one unbroadcast.
#include "ag/tensor.hpp"

namespace ag {

// Broadcast result shape of two shapes (numpy rules); ShapeError naming `op` if incompatible.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor expand(const Tensor& x, const Shape& shape);   // = broadcast_to
// Sums a broadcast gradient back to `shape`: the engine's one unbroadcast. d = broadcast_to(g).
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace ag
