// malloc tuning (autograd/src/malloc_tuning.cpp): a buffer freed and allocated again each training
// step is reused from the heap instead of being page-faulted in again.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include "ag/ag.hpp"

namespace {
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// the sanitizers replace malloc: mallopt has no effect there
#else
TEST_CASE("memory: freed 4 MiB step buffers are reused without page faults") {
  ag::Tensor w = ag::ones({2}, ag::f32, true);
  ag::sum(ag::mul(w, w)).backward();  // the tape exists: the tuning has run
  const std::size_t n = std::size_t(1) << 20;  // 4 MiB of float: an mmap with glibc's defaults
  auto step = [&] {
    ag::Tensor a = ag::full({n}, 1.0, ag::f32);  // touches every page
    return a.value<float>()(n - 1);
  };
  step();
  const long before = minor_faults();
  float s = 0;
  for (int i = 0; i < 20; ++i) s += step();
  const long faults = minor_faults() - before;
  CHECK(s == 20.0f);
  // untuned: ~1024 faults per step (4 MiB / 4 KiB pages), 20k in all
  CHECK(faults < 200);
}
#endif
