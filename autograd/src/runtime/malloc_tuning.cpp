// glibc malloc settings for training loops (called once, when the first tape is created).
//
// A training step frees its activations and gradients and allocates the same sizes again in the
// next step. With glibc's defaults, blocks of 128 KiB and more come from fresh mmaps (the dynamic
// threshold only rises after such a block is freed), and free memory at the top of the heap above
// M_TRIM_THRESHOLD goes back to the OS: either way the next step page-faults its buffers in again
// (bench/RESULTS.md: 236-480 faults per step, ~20-45% of a batch-512 MLP step). Keeping up to
// 256 MiB of freed heap and serving blocks up to 32 MiB from the heap removes those faults; the
// cost is that freed memory stays with the process (its peak RSS does not change).
// Opt out with TAPEGRAD_MALLOC_TUNING=0; settings the user made through the environment win.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ag::detail {

bool tune_malloc() noexcept {
#if defined(__GLIBC__)
  const char* opt = std::getenv("TAPEGRAD_MALLOC_TUNING");
  if (opt && std::strcmp(opt, "0") == 0) return false;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if ((tunables && std::strstr(tunables, "malloc")) || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
      std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_"))
    return false;
  const bool trim = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  const bool mmap = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;  // glibc's maximum on 64-bit
  return trim && mmap;
#else
  return false;
#endif
}

}  // namespace ag::detail
