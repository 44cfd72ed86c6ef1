#pragma once
// Pooling in PyTorch's layouts and semantics: x [N, C, H, W] or [C, H, W] (1-d: [N, C, L] or
// [C, L]); each channel is pooled on its own. Along one axis of size n, window o covers inputs
// o·s - p + i·d for i < k, and there are (n + 2p - d·(k-1) - 1)/s + 1 windows (rounded down:
// PyTorch's ceil_mode = false; ceil_mode is not offered). The stride defaults to the kernel size;
// padding may be at most half the kernel size (PyTorch's rule). Options use the same Ints<D>
// arguments as the convolutions: ag::MaxPool2dOptions(3).stride(2).padding(1).
// Every VJP is written with ag ops (max: scatter ↔ gather at the argmax; average: spread ↔
// window mean), so create_graph works.
#include <cstddef>

#include "ag/ops/conv.hpp"  // Ints<D>
#include "ag/tensor.hpp"

namespace ag {

template <std::size_t D> class MaxPoolOptions {
 public:
  explicit MaxPoolOptions(Ints<D> kernel_size) : kernel_(kernel_size), stride_(kernel_size) {}
  MaxPoolOptions& stride(Ints<D> s) { stride_ = s; return *this; }
  MaxPoolOptions& padding(Ints<D> p) { padding_ = p; return *this; }
  MaxPoolOptions& dilation(Ints<D> d) { dilation_ = d; return *this; }
  const Ints<D>& kernel_size() const { return kernel_; }
  const Ints<D>& stride() const { return stride_; }
  const Ints<D>& padding() const { return padding_; }
  const Ints<D>& dilation() const { return dilation_; }

 private:
  Ints<D> kernel_, stride_, padding_ = 0, dilation_ = 1;
};
using MaxPool1dOptions = MaxPoolOptions<1>;
using MaxPool2dOptions = MaxPoolOptions<2>;

template <std::size_t D> class AvgPoolOptions {
 public:
  explicit AvgPoolOptions(Ints<D> kernel_size) : kernel_(kernel_size), stride_(kernel_size) {}
  AvgPoolOptions& stride(Ints<D> s) { stride_ = s; return *this; }
  AvgPoolOptions& padding(Ints<D> p) { padding_ = p; return *this; }
  AvgPoolOptions& count_include_pad(bool on) { count_include_pad_ = on; return *this; }
  const Ints<D>& kernel_size() const { return kernel_; }
  const Ints<D>& stride() const { return stride_; }
  const Ints<D>& padding() const { return padding_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  Ints<D> kernel_, stride_, padding_ = 0;
  bool count_include_pad_ = true;
};
using AvgPool1dOptions = AvgPoolOptions<1>;
using AvgPool2dOptions = AvgPoolOptions<2>;

// ---- max ---------------------------------------------------------------------------------------------
// y = the largest value in each window (padding counts as -inf, so it never wins). Ties: the
// gradient goes to the first maximum in the window's row-major order (PyTorch's choice; ag::max
// splits ties evenly instead). A NaN in the window is the result and takes the gradient.
// d: g scattered back to the argmax positions (overlapping windows add up).
Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options);
Tensor max_pool2d(const Tensor& x, Ints<2> kernel_size);
Tensor max_pool2d(const Tensor& x, Ints<2> kernel_size, Ints<2> stride, Ints<2> padding = 0, Ints<2> dilation = 1);
Tensor max_pool1d(const Tensor& x, const MaxPool1dOptions& options);
Tensor max_pool1d(const Tensor& x, Ints<1> kernel_size);
Tensor max_pool1d(const Tensor& x, Ints<1> kernel_size, Ints<1> stride, Ints<1> padding = 0, Ints<1> dilation = 1);

// ---- average -----------------------------------------------------------------------------------------
// y = Σ window / divisor, the divisor being kh·kw (count_include_pad, the default: padding counts
// as zeros) or the number of input positions inside the window. d: g/divisor spread over the window.
Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, Ints<2> kernel_size);
Tensor avg_pool2d(const Tensor& x, Ints<2> kernel_size, Ints<2> stride, Ints<2> padding = 0,
                  bool count_include_pad = true);
Tensor avg_pool1d(const Tensor& x, const AvgPool1dOptions& options);
Tensor avg_pool1d(const Tensor& x, Ints<1> kernel_size);
Tensor avg_pool1d(const Tensor& x, Ints<1> kernel_size, Ints<1> stride, Ints<1> padding = 0,
                  bool count_include_pad = true);

// Average over windows chosen to give output_size (OH, OW): output row i averages input rows
// floor(i·H/OH) .. ceil((i+1)·H/OH) - 1 (likewise columns), as PyTorch. output_size 1: global
// average pooling. Windows may overlap or differ in size when OH does not divide H.
Tensor adaptive_avg_pool2d(const Tensor& x, Ints<2> output_size);

}  // namespace ag
