#pragma once
// Which BLAS the core's matmul runs on, and the start-up check for OpenBLAS' kernel choice.
#include <string>

namespace ag {

// The BLAS library and, for OpenBLAS, the kernel set it picked, e.g.
// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64 (core Haswell)".
std::string blas_info();

// The advice printed once on the first matmul: empty when `corename` (OpenBLAS'
// openblas_get_corename()) is a good kernel for a CPU with these features; otherwise one line
// naming the fix (export OPENBLAS_CORETYPE=Haswell, or SkylakeX when the CPU has avx512f).
// Pure: the decision behind the warning, testable for any inputs.
std::string blas_core_advice(const std::string& corename, bool has_avx2, bool has_avx512f);

}  // namespace ag
