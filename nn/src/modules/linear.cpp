// Dense: shape and dtype checks, then one fused linear op.
#include "ag/nn/modules/linear.hpp"

#include "ag/extend.hpp"

namespace ag::nn {

Dense::Dense(std::size_t in, std::size_t out, bool bias, Init init, DType dtype)
    : Dense(in, out, default_generator(), bias, init, dtype) {}

Dense::Dense(std::size_t in, std::size_t out, Generator& gen, bool bias, Init init, DType dtype)
    : in_(in), out_(out) {
  if (in == 0 || out == 0)
    throw ValueError(fmt::format("Dense: in ({}) and out ({}) must be > 0", in, out));
  weight_ = register_parameter("weight", init_tensor(init, {in, out}, in, out, gen, dtype));
  if (bias) bias_ = register_parameter("bias", zeros({out}, dtype));
}

std::string Dense::describe() const {
  return fmt::format("Dense({} -> {}{})", in_, out_, bias_.defined() ? "" : ", no bias");
}

Tensor Dense::forward(const Tensor& x) {
  ag::require_defined("Dense", x, "the input");
  const std::size_t nd = x.dim();
  if (nd == 0 || x.size(-1) != in_)
    throw ShapeError(fmt::format("{}: input of shape {} has {} features, expected {} (input shape "
                                 "[..., {}], weight {})",
                                 describe(), shape_str(x.shape()), nd == 0 ? 0 : x.size(-1), in_, in_,
                                 shape_str(weight_.shape())));
  if (x.dtype() != weight_.dtype())
    throw DtypeError(fmt::format("{}: input is {} but the parameters are {} (convert the input with "
                                 ".to(), or the model with model.to())",
                                 describe(), dtype_name(x.dtype()), dtype_name(weight_.dtype())));
  // [..., in]·[in, out] (+ bias: one fused op for 2-D input, else the engine sums its gradient)
  return bias_.defined() ? linear(x, weight_, bias_) : matmul(x, weight_);
}

}  // namespace ag::nn
