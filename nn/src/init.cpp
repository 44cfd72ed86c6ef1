// Weight initialisers (Glorot/Xavier and He/Kaiming), drawn from a Generator.
#include "ag/nn/init.hpp"

#include <cmath>

#include <fmt/core.h>

namespace ag::nn {

const char* init_name(Init init) {
  switch (init) {
    case Init::glorot_uniform: return "glorot_uniform";
    case Init::he_uniform: return "he_uniform";
    case Init::he_normal: return "he_normal";
    case Init::zeros: return "zeros";
  }
  return "?";
}

Tensor init_tensor(Init init, const Shape& shape, std::size_t fan_in, std::size_t fan_out,
                   Generator& gen, DType dtype) {
  if (init != Init::zeros && fan_in == 0)
    throw ValueError(fmt::format("init {}: fan_in must be > 0 for shape {}", init_name(init),
                                 shape_str(shape)));
  switch (init) {
    case Init::glorot_uniform: {
      const double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
      return uniform(shape, -a, a, gen, dtype);
    }
    case Init::he_uniform: {
      const double a = std::sqrt(6.0 / static_cast<double>(fan_in));
      return uniform(shape, -a, a, gen, dtype);
    }
    case Init::he_normal: {
      Tensor t = randn(shape, gen, f64) * std::sqrt(2.0 / static_cast<double>(fan_in));
      return t.to(dtype).detach();
    }
    case Init::zeros: return zeros(shape, dtype);
  }
  throw ValueError("init_tensor: unknown Init");
}

}  // namespace ag::nn
