#pragma once
// doctest glue for the per-op test table (ag/testing/op_table.hpp): one TEST_CASE per row, and the
// completeness test over the user's list of ops.
//
//   #include <ag/doctest_op_table.hpp>
//   using namespace ag::testing;
//   AG_OP_ROW(swish, "[2,3] and 0-d",
//             row([](const Tensors& x) -> Tensors { return {my::swish(x[0]), my::swish(x[1])}; },
//                 {any({2, 3}), any({})}));
//   AG_OP_ROW(my_add, "broadcasting", row(..., {any({2, 3}), any({2, 3})}).broadcast());
//   AG_OP_TABLE_COMPLETE("my ops", (std::set<std::string>{"swish", "my_add"}), {});
//
// AG_OP_ROW(op, label, row) registers the row under the op's name and defines the test case
// "gradcheck <op>: <label>", which runs ag::testing::check_row and fails with the report of each
// failing check (gradcheck, gradgradcheck, ...). The row expression is evaluated when the test
// runs (and each time registered_rows()[i].make() is called). AG_OP_TABLE_COMPLETE(title, ops,
// exempt) defines a test case that fails, one message per problem, when an op in `ops` (a
// std::set<std::string>, or any expression giving one: e.g. ag::testing::declared_ops_in(dir))
// has no row and is not in `exempt`. Wrap arguments that contain commas in parentheses. Keep ';'
// out of labels: doctest_discover_tests splits test names there, and ctest then runs nothing.
#include <doctest/doctest.h>

#include "ag/doctest_gradcheck.hpp"
#include "ag/testing/op_table.hpp"

#define AG_OP_TABLE_CAT2_(a, b) a##b
#define AG_OP_TABLE_CAT_(a, b) AG_OP_TABLE_CAT2_(a, b)

#define AG_OP_ROW(op, label, ...) AG_OP_ROW_IMPL_(op, label, AG_OP_TABLE_CAT_(ag_op_row_, __COUNTER__), __VA_ARGS__)
#define AG_OP_ROW_IMPL_(op, label, id, ...)                                                          \
  static ::ag::testing::Row AG_OP_TABLE_CAT_(id, _make)() { return __VA_ARGS__; }                    \
  static const bool AG_OP_TABLE_CAT_(id, _registered) =                                              \
      (::ag::testing::register_row(#op, "gradcheck " #op ": " label, &AG_OP_TABLE_CAT_(id, _make)), true); \
  TEST_CASE("gradcheck " #op ": " label) {                                                           \
    const ::ag::testing::RowResult ag_op_row_result_ =                                               \
        ::ag::testing::check_row("gradcheck " #op ": " label, AG_OP_TABLE_CAT_(id, _make)());        \
    for (const ::ag::testing::RowCheck& ag_op_row_check_ : ag_op_row_result_.checks)                 \
      CHECK_MESSAGE(ag_op_row_check_.ok, ag_op_row_check_.what << ":\n" << ag_op_row_check_.report); \
  }

#define AG_OP_TABLE_COMPLETE(title, ops, exempt)                                               \
  TEST_CASE("op table complete: " title) {                                                      \
    const std::set<std::string> ag_op_table_ops_ = ops;                                         \
    REQUIRE_MESSAGE(!ag_op_table_ops_.empty(), "the list of ops is empty");                     \
    for (const std::string& ag_op_table_problem_ :                                              \
         ::ag::testing::completeness_problems(ag_op_table_ops_, exempt))                        \
      CHECK_MESSAGE(false, ag_op_table_problem_);                                               \
  }
