// A user's op library tested with the installed per-op harness (ag/doctest_op_table.hpp): one
// AG_OP_ROW per op, a broadcast case, a fused-against-composed row, and the completeness test over
// the ops declared in my_ops.hpp (read at test time, so a new op without a row fails).
#include <filesystem>

#include <ag/doctest_op_table.hpp>

#include "my_ops.hpp"

namespace my {

Tensor softclip(const Tensor& x, double c) {
  return ag::op(
      "softclip", {x}, [&] { return c * ag::tanh(x / c); },
      [c](const ag::VjpContext& ctx, const Tensor& g) -> ag::Grads {
        const Tensor t = ag::tanh(ctx.input(0) / c);  // recomputed from the input: second order works
        return {g * (1.0 - t * t)};
      });
}

Tensor scaled_add(const Tensor& a, const Tensor& b, double s) {
  return ag::op(
      "scaled_add", {a, b}, [&] { return a * s + b; },
      [s](const ag::VjpContext&, const Tensor& g) -> ag::Grads { return {g * s, g}; });  // the engine sums to shape
}

Tensor positive_mask(const Tensor& x) { return x > 0.0; }

}  // namespace my

using namespace ag::testing;

AG_OP_ROW(softclip, "[2,3] and 0-d, against c·tanh(x/c)",
          row([](const Tensors& x) -> Tensors { return {my::softclip(x[0], 1.5), my::softclip(x[1], 0.5)}; },
              {any({2, 3}), any({})})
              .against([](const Tensors& x) -> Tensors { return {1.5 * ag::tanh(x[0] / 1.5), 0.5 * ag::tanh(x[1] / 0.5)}; }));
AG_OP_ROW(scaled_add, "same shapes, with the automatic broadcast cases of both inputs",
          row([](const Tensors& x) { return my::scaled_add(x[0], x[1], -2.5); }, {any({2, 3}), any({2, 3})}).broadcast());

// The ops are read off the library's header; positive_mask has no gradient.
AG_OP_TABLE_COMPLETE("my ops",
                     declared_ops_in((std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "op_table_user").string()),
                     (std::set<std::string>{"positive_mask"}));

TEST_CASE("op table user: the rows registered under the op names, built on demand") {
  const auto& rows = registered_rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].op == "softclip");
  CHECK(rows[1].name == "gradcheck scaled_add: same shapes, with the automatic broadcast cases of both inputs");
  const Row r = rows[1].make();
  CHECK(r.broadcast_cases);
  const RowResult res = check_row(rows[1].name, r);
  CHECK(res.checks.size() == 4 + 2 * 3);  // 4 checks + 3 broadcast shapes per input
  CHECK(res.ok());
  // the mask is not differentiable: a row for it would fail the completeness test
  CHECK(completeness_problems({"softclip", "scaled_add", "positive_mask"}, {}).size() == 1);
  CHECK(my::positive_mask(ag::tensor({-1.0, 2.0}, ag::f64)).to_vector<double>() == std::vector<double>{0.0, 1.0});
}
