#pragma once
// Which kernels compute convolutions (conv1d, conv2d, conv_transpose2d and their gradients).
//   portable:  im2col / col2im + the GEMM behind matmul; always built, float32 and float64.
//   onednn:    oneDNN's convolution primitives (float32 only: oneDNN has no float64 convolution,
//              so float64 always takes the portable path); available when tapegrad was built
//              with TAPEGRAD_WITH_ONEDNN and libdnnl was found.
//   automatic: onednn for float32 when available, portable otherwise (the default).
// The start-up default comes from the environment variable TAPEGRAD_CONV_BACKEND
// (portable | onednn | automatic), read once on first use.
#include <cstddef>
#include <string>

namespace ag {

enum class ConvBackend { automatic, portable, onednn };

// Selects the backend for every thread from now on. Throws ag::ValueError for onednn when
// tapegrad was built without it (see conv_backend_available).
void set_conv_backend(ConvBackend backend);
// The current selection (automatic unless set or given by TAPEGRAD_CONV_BACKEND).
ConvBackend conv_backend();
// Whether `backend` can run here: portable and automatic always, onednn when built in.
bool conv_backend_available(ConvBackend backend);
// One line naming the backend float32 convolutions use now, e.g.
// "oneDNN 2.6.3 (cpu isa avx512_core)" or "portable (im2col + OpenBLAS)".
std::string conv_backend_info();

// How many convolution kernels (forward, input gradient, weight gradient) each backend has run on
// this thread: shows where the work went (oneDNN declines a geometry it has no fast kernel for,
// and the portable path runs it instead).
struct ConvKernelCounts {
  std::size_t portable = 0, onednn = 0;
};
ConvKernelCounts conv_kernel_counts();

}  // namespace ag
