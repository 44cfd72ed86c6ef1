#pragma once
// The oneDNN convolution backend (conv_onednn.cpp, built only with TAPEGRAD_HAVE_ONEDNN): float32
// only, on the caller's plain NCHW / OIHW (GOIHW) memory, the same geometry and results as the
// portable kernels.
// Each returns false when oneDNN has no primitive for the geometry (the caller then runs the
// portable kernel); primitives are created once per geometry and thread and kept in a small LRU.
#include <string>

#include "ops/conv_kernels.hpp"

namespace ag::detail {

// y = conv(x, w) + b (b may be null).
bool onednn_conv_forward(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g);
// dx = convᵀ(gy, w) (no bias: the caller adds it).
bool onednn_conv_input_grad(const float* gy, const float* w, float* dx, const ConvGeometry& g);
// dw = wgrad(x, gy).
bool onednn_conv_weight_grad(const float* x, const float* gy, float* dw, const ConvGeometry& g);
// "oneDNN 2.6.3 (cpu isa avx512_core)".
std::string onednn_info();

}  // namespace ag::detail
