// Layers: Dense, activations, Dropout, Sequential.
#include "ag/nn/layers.hpp"

#include "nn_internal.hpp"

namespace ag::nn {

// ---- Dense -------------------------------------------------------------------------------------
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
  detail::require_defined("Dense", x, "the input");
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

// ---- activations -------------------------------------------------------------------------------
Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
std::string LeakyReLU::describe() const { return fmt::format("LeakyReLU({})", slope_); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Tensor Softmax::forward(const Tensor& x) { return softmax(x, axis_); }
std::string Softmax::describe() const { return fmt::format("Softmax(axis={})", axis_); }

Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, axis_); }
std::string LogSoftmax::describe() const { return fmt::format("LogSoftmax(axis={})", axis_); }

// ---- Dropout -----------------------------------------------------------------------------------
namespace {
void check_p(double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw ValueError(fmt::format("Dropout: p must be in [0, 1], got {}", p));
}
}  // namespace

Dropout::Dropout(double p) : p_(p) { check_p(p); }
Dropout::Dropout(double p, Generator& gen) : p_(p), gen_(&gen) { check_p(p); }
Dropout::Dropout(double p, std::uint64_t seed) : p_(p), own_gen_(std::in_place, seed) {
  check_p(p);
  gen_ = &*own_gen_;
}

Generator& Dropout::gen() { return own_gen_ ? *own_gen_ : gen_ ? *gen_ : default_generator(); }

std::string Dropout::describe() const { return fmt::format("Dropout(p={})", p_); }

Tensor Dropout::forward(const Tensor& x) {
  detail::require_defined("Dropout", x, "the input");
  if (!is_training() || p_ == 0.0) return x;
  // mask = [u >= p] / (1 - p), a constant: d(x·mask)/dx = mask
  Tensor mask = detail::dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor m = detail::empty<T>(x.shape());
    T* pm = detail::data_of<T>(m);
    const T keep = p_ < 1.0 ? static_cast<T>(1.0 / (1.0 - p_)) : T(0);
    Generator& g = gen();
    for (std::size_t i = 0, n = x.numel(); i < n; ++i) pm[i] = g.uniform01() >= p_ ? keep : T(0);
    return m;
  });
  return x * mask;
}

// ---- Sequential --------------------------------------------------------------------------------
Sequential& Sequential::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(size()), std::move(m));
  return *this;
}

const std::shared_ptr<Module>& Sequential::operator[](std::size_t i) const {
  if (i >= size())
    throw IndexError(fmt::format("Sequential: index {} out of range (size {})", i, size()));
  return children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  const auto& layers = children();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    Module& m = *layers[i].second;
    // Rethrow with the layer's position, keeping the exception type.
    auto where = [&](const std::exception& e) {
      return fmt::format("Sequential layer {} ({}): {}", i, m.describe(), e.what());
    };
    try {
      h = m(h);
    } catch (const ShapeError& e) {
      throw ShapeError(where(e));
    } catch (const DtypeError& e) {
      throw DtypeError(where(e));
    }
  }
  return h;
}

}  // namespace ag::nn
