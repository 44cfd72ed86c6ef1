// The installed per-op harness (ag/testing/op_table.hpp) from a consumer project: a user's op with
// one table row, checked to second order, its broadcast cases and the completeness of the table.
#include <set>
#include <string>

#include <ag/ag.hpp>
#include <ag/testing/op_table.hpp>

namespace {

// cube(x) = x³, d/dx = 3x²·g, written with ag ops so that second order works
ag::Tensor cube(const ag::Tensor& x) {
  return ag::op(
      "cube", {x}, [&] { return x * x * x; },
      [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads { return {3.0 * g * c.input(0) * c.input(0)}; });
}

ag::testing::Row cube_row() {
  using namespace ag::testing;
  return row([](const Tensors& x) { return cube(x[0]) * x[1]; }, {any({2, 3}), any({2, 3})})
      .broadcast({1})
      .against([](const Tensors& x) { return x[0] * x[0] * x[0] * x[1]; });
}

}  // namespace

int main() {
  ag::testing::register_row("cube", "cube times a broadcast factor", &cube_row);
  bool ok = true;
  for (const auto& r : ag::testing::registered_rows()) {
    const ag::testing::RowResult res = ag::testing::check_row(r.name, r.make());
    fmt::print("{}: {} checks, {}\n{}", r.name, res.checks.size(), res.ok() ? "ok" : "FAIL", res.report());
    ok = ok && res.ok() && res.checks.size() == 8;  // 4 + 3 broadcast shapes + the reference
  }
  ok = ok && ag::testing::completeness_problems({"cube"}).empty();
  return ok ? 0 : 1;
}
