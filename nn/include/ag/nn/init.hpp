#pragma once
// Weight initialisers. fan_in/fan_out are the layer's input and output widths.
#include <cstddef>

#include "ag/ag.hpp"

namespace ag::nn {

enum class Init {
  glorot_uniform,  // U(-a, a), a = sqrt(6 / (fan_in + fan_out))   (Xavier/Glorot, Keras' default)
  he_uniform,      // U(-a, a), a = sqrt(6 / fan_in)                (He/Kaiming, for ReLU nets)
  he_normal,       // N(0, s²), s = sqrt(2 / fan_in)
  zeros,
};
const char* init_name(Init init);

// A fresh tensor (no grad) of `shape` drawn from `gen` according to `init`.
Tensor init_tensor(Init init, const Shape& shape, std::size_t fan_in, std::size_t fan_out,
                   Generator& gen, DType dtype = f32);

}  // namespace ag::nn
