// main() of every side executable, plus the harness helpers. Usage:
//   bench_<side> [--list] [--samples N] [--sample-ms X] [workload ...]   (no workload = all)
#include "harness.hpp"

#include <dlfcn.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <new>
#include <thread>

namespace bench {
namespace {

struct Entry {
  const char* workload;
  SideFn fn;
};
std::vector<Entry>& entries() {
  static std::vector<Entry> e;
  return e;
}

// Per-thread counter: no atomic cost on the hot path (tiny_graph makes ~30 calls per iteration),
// and no data race when libtorch's OpenMP workers allocate (--threads > 1).
thread_local std::uint64_t g_news = 0;

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

const WorkloadInfo* find_info(const char* name) {
  for (const auto& w : kWorkloads)
    if (std::strcmp(w.name, name) == 0) return &w;
  return nullptr;
}

// The BLAS this process actually loaded (OpenBLAS exports these; absent otherwise).
std::string blas_info() {
  using CoreFn = char* (*)();
  using ThreadsFn = int (*)();
  auto core = reinterpret_cast<CoreFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto threads = reinterpret_cast<ThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!core) return "blas_core=none";
  std::string s = std::string("blas_core=") + core();
  if (threads) s += " blas_threads=" + std::to_string(threads());
  return s;
}

}  // namespace

Registrar::Registrar(const char* workload, SideFn fn) {
  if (!find_info(workload)) {
    std::fprintf(stderr, "bench: BENCH_SIDE(%s) is not listed in kWorkloads\n", workload);
    std::abort();
  }
  entries().push_back({workload, fn});
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::uint64_t cpu_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t minor_faults() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::uint64_t>(ru.ru_minflt);
}

std::uint64_t new_count() { return g_news; }

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t i = static_cast<std::size_t>(pos);
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (pos - static_cast<double>(i)) * (v[i + 1] - v[i]);
}

void fill_uniform(float* p, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = 0; i < n; ++i)  // top 24 bits -> [0, 1) exactly in float, then [-1, 1)
    p[i] = static_cast<float>(splitmix64(seed) >> 40) * 0x1p-24f * 2.0f - 1.0f;
}

void append_checksums(std::vector<double>& out, const float* p, std::size_t n) {
  double s = 0, l1 = 0, w = 0;
  std::uint64_t seed = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = p[i];
    s += x;
    l1 += std::fabs(x);
    w += x * (static_cast<double>(splitmix64(seed) >> 11) * 0x1p-53);
  }
  out.insert(out.end(), {s, l1, w});
}

}  // namespace bench

// ---- counting operator new (all forms funnel into these two) ---------------------------------------
void* operator new(std::size_t n) {
  ++bench::g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t al) {
  ++bench::g_news;
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t al) { return operator new(n, al); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return operator new(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return operator new(n); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  using namespace bench;
  Options opt;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--list") {
      for (const auto& e : entries()) {
        const WorkloadInfo& w = *find_info(e.workload);
        std::printf("%s (%s): %s\n", w.name, w.unit, w.what);
      }
      return 0;
    } else if (a == "--samples" && i + 1 < argc) {
      opt.samples = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--sample-ms" && i + 1 < argc) {
      opt.sample_seconds = std::atof(argv[++i]) * 1e-3;
    } else if (!a.empty() && a[0] != '-') {
      wanted.push_back(a);
    } else {
      std::fprintf(stderr, "usage: %s [--list] [--samples N] [--sample-ms X] [workload ...]\n", argv[0]);
      return 2;
    }
  }
  std::printf("INFO side=%s %s hw_threads=%u", kSide, blas_info().c_str(), std::thread::hardware_concurrency());
  for (const auto& [k, v] : side_info()) std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf("\n");
  std::fflush(stdout);
  int status = 0;
  for (const WorkloadInfo& w : kWorkloads) {  // in the registry's order
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), w.name) == wanted.end()) continue;
    const auto e = std::find_if(entries().begin(), entries().end(),
                                [&](const Entry& x) { return std::strcmp(x.workload, w.name) == 0; });
    if (e == entries().end()) continue;  // this side does not implement it
    try {
      const Result r = e->fn(opt);
      std::printf("RESULT side=%s workload=%s unit=%s ns=%.6g cpu_ns=%.6g news=%.3g faults=%.3g iters=%ld "
                  "samples=%d spread=%.3f rss_kb=%ld", kSide, w.name, w.unit, r.ns_per_iter, r.cpu_ns_per_iter,
                  r.news_per_iter, r.faults_per_iter, r.iters, r.samples, r.spread, peak_rss_kb());
      if (w.flops > 0) std::printf(" flops=%.6g", w.flops);
      std::printf("\n");
      std::printf("CHECK side=%s workload=%s tol=%g values=", kSide, w.name, w.tol);
      for (std::size_t i = 0; i < r.check.size(); ++i) std::printf("%s%.9g", i ? "," : "", r.check[i]);
      std::printf("\n");
    } catch (const std::exception& ex) {
      std::printf("ERROR side=%s workload=%s %s\n", kSide, w.name, ex.what());
      status = 1;
    }
    std::fflush(stdout);
  }
  return status;
}
