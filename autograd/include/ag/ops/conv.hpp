#pragma once
// Convolution in PyTorch's layouts and semantics: x [N, C, H, W] (conv1d: [N, C, L]), weight
// [C_out, C_in/groups, kh, kw] (conv_transpose2d: [C_in, C_out/groups, kh, kw]). An input without
// the batch axis ([C, H, W]; conv1d [C, L]) gives an output without it, as in PyTorch.
// Along one spatial axis of size n, with kernel k, stride s, dilation d and padding p_begin,
// p_end, output position o reads inputs o·s - p_begin + i·d (i < k; outside [0, n) reads 0) and
// there are (n + p_begin + p_end - d·(k-1) - 1)/s + 1 positions (rounded down).
// Every VJP is written with these ops (conv ↔ transposed conv ↔ weight gradient; unfold ↔ fold),
// so create_graph and derivatives of every order work. Forward: im2col + GEMM.
#include <array>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "ag/tensor.hpp"

namespace ag {

// ---- arguments ------------------------------------------------------------------------------------
// D integers, one per spatial axis (H then W). One int means the same on every axis: 2 → (2, 2);
// {2, 1} gives each axis its own.
template <std::size_t D> struct Ints {
  std::array<int, D> v{};
  Ints(int a) { v.fill(a); }  // NOLINT: implicit on purpose (stride(2))
  template <class... I, std::enable_if_t<(D >= 2 && sizeof...(I) == D && (std::is_integral_v<I> && ...)), int> = 0>
  Ints(I... a) : v{{static_cast<int>(a)...}} {}
  int operator[](std::size_t i) const { return v[i]; }
  bool operator==(const Ints& o) const { return v == o.v; }
};

// A convolution's padding: one int (every side), one per axis ({1, 2}: 1 above and below, 2 left
// and right), "valid" (none) or "same" (the output keeps the input's size; stride must be 1; an
// odd total d·(k-1) puts the extra row/column at the end, as PyTorch does), or each side
// separately with Padding::sides({top, bottom, left, right}) (conv1d: {left, right}).
template <std::size_t D> class Padding {
 public:
  enum class Mode { explicit_sides, same, valid, unknown };
  Padding(int p) { sides_.fill(p); }  // NOLINT: implicit on purpose (padding(1))
  Padding(Ints<D> p) {                // NOLINT
    for (std::size_t a = 0; a < D; ++a) sides_[2 * a] = sides_[2 * a + 1] = p[a];
  }
  template <class... I, std::enable_if_t<(D >= 2 && sizeof...(I) == D && (std::is_integral_v<I> && ...)), int> = 0>
  Padding(I... p) : Padding(Ints<D>(p...)) {}
  Padding(const char* name) : Padding(std::string(name)) {}  // NOLINT
  Padding(const std::string& name) : name_(name) {           // NOLINT; checked by the op
    mode_ = name == "same" ? Mode::same : name == "valid" ? Mode::valid : Mode::unknown;
  }
  static Padding sides(const std::array<int, 2 * D>& begin_end) {
    Padding p(0);
    p.sides_ = begin_end;
    return p;
  }
  Mode mode() const { return mode_; }
  const std::string& name() const { return name_; }  // the string it was made from, if any
  // (begin, end) per axis, H first; meaningful for Mode::explicit_sides.
  const std::array<int, 2 * D>& begin_end() const { return sides_; }

 private:
  Mode mode_ = Mode::explicit_sides;
  std::array<int, 2 * D> sides_{};
  std::string name_;
};

// conv1d / conv2d options, builder style: ag::Conv2dOptions().stride(2).padding(1).groups(4).
template <std::size_t D> class ConvOptions {
 public:
  ConvOptions() {}  // user-provided: `{2, 1}` never aggregate-initialises the options
  ConvOptions& stride(Ints<D> s) { stride_ = s; return *this; }
  ConvOptions& padding(Padding<D> p) { padding_ = std::move(p); return *this; }
  ConvOptions& dilation(Ints<D> d) { dilation_ = d; return *this; }
  ConvOptions& groups(int g) { groups_ = g; return *this; }
  const Ints<D>& stride() const { return stride_; }
  const Padding<D>& padding() const { return padding_; }
  const Ints<D>& dilation() const { return dilation_; }
  int groups() const { return groups_; }

 private:
  Ints<D> stride_ = 1;
  Padding<D> padding_ = 0;
  Ints<D> dilation_ = 1;
  int groups_ = 1;
};
using Conv1dOptions = ConvOptions<1>;
using Conv2dOptions = ConvOptions<2>;

// conv_transpose2d options (PyTorch's arguments): padding is the padding of the conv2d this is the
// adjoint of (it trims the full transposed output on each side); output_padding adds rows/columns
// at the end of the output (it picks one of the input sizes a strided conv2d maps to one size).
template <std::size_t D> class ConvTransposeOptions {
 public:
  ConvTransposeOptions() {}
  ConvTransposeOptions& stride(Ints<D> s) { stride_ = s; return *this; }
  ConvTransposeOptions& padding(Ints<D> p) { padding_ = p; return *this; }
  ConvTransposeOptions& output_padding(Ints<D> p) { output_padding_ = p; return *this; }
  ConvTransposeOptions& groups(int g) { groups_ = g; return *this; }
  ConvTransposeOptions& dilation(Ints<D> d) { dilation_ = d; return *this; }
  const Ints<D>& stride() const { return stride_; }
  const Ints<D>& padding() const { return padding_; }
  const Ints<D>& output_padding() const { return output_padding_; }
  int groups() const { return groups_; }
  const Ints<D>& dilation() const { return dilation_; }

 private:
  Ints<D> stride_ = 1, padding_ = 0, output_padding_ = 0;
  int groups_ = 1;
  Ints<D> dilation_ = 1;
};
using ConvTranspose2dOptions = ConvTransposeOptions<2>;

// ---- im2col / col2im ------------------------------------------------------------------------------
// torch.nn.functional.unfold: x [N, C, H, W] -> [N, C·kh·kw, L], L = OH·OW sliding blocks;
// row (c·kh + i)·kw + j, column oh·OW + ow holds x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]
// (0 in the padding). Linear; d = fold(g, (H, W), ...) with the same arguments.
Tensor unfold(const Tensor& x, Ints<2> kernel_size, Ints<2> dilation = 1, Ints<2> padding = 0, Ints<2> stride = 1);
// torch.nn.functional.fold, the adjoint of unfold: cols [N, C·kh·kw, L] -> [N, C, H, W] with
// output_size (H, W), each column's values added back at the positions unfold read them from
// (overlaps sum). L must equal the number of blocks for output_size. d = unfold(g, ...).
Tensor fold(const Tensor& cols, Ints<2> output_size, Ints<2> kernel_size, Ints<2> dilation = 1, Ints<2> padding = 0,
            Ints<2> stride = 1);

// ---- convolution ----------------------------------------------------------------------------------
// y[n, o] = b[o] + Σ_{c in o's group, i, j} w[o, c, i, j]·x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]
// (cross-correlation, as PyTorch). groups G: input and output channels are split into G
// consecutive groups and group g's outputs see only group g's inputs (G = C_in: depthwise).
// b: [C_out] or undefined. dx = conv_transpose2d(g, w), dw = Σ_n g·unfold(x)ᵀ, db = Σ g.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b = {}, const Conv2dOptions& options = {});
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Ints<2> stride, Padding<2> padding = 0,
              Ints<2> dilation = 1, int groups = 1);
// x [N, C_in, L], w [C_out, C_in/groups, k]: the same computation along one axis.
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b = {}, const Conv1dOptions& options = {});
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, Ints<1> stride, Padding<1> padding = 0,
              Ints<1> dilation = 1, int groups = 1);
// The adjoint of conv2d with respect to its input ("deconvolution"): x [N, C_in, H, W], w
// [C_in, C_out/groups, kh, kw], y [N, C_out, OH, OW] with OH = (H-1)·sh - 2·ph + dh·(kh-1) +
// output_padding_h + 1; y = b + conv2d's input-gradient of x for that geometry. output_padding
// must be smaller than stride or dilation (PyTorch's rule). dx = conv2d(g, w), dw as conv2d's.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b = {},
                        const ConvTranspose2dOptions& options = {});
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, Ints<2> stride, Ints<2> padding = 0,
                        Ints<2> output_padding = 0, int groups = 1, Ints<2> dilation = 1);

}  // namespace ag
