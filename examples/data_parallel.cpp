// Data-parallel training with fit: the same program runs alone, under mpirun (one process per
// rank), or as a local world of threads (--threads N). Compared with single-process training, two
// lines change: the communicator in FitOptions, and a per-rank batch size.
//
//   ./data_parallel                       one process
//   mpirun -np 2 ./data_parallel          two processes (needs tapegrad built with MPI)
//   ./data_parallel --threads 3           three ranks as threads of this process
//
// Exits non-zero when the test accuracy misses its bar or when the ranks disagree on it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <ag/nn.hpp>

namespace nn = ag::nn;
namespace dist = ag::nn::dist;

namespace {

// Three Gaussian blobs in 4-D, 600 rows; rows 0..479 train, the rest test.
nn::Dataset blobs(std::size_t n, std::uint64_t seed) {
  ag::Generator g(seed);
  ag::Tensor centres({{2.0, 0.0, 0.0, 1.0}, {-1.0, 2.0, 0.0, -1.0}, {-1.0, -2.0, 1.0, 0.0}});
  std::vector<std::int64_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<std::int64_t>(g.below(3));
  ag::Tensor y = ag::from_vector(labels, {n});
  ag::Tensor x = ag::index_select(centres, 0, std::vector<std::size_t>(labels.begin(), labels.end())) +
                 0.8 * ag::randn({n, 4}, g);
  return nn::Dataset(x, y);
}

int train(dist::Communicator& comm) {
  const nn::Dataset all = blobs(600, 3);
  std::vector<std::size_t> tr(480), te(120);
  for (std::size_t i = 0; i < 480; ++i) tr[i] = i;
  for (std::size_t i = 0; i < 120; ++i) te[i] = 480 + i;
  const nn::Dataset train_set = all.subset(tr), test_set = all.subset(te);

  ag::Generator g(7);  // every rank builds the same model; DataParallel copies rank 0's anyway
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(4, 32, g), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Dense>(32, 3, g));
  nn::Adam opt(model->parameters(), 1e-2);
  nn::FitOptions o;
  o.epochs = 15;
  o.batch_size = 32 / static_cast<std::size_t>(comm.size());  // per rank: the global batch stays 32
  o.validation_data = test_set;
  o.metrics = {nn::metrics::accuracy()};
  o.verbosity = nn::Verbosity::epochs;  // printed by rank 0 only
  o.communicator = &comm;               // the one new line
  const nn::History h = nn::fit(*model, nn::CrossEntropyLoss(), opt, train_set, o);

  const double acc = h["val_accuracy"].back();
  // Every rank computed the same validation accuracy (the sums were all-reduced).
  const std::vector<double> every = comm.all_gather(acc);
  bool agree = true;
  for (double a : every) agree = agree && a == acc;
  if (comm.rank() == 0)
    std::printf("%d rank(s) (%s): test accuracy %.4f, ranks agree: %s\n", comm.size(), comm.backend().c_str(), acc,
                agree ? "yes" : "NO");
  return acc >= 0.9 && agree ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--threads") == 0) {
    int rc = 0;
    dist::local_world(std::atoi(argv[2]), [&](dist::Communicator& c) {
      const int r = train(c);
      if (c.rank() == 0) rc = r;
    });
    return rc;
  }
  int rc = 0;
  // Under mpirun an exception on one rank ends the whole job (MPI_Abort) instead of a hang.
  dist::run(dist::world(), [&](dist::Communicator& c) { rc = train(c); });
  return rc;
}
