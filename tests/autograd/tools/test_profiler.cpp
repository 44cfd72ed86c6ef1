// The profiler: per-op counts and times, forward and backward, and tape memory.
#include <doctest/doctest.h>

#include <string>

#include "ag/ag.hpp"

namespace {
const ag::OpProfile* find(const std::vector<ag::OpProfile>& ops, const std::string& name) {
  for (const auto& p : ops)
    if (p.op == name) return &p;
  return nullptr;
}
}  // namespace

TEST_CASE("profiler: counts forwards, recordings and backwards per op") {
  ag::Tensor w = ag::full({8, 4}, 0.1, ag::f32, true);
  ag::Tensor x = ag::ones({16, 8}, ag::f32);
  ag::Profiler prof;
  for (int i = 0; i < 3; ++i) {
    ag::Tensor loss = ag::sum(ag::relu(ag::matmul(x, w)));
    loss.backward();
  }
  ag::no_grad([&] { return ag::exp(w); });  // run, not recorded
  prof.stop();
  ag::exp(w);  // after stop(): not counted
  const auto ops = prof.ops();
  const auto* mm = find(ops, "matmul");
  REQUIRE(mm != nullptr);
  CHECK(mm->forward_calls == 3);
  CHECK(mm->recorded == 3);
  CHECK(mm->recorded_bytes == 3 * 16 * 4 * sizeof(float));
  CHECK(mm->backward_calls == 3);
  CHECK(mm->forward_total_ms >= mm->forward_self_ms);
  CHECK(mm->backward_ms > 0);
  const auto* ex = find(ops, "exp");
  REQUIRE(ex != nullptr);
  CHECK(ex->forward_calls == 1);
  CHECK(ex->recorded == 0);
  CHECK(ex->backward_calls == 0);
  // the VJPs' own ops (matmul's backward runs matmuls) count as backward time, not forwards
  CHECK(find(ops, "relu")->forward_calls == 3);
  CHECK(prof.peak_tape_nodes() == 3);  // matmul, relu, sum of one iteration
  CHECK(prof.peak_tape_bytes() == 2 * 16 * 4 * sizeof(float) + sizeof(float));
  const std::string t = prof.table();
  CHECK(t.find("matmul") != std::string::npos);
  CHECK(t.find("peak tape memory") != std::string::npos);
  CHECK(t.find("total") != std::string::npos);
}

TEST_CASE("profiler: self time excludes nested ops, one active profiler per thread") {
  ag::Profiler prof;
  CHECK_THROWS_AS(ag::Profiler(), ag::ValueError);
  ag::Tensor x = ag::ones({64, 64}, ag::f64, true);
  ag::Tensor y = ag::op(
      "outer", {x}, [&] { return ag::exp(ag::exp(x)); },
      [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads { return {g}; });
  prof.stop();
  const auto ops = prof.ops();
  const auto* outer = find(ops, "outer");
  const auto* ex = find(ops, "exp");
  REQUIRE(outer != nullptr);
  REQUIRE(ex != nullptr);
  CHECK(ex->forward_calls == 2);
  CHECK(outer->forward_total_ms >= ex->forward_total_ms);
  CHECK(outer->forward_self_ms <= outer->forward_total_ms - ex->forward_total_ms + 1e-9);
  CHECK(outer->recorded == 1);
  ag::Profiler again;  // the first one stopped: a new one may start
  again.stop();
}
