// The BLAS start-up check. OpenBLAS 0.3.21 falls back to its generic SSE3 "Prescott" kernels on
// CPUs it does not recognise (GEMM 3-7x slower); OPENBLAS_CORETYPE, read when the library loads,
// is the only fix, so the first matmul says so once on stderr.
#include "ag/blas.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "core/internal.hpp"

// Weak references: null when the linked BLAS is not OpenBLAS (or not BLIS), no link dependency.
extern "C" char* openblas_get_corename(void) __attribute__((weak));
extern "C" char* openblas_get_config(void) __attribute__((weak));
extern "C" const char* bli_info_get_version_str(void) __attribute__((weak));

namespace ag {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// OpenBLAS x86-64 cores without AVX2 GEMM kernels (dynamic.c's names, compared in lower case);
// on an AVX2 CPU one of these means the CPU was not recognised.
bool pre_avx2_core(const std::string& core) {
  static const char* const names[] = {"prescott", "katmai",   "coppermine", "northwood", "banias",
                                      "core2",    "penryn",   "dunnington", "nehalem",   "atom",
                                      "opteron",  "opteron(sse3)", "barcelona", "bobcat", "unknown",
                                      "generic",  "sandybridge", "bulldozer", "piledriver", "steamroller"};
  const std::string c = lower(core);
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return c == n; });
}

}  // namespace

std::string blas_core_advice(const std::string& corename, bool has_avx2, bool has_avx512f) {
  if (!has_avx2 || !pre_avx2_core(corename)) return {};
  const char* fix = has_avx512f ? "SkylakeX" : "Haswell";
  return "tapegrad: OpenBLAS runs its generic '" + corename + "' kernels on this " +
         (has_avx512f ? "AVX-512" : "AVX2") + " CPU (matmul several times slower). Fix: `export " +
         "OPENBLAS_CORETYPE=" + fix + "` before starting the program (TAPEGRAD_NO_BLAS_WARNING=1 hides this).";
}

std::string blas_info() {
  if (openblas_get_config != nullptr) {
    std::string s = openblas_get_config();
    if (openblas_get_corename != nullptr) s += std::string(" (core ") + openblas_get_corename() + ")";
    return s;
  }
  if (bli_info_get_version_str != nullptr) return std::string("BLIS ") + bli_info_get_version_str();
  return "unknown CBLAS";
}

namespace detail {

void check_blas_once() {
  static const bool checked = [] {
    const char* quiet = std::getenv("TAPEGRAD_NO_BLAS_WARNING");
    if ((quiet != nullptr && quiet[0] != '\0' && quiet[0] != '0') || openblas_get_corename == nullptr) return true;
    __builtin_cpu_init();
    const std::string advice = blas_core_advice(openblas_get_corename(), __builtin_cpu_supports("avx2") != 0,
                                                __builtin_cpu_supports("avx512f") != 0);
    if (!advice.empty()) std::fprintf(stderr, "%s\n", advice.c_str());
    return true;
  }();
  (void)checked;
}

}  // namespace detail
}  // namespace ag
