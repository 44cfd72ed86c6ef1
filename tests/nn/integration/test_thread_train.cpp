// Threads: two ag::nn models trained at once on two std::threads (each with its own thread-local
// tape) end bit-identical to the same two trainings run one after the other on the main thread.
#include <cstdint>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/bits.hpp"
#include "support/module_util.hpp"

namespace nn = ag::nn;

namespace {

struct Run {
  std::vector<double> losses;                       // one per step
  std::vector<std::vector<std::uint64_t>> params;   // raw bits of every parameter at the end
  std::size_t live_after = 0;                       // nodes left on the worker's tape
};

// MLP 4 -> 8 -> tanh -> 8 -> 1 regressing y = sin(x0) + x1·x2 - 0.5·x3 on 32 fixed points.
// Model, data and dropout-free training all come from `seed`: nothing reads global state.
// adam: Adam(1e-2) instead of SGD(0.05, momentum 0.9).
Run train(std::uint64_t seed, ag::DType dtype, bool adam, int steps) {
  ag::Generator gen(seed);
  nn::Sequential model(std::make_shared<nn::Dense>(4, 8, gen, true, nn::Init::glorot_uniform, dtype),
                       std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Dense>(8, 8, gen, true, nn::Init::glorot_uniform, dtype),
                       std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Dense>(8, 1, gen, true, nn::Init::glorot_uniform, dtype));
  ag::Tensor x = ag::uniform({32, 4}, -1.0, 1.0, gen, dtype);
  ag::Tensor y = ag::no_grad([&] {
    ag::Tensor c0 = ag::select(x, 1, 0), c1 = ag::select(x, 1, 1), c2 = ag::select(x, 1, 2),
               c3 = ag::select(x, 1, 3);
    return ag::reshape(ag::sin(c0) + c1 * c2 - 0.5 * c3, {32, 1});
  });
  std::unique_ptr<nn::Optimizer> opt;
  if (adam) opt = std::make_unique<nn::Adam>(model.parameters(), 1e-2);
  else opt = std::make_unique<nn::SGD>(model.parameters(), 0.05, 0.9);
  Run r;
  for (int s = 0; s < steps; ++s) {
    opt->zero_grad();
    ag::Tensor loss = nn::mse_loss(model(x), y);
    loss.backward();
    opt->step();
    r.losses.push_back(loss.item());
  }
  for (const auto& p : model.parameters()) r.params.push_back(bits_of(p));
  r.live_after = ag::live_node_count();
  return r;
}

}  // namespace

TEST_CASE("thread: two nn models trained at once equal the same two trained one after the other") {
  constexpr int steps = 300;
  struct Job {
    std::uint64_t seed;
    ag::DType dtype;
    bool adam;
  };
  const Job jobs[2] = {{101, ag::f32, false}, {202, ag::f64, true}};

  const Run seq0 = train(jobs[0].seed, jobs[0].dtype, jobs[0].adam, steps);
  const Run seq1 = train(jobs[1].seed, jobs[1].dtype, jobs[1].adam, steps);

  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<Run>> results;
  std::vector<std::thread> threads;
  for (const Job& j : jobs) {
    std::packaged_task<Run()> task([j, start] {
      start.wait();  // both start together, so the trainings overlap
      return train(j.seed, j.dtype, j.adam, steps);
    });
    results.push_back(task.get_future());
    threads.emplace_back(std::move(task));
  }
  go.set_value();
  for (auto& t : threads) t.join();
  const Run par0 = results[0].get(), par1 = results[1].get();

  // the trainings did something, and differ from each other
  CHECK(seq0.losses.back() < 0.25 * seq0.losses.front());
  CHECK(seq1.losses.back() < 0.25 * seq1.losses.front());
  CHECK(seq0.losses != seq1.losses);
  // bit-identical losses at every step and parameters at the end
  CHECK(par0.losses == seq0.losses);
  CHECK(par0.params == seq0.params);
  CHECK(par1.losses == seq1.losses);
  CHECK(par1.params == seq1.params);
  CHECK(par0.live_after == 0);
  CHECK(par1.live_after == 0);
}
