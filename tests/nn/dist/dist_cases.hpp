#pragma once
// Checks of ag::nn::dist that run on any Communicator: called by every thread of a local world
// (tests/nn/dist/test_dist.cpp) and by every process under mpirun (tests/mpi/test_mpi.cpp). Each
// compares against values computed directly on this rank (sums written out, a single-process run).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <ag/nn.hpp>

namespace dist_cases {

namespace nn = ag::nn;
namespace dist = ag::nn::dist;

// Rank r's i-th value: distinct per rank and element, not exactly representable sums in float32.
inline double value(int r, std::size_t i) { return 0.1 * (r + 1) + 0.001 * static_cast<double>(i % 997) - 0.37 * (i % 3); }

// all_reduce sum and mean in float32 and float64 (raw pointers and tensors, including lengths
// 0, 1 and one beyond a 1 MiB bucket) against sums written out in float64.
inline void all_reduce_matches_direct_sums(dist::Communicator& comm) {
  const int N = comm.size(), me = comm.rank();
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(300001)}) {
    std::vector<double> d(n);
    std::vector<float> f(n);
    for (std::size_t i = 0; i < n; ++i) {
      d[i] = value(me, i);
      f[i] = static_cast<float>(value(me, i));
    }
    comm.all_reduce(d.data(), n);
    comm.all_reduce(f.data(), n, dist::ReduceOp::mean);
    for (std::size_t i = 0; i < n; i += (n > 100 ? 997 : 1)) {
      double s = 0.0, sf = 0.0;
      for (int r = 0; r < N; ++r) {
        s += value(r, i);
        sf += static_cast<float>(value(r, i));
      }
      CHECK(d[i] == doctest::Approx(s).epsilon(1e-14));
      CHECK(f[i] == doctest::Approx(sf / N).epsilon(1e-6));
    }
  }
  ag::Tensor t({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, ag::f64);
  ag::Tensor u = t * static_cast<double>(me + 1);
  comm.all_reduce(u);
  const double tri = N * (N + 1) / 2.0;  // sum of (r + 1)
  const auto uv = u.to_vector<double>();
  for (std::size_t i = 0; i < 6; ++i) CHECK(uv[i] == doctest::Approx((i + 1) * tri));
  CHECK(comm.all_reduce(static_cast<double>(me), dist::ReduceOp::mean) == doctest::Approx((N - 1) / 2.0));
  ag::Tensor ints({1.0, 2.0}, ag::i64);
  CHECK_THROWS_AS(comm.all_reduce(ints), ag::DtypeError);
}

// broadcast from the last rank (bytes, a tensor, a string) and all_gather of doubles.
inline void broadcast_and_gather(dist::Communicator& comm) {
  const int N = comm.size(), me = comm.rank(), root = N - 1;
  ag::Tensor t = ag::full({3, 2}, static_cast<double>(me), ag::f32);
  comm.broadcast(t, root);
  for (float v : t.to_vector<float>()) CHECK(v == static_cast<float>(root));
  std::string s = me == root ? std::string("from the root, ") + std::to_string(root) : std::string("x");
  comm.broadcast(s, root);
  CHECK(s == "from the root, " + std::to_string(root));
  std::int64_t raw = 1000 + me;
  comm.broadcast(&raw, sizeof raw, root);
  CHECK(raw == 1000 + root);
  const std::vector<double> g = comm.all_gather(std::vector<double>{me * 10.0, me + 0.5});
  REQUIRE(g.size() == static_cast<std::size_t>(2 * N));
  for (int r = 0; r < N; ++r) {
    CHECK(g[2 * r] == r * 10.0);
    CHECK(g[2 * r + 1] == r + 0.5);
  }
  comm.barrier();
  CHECK_THROWS_AS(comm.broadcast(t, N), ag::ValueError);
}

// ---- training ---------------------------------------------------------------------------------------

// 96 or 100 rows of a smooth 5 -> 3 regression.
inline nn::Dataset regression(std::size_t n) {
  ag::Generator g(11);
  ag::Tensor x = ag::randn({n, 5}, g);
  ag::Tensor w = ag::randn({5, 3}, g);
  return nn::Dataset(x, ag::tanh(ag::matmul(x, w)));
}

inline std::shared_ptr<nn::Module> make_model(std::uint64_t seed, std::size_t hidden = 16) {
  ag::Generator g(seed);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(5, hidden, g), std::make_shared<nn::Tanh>(),
                                          std::make_shared<nn::Dense>(hidden, 3, g));
}

inline std::vector<float> flat_params(const nn::Module& m) {
  std::vector<float> out;
  for (const auto& p : m.parameters())
    for (float v : p.to_vector<float>()) out.push_back(v);
  return out;
}

// Whether every rank holds exactly the bits of rank 0 (a 64-bit hash per rank, gathered).
inline bool identical_across_ranks(dist::Communicator& comm, const std::vector<float>& v) {
  std::uint64_t h = 1469598103934665603ull;
  for (float x : v) {
    std::uint32_t b;
    std::memcpy(&b, &x, 4);
    h = (h ^ b) * 1099511628211ull;
  }
  const auto g = comm.all_gather(std::vector<double>{double(h >> 32), double(h & 0xffffffffu)});
  for (int r = 1; r < comm.size(); ++r)
    if (g[2 * r] != g[0] || g[2 * r + 1] != g[1]) return false;
  return true;
}

struct Run {
  std::size_t rows = 96;       // data set size
  std::size_t batch = 12;      // global batch: each rank reads batch / size rows
  std::size_t steps = 50;
  bool ordered = false;
  std::size_t micro = 2;       // ordered mode: rows per micro-batch
  dist::Uneven uneven = dist::Uneven::pad;
};

// Trains with Adam for `steps` steps (across epochs) under DataParallel. Rank r starts from its own
// random weights (seed 100 + r): DataParallel must replace them by rank 0's. Returns the final
// weights; `bits_identical` is cleared when the ranks' weights differed after any step.
inline std::vector<float> train_data_parallel(dist::Communicator& comm, const Run& c, bool& bits_identical) {
  const nn::Dataset data = regression(c.rows);
  auto model = make_model(100 + static_cast<std::uint64_t>(comm.rank()));
  dist::DataParallelOptions o;
  o.ordered = c.ordered;
  o.bucket_bytes = 256;  // several buckets even for this small model
  dist::DataParallel dp(*model, comm, o);
  nn::Adam opt(model->parameters(), 1e-2);
  dist::SamplerOptions so;
  so.seed = 5;
  so.uneven = c.uneven;
  so.chunk = c.ordered ? c.micro : 1;
  nn::DataLoader loader(data, c.batch / static_cast<std::size_t>(comm.size()), dist::sampler(data.size(), comm, so));
  nn::MSELoss loss;
  bits_identical = identical_across_ranks(comm, flat_params(*model));
  std::size_t step = 0;
  while (step < c.steps) {
    for (const auto& b : loader) {
      if (step == c.steps) break;
      const std::size_t rows = b.x.size(0);
      opt.zero_grad();
      if (c.ordered) {
        for (std::size_t lo = 0; lo < rows; lo += c.micro) {
          const auto hi = static_cast<std::ptrdiff_t>(std::min(rows, lo + c.micro));
          const auto l = static_cast<std::ptrdiff_t>(lo);
          loss((*model)(ag::slice(b.x, 0, l, hi)), ag::slice(b.y, 0, l, hi)).backward();
          dp.accumulate(static_cast<std::size_t>(hi - l));
        }
        dp.reduce_gradients();
      } else {
        loss((*model)(b.x), b.y).backward();
        dp.reduce_gradients(rows);
      }
      opt.step();
      ++step;
      if (!identical_across_ranks(comm, flat_params(*model))) bits_identical = false;
    }
  }
  return flat_params(*model);
}

// The same training in one process without DataParallel: batches of c.batch rows in the order a
// world of size 1 samples them, rank 0's initial weights.
inline std::vector<float> train_single_process(const Run& c) {
  const nn::Dataset data = regression(c.rows);
  auto model = make_model(100);
  nn::Adam opt(model->parameters(), 1e-2);
  dist::SamplerOptions so;
  so.seed = 5;
  so.uneven = c.uneven;
  nn::DataLoader loader(data, c.batch, dist::sampler(data.size(), dist::single_world(), so));
  nn::MSELoss loss;
  std::size_t step = 0;
  while (step < c.steps)
    for (const auto& b : loader) {
      if (step == c.steps) break;
      opt.zero_grad();
      loss((*model)(b.x), b.y).backward();
      opt.step();
      ++step;
    }
  return flat_params(*model);
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}

// A model whose hidden layer differs on the last rank: DataParallel's check names it on every rank.
inline void shape_mismatch_is_reported(dist::Communicator& comm) {
  const int last = comm.size() - 1;
  auto model = make_model(1, comm.rank() == last ? 17 : 16);
  const std::string expect = "rank " + std::to_string(last) + " has 'parameter 0.weight float32 [5, 17]'";
  CHECK_THROWS_WITH_AS(dist::DataParallel(*model, comm), doctest::Contains(expect.c_str()), ag::ValueError);
}

}  // namespace dist_cases

namespace dist_cases {

// fit with the communicator (per-rank batch 12 / size) against fit in a world of one (batch 12):
// close weights, identical logs on every rank.
inline void fit_matches_one_process(dist::Communicator& comm) {
  const nn::Dataset train = regression(96), val = regression(31);
  auto run = [&](dist::Communicator& c, std::size_t batch, std::vector<double>& val_loss) {
    auto model = make_model(100 + static_cast<std::uint64_t>(c.rank()));
    nn::Adam opt(model->parameters(), 1e-2);
    nn::FitOptions o;
    o.epochs = 3;
    o.batch_size = batch;
    o.seed = 21;
    o.validation_data = val;
    o.verbosity = nn::Verbosity::silent;
    o.communicator = &c;
    val_loss = nn::fit(*model, nn::MSELoss(), opt, train, o).val_loss;
    return flat_params(*model);
  };
  std::vector<double> mine_loss, one_loss;
  const std::vector<float> mine = run(comm, 12 / static_cast<std::size_t>(comm.size()), mine_loss);
  const std::vector<float> one = run(dist::single_world(), 12, one_loss);
  CHECK(max_abs_diff(mine, one) < 2e-5);
  CHECK(identical_across_ranks(comm, mine));
  std::vector<float> as_float(mine_loss.begin(), mine_loss.end());
  CHECK(identical_across_ranks(comm, as_float));
  CHECK(mine_loss.back() == doctest::Approx(one_loss.back()).epsilon(1e-4));
}

}  // namespace dist_cases
