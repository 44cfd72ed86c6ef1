// Convolution layers: PyTorch's initialisation, then the op from ag/ops/conv.hpp; an error from
// the op is re-raised with the layer's describe() in front, so it names the layer too.
#include "ag/nn/modules/conv.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/extend.hpp"
#include "ag/nn/init.hpp"

namespace ag::nn {

namespace {

template <std::size_t D> std::string size_str(const Ints<D>& v) {
  return D == 1 ? fmt::format("{}", v[0]) : fmt::format("{}×{}", v[0], v[1]);
}
template <std::size_t D> bool all_are(const Ints<D>& v, int x) {
  for (std::size_t a = 0; a < D; ++a)
    if (v[a] != x) return false;
  return true;
}

void check_channels(const char* layer, std::size_t in, std::size_t out, int groups) {
  if (in == 0 || out == 0 || groups < 1 || in % std::size_t(groups) != 0 || out % std::size_t(groups) != 0)
    throw ValueError(fmt::format("{}: in_channels ({}) and out_channels ({}) must be > 0 and divisible by groups ({})",
                                 layer, in, out, groups));
}

// PyTorch's reset_parameters: weight from kaiming_uniform_(a = √5) = U(±1/√fan_in), bias U(±1/√fan_in).
void reset(Tensor& weight, Tensor& bias, Generator& gen) {
  init::kaiming_uniform_(weight, gen, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(double(init::fan_in_out(weight).first));
    init::uniform_(bias, gen, -bound, bound);
  }
}

template <class F> Tensor naming(const std::string& layer, F&& f) {
  try {
    return f();
  } catch (const ShapeError& e) {
    throw ShapeError(layer + ": " + e.what());
  } catch (const DtypeError& e) {
    throw DtypeError(layer + ": " + e.what() + " (convert the input with .to(), or the model with model.to())");
  }
}

}  // namespace

template <std::size_t D>
ConvNd<D>::ConvNd(std::size_t in_channels, std::size_t out_channels, Ints<D> kernel_size, const ConvOptions<D>& options,
                  bool bias, DType dtype)
    : ConvNd(in_channels, out_channels, kernel_size, default_generator(), options, bias, dtype) {}

template <std::size_t D>
ConvNd<D>::ConvNd(std::size_t in_channels, std::size_t out_channels, Ints<D> kernel_size, Generator& gen,
                  const ConvOptions<D>& options, bool bias, DType dtype)
    : in_(in_channels), out_(out_channels), options_(options) {
  const char* layer = D == 1 ? "Conv1d" : "Conv2d";
  check_channels(layer, in_channels, out_channels, options.groups());
  Shape ws{out_channels, in_channels / std::size_t(options.groups())};
  for (std::size_t a = 0; a < D; ++a) {
    if (kernel_size[a] < 1) throw ValueError(fmt::format("{}: kernel_size must be >= 1, got {}", layer, size_str(kernel_size)));
    ws.push_back(std::size_t(kernel_size[a]));
  }
  weight_ = register_parameter("weight", zeros(ws, dtype));
  if (bias) bias_ = register_parameter("bias", zeros({out_channels}, dtype));
  reset(weight_, bias_, gen);
}

template <std::size_t D> std::string ConvNd<D>::describe() const {
  Ints<D> k(1);
  for (std::size_t a = 0; a < D; ++a) k.v[a] = int(weight_.shape()[2 + a]);
  std::string s = fmt::format("{}({} -> {}, {}", type_name(), in_, out_, size_str(k));
  if (!all_are(options_.stride(), 1)) s += ", stride " + size_str(options_.stride());
  const Padding<D>& p = options_.padding();
  if (p.mode() != Padding<D>::Mode::explicit_sides) s += fmt::format(", padding \"{}\"", p.name());
  else if (std::any_of(p.begin_end().begin(), p.begin_end().end(), [](int v) { return v != 0; }))
    s += fmt::format(", padding ({})", fmt::join(p.begin_end(), ", "));
  if (!all_are(options_.dilation(), 1)) s += ", dilation " + size_str(options_.dilation());
  if (options_.groups() != 1) s += fmt::format(", groups {}", options_.groups());
  if (!bias_.defined()) s += ", no bias";
  return s + ")";
}

template <std::size_t D> Tensor ConvNd<D>::forward(const Tensor& x) {
  ag::require_defined(type_name().c_str(), x, "the input");
  return naming(describe(), [&] {
    if constexpr (D == 1) return conv1d(x, weight_, bias_, options_);
    else return conv2d(x, weight_, bias_, options_);
  });
}

template class ConvNd<1>;
template class ConvNd<2>;

ConvTranspose2d::ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Ints<2> kernel_size,
                                 const ConvTranspose2dOptions& options, bool bias, DType dtype)
    : ConvTranspose2d(in_channels, out_channels, kernel_size, default_generator(), options, bias, dtype) {}

ConvTranspose2d::ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Ints<2> kernel_size, Generator& gen,
                                 const ConvTranspose2dOptions& options, bool bias, DType dtype)
    : in_(in_channels), out_(out_channels), options_(options) {
  check_channels("ConvTranspose2d", in_channels, out_channels, options.groups());
  if (kernel_size[0] < 1 || kernel_size[1] < 1)
    throw ValueError(fmt::format("ConvTranspose2d: kernel_size must be >= 1, got {}", size_str(kernel_size)));
  weight_ = register_parameter("weight", zeros({in_channels, out_channels / std::size_t(options.groups()),
                                                std::size_t(kernel_size[0]), std::size_t(kernel_size[1])}, dtype));
  if (bias) bias_ = register_parameter("bias", zeros({out_channels}, dtype));
  reset(weight_, bias_, gen);
}

std::string ConvTranspose2d::describe() const {
  const Ints<2> k(int(weight_.shape()[2]), int(weight_.shape()[3]));
  std::string s = fmt::format("ConvTranspose2d({} -> {}, {}", in_, out_, size_str(k));
  if (!all_are(options_.stride(), 1)) s += ", stride " + size_str(options_.stride());
  if (!all_are(options_.padding(), 0)) s += ", padding " + size_str(options_.padding());
  if (!all_are(options_.output_padding(), 0)) s += ", output_padding " + size_str(options_.output_padding());
  if (!all_are(options_.dilation(), 1)) s += ", dilation " + size_str(options_.dilation());
  if (options_.groups() != 1) s += fmt::format(", groups {}", options_.groups());
  if (!bias_.defined()) s += ", no bias";
  return s + ")";
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  ag::require_defined("ConvTranspose2d", x, "the input");
  return naming(describe(), [&] { return conv_transpose2d(x, weight_, bias_, options_); });
}

}  // namespace ag::nn
