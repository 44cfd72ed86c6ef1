// Data-parallel strong scaling (issue 20): one training step of a fixed global batch, split over the
// ranks of dist::world() (1 process alone; mpirun -np 2 for 2). Rank 0 prints one line per workload:
//   DIST workload=<w> ranks=<n> blas_threads=<t> ms_per_step=<median> comm_ms_per_step=<median>
//        grad_bytes=<bytes all-reduced per step>
// bench/run --dist runs it as 1 process × 1 thread, 2 processes × 1 thread and 1 process × 2
// threads and prints the efficiency E(2) = T1 / (2·T2).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <ag/ag.hpp>
#include <ag/nn.hpp>
#include <ag/profiler.hpp>

namespace nn = ag::nn;
namespace dist = ag::nn::dist;

namespace {

struct Workload {
  std::string name;
  std::size_t batch;  // global
  std::function<std::shared_ptr<nn::Sequential>(ag::Generator&)> model;
  ag::Shape row;  // one input row
};

std::vector<Workload> workloads() {
  return {
      {"mlp_mnist_b512", 512,
       [](ag::Generator& g) {
         return std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(784, 256, g), std::make_shared<nn::ReLU>(),
                                                 std::make_shared<nn::Dense>(256, 256, g), std::make_shared<nn::ReLU>(),
                                                 std::make_shared<nn::Dense>(256, 10, g));
       },
       {784}},
      {"lenet_b256", 256,
       [](ag::Generator& g) {
         return std::make_shared<nn::Sequential>(
             std::make_shared<nn::Conv2d>(1, 6, ag::Ints<2>(5), g), std::make_shared<nn::ReLU>(),
             std::make_shared<nn::MaxPool2d>(ag::Ints<2>(2)), std::make_shared<nn::Conv2d>(6, 16, ag::Ints<2>(5), g),
             std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(ag::Ints<2>(2)),
             std::make_shared<nn::Flatten>(), std::make_shared<nn::Dense>(256, 120, g), std::make_shared<nn::ReLU>(),
             std::make_shared<nn::Dense>(120, 84, g), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dense>(84, 10, g));
       },
       {1, 28, 28}},
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run(dist::Communicator& comm, const Workload& w, int samples) {
  ag::Generator g(1);
  auto model = w.model(g);
  dist::DataParallel dp(*model, comm);
  nn::SGD opt(model->parameters(), 0.01);
  // This rank's rows of one fixed global batch (the same data every step: the bench times the step).
  const std::size_t n = static_cast<std::size_t>(comm.size()), r = static_cast<std::size_t>(comm.rank());
  const std::size_t lo = w.batch * r / n, hi = w.batch * (r + 1) / n;
  ag::Shape xs{hi - lo};
  xs.insert(xs.end(), w.row.begin(), w.row.end());
  ag::Generator data(100 + r);
  const ag::Tensor x = ag::randn(xs, data);
  std::vector<std::int64_t> labels(hi - lo);
  for (auto& l : labels) l = static_cast<std::int64_t>(data.below(10));
  const ag::Tensor y = ag::from_vector(labels, {hi - lo});
  auto step = [&] {
    opt.zero_grad();
    ag::Tensor loss = nn::cross_entropy((*model)(x), y);
    loss.backward();
    dp.reduce_gradients(hi - lo);
    opt.step();
  };
  for (int i = 0; i < 3; ++i) step();
  if (std::getenv("TAPEGRAD_BENCH_PROFILE") && comm.rank() == 0) {  // where a step's time goes
    ag::Profiler prof;
    for (int i = 0; i < 3; ++i) step();
    prof.stop();
    std::fprintf(stderr, "PROFILE %s (3 steps)\n%s\n", w.name.c_str(), prof.table().c_str());
  }
  // steps per sample: about 0.3 s, the same count on every rank (rank 0 decides)
  comm.barrier();
  auto t0 = std::chrono::steady_clock::now();
  step();
  double one = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  comm.broadcast(&one, sizeof one, 0);
  const int iters = std::max(1, static_cast<int>(0.3 / std::max(one, 1e-6)));
  std::vector<double> ms, comm_ms;
  for (int s = 0; s < samples; ++s) {
    comm.barrier();
    const double c0 = dp.communication_seconds();
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) step();
    comm.barrier();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ms.push_back(1e3 * t / iters);
    comm_ms.push_back(1e3 * (dp.communication_seconds() - c0) / iters);
  }
  std::size_t bytes = 0;
  for (const ag::Tensor& p : model->parameters()) bytes += p.numel() * 4;
  const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
  if (comm.rank() == 0)
    std::printf("DIST workload=%s ranks=%d blas_threads=%s backend=%s ms_per_step=%.4g comm_ms_per_step=%.4g "
                "grad_bytes=%zu\n",
                w.name.c_str(), comm.size(), threads ? threads : "?", comm.backend().c_str(), median(ms), median(comm_ms),
                bytes);
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 7;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--samples") == 0 && i + 1 < argc) samples = std::max(1, std::atoi(argv[++i]));
    else only.push_back(argv[i]);
  }
  dist::run(dist::world(), [&](dist::Communicator& comm) {
    for (const Workload& w : workloads())
      if (only.empty() || std::find(only.begin(), only.end(), w.name) != only.end()) run(comm, w, samples);
  });
  return 0;
}
