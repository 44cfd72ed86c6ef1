// Memory: graphs die with their tensors, backward releases what it used, and long training loops
// leave the tape where it started (counts, not time).
#include <algorithm>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {
std::vector<double> values_of(const ag::Tensor& t) {
  xt::xarray<double> a = t.to_xarray<double>();
  return std::vector<double>(a.begin(), a.end());
}
}  // namespace

TEST_CASE("100k forward backward steps leave the tape where it started") {
  ag::Tensor a({0.5, -1.0, 2.0}, ag::f64, true);
  ag::Tensor b({2.0, 0.25, -3.0}, ag::f64, true);
  const std::size_t tape0 = ag::tape_size(), live0 = ag::live_node_count();
  std::size_t max_tape = 0, max_live = 0;
  const int steps = 100000;
  for (int i = 0; i < steps; ++i) {
    ag::Tensor y = (a * b + a).sum();
    y.backward();
    max_tape = std::max(max_tape, ag::tape_size());
    max_live = std::max(max_live, ag::live_node_count());
  }
  CHECK(ag::tape_size() == tape0);
  CHECK(ag::live_node_count() == live0);
  CHECK(max_tape <= tape0 + 3);  // one step's graph at most: mul, add, sum
  CHECK(max_live <= live0 + 3);
  // and every step accumulated: da = N·(b + 1), db = N·a (exact in float64)
  const std::vector<double> ga = values_of(a.grad()), gb = values_of(b.grad());
  CHECK(ga == std::vector<double>{steps * 3.0, steps * 1.25, steps * -2.0});
  CHECK(gb == std::vector<double>{steps * 0.5, steps * -1.0, steps * 2.0});
}

TEST_CASE("a loop that keeps the last loss alive keeps the tape bounded") {
  // the previous step's graph dies after the next one was recorded, leaving holes behind it
  ag::Tensor a({0.5, -1.0}, ag::f64, true);
  ag::Tensor b({2.0, 0.25}, ag::f64, true);
  const std::size_t tape0 = ag::tape_size(), live0 = ag::live_node_count();
  std::size_t max_tape = 0, max_live = 0;
  {
    ag::Tensor last;
    for (int i = 0; i < 20000; ++i) {
      ag::Tensor y = (a * b + a).sum();
      y.backward(ag::Tensor(), /*retain_graph=*/true);
      last = y;
      max_tape = std::max(max_tape, ag::tape_size());
      max_live = std::max(max_live, ag::live_node_count());
    }
  }
  CHECK(max_live <= live0 + 6);
  CHECK(max_tape < tape0 + 5000);  // holes are compacted
  CHECK(ag::tape_size() == tape0);
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("a graph that is never backwarded is freed with its tensors") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  const std::size_t tape0 = ag::tape_size(), live0 = ag::live_node_count();
  {
    ag::Tensor h = x;
    for (int i = 0; i < 1000; ++i) h = ag::tanh(h * 0.5 + x);
    ag::Tensor loss = h.sum();
    CHECK(ag::live_node_count() == live0 + 3001);
    CHECK(ag::tape_size() >= tape0 + 3001);
  }
  CHECK(ag::live_node_count() == live0);
  CHECK(ag::tape_size() == tape0);
}

TEST_CASE("graphs freed out of order leave no live nodes") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  const std::size_t tape0 = ag::tape_size(), live0 = ag::live_node_count();
  std::vector<ag::Tensor> keep;
  for (int i = 0; i < 50; ++i) keep.push_back(ag::exp(x * static_cast<double>(i)).sum());
  CHECK(ag::live_node_count() == live0 + 150);
  for (std::size_t i = 0; i < keep.size(); i += 2) keep[i] = ag::Tensor();  // every other graph
  CHECK(ag::live_node_count() == live0 + 75);
  keep[1].backward();
  CHECK(ag::live_node_count() == live0 + 73);  // keep[1]'s exp and mul released, its sum node stays
  keep.clear();
  CHECK(ag::live_node_count() == live0);
  CHECK(ag::tape_size() == tape0);
}

TEST_CASE("backward releases saved tensors of the graph it used") {
  // the intermediate values are referenced only by the graph; after backward the input of
  // the first op is referenced again only by the user
  ag::Tensor x = ag::ones({1000}, ag::f64, true);
  const long uses0 = x.impl_ptr().use_count();
  ag::Tensor y = ag::exp(x * 2.0).sum();
  CHECK(x.impl_ptr().use_count() > uses0);  // the mul node holds x
  y.backward();
  CHECK(x.impl_ptr().use_count() == uses0);
}

TEST_CASE("a very deep graph is freed without overflowing the stack") {
  // 200k chained ops never backwarded: destruction must not recurse once per node
  ag::Tensor x({1.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  {
    ag::Tensor h = x;
    for (int i = 0; i < 200000; ++i) h = h * 1.0;
    CHECK(ag::live_node_count() == live0 + 200000);
  }
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("a very deep graph whose ops read one tensor twice is freed without overflowing the stack") {
  // h * h holds h twice: each tensor is shared by its two slots, so only the second release frees it
  ag::Tensor x({1.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  {
    ag::Tensor h = x;
    for (int i = 0; i < 200000; ++i) h = (i % 2 == 0) ? h * h : h + h;
    CHECK(ag::live_node_count() == live0 + 200000);
  }
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("a very deep graph backwards and frees") {
  ag::Tensor x({2.0}, ag::f64, true);
  const std::size_t live0 = ag::live_node_count();
  {
    ag::Tensor h = x;
    for (int i = 0; i < 200000; ++i) h = h + 1e-6;
    h.sum().backward();
  }
  CHECK(x.grad().item() == 1.0);
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("memory: the small-object pool reuses freed tensor headers and nodes, within its cap") {
  if (!ag::detail::small_pool_enabled()) return;  // AddressSanitizer build: every block goes to delete
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  {  // a few hundred headers and nodes, then freed: the pool keeps them for the next step
    std::vector<ag::Tensor> keep;
    for (int i = 0; i < 300; ++i) keep.push_back(x * static_cast<double>(i));
  }
  const std::size_t cached = ag::detail::small_pool_cached_blocks();
  CHECK(cached >= 300);
  CHECK(cached <= 16 * 256);  // 16 size classes, at most 256 blocks each
  {  // the next graph of the same size takes its blocks from the pool, not from malloc
    std::vector<ag::Tensor> keep;
    for (int i = 0; i < 300; ++i) keep.push_back(x * static_cast<double>(i));
    CHECK(ag::detail::small_pool_cached_blocks() < cached);
  }
  {  // far more than the cap: the rest goes back to operator delete
    std::vector<ag::Tensor> keep;
    for (int i = 0; i < 20000; ++i) keep.push_back(x * 1.0);
  }
  CHECK(ag::detail::small_pool_cached_blocks() <= 16 * 256);
}

TEST_CASE("memory: tensors made on one thread and freed on another stay correct") {
  // blocks freed on another thread join that thread's lists; the thread's end returns them
  std::vector<ag::Tensor> made;
  std::thread maker([&] {
    ag::Tensor a({3.0}, ag::f64, true);
    for (int i = 0; i < 500; ++i) made.push_back((a * static_cast<double>(i)).detach());
    for (int i = 0; i < 500; ++i) ag::Tensor t = a * 2.0;  // freed here: cached on this thread
  });
  maker.join();
  double total = 0;
  for (const ag::Tensor& t : made) total += t.item();
  CHECK(total == 3.0 * 499 * 500 / 2);
  std::thread freer([moved = std::move(made)]() mutable { moved.clear(); });
  freer.join();
  ag::Tensor b({1.5}, ag::f64, true);  // this thread's pool still works
  (b * b).sum().backward();
  CHECK(b.grad().item() == 3.0);
}
