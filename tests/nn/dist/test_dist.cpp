// ag::nn::dist in the local world of threads (always built): collectives, failure propagation,
// the sampler, and DataParallel against single-process training.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <map>
#include <mutex>
#include <set>

#include "nn/dist/dist_cases.hpp"

namespace nn = ag::nn;
namespace dist = ag::nn::dist;
using namespace dist_cases;

TEST_CASE("dist local world: all_reduce matches sums written out") {
  for (int n : {1, 2, 3, 4}) {
    CAPTURE(n);
    dist::local_world(n, [](dist::Communicator& c) { all_reduce_matches_direct_sums(c); });
  }
}

TEST_CASE("dist local world: all_reduce gives every rank the same bits, summed in rank order") {
  std::vector<std::vector<float>> results(3);
  dist::local_world(3, [&](dist::Communicator& c) {
    std::vector<float> v(1000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(value(c.rank(), i)) * 1e3f;
    c.all_reduce(v.data(), v.size());
    results[static_cast<std::size_t>(c.rank())] = v;
  });
  for (std::size_t i = 0; i < 1000; ++i) {
    const float expect = (float(value(0, i)) * 1e3f + float(value(1, i)) * 1e3f) + float(value(2, i)) * 1e3f;
    CHECK(results[0][i] == expect);
    CHECK(results[1][i] == expect);
    CHECK(results[2][i] == expect);
  }
}

TEST_CASE("dist local world: broadcast and all_gather") {
  for (int n : {1, 2, 3}) {
    CAPTURE(n);
    dist::local_world(n, [](dist::Communicator& c) { broadcast_and_gather(c); });
  }
}

TEST_CASE("dist local world: an exception on one rank stops the others instead of hanging") {
  std::atomic<int> peer_errors{0};
  CHECK_THROWS_WITH_AS(dist::local_world(3,
                                         [&](dist::Communicator& c) {
                                           double x = 1.0;
                                           c.all_reduce(&x, 1);
                                           if (c.rank() == 1) throw ag::ValueError("boom on rank 1");
                                           try {
                                             for (;;) c.barrier();  // would wait forever for rank 1
                                           } catch (const dist::PeerError& e) {
                                             CHECK(std::string(e.what()).find("rank 1 of 3 failed: boom on rank 1") !=
                                                   std::string::npos);
                                             ++peer_errors;
                                             throw;
                                           }
                                         }),
                       "boom on rank 1", ag::ValueError);
  CHECK(peer_errors == 2);
  // abort() on one rank: every rank's next collective throws, local_world rethrows a PeerError.
  CHECK_THROWS_WITH_AS(dist::local_world(2,
                                         [](dist::Communicator& c) {
                                           if (c.rank() == 0) c.abort("stop here");
                                           c.barrier();
                                         }),
                       doctest::Contains("rank 0 of 2 aborted: stop here"), dist::PeerError);
}

TEST_CASE("dist local world: ranks calling different collectives get a ValueError") {
  CHECK_THROWS_WITH_AS(dist::local_world(2,
                                         [](dist::Communicator& c) {
                                           std::vector<double> v(c.rank() == 0 ? 3 : 4, 1.0);
                                           c.all_reduce(v.data(), v.size());
                                         }),
                       doctest::Contains("rank 0 called all_reduce(float64) with 24 bytes"), ag::ValueError);
  CHECK_THROWS_AS(dist::local_world(2,
                                    [](dist::Communicator& c) {
                                      if (c.rank() == 0) c.barrier();
                                      else c.all_gather(1.0);
                                    }),
                  ag::ValueError);
  CHECK_THROWS_AS(dist::local_world(0, [](dist::Communicator&) {}), ag::ValueError);
}

TEST_CASE("dist: without a launcher world() is one process and mpi_world matches the build") {
  dist::Communicator& w = dist::world();
  CHECK(w.size() == 1);
  CHECK(w.rank() == 0);
  CHECK(w.backend() == "single");
  double x = 2.5;
  w.all_reduce(&x, 1, dist::ReduceOp::mean);
  CHECK(x == 2.5);
  if (!dist::mpi_available()) CHECK_THROWS_AS(dist::mpi_world(), ag::ValueError);
}

// ---- sampler ----------------------------------------------------------------------------------------

TEST_CASE("dist sampler: shards cover the epoch's permutation, dealt in chunks") {
  const std::size_t n = 23;
  for (int size : {1, 2, 3, 4}) {
    for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(3)}) {
      CAPTURE(size);
      CAPTURE(chunk);
      dist::SamplerOptions o;
      o.seed = 9;
      o.chunk = chunk;
      const std::size_t group = static_cast<std::size_t>(size) * chunk;
      // The permutation every rank derives for epoch 2.
      ag::Generator g(9 + 2);
      const std::vector<std::size_t> perm = nn::permutation(n, g);
      for (dist::Uneven u : {dist::Uneven::pad, dist::Uneven::drop, dist::Uneven::none}) {
        o.uneven = u;
        const std::size_t total = u == dist::Uneven::pad ? (n + group - 1) / group * group
                                  : u == dist::Uneven::drop ? n / group * group
                                                            : n;
        std::vector<std::size_t> seen;
        for (int r = 0; r < size; ++r) {
          const auto mine = dist::shard_indices(n, r, size, 2, o);
          if (u != dist::Uneven::none) CHECK(mine.size() == total / static_cast<std::size_t>(size));
          // position k of the padded order goes to rank (k / chunk) % size
          std::vector<std::size_t> expect;
          for (std::size_t k = 0; k < total; ++k)
            if ((k / chunk) % static_cast<std::size_t>(size) == static_cast<std::size_t>(r)) expect.push_back(perm[k % n]);
          CHECK(mine == expect);
          seen.insert(seen.end(), mine.begin(), mine.end());
        }
        CHECK(seen.size() == total);
        std::set<std::size_t> distinct(seen.begin(), seen.end());
        CHECK(distinct.size() == std::min(n, total));  // padding repeats rows, drop loses some
      }
    }
  }
}

TEST_CASE("dist sampler: a new order every epoch, the same on every rank, identity without shuffle") {
  dist::SamplerOptions o;
  o.seed = 3;
  CHECK(dist::shard_indices(40, 1, 2, 0, o) != dist::shard_indices(40, 1, 2, 1, o));
  CHECK(dist::shard_indices(40, 1, 2, 1, o) == dist::shard_indices(40, 1, 2, 1, o));
  o.shuffle = false;
  CHECK(dist::shard_indices(7, 1, 3, 5, o) == std::vector<std::size_t>{1, 4, 0});  // padded with row 0
  o.uneven = dist::Uneven::none;
  CHECK(dist::shard_indices(7, 0, 3, 5, o) == std::vector<std::size_t>{0, 3, 6});
  CHECK_THROWS_AS(dist::shard_indices(7, 3, 3, 0, o), ag::ValueError);
  o.chunk = 0;
  CHECK_THROWS_AS(dist::shard_indices(7, 0, 3, 0, o), ag::ValueError);
}

TEST_CASE("DataLoader with a sampler: each pass reads the rows the sampler gives for it") {
  ag::Tensor x = ag::arange(0, 10, 1, ag::f64).reshape({10, 1});
  nn::Dataset data(x, x * 2.0);
  std::vector<std::size_t> asked;
  nn::DataLoader loader(data, 3, [&](std::size_t pass) {
    asked.push_back(pass);
    return pass % 2 == 0 ? std::vector<std::size_t>{9, 0, 4, 4} : std::vector<std::size_t>{1, 2, 3, 5};
  });
  CHECK(loader.size() == 2);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<double> rows, ys;
    std::vector<std::size_t> sizes;
    for (const auto& b : loader) {
      sizes.push_back(b.x.size(0));
      for (double v : b.x.to_vector<double>()) rows.push_back(v);
      for (double v : b.y.to_vector<double>()) ys.push_back(v);
    }
    CHECK(sizes == std::vector<std::size_t>{3, 1});
    CHECK(rows == (epoch == 0 ? std::vector<double>{9, 0, 4, 4} : std::vector<double>{1, 2, 3, 5}));
    CHECK(ys.size() == 4);
    CHECK(ys[0] == 2 * rows[0]);
  }
  CHECK(asked == std::vector<std::size_t>{0, 0, 1});  // construction sizes the pass; then one per begin()
  CHECK(loader.pass() == 2);
  nn::DataLoader bad(data, 2, [](std::size_t p) { return std::vector<std::size_t>{p == 0 ? 1u : 10u}; });
  bad.begin();  // pass 0 is fine
  CHECK_THROWS_AS(bad.begin(), ag::IndexError);
  CHECK_THROWS_AS(nn::DataLoader(data, 2, [](std::size_t) { return std::vector<std::size_t>{10}; }), ag::IndexError);
}

// ---- DataParallel -------------------------------------------------------------------------------------

TEST_CASE("DataParallel: N ranks x batch B/N train like one process x batch B") {
  const std::vector<float> single = train_single_process(Run{});
  for (int n : {1, 2, 3, 4}) {
    CAPTURE(n);
    std::vector<std::vector<float>> out(static_cast<std::size_t>(n));
    std::vector<char> identical(static_cast<std::size_t>(n), 0);
    dist::local_world(n, [&](dist::Communicator& c) {
      bool same = false;
      out[static_cast<std::size_t>(c.rank())] = train_data_parallel(c, Run{}, same);
      identical[static_cast<std::size_t>(c.rank())] = same;
    });
    for (int r = 0; r < n; ++r) {
      CHECK(identical[static_cast<std::size_t>(r)]);
      CHECK(out[static_cast<std::size_t>(r)] == out[0]);
    }
    CHECK(max_abs_diff(out[0], single) < 2e-5);
    Run untrained;
    untrained.steps = 0;
    CHECK(max_abs_diff(out[0], train_single_process(untrained)) > 1e-2);  // it did train
  }
}

TEST_CASE("DataParallel: uneven last batches are weighted by their rows, exactly") {
  // 100 rows, global batch 12: every epoch ends with 4 rows; with 3 ranks of 4 rows they split 2, 1, 1.
  Run c;
  c.rows = 100;
  c.uneven = dist::Uneven::none;
  c.steps = 27;  // three epochs of 9 steps
  const std::vector<float> single = train_single_process(c);
  for (int n : {2, 3, 4}) {
    CAPTURE(n);
    std::vector<float> rank0;
    dist::local_world(n, [&](dist::Communicator& comm) {
      bool same = false;
      auto w = train_data_parallel(comm, c, same);
      CHECK(same);
      if (comm.rank() == 0) rank0 = w;
    });
    CHECK(max_abs_diff(rank0, single) < 2e-5);
  }
}

TEST_CASE("DataParallel ordered mode: bit-identical weights for 1, 2, 3 and 6 ranks") {
  Run c;
  c.ordered = true;
  c.micro = 2;  // 6 micro-batches per step of 12 rows
  std::vector<float> one;
  dist::local_world(1, [&](dist::Communicator& comm) {
    bool same = false;
    one = train_data_parallel(comm, c, same);
  });
  CHECK(max_abs_diff(one, train_single_process(Run{})) < 2e-5);  // and it is the same training
  for (int n : {2, 3, 6}) {
    CAPTURE(n);
    std::vector<std::vector<float>> out(static_cast<std::size_t>(n));
    dist::local_world(n, [&](dist::Communicator& comm) {
      bool same = false;
      out[static_cast<std::size_t>(comm.rank())] = train_data_parallel(comm, c, same);
      CHECK(same);
    });
    for (const auto& w : out) CHECK(w == one);
  }
}

TEST_CASE("DataParallel: start broadcasts rank 0's parameters and buffers") {
  dist::local_world(3, [](dist::Communicator& c) {
    ag::Generator g(50 + static_cast<std::uint64_t>(c.rank()));
    auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(4, 6, g), std::make_shared<nn::BatchNorm1d>(6));
    {
      // Running statistics that differ per rank before the broadcast.
      ag::Tensor x = ag::randn({8, 4}, g);
      (*model)(x);
    }
    dist::DataParallel dp(*model, c);
    std::vector<float> all;
    for (const auto& [name, t] : model->state_dict())
      if (t.dtype() == ag::f32)
        for (float v : t.to_vector<float>()) all.push_back(v);
    CHECK(identical_across_ranks(c, all));
    // Rank 0 kept its own values: its first weight is what its generator drew.
    ag::Generator g0(50);
    nn::Dense ref(4, 6, g0);
    if (c.rank() == 0) CHECK(model->parameters()[0].to_vector<float>() == ref.parameters()[0].to_vector<float>());
  });
}

TEST_CASE("DataParallel: a parameter shape that differs across ranks is named on every rank") {
  std::atomic<int> reported{0};
  CHECK_THROWS_AS(dist::local_world(3,
                                    [&](dist::Communicator& c) {
                                      shape_mismatch_is_reported(c);
                                      ++reported;
                                      throw ag::ValueError("rethrown");
                                    }),
                  ag::ValueError);
  CHECK(reported == 3);
}

TEST_CASE("DataParallel: parameters without a gradient on every rank keep none, frozen ones are left alone") {
  dist::local_world(2, [](dist::Communicator& c) {
    ag::Generator g(1);
    auto a = std::make_shared<nn::Dense>(3, 2, g);
    auto b = std::make_shared<nn::Dense>(3, 2, g);
    auto frozen = std::make_shared<nn::Dense>(3, 2, g);
    nn::Sequential model(a, b, frozen);  // used only as a parameter container
    for (auto p : frozen->parameters()) p.requires_grad_(false);
    dist::DataParallel dp(model, c);
    ag::Tensor x = ag::full({static_cast<std::size_t>(c.rank() + 1), 3}, 1.0 + c.rank());
    // rank 0 uses a only; rank 1 uses a and b: b's gradient is rank 1's times its rows over all rows.
    ag::Tensor loss = (*a)(x).sum();
    if (c.rank() == 1) loss = loss + (*b)(x).sum();
    loss = loss / static_cast<double>(c.rank() + 1);  // a mean over this rank's rows
    loss.backward();
    dp.reduce_gradients(static_cast<std::size_t>(c.rank() + 1));
    CHECK(dp.last_total_rows() == 3.0);
    // d(sum of rows) / d weight[i][j] = sum of x[:, i] over rows; rank 0: 1 row of 1s, rank 1: 2 rows of 2s.
    for (float v : a->parameters()[0].grad().to_vector<float>()) CHECK(v == doctest::Approx((1.0 + 4.0) / 3.0));
    for (float v : b->parameters()[0].grad().to_vector<float>()) CHECK(v == doctest::Approx(4.0 / 3.0));
    CHECK_FALSE(frozen->parameters()[0].grad().defined());
    // nobody used b now: it keeps no gradient
    model.zero_grad();
    ((*a)(x).sum() / static_cast<double>(c.rank() + 1)).backward();
    dp.reduce_gradients(static_cast<std::size_t>(c.rank() + 1));
    CHECK_FALSE(b->parameters()[0].grad().defined());
    CHECK(a->parameters()[0].grad().defined());
  });
}

// ---- fit with a communicator ---------------------------------------------------------------------------

TEST_CASE("fit with a communicator: 3 ranks x batch 4 like 1 rank x batch 12, same logs everywhere, rank 0 alone prints and saves") {
  const nn::Dataset train = regression(96), val = regression(31);
  const auto dir = std::filesystem::temp_directory_path() / "tapegrad-dist-fit";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto run = [&](dist::Communicator& c, std::size_t batch, std::ostringstream& out, std::vector<float>& weights,
                 nn::History& h) {
    auto model = make_model(100 + static_cast<std::uint64_t>(c.rank()));
    nn::Adam opt(model->parameters(), 1e-2);
    nn::FitOptions o;
    o.epochs = 4;
    o.batch_size = batch;
    o.seed = 21;
    o.validation_data = val;
    o.metrics = {nn::metrics::mae()};
    o.verbosity = nn::Verbosity::epochs;
    o.out = &out;
    o.communicator = &c;
    nn::ModelCheckpointOptions mo;
    mo.weights_only = true;
    o.callbacks = {std::make_shared<nn::ModelCheckpoint>(
                       (dir / ("weights-" + std::to_string(c.size()) + "-" + std::to_string(c.rank()) + ".bin")).string(), mo),
                   std::make_shared<nn::ModelCheckpoint>(
                       (dir / ("ckpt-" + std::to_string(c.size()) + "-" + std::to_string(c.rank()) + ".ckpt")).string())};
    h = nn::fit(*model, nn::MSELoss(), opt, train, o);
    weights = flat_params(*model);
    // The validation loss of the last epoch is the loss over every validation row.
    const nn::Logs full = nn::evaluate(*model, nn::MSELoss(), val, o.metrics);
    CHECK(h["val_loss"].back() == doctest::Approx(full.get("loss").value()).epsilon(1e-6));
    CHECK(h["val_mae"].back() == doctest::Approx(full.get("mae").value()).epsilon(1e-6));
  };
  std::ostringstream out1;
  std::vector<float> w1;
  nn::History h1;
  dist::local_world(1, [&](dist::Communicator& c) { run(c, 12, out1, w1, h1); });

  std::vector<std::ostringstream> outs(3);
  std::vector<std::vector<float>> ws(3);
  std::vector<nn::History> hs(3);
  dist::local_world(3, [&](dist::Communicator& c) {
    const auto r = static_cast<std::size_t>(c.rank());
    run(c, 4, outs[r], ws[r], hs[r]);
  });
  CHECK(max_abs_diff(ws[0], w1) < 2e-5);
  CHECK(ws[1] == ws[0]);
  CHECK(ws[2] == ws[0]);
  CHECK_FALSE(outs[0].str().empty());
  CHECK(outs[1].str().empty());
  CHECK(outs[2].str().empty());
  for (const char* key : {"loss", "mae", "val_loss", "val_mae"}) {
    CAPTURE(key);
    CHECK(hs[1][key] == hs[0][key]);
    CHECK(hs[2][key] == hs[0][key]);
    CHECK(hs[0][key].back() == doctest::Approx(h1[key].back()).epsilon(1e-4));
  }
  CHECK(std::filesystem::exists(dir / "weights-3-0.bin"));
  CHECK(std::filesystem::exists(dir / "ckpt-3-0.ckpt"));
  CHECK_FALSE(std::filesystem::exists(dir / "weights-3-1.bin"));
  CHECK_FALSE(std::filesystem::exists(dir / "ckpt-3-2.ckpt"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("fit with a communicator: 2 ranks, the shared check") {
  dist::local_world(2, [](dist::Communicator& c) { fit_matches_one_process(c); });
}

TEST_CASE("DataParallel: ranks with different numbers of micro-batches, or none this step") {
  // d/dW of sum(x W) / rows is the column sums of x over rows / rows; rank r's rows are all (r + 1).
  for (bool ordered : {false, true}) {
    CAPTURE(ordered);
    dist::local_world(3, [ordered](dist::Communicator& c) {
      ag::Generator g(4);
      nn::Dense layer(2, 1, g, /*bias=*/false);
      dist::DataParallelOptions o;
      o.ordered = ordered;
      dist::DataParallel dp(layer, c, o);
      // rank 0: two micro-batches of 1 and 2 rows; rank 1: one of 3 rows; rank 2: nothing.
      const std::vector<std::size_t> mine = c.rank() == 0 ? std::vector<std::size_t>{1, 2}
                                            : c.rank() == 1 ? std::vector<std::size_t>{3}
                                                            : std::vector<std::size_t>{};
      for (std::size_t rows : mine) {
        ag::Tensor x = ag::full({rows, 2}, 1.0 + c.rank());
        (layer(x).sum() / static_cast<double>(rows)).backward();
        dp.accumulate(rows);
      }
      dp.reduce_gradients();
      CHECK(dp.last_total_rows() == 6.0);
      // (3 rows of 1 + 3 rows of 2) / 6 = 1.5 for both weights
      for (float v : layer.parameters()[0].grad().to_vector<float>()) CHECK(v == doctest::Approx(1.5));
      CHECK(c.all_gather(static_cast<double>(layer.parameters()[0].grad().to_vector<float>()[0])) ==
            std::vector<double>(3, static_cast<double>(layer.parameters()[0].grad().to_vector<float>()[0])));
    });
  }
}

TEST_CASE("fit with a communicator: 4 epochs straight and 2 + resume + 2 give bit-identical weights") {
  const nn::Dataset train = regression(50);  // 50 rows over 2 ranks of batch 4: padded shards, short last batches
  const auto dir = std::filesystem::temp_directory_path() / "tapegrad-dist-resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ckpt = (dir / "run.ckpt").string();
  // Every run has the checkpoint callback (a resume needs the callbacks it was saved with).
  auto run = [&](dist::Communicator& c, std::size_t epochs, const std::string& resume) {
    auto model = make_model(100 + static_cast<std::uint64_t>(c.rank()));
    nn::Adam opt(model->parameters(), 1e-2);
    nn::FitOptions o;
    o.epochs = epochs;
    o.batch_size = 4;
    o.seed = 8;
    o.verbosity = nn::Verbosity::silent;
    o.communicator = &c;
    o.resume_from = resume;
    o.callbacks = {std::make_shared<nn::ModelCheckpoint>(ckpt)};
    nn::fit(*model, nn::MSELoss(), opt, train, o);
    return flat_params(*model);
  };
  std::vector<float> straight, resumed;
  dist::local_world(2, [&](dist::Communicator& c) {
    auto w = run(c, 4, "");
    if (c.rank() == 0) straight = w;
  });
  dist::local_world(2, [&](dist::Communicator& c) {
    run(c, 2, "");
    c.barrier();  // rank 0 has written the checkpoint of epoch 2
    auto w = run(c, 4, ckpt);
    if (c.rank() == 0) resumed = w;
  });
  CHECK(straight == resumed);
  std::filesystem::remove_all(dir);
}
