#pragma once
// summary(): what a model does with an input shape, layer by layer.
#include <string>
#include <type_traits>

#include "ag/ag.hpp"

namespace ag::nn {
class Module;
}
namespace ag::detail {
std::string summary_of_call(nn::Module& model, const TensorList& inputs);
}

namespace ag::nn {

// A Keras-like table: every module called while running `model` on zeros of shape `input`
// (no grad, eval mode; the training flag is restored), with its output shape and own parameter
// count, then the totals. `dtype` defaults to the model's dtype.
//
//   Layer (type)            Output shape     Param #
//   0 (Dense)               [1, 8]           32
//   ...
std::string summary(Module& model, const Shape& input);
std::string summary(Module& model, const Shape& input, DType dtype);
// The same on given inputs (a Tensor or a TensorList): for models whose input is not any tensor of
// a shape (ids that must be in range, several tensors of a multi-tensor module). A row of a call
// with several outputs lists their shapes. (A template so that summary(m, {5, 3}) stays a Shape.)
template <class Inputs, std::enable_if_t<std::is_same_v<Inputs, Tensor> || std::is_same_v<Inputs, TensorList>, int> = 0>
std::string summary(Module& model, const Inputs& inputs) {
  if constexpr (std::is_same_v<Inputs, Tensor>)
    return detail::summary_of_call(model, TensorList{inputs});
  else
    return detail::summary_of_call(model, inputs);
}

}  // namespace ag::nn
