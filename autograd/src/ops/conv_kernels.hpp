#pragma once
// The convolution kernels behind conv.cpp's ops: the seam where a backend plugs in. Arguments are
// checked by the ops; these compute values only (nothing is recorded). The portable backend
// (conv_kernels.cpp) is im2col / col2im + detail::gemm.
#include <cstddef>

#include "ag/tensor.hpp"

namespace ag::detail {

// One 2-D convolution (conv1d: H = 1, kh = 1), batch N, G groups. Along H (likewise W), output
// row oh reads input rows oh·sh - ph + i·dh for i < kh; rows outside [0, H) read 0. ph is the
// padding before the first row; the padding after only sized OH (the ops computed OH, OW).
// x_shape, w_shape, y_shape are the tensors' own shapes ([N, C, H, W] or [N, C, L], with or
// without the batch axis): the values are laid out the same way in every case.
struct ConvGeometry {
  std::size_t N = 1, C = 0, H = 1, W = 1;  // input (of the convolution, not of a transposed one)
  std::size_t O = 0, G = 1;                // output channels, groups
  std::size_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  std::ptrdiff_t ph = 0, pw = 0;
  std::size_t OH = 1, OW = 1;
  Shape x_shape, w_shape, y_shape;
  std::size_t channel_axis = 1;  // 0 without a batch axis

  // Whether every output position reads exactly its own input position (a 1×1 kernel, stride 1,
  // no padding): im2col would be a copy.
  bool pointwise() const { return kh * kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && OH == H && OW == W; }
};

// y [y_shape] = conv(x, w) + b; x [x_shape], w [O, C/G, kh, kw] (w_shape), b [O] or undefined.
Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g);
// The adjoint in x: dx [x_shape] = convᵀ(gy, w) (+ b[c] per input channel if b is defined; the
// bias of a transposed convolution). gy [y_shape].
Tensor conv_input_grad(const Tensor& gy, const Tensor& w, const Tensor& b, const ConvGeometry& g);
// The adjoint in w: dw [w_shape] = Σ_n gy[n]·im2col(x[n])ᵀ per group.
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const ConvGeometry& g);

// unfold: x [x_shape] -> [N, C·kh·kw, OH·OW] (y_shape); fold: the adjoint, cols [y_shape] -> [x_shape].
Tensor im2col(const Tensor& x, const ConvGeometry& g);
Tensor col2im(const Tensor& cols, const ConvGeometry& g);

}  // namespace ag::detail
