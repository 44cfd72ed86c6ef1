// bench_matmul: OpenBLAS's cblas_sgemm against oneDNN's matmul primitive on the matrix products
// the bench workloads' Dense and LSTM layers run (issue 22: is oneDNN worth a matmul backend, per
// shape class?). Plain C++ against both libraries; it does not link tapegrad.
//
// float32, row-major. For every layer the products of one training step, in tapegrad's layouts:
//   Dense (W [in, out]):                forward Y = X·W, dX = G·Wᵀ, dW = Xᵀ·G
//   LSTM  (W [4H, in], PyTorch layout): forward Y = X·Wᵀ, dX = G·W,  dW = Gᵀ·X
// where X [M, in] is the layer input (M = batch, or T·batch for the LSTM's input projection, which
// tapegrad runs as one product over the whole sequence) and G [M, out] the upstream gradient.
// dX is left out where the layer input is data (the first Dense of an MLP, the LSTM input
// projection): tapegrad does not compute it there. Transposes are strides / cblas flags, never copies.
//
// Each product is first checked: the two backends' results must agree (max |a - b| / max |a|) and
// 64 sampled entries of each must match a double-precision dot product. Then each backend is timed
// in samples of >= --min-ms ms (the call repeated as often as needed), alternating which backend
// goes first; the median per call is reported with GFLOP/s = 2·M·N·K / t. oneDNN's primitive is
// created once outside the timed loop (as a library caches it); every timed call sets the three
// memories' data handles and executes, which is what a cached-primitive backend would do per call.
// The reference peak is a 2048³ sgemm on each backend.
//
//   bench_matmul [--samples N] [--min-ms MS] [--clock cpu|wall] [--peak N] [--no-peak]
//
// Threads come from the environment (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS: set them; bench/run
// --matmul does). --clock cpu (the default when both are 1) is the process's CPU time, which stays
// meaningful while other processes load the machine; wall is elapsed time.
#include <cblas.h>
#include <dlfcn.h>
#include <unistd.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "workloads.hpp"

namespace {

// ---- the products ---------------------------------------------------------------------------------
// C [M, N] = op(A)·op(B); A is stored [M, K] (or [K, M] when ta), B [K, N] (or [N, K] when tb).
struct Gemm {
  std::string workloads;  // the workloads (and layer) that run it
  std::string product;    // "fwd", "dX", "dW"
  std::size_t M, K, N;
  bool ta, tb;
  double flops() const { return 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K); }
};

// Shape classes by work per call: below 1 MFLOP a call is dominated by per-call overhead (packing
// set-up, dispatch), above 50 MFLOP by the kernel's throughput.
const char* shape_class(const Gemm& g) {
  const double f = g.flops();
  return f < 1e6 ? "tiny" : f < 50e6 ? "medium" : "large";
}
const char* const kClasses[] = {"tiny", "medium", "large"};
const char* class_help(const std::string& c) {
  return c == "tiny" ? "< 1 MFLOP per call: small batches, overhead-bound"
         : c == "medium" ? "1-50 MFLOP per call"
                         : ">= 50 MFLOP per call: large batches, throughput-bound";
}

void add_unique(std::vector<Gemm>& out, Gemm g) {
  for (Gemm& e : out)
    if (e.M == g.M && e.K == g.K && e.N == g.N && e.ta == g.ta && e.tb == g.tb) {
      e.workloads += ", " + g.workloads;
      return;
    }
  out.push_back(std::move(g));
}

// A Dense layer in -> out at batch B (W [in, out]); need_dx: the layer input requires a gradient.
void dense(std::vector<Gemm>& out, const std::string& who, std::size_t B, std::size_t in, std::size_t o, bool need_dx) {
  const std::string w = who + " " + std::to_string(in) + "→" + std::to_string(o);
  add_unique(out, {w, "fwd", B, in, o, false, false});    // X [B, in]·W [in, out]
  if (need_dx) add_unique(out, {w, "dX", B, o, in, false, true});  // G [B, out]·Wᵀ
  add_unique(out, {w, "dW", in, B, o, true, false});      // Xᵀ [in, B]·G [B, out]
}

// An LSTM weight W [4H, in] applied to M rows (PyTorch's layout, which tapegrad's LSTM keeps).
void lstm_weight(std::vector<Gemm>& out, const std::string& who, std::size_t M, std::size_t in, std::size_t G,
                 bool need_dx) {
  add_unique(out, {who, "fwd", M, in, G, false, true});   // X [M, in]·Wᵀ
  if (need_dx) add_unique(out, {who, "dX", M, G, in, false, false});  // G [M, 4H]·W [4H, in]
  add_unique(out, {who, "dW", G, M, in, true, false});    // Gᵀ [4H, M]·X [M, in]
}

std::vector<Gemm> workload_gemms() {
  using namespace bench;
  std::vector<Gemm> g;
  const struct {
    const char* name;
    mlp::Spec spec;
  } mlps[] = {{"mlp_digits_b32", mlp::digits(32)},
              {"mlp_digits_b512", mlp::digits(512)},
              {"mlp_mnist_b32", mlp::mnist(32)},
              {"mlp_mnist_b512", mlp::mnist(512)}};
  for (const auto& m : mlps)
    for (std::size_t l = 0; l + 1 < m.spec.sizes.size(); ++l)
      dense(g, m.name, m.spec.batch, m.spec.sizes[l], m.spec.sizes[l + 1], l > 0);
  const struct {
    const char* name;
    cnn::Spec spec;
  } cnns[] = {{"lenet_b32", cnn::lenet(32)}, {"lenet_b256", cnn::lenet(256)}};
  for (const auto& c : cnns) {
    std::size_t ch = c.spec.channels, h = c.spec.height, w = c.spec.width;  // as cnn::make_init
    for (const auto& cs : c.spec.convs) {
      ch = cs.out;
      h = (h + 2 * cs.pad - cs.k + 1) / 2;
      w = (w + 2 * cs.pad - cs.k + 1) / 2;
    }
    std::vector<std::size_t> sizes{ch * h * w};
    sizes.insert(sizes.end(), c.spec.dense.begin(), c.spec.dense.end());
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) dense(g, c.name, c.spec.batch, sizes[l], sizes[l + 1], true);
  }
  const struct {
    const char* name;
    lstm::Spec spec;
  } lstms[] = {{"lstm_h32_t32_b1", lstm::h32_t32_b1()},
               {"lstm_h128_t64_b32", lstm::h128_t64_b32()},
               {"lstm_h512_t32_b64", lstm::h512_t32_b64()}};
  for (const auto& l : lstms) {
    const std::size_t H = l.spec.hidden, G = 4 * H;  // input size = H in these workloads
    lstm_weight(g, std::string(l.name) + " x·W_ihᵀ", l.spec.seq * l.spec.batch, H, G, false);
    lstm_weight(g, std::string(l.name) + " h·W_hhᵀ", l.spec.batch, H, G, true);
  }
  return g;
}

// ---- inputs ---------------------------------------------------------------------------------------
void fill(std::vector<float>& v, std::uint64_t seed) {  // splitmix64 -> uniform in [-1, 1)
  std::uint64_t s = seed;
  for (float& e : v) {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    e = static_cast<float>(static_cast<double>(z >> 40) / 8388608.0 - 1.0);
  }
}

// ---- the two backends -----------------------------------------------------------------------------
struct Buffers {
  std::vector<float> a, b, c_blas, c_dnnl;
  explicit Buffers(const Gemm& g) : a(g.M * g.K), b(g.K * g.N), c_blas(g.M * g.N), c_dnnl(g.M * g.N) {
    fill(a, 1 + g.M * 7 + g.K);
    fill(b, 2 + g.N * 13 + g.K);
  }
};

void run_blas(const Gemm& g, const float* a, const float* b, float* c) {
  const auto M = static_cast<int>(g.M), N = static_cast<int>(g.N), K = static_cast<int>(g.K);
  cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a,
              g.ta ? M : K, b, g.tb ? K : N, 0.0f, c, N);
}

struct Dnnl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream s{eng};
  dnnl::matmul prim;
  dnnl::memory ma, mb, mc;
  std::unordered_map<int, dnnl::memory> args;
  std::string impl;
  explicit Dnnl(const Gemm& g) {
    using dims = dnnl::memory::dims;
    const auto M = static_cast<dnnl::memory::dim>(g.M), K = static_cast<dnnl::memory::dim>(g.K),
               N = static_cast<dnnl::memory::dim>(g.N);
    const auto f32 = dnnl::memory::data_type::f32;
    // Logical [M, K]·[K, N] -> [M, N]; a transposed operand is the same buffer read with swapped strides.
    const dnnl::memory::desc da(dims{M, K}, f32, g.ta ? dims{1, M} : dims{K, 1});
    const dnnl::memory::desc db(dims{K, N}, f32, g.tb ? dims{1, K} : dims{N, 1});
    const dnnl::memory::desc dc(dims{M, N}, f32, dims{N, 1});
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(da, db, dc), eng);
    impl = pd.impl_info_str();
    prim = dnnl::matmul(pd);
    ma = dnnl::memory(da, eng, DNNL_MEMORY_NONE);
    mb = dnnl::memory(db, eng, DNNL_MEMORY_NONE);
    mc = dnnl::memory(dc, eng, DNNL_MEMORY_NONE);
    args = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  }
  void run(const float* a, const float* b, float* c) {
    ma.set_data_handle(const_cast<float*>(a));
    mb.set_data_handle(const_cast<float*>(b));
    mc.set_data_handle(c);
    prim.execute(s, args);
    s.wait();
  }
};

// ---- checks ---------------------------------------------------------------------------------------
double max_rel_diff(const std::vector<float>& x, const std::vector<float>& y) {
  double scale = 0, d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(x[i])));
    d = std::max(d, std::fabs(static_cast<double>(x[i]) - static_cast<double>(y[i])));
  }
  return scale > 0 ? d / scale : d;
}

// The largest error of 64 sampled entries of c against a double dot product, relative to the
// largest |c|: catches a transpose read the wrong way by both backends alike.
double sampled_error(const Gemm& g, const Buffers& in, const std::vector<float>& c) {
  double scale = 0, err = 0;
  for (float v : c) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  std::uint64_t s = 12345;
  for (int t = 0; t < 64; ++t) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const std::size_t i = (s >> 33) % g.M, j = (s >> 11) % g.N;
    double ref = 0;
    for (std::size_t k = 0; k < g.K; ++k)
      ref += static_cast<double>(in.a[g.ta ? k * g.M + i : i * g.K + k]) *
             static_cast<double>(in.b[g.tb ? j * g.K + k : k * g.N + j]);
    err = std::max(err, std::fabs(ref - static_cast<double>(c[i * g.N + j])));
  }
  return scale > 0 ? err / scale : err;
}

// ---- timing ---------------------------------------------------------------------------------------
bool g_cpu_clock = true;
double now_s() {
  if (g_cpu_clock) {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double per_call(F&& f, long reps) {
  const double t0 = now_s();
  for (long r = 0; r < reps; ++r) f();
  return (now_s() - t0) / static_cast<double>(reps);
}

// Calls per sample so that one sample takes >= min_s.
template <class F>
long calibrate(F&& f, double min_s) {
  for (int i = 0; i < 3; ++i) f();  // warm-up: caches, lazily allocated scratch
  long reps = 1;
  for (;;) {
    const double t = per_call(f, reps) * static_cast<double>(reps);
    if (t >= min_s) return reps;
    reps = t <= 0 ? reps * 10 : std::max(reps + 1, static_cast<long>(std::ceil(reps * 1.2 * min_s / t)));
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Timing {
  double blas_s, dnnl_s;            // median
  double blas_best_s, dnnl_best_s;  // fastest sample
};

// Median (and fastest) seconds per call of each backend; the samples alternate which backend runs first, so
// both see the same machine conditions.
template <class FB, class FD>
Timing time_pair(FB&& fb, FD&& fd, int samples, double min_s) {
  const long rb = calibrate(fb, min_s), rd = calibrate(fd, min_s);
  std::vector<double> tb, td;
  for (int s = 0; s < samples; ++s) {
    if (s % 2 == 0) {
      tb.push_back(per_call(fb, rb));
      td.push_back(per_call(fd, rd));
    } else {
      td.push_back(per_call(fd, rd));
      tb.push_back(per_call(fb, rb));
    }
  }
  return {median(tb), median(td), *std::min_element(tb.begin(), tb.end()), *std::min_element(td.begin(), td.end())};
}

// ---- the machine ----------------------------------------------------------------------------------
std::string cpuinfo_field(const char* key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) {
      const auto p = line.find(':');
      return p == std::string::npos ? "" : line.substr(p + 2);
    }
  return "";
}
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? (*v ? v : "(empty)") : fallback;
}
const char* isa_name(dnnl::cpu_isa i) {
  using isa = dnnl::cpu_isa;
  return i == isa::avx512_core_amx    ? "avx512_core_amx"
         : i == isa::avx512_core_bf16 ? "avx512_core_bf16"
         : i == isa::avx512_core_vnni ? "avx512_core_vnni"
         : i == isa::avx512_core      ? "avx512_core"
         : i == isa::avx2_vnni        ? "avx2_vnni"
         : i == isa::avx2             ? "avx2"
         : i == isa::avx              ? "avx"
         : i == isa::sse41            ? "sse41"
                                      : "other";
}

void print_machine(const char* clock) {
  // OpenBLAS exports these; looked up at run time so that another CBLAS still links.
  using StrFn = char* (*)();
  using IntFn = int (*)();
  auto core = reinterpret_cast<StrFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto config = reinterpret_cast<StrFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto threads = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto omp = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  const std::string flags = cpuinfo_field("flags");
  const bool avx512 = flags.find(" avx512f") != std::string::npos, avx2 = flags.find(" avx2") != std::string::npos;
  const dnnl_version_t* v = dnnl_version();
  std::printf("CPU: %s (family %s, model %s; %s)\n", cpuinfo_field("model name").c_str(),
              cpuinfo_field("cpu family").c_str(), cpuinfo_field("model\t").c_str(),
              avx512 ? "avx512f" : avx2 ? "avx2" : "no avx2");
  std::printf("OpenBLAS: core %s, config \"%s\", threads %s; OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n",
              core ? core() : "na (not OpenBLAS)", config ? config() : "na",
              threads ? std::to_string(threads()).c_str() : "na", env_or("OPENBLAS_CORETYPE", "unset").c_str(),
              env_or("OPENBLAS_L2_SIZE", "unset").c_str());
  std::printf("oneDNN: %d.%d.%d (%s), effective ISA %s, OpenMP threads %s; DNNL_MAX_CPU_ISA=%s\n", v->major, v->minor,
              v->patch, v->hash, isa_name(dnnl::get_effective_cpu_isa()),
              omp ? std::to_string(omp()).c_str() : "na", env_or("DNNL_MAX_CPU_ISA", "unset").c_str());
  std::printf("Threads: OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s; clock: %s time\n",
              env_or("OPENBLAS_NUM_THREADS", "unset").c_str(), env_or("OMP_NUM_THREADS", "unset").c_str(), clock);
}

std::string fmt_num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
  return b;
}

struct Row {
  Gemm g;
  std::string cls, impl;
  double diff, blas_us, dnnl_us;
  double speedup() const { return blas_us / dnnl_us; }  // > 1: oneDNN faster
};

double geomean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::log(x);
  return v.empty() ? 0 : std::exp(s / static_cast<double>(v.size()));
}

// One line per set of rows: how the speed-ups spread and what the verdict is. A gain counts as
// real when the geometric mean speed-up is >= 1.10 and no row is slower (or the reverse for OpenBLAS).
std::string verdict(const std::vector<double>& sp) {
  const double gm = geomean(sp), lo = *std::min_element(sp.begin(), sp.end()),
               hi = *std::max_element(sp.begin(), sp.end());
  if (gm >= 1.10 && lo >= 1.0) return "oneDNN (>10% faster, consistently)";
  if (gm <= 1 / 1.10 && hi <= 1.0) return "OpenBLAS (oneDNN >10% slower, consistently)";
  return "no consistent >10% gain: keep OpenBLAS";
}

void summarize(const char* label, const std::vector<const Row*>& rows, double peak) {
  if (rows.empty()) return;
  std::vector<double> sp, gb, gd;
  int faster = 0, slower = 0;
  for (const Row* r : rows) {
    sp.push_back(r->speedup());
    gb.push_back(r->g.flops() / r->blas_us * 1e-3);
    gd.push_back(r->g.flops() / r->dnnl_us * 1e-3);
    faster += r->speedup() >= 1.10;
    slower += r->speedup() <= 1 / 1.10;
  }
  std::printf("- %s: %zu products; oneDNN speed-up geomean %.2fx [%.2f, %.2f]; oneDNN >=10%% faster in %d, "
              ">=10%% slower in %d; median GFLOP/s OpenBLAS %s, oneDNN %s (%.0f%% / %.0f%% of peak %s) -> %s\n",
              label, rows.size(), geomean(sp), *std::min_element(sp.begin(), sp.end()),
              *std::max_element(sp.begin(), sp.end()), faster, slower, fmt_num(median(gb)).c_str(),
              fmt_num(median(gd)).c_str(), 100 * median(gb) / peak, 100 * median(gd) / peak, fmt_num(peak).c_str(),
              verdict(sp).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 9, peak_n = 2048;
  double min_ms = 20;
  std::string clock;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--samples" && i + 1 < argc) samples = std::atoi(argv[++i]);
    else if (a == "--min-ms" && i + 1 < argc) min_ms = std::atof(argv[++i]);
    else if (a == "--clock" && i + 1 < argc) clock = argv[++i];
    else if (a == "--peak" && i + 1 < argc) peak_n = std::atoi(argv[++i]);
    else if (a == "--no-peak") peak_n = 0;
    else {
      std::fprintf(stderr,
                   "usage: bench_matmul [--samples N] [--min-ms MS] [--clock cpu|wall] [--peak N] [--no-peak]\n");
      return 2;
    }
  }
  if (samples < 1 || min_ms <= 0 || peak_n < 0) {
    std::fprintf(stderr, "bench_matmul: --samples, --min-ms and --peak take positive numbers\n");
    return 2;
  }
  if (clock.empty()) {  // CPU time sums all threads: only meaningful for one thread
    const std::string bt = env_or("OPENBLAS_NUM_THREADS", "1"), ot = env_or("OMP_NUM_THREADS", "1");
    clock = bt == "1" && ot == "1" ? "cpu" : "wall";
  }
  if (clock != "cpu" && clock != "wall") {
    std::fprintf(stderr, "bench_matmul: --clock takes cpu or wall\n");
    return 2;
  }
  g_cpu_clock = clock == "cpu";
  const double min_s = min_ms * 1e-3;

  std::printf("# OpenBLAS sgemm vs oneDNN matmul (float32, row-major)\n\n");
  print_machine(clock.c_str());
  std::printf("Timing: median of %d samples of >= %g ms each, per call; GFLOP/s = 2·M·N·K / time\n\n", samples,
              min_ms);

  double peak = 0;
  if (peak_n > 0) {
    const auto n = static_cast<std::size_t>(peak_n);
    const Gemm sq{"reference", "fwd", n, n, n, false, false};
    Buffers in(sq);
    Dnnl d(sq);
    const Timing t = time_pair([&] { run_blas(sq, in.a.data(), in.b.data(), in.c_blas.data()); },
                               [&] { d.run(in.a.data(), in.b.data(), in.c_dnnl.data()); }, samples, min_s);
    const double gb = sq.flops() / t.blas_s * 1e-9, gd = sq.flops() / t.dnnl_s * 1e-9;
    const double bb = sq.flops() / t.blas_best_s * 1e-9, bd = sq.flops() / t.dnnl_best_s * 1e-9;
    // The peak is the best sample: on a shared machine the median of a 0.1 s call is often slowed.
    peak = std::max(bb, bd);
    std::printf("Peak (%d³ sgemm, max rel diff %.1e): OpenBLAS %s GFLOP/s (best sample %s), oneDNN %s GFLOP/s (best "
                "%s; %s); reference peak %s GFLOP/s (products that stay in cache can exceed it)\n\n",
                peak_n, max_rel_diff(in.c_blas, in.c_dnnl), fmt_num(gb).c_str(), fmt_num(bb).c_str(),
                fmt_num(gd).c_str(), fmt_num(bd).c_str(), d.impl.c_str(), fmt_num(peak).c_str());
  }

  std::vector<Row> rows;
  bool ok = true;
  const bool progress = isatty(2);
  for (const Gemm& g : workload_gemms()) {
    Buffers in(g);
    Dnnl d(g);
    run_blas(g, in.a.data(), in.b.data(), in.c_blas.data());
    d.run(in.a.data(), in.b.data(), in.c_dnnl.data());
    const double diff = max_rel_diff(in.c_blas, in.c_dnnl);
    const double err = std::max(sampled_error(g, in, in.c_blas), sampled_error(g, in, in.c_dnnl));
    if (!(diff <= 1e-5) || !(err <= 1e-5)) {
      std::fprintf(stderr, "bench_matmul: %s %s %zux%zux%zu: the backends disagree (max rel diff %.2e, error vs "
                   "double %.2e)\n", g.workloads.c_str(), g.product.c_str(), g.M, g.K, g.N, diff, err);
      ok = false;
      continue;
    }
    const Timing t = time_pair([&] { run_blas(g, in.a.data(), in.b.data(), in.c_blas.data()); },
                               [&] { d.run(in.a.data(), in.b.data(), in.c_dnnl.data()); }, samples, min_s);
    rows.push_back({g, shape_class(g), d.impl, diff, t.blas_s * 1e6, t.dnnl_s * 1e6});
    if (progress) std::fprintf(stderr, "bench_matmul: %zu products timed\r", rows.size());
  }
  if (progress) std::fprintf(stderr, "\n");
  if (peak <= 0)  // --no-peak: the best rate seen stands in
    for (const Row& r : rows) peak = std::max({peak, r.g.flops() / r.blas_us * 1e-3, r.g.flops() / r.dnnl_us * 1e-3});

  std::printf("| class | workloads (layer) | product | M×K×N | OpenBLAS µs | oneDNN µs | OpenBLAS GFLOP/s | oneDNN "
              "GFLOP/s | oneDNN speed-up | max rel diff | oneDNN impl |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const char* c : kClasses)
    for (const Row& r : rows) {
      if (r.cls != c) continue;
      std::printf("| %s | %s | %s%s | %zu×%zu×%zu | %s | %s | %s | %s | %.2fx | %.0e | %s |\n", c,
                  r.g.workloads.c_str(), r.g.product.c_str(),
                  r.g.ta ? " (Aᵀ)" : r.g.tb ? " (Bᵀ)" : "", r.g.M, r.g.K, r.g.N, fmt_num(r.blas_us).c_str(),
                  fmt_num(r.dnnl_us).c_str(), fmt_num(r.g.flops() / r.blas_us * 1e-3).c_str(),
                  fmt_num(r.g.flops() / r.dnnl_us * 1e-3).c_str(), r.speedup(), r.diff, r.impl.c_str());
    }

  std::printf("\nSpeed-up = OpenBLAS time / oneDNN time (> 1: oneDNN faster). Per shape class, and per product "
              "within it:\n");
  for (const char* c : kClasses) {
    std::vector<const Row*> in_class;
    for (const Row& r : rows)
      if (r.cls == c) in_class.push_back(&r);
    summarize((std::string(c) + " (" + class_help(c) + ")").c_str(), in_class, peak);
    for (const char* p : {"fwd", "dX", "dW"}) {
      std::vector<const Row*> sub;
      for (const Row* r : in_class)
        if (r->g.product == p) sub.push_back(r);
      summarize(("  " + std::string(c) + " " + p).c_str(), sub, peak);
    }
  }
  std::printf("\nVerdict (a gain is real when the geometric-mean speed-up is >= 1.10 and no product of the set is "
              "slower):\n");
  for (const char* c : kClasses) {
    std::string line;
    for (const char* p : {"", "fwd", "dX", "dW"}) {
      std::vector<double> sp;
      for (const Row& r : rows)
        if (r.cls == c && (!*p || r.g.product == p)) sp.push_back(r.speedup());
      if (sp.empty()) continue;
      char b[160];
      std::snprintf(b, sizeof b, "%s%s: %s (%.2fx)", *p ? "; " : "", *p ? p : "all", verdict(sp).c_str(), geomean(sp));
      line += b;
    }
    if (!line.empty()) std::printf("VERDICT %s: %s\n", c, line.c_str());
  }
  return ok ? 0 : 1;
}
