#pragma once
// fmt support: fmt::format("{}", tensor) prints like operator<<, e.g.
//   tensor([1, 2, 3], shape=[3], dtype=float32, requires_grad=true, grad_fn=<MulBackward>)
#include <fmt/ostream.h>

#include "ag/tensor.hpp"

template <> struct fmt::formatter<ag::Tensor> : fmt::ostream_formatter {};
template <> struct fmt::formatter<ag::DType> : fmt::ostream_formatter {};
