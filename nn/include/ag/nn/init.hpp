#pragma once
// Weight initialisers. fan_in/fan_out are the layer's input and output widths.
//
// Two APIs:
// - Init + init_tensor: a fresh tensor for a layer's constructor (Dense uses it).
// - ag::nn::init::*_: PyTorch's torch.nn.init, filling an existing tensor in place.
#include <cstddef>
#include <utility>

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

// In-place initialisers with torch.nn.init's semantics.
//
// Every function fills `t` in place and returns the same handle: `t` is an ag::Tensor handle
// taken by value (copies share storage), so parameter accessors work directly:
//   nn::init::kaiming_uniform_(dense.weight());
//   for (auto& p : model.parameters()) nn::init::normal_(p, gen, 0.0, 0.02);
// The write is not recorded (as under NoGradGuard): a parameter stays a leaf that requires grad;
// its version goes up by one, so a backward still holding the old values raises GradError.
// `t` must be a defined (ValueError) float32/float64 tensor (DtypeError otherwise). A tensor with
// no elements is left as it is. Values are drawn in double and rounded to t's dtype, so a seed
// gives the same numbers (up to rounding) in float32 and float64. The overloads without a
// Generator draw from the global one (ag::manual_seed).
//
// Fans. tapegrad's layers store weights in two layouts, and fan_in_out follows both:
// - rank 2: Dense's [in, out] (x·W; PyTorch's Linear stores the transpose, [out, in]):
//   fan_in = shape[0], fan_out = shape[1]. So kaiming_uniform_(dense.weight()) scales by in, as
//   PyTorch's kaiming_uniform_(linear.weight) does. For a rank-2 matrix of your own stored
//   [out, in], pass FanMode::fan_out to kaiming_* (xavier_* and orthogonal_ do not care).
// - rank >= 3: convolution weights [out, in, k...] (PyTorch's layout):
//   fan_in = shape[1]·r, fan_out = shape[0]·r with r = shape[2]·shape[3]·... (the receptive field).
// - rank < 2 has no fans: ShapeError (for fan_in_out and every xavier_*/kaiming_* call).
namespace init {

enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };
enum class FanMode { fan_in, fan_out };  // which fan kaiming_* keeps the variance for

// The recommended gain for a nonlinearity: linear, conv, sigmoid 1; tanh 5/3; relu √2;
// leaky_relu √(2 / (1 + slope²)) with slope = param (ignored otherwise); selu 3/4.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
// {fan_in, fan_out} of a weight (the layout rule above).
std::pair<std::size_t, std::size_t> fan_in_out(const Tensor& t);

Tensor uniform_(Tensor t, Generator& gen, double a = 0.0, double b = 1.0);  // U(a, b), a <= b
Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0);
Tensor normal_(Tensor t, Generator& gen, double mean = 0.0, double stddev = 1.0);  // N(mean, stddev²)
Tensor normal_(Tensor t, double mean = 0.0, double stddev = 1.0);
// N(mean, stddev²) conditioned on [a, b] (inverse CDF; values always in [a, b]; a, b may be ±inf).
Tensor trunc_normal_(Tensor t, Generator& gen, double mean = 0.0, double stddev = 1.0,
                     double a = -2.0, double b = 2.0);
Tensor trunc_normal_(Tensor t, double mean = 0.0, double stddev = 1.0, double a = -2.0,
                     double b = 2.0);
Tensor constant_(Tensor t, double value);  // every element = value
Tensor ones_(Tensor t);
Tensor zeros_(Tensor t);
Tensor eye_(Tensor t);  // 2-D only: ones on the main diagonal, zeros elsewhere (any [n, m])

// U(-a, a), a = gain·√(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
Tensor xavier_uniform_(Tensor t, Generator& gen, double gain = 1.0);
Tensor xavier_uniform_(Tensor t, double gain = 1.0);
// N(0, s²), s = gain·√(2 / (fan_in + fan_out))
Tensor xavier_normal_(Tensor t, Generator& gen, double gain = 1.0);
Tensor xavier_normal_(Tensor t, double gain = 1.0);
// U(-√3·s, √3·s), s = calculate_gain(nonlinearity, a) / √fan   (He et al. 2015; fan by `mode`;
// the defaults give s = √(2 / fan_in), tapegrad's Init::he_uniform)
Tensor kaiming_uniform_(Tensor t, Generator& gen, double a = 0.0, FanMode mode = FanMode::fan_in,
                        Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
Tensor kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::fan_in,
                        Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
// N(0, s²), s = calculate_gain(nonlinearity, a) / √fan
Tensor kaiming_normal_(Tensor t, Generator& gen, double a = 0.0, FanMode mode = FanMode::fan_in,
                       Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
Tensor kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::fan_in,
                       Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
// gain·Q, Q (semi-)orthogonal from the QR decomposition of a standard normal [rows, cols] matrix
// (rows = shape[0], cols = the product of the other dims; rank >= 2, ShapeError otherwise),
// with the signs fixed so that diag(R) > 0 (the unique Q, as PyTorch): QᵀQ = I when rows >= cols,
// QQᵀ = I when rows < cols. (Saxe et al. 2013)
Tensor orthogonal_(Tensor t, Generator& gen, double gain = 1.0);
Tensor orthogonal_(Tensor t, double gain = 1.0);

}  // namespace init
}  // namespace ag::nn
