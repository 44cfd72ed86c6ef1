// Threads: the tape and grad mode are thread-local. Independent graphs on two threads at once
// give bit-identical results to the same work done one after the other; a graph belongs to the
// thread that recorded it; NoGradGuard on one thread does not affect another.
// Deterministic: where the order matters the threads are sequenced with promises, never timing.
#include <cstdint>
#include <cstring>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/bits.hpp"

namespace {

template <class F> std::string grad_error_of(F&& f) {
  try {
    f();
  } catch (const ag::GradError& e) {
    return e.what();
  }
  return "";
}

struct Trace {
  std::vector<double> losses;
  std::vector<std::uint64_t> w, b;
  std::size_t live_after = 0;  // nodes left on the thread's tape at the end
  bool recording = false;      // grad mode seen by the worker
};

// Gradient descent on softmax regression written with bare ops: logits = x·W + b [24, 3],
// loss = -mean(Σ log_softmax(logits)·onehot) + 1e-3·Σ W². Every step records a fresh graph on
// the calling thread's tape.
Trace train_softmax_regression(std::uint64_t seed, ag::DType dtype, int steps) {
  ag::Generator gen(seed);
  ag::Tensor x = ag::randn({24, 5}, gen, dtype);
  std::vector<std::size_t> labels;
  for (int i = 0; i < 24; ++i) labels.push_back(gen.below(3));
  ag::Tensor target = ag::one_hot(labels, 3, dtype);
  ag::Tensor w = ag::uniform({5, 3}, -0.5, 0.5, gen, dtype).requires_grad_();
  ag::Tensor b = ag::zeros({3}, dtype, true);
  Trace tr;
  tr.recording = ag::is_grad_enabled();
  for (int s = 0; s < steps; ++s) {
    ag::Tensor logits = ag::matmul(x, w) + b;
    ag::Tensor loss = -ag::mean(ag::sum(ag::log_softmax(logits, 1) * target, {1})) +
                      1e-3 * ag::sum(ag::square(w));
    loss.backward();
    tr.losses.push_back(loss.item());
    ag::NoGradGuard ng;  // the update is not recorded; new leaves each step
    w = (w - 0.5 * w.grad()).requires_grad_();
    b = (b - 0.5 * b.grad()).requires_grad_();
  }
  tr.w = bits_of(w);
  tr.b = bits_of(b);
  tr.live_after = ag::live_node_count();
  return tr;
}

// Runs f on a new thread and returns its result (rethrowing what it threw).
template <class F> auto on_thread(F f) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto fut = task.get_future();
  std::thread t(std::move(task));
  t.join();
  return fut.get();
}

}  // namespace

TEST_CASE("thread: two threads training at once match the same trainings run one after the other") {
  constexpr int steps = 200;
  // one after the other, on this thread
  const Trace seq_a = train_softmax_regression(11, ag::f32, steps);
  const Trace seq_b = train_softmax_regression(22, ag::f64, steps);
  // at once: both workers start together (each waits for the go signal)
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::packaged_task<Trace()> ta([start] { start.wait(); return train_softmax_regression(11, ag::f32, steps); });
  std::packaged_task<Trace()> tb([start] { start.wait(); return train_softmax_regression(22, ag::f64, steps); });
  auto fa = ta.get_future(), fb = tb.get_future();
  std::thread a(std::move(ta)), b(std::move(tb));
  go.set_value();
  a.join();
  b.join();
  const Trace par_a = fa.get(), par_b = fb.get();

  REQUIRE(seq_a.losses.size() == static_cast<std::size_t>(steps));
  CHECK(seq_a.losses.back() < 0.8 * seq_a.losses.front());  // it learned something
  CHECK(seq_b.losses.back() < 0.8 * seq_b.losses.front());
  CHECK(seq_a.w != seq_b.w);                                // two genuinely different runs
  CHECK(par_a.losses == seq_a.losses);                      // bit for bit
  CHECK(par_a.w == seq_a.w);
  CHECK(par_a.b == seq_a.b);
  CHECK(par_b.losses == seq_b.losses);
  CHECK(par_b.w == seq_b.w);
  CHECK(par_b.b == seq_b.b);
  CHECK(par_a.recording);
  CHECK(par_a.live_after == 0);  // every graph was freed on its own thread
  CHECK(par_b.live_after == 0);
  CHECK(seq_b.live_after == 0);
}

TEST_CASE("thread: a graph is differentiated on another thread while its recording thread runs") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  ag::Tensor y;
  std::promise<void> recorded, tried;
  std::promise<std::vector<double>> own_grad;
  std::thread t([&] {
    y = (x * x).sum();  // recorded on t
    recorded.set_value();
    tried.get_future().wait();  // keep t alive while the main thread differentiates its graph
    try {
      y.backward();  // and the recording thread may run one too
      const xt::xarray<double> g = x.grad().to_xarray<double>();
      own_grad.set_value({g.begin(), g.end()});
    } catch (...) {
      own_grad.set_exception(std::current_exception());
    }
  });
  recorded.get_future().wait();
  const ag::Tensor g_here = ag::grad({y}, {x}, {}, /*retain_graph=*/true)[0];
  CHECK(bits_of(g_here) == bits_of(ag::Tensor({2.0, 4.0, 6.0}, ag::f64)));
  CHECK_FALSE(x.grad().defined());  // ag::grad writes no .grad
  tried.set_value();
  auto fut = own_grad.get_future();
  const std::vector<double> g = fut.get();
  t.join();
  CHECK(g == std::vector<double>{2.0, 4.0, 6.0});  // the graph was intact after the first sweep
}

// A graph recorded on this thread whose input came from another thread's graph: the sweep follows
// it into the other thread's nodes (it once dropped that gradient silently; then it refused).
TEST_CASE("thread: a graph that reaches into another thread's graph is differentiated through it") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y = on_thread([&] { return x * x; });
  ag::Tensor z = (y * 3.0).sum();  // recorded here
  z.backward();
  CHECK(bits_of(x.grad()) == bits_of(ag::Tensor({6.0, 12.0}, ag::f64)));  // d/dx Σ3x² = 6x
}

TEST_CASE("thread: grad mode is per thread, in both directions and while both threads run") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  // a worker that turns recording off does not turn it off here, even while it is still off there
  std::promise<void> off, checked;
  std::promise<bool> worker_recorded;
  std::thread t([&] {
    ag::NoGradGuard ng;
    worker_recorded.set_value((x * x).requires_grad());
    off.set_value();
    checked.get_future().wait();
  });
  off.get_future().wait();
  CHECK(ag::is_grad_enabled());
  CHECK((x * x).requires_grad());
  checked.set_value();
  t.join();
  CHECK_FALSE(worker_recorded.get_future().get());
  // a thread started from a no-grad scope records by default; EnableGradGuard there is harmless
  {
    ag::NoGradGuard ng;
    const bool rec = on_thread([&] { return ag::is_grad_enabled() && (x * x).requires_grad(); });
    CHECK(rec);
    CHECK_FALSE((x * x).requires_grad());
    const bool toggled = on_thread([] {
      ag::set_grad_enabled(false);
      return !ag::is_grad_enabled();
    });
    CHECK(toggled);
    CHECK_FALSE(ag::is_grad_enabled());  // still off here: the guard's state is ours
  }
  CHECK(ag::is_grad_enabled());
  // a worker training with no_grad evaluation in between leaves our grad mode alone
  const Trace tr = on_thread([] {
    ag::NoGradGuard ng;
    ag::EnableGradGuard eg;
    return train_softmax_regression(5, ag::f64, 3);
  });
  CHECK(tr.recording);
  CHECK(tr.losses.size() == 3);
}

TEST_CASE("thread: tape sizes are per thread, a thread's graphs leave nothing on another's tape") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  ag::Tensor keep = x * x;  // one node on this tape
  CHECK(ag::live_node_count() == live0 + 1);
  const std::size_t worker_live = on_thread([&] {
    std::vector<ag::Tensor> chain{x};
    for (int i = 0; i < 50; ++i) chain.push_back(ag::sin(chain.back()));
    return ag::live_node_count();  // this thread's 50, not ours
  });
  CHECK(worker_live == 50);
  CHECK(ag::live_node_count() == live0 + 1);
  keep = ag::Tensor();
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("thread: graphs handed between threads at random are extended, differentiated and freed safely") {
  // Producers/consumers as in a thread pool: every thread records graphs y = tanh(x·w) + 1 on a
  // shared leaf w (read only), puts them in a common queue, takes others' graphs out at random and
  // drops them, extends them (recording on its own thread, on top of the other thread's nodes) or
  // differentiates them with ag::grad (no .grad writes, so w may be shared). Under ASan this is the
  // use-after-free of issue 14 item 1; here every gradient is also checked against its formula.
  constexpr int kThreads = 6, kSteps = 2000;
  const ag::Tensor w({0.3, -0.7, 1.1}, ag::f64, true);
  struct Item {
    ag::Tensor x, y;
    double scale;  // y = scale·(tanh(x·w) + 1)
  };
  std::mutex m;
  std::vector<Item> queue;
  std::atomic<int> wrong{0}, failures{0}, differentiated{0};
  auto check_grad = [&](const Item& it) {
    const ag::Tensor gw = ag::grad({ag::sum(it.y)}, {w}, {}, true)[0];  // keeps the graph for others
    const xt::xarray<double> x = it.x.to_xarray<double>(), wv = w.to_xarray<double>();
    const xt::xarray<double> g = gw.to_xarray<double>();
    for (std::size_t k = 0; k < 3; ++k) {
      const double t = std::tanh(x(k) * wv(k));
      if (std::abs(g(k) - it.scale * x(k) * (1 - t * t)) > 1e-12) ++wrong;
    }
    ++differentiated;
  };
  auto work = [&](unsigned seed) {
    try {
      ag::Generator gen(seed);
      for (int s = 0; s < kSteps; ++s) {
        const std::uint64_t action = gen.below(4);
        std::optional<Item> it;
        if (action > 0) {
          std::lock_guard<std::mutex> lock(m);
          if (!queue.empty()) {
            const std::size_t k = gen.below(queue.size());
            it = std::move(queue[k]);
            queue[k] = std::move(queue.back());
            queue.pop_back();
          }
        }
        if (!it) {  // record a new graph here
          ag::Tensor x = ag::randn({3}, gen, ag::f64);
          it = Item{x, ag::tanh(x * w) + 1.0, 1.0};
        } else if (action == 1) {
          it.reset();  // drop another thread's graph here
          continue;
        } else if (action == 2) {
          it->y = it->y * 2.0;  // extend it here
          it->scale *= 2.0;
        } else {
          check_grad(*it);
        }
        std::lock_guard<std::mutex> lock(m);
        queue.push_back(std::move(*it));
      }
    } catch (...) {
      ++failures;
    }
  };
  const std::size_t live0 = ag::live_node_count();
  {
    // this thread records some graphs too, to be freed by the workers
    std::lock_guard<std::mutex> lock(m);
    ag::Generator gen(99);
    for (int i = 0; i < 50; ++i) {
      ag::Tensor x = ag::randn({3}, gen, ag::f64);
      queue.push_back(Item{x, ag::tanh(x * w) + 1.0, 1.0});
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, 1000u + static_cast<unsigned>(t));
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(wrong == 0);
  CHECK(differentiated > 0);
  // what is left (recorded on threads that have ended, or here) is checked and freed on this thread
  for (const Item& it : queue) check_grad(it);
  CHECK(wrong == 0);
  queue.clear();
  CHECK(ag::live_node_count() == live0);
  CHECK_FALSE(w.grad().defined());
}
