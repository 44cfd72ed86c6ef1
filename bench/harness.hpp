#pragma once
// The benchmark harness shared by every side (tapegrad, libtorch, floor). Each side is its own
// executable: it implements some of the workloads listed in kWorkloads with BENCH_SIDE(name) and
// prints machine-readable lines that bench/run joins:
//   INFO side=<side> <key>=<value> ...
//   RESULT side=<side> workload=<w> unit=<u> ns=<median wall ns/iter> cpu_ns=<median CPU ns/iter>
//          news=<operator new calls/iter> faults=<minor page faults/iter>
//          iters=<iterations per sample> samples=<n> spread=<(p75-p25)/median of the wall times>
//          rss_kb=<peak resident set size of the process so far, getrusage ru_maxrss>
//          [flops=<floating-point operations per iteration, for workloads that declare them>]
//   CHECK side=<side> workload=<w> tol=<t> values=<v0>,<v1>,...
// Adding a workload: one row in kWorkloads, its inputs in bench/workloads.hpp, one BENCH_SIDE
// function per side (a side that lacks it simply reports nothing for it).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bench {

// ---- the workload registry --------------------------------------------------------------------
struct WorkloadInfo {
  const char* name;
  const char* unit;  // unit of the reported per-iteration time: "ns", "us" or "ms"
  double tol;        // checks agree when |x - y| <= tol * (1 + max(|x|, |y|))
  const char* what;  // shown by --list
  double flops = 0;  // floating-point operations per iteration, when meaningful (GFLOP/s is reported)
};
inline constexpr WorkloadInfo kWorkloads[] = {
    {"tiny_graph", "us", 1e-6, "a,b f32[3] requires_grad: y = (a*b + a).sum(); y.backward()"},
    {"matmul_fb", "ms", 1e-4, "A,B f32[512,512]: C = A@B; C.backward(G) (3 GEMMs), 1 thread"},
    {"seed_sgd", "us", 1e-4, "MLP 3-16-1 sigmoid, MSE, plain SGD lr 0.1, one row per step (forward+backward+update)"},
    {"mlp_digits_b32", "us", 1e-5, "MLP 64-128-10 ReLU, softmax CE, SGD momentum 0.9, batch 32, per step"},
    {"mlp_digits_b512", "us", 1e-5, "MLP 64-128-10 ReLU, softmax CE, SGD momentum 0.9, batch 512, per step"},
    {"mlp_mnist_b32", "ms", 1e-5, "MLP 784-256-256-10 ReLU, softmax CE, SGD momentum 0.9, batch 32, per step"},
    {"mlp_mnist_b512", "ms", 1e-5, "MLP 784-256-256-10 ReLU, softmax CE, SGD momentum 0.9, batch 512, per step"},
    {"lenet_b32", "us", 1e-4, "LeNet 1x28x28: conv 6@5x5, ReLU, maxpool 2, conv 16@5x5, ReLU, maxpool 2, 256-120-84-10, CE, SGD momentum 0.9, batch 32, per step"},
    {"lenet_b256", "ms", 1e-4, "LeNet 1x28x28 as lenet_b32, batch 256, per step"},
    {"convdigits_b1", "us", 1e-4, "CNN 1x8x8: conv 16@3x3 pad 1, ReLU, maxpool 2, conv 32@3x3 pad 1, ReLU, maxpool 2, 128-10, CE, SGD momentum 0.9, batch 1, per step"},
    {"convdigits_b64", "us", 1e-4, "CNN 1x8x8 as convdigits_b1, batch 64, per step"},
    // 2·N·Cout·Cin·kh·kw·H·W per pass; forward + input gradient + weight gradient = 3 passes
    {"conv_layer", "ms", 1e-4, "conv2d 64->64 3x3 pad 1 on 16x64x32x32 with bias: forward, backward with a fixed upstream gradient (dx, dW, db), SGD lr 1e-3, per step",
     3.0 * 2 * 16 * 64 * 64 * 9 * 32 * 32},
    {"lstm_h32_t32_b1", "us", 1e-4, "LSTM 1 layer in=hidden=32, seq 32, batch 1: forward + MSE(h_T) + backward + Adam"},
    {"lstm_h128_t64_b32", "ms", 1e-4, "LSTM 1 layer in=hidden=128, seq 64, batch 32: forward + MSE(h_T) + backward + Adam"},
    {"lstm_h512_t32_b64", "ms", 1e-4, "LSTM 1 layer in=hidden=512, seq 32, batch 64: forward + MSE(h_T) + backward + Adam"},
    {"lstm_infer_h32_t32_b1", "us", 1e-4, "LSTM 1 layer in=hidden=32, seq 32, batch 1: the forward over the sequence alone, no grad (inference)"},
    // tapegrad and libtorch only (no hand-written floor)
    {"transformer_b16_t64", "ms", 1e-4, "TransformerEncoder LM: Embedding(64, 128) + sinusoidal positions, 2 post-norm layers (d_model 128, 4 heads, ff 512, ReLU, dropout 0), Linear(128, 64), CE, AdamW; batch 16, seq 64, per step"},
    {"transformer_b1_t16", "us", 1e-4, "TransformerEncoder LM as transformer_b16_t64, batch 1, seq 16, per step"},
};

struct Options {
  int samples = 15;              // timed samples; the median is reported
  double sample_seconds = 0.02;  // target wall time of one sample (iterations are calibrated)
};

struct Result {
  double ns_per_iter = 0;      // median over samples, wall clock
  double cpu_ns_per_iter = 0;  // median over samples, CPU time of the process (all its threads)
  double spread = 0;           // (p75 - p25) / median, wall clock
  double news_per_iter = 0;    // global operator new calls per iteration
  double faults_per_iter = 0;  // minor page faults per iteration (fresh memory touched)
  long iters = 0;              // iterations per sample
  int samples = 0;
  std::vector<double> check;   // loss, gradients or checksums, compared across sides
};

using SideFn = Result (*)(const Options&);
struct Registrar {
  Registrar(const char* workload, SideFn fn);
};

#define BENCH_SIDE(workload)                                                                \
  static ::bench::Result bench_side_##workload(const ::bench::Options&);                    \
  static const ::bench::Registrar bench_reg_##workload(#workload, bench_side_##workload);  \
  static ::bench::Result bench_side_##workload(const ::bench::Options& opt)

// Each side's translation unit defines its name and may add INFO key=value pairs.
extern const char* const kSide;
std::vector<std::pair<std::string, std::string>> side_info();

// ---- timing -----------------------------------------------------------------------------------
std::uint64_t now_ns();      // wall clock (steady)
std::uint64_t cpu_now_ns();  // CPU time consumed by this process
std::uint64_t minor_faults();  // minor page faults of this process so far
// operator new calls so far on the calling thread (the replaced operator new in harness.cpp counts
// per thread: the timed loops run on the main thread; BLAS/OpenMP workers are not counted)
std::uint64_t new_count();
long peak_rss_kb();  // getrusage ru_maxrss: the process's peak resident set so far, KiB
double quantile(std::vector<double> v, double q);  // linear interpolation, v non-empty

// Median ns per call of `step` over opt.samples samples, each running `iters` calls back to back;
// `iters` is calibrated so that a sample lasts about opt.sample_seconds. A short warm-up first.
template <class F> Result time_it(F&& step, const Options& opt) {
  for (int i = 0; i < 3; ++i) step();
  long iters = 1;
  for (;;) {  // calibrate
    const std::uint64_t t0 = now_ns();
    for (long i = 0; i < iters; ++i) step();
    const double s = static_cast<double>(now_ns() - t0) * 1e-9;
    if (s >= opt.sample_seconds || iters >= (1L << 30)) break;
    const double want = s > 0 ? opt.sample_seconds / s * static_cast<double>(iters) * 1.1
                              : static_cast<double>(iters) * 10;
    iters = std::max(iters * 2, static_cast<long>(std::min(want, 1e9)));
  }
  std::vector<double> per_iter, cpu_per_iter;
  std::uint64_t news = 0;
  const std::uint64_t f0 = minor_faults();
  for (int k = 0; k < opt.samples; ++k) {
    const std::uint64_t n0 = new_count();
    const std::uint64_t c0 = cpu_now_ns();
    const std::uint64_t t0 = now_ns();
    for (long i = 0; i < iters; ++i) step();
    const std::uint64_t t1 = now_ns();
    const std::uint64_t c1 = cpu_now_ns();
    news += new_count() - n0;
    per_iter.push_back(static_cast<double>(t1 - t0) / static_cast<double>(iters));
    cpu_per_iter.push_back(static_cast<double>(c1 - c0) / static_cast<double>(iters));
  }
  Result r;
  r.iters = iters;
  r.samples = opt.samples;
  const double total = static_cast<double>(iters) * opt.samples;
  r.news_per_iter = static_cast<double>(news) / total;
  r.faults_per_iter = static_cast<double>(minor_faults() - f0) / total;
  r.ns_per_iter = quantile(per_iter, 0.5);
  r.cpu_ns_per_iter = quantile(cpu_per_iter, 0.5);
  r.spread = (quantile(per_iter, 0.75) - quantile(per_iter, 0.25)) / r.ns_per_iter;
  return r;
}

// Keeps the compiler from dropping or hoisting work on memory it cannot see through.
inline void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }
inline void clobber() { asm volatile("" : : : "memory"); }

// ---- inputs and checks shared by every side -------------------------------------------------------
// Deterministic values uniform in [-1, 1) from a seed (splitmix64), identical on every side.
void fill_uniform(float* p, std::size_t n, std::uint64_t seed);
// Checksums of a float array, in double: {Σx, Σ|x|, Σ wᵢxᵢ} with fixed pseudo-random wᵢ, so that
// misplaced elements change the third value.
void append_checksums(std::vector<double>& out, const float* p, std::size_t n);

}  // namespace bench
