#pragma once
// summary(): what a model does with an input shape, layer by layer.
#include <string>

#include "ag/ag.hpp"

namespace ag::nn {

class Module;

// A Keras-like table: every module called while running `model` on zeros of shape `input`
// (no grad, eval mode; the training flag is restored), with its output shape and own parameter
// count, then the totals. `dtype` defaults to the model's dtype.
//
//   Layer (type)            Output shape     Param #
//   0 (Dense)               [1, 8]           32
//   ...
std::string summary(Module& model, const Shape& input);
std::string summary(Module& model, const Shape& input, DType dtype);

}  // namespace ag::nn
