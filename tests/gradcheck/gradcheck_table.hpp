#pragma once
// The op table behind tapegrad's own gradcheck suite: a thin layer over the installed harness
// (ag/testing/op_table.hpp, ag/doctest_op_table.hpp) that keeps the table's short names. One row =
// one public op under one set of input shapes; GRADCHECK_ROW = AG_OP_ROW: its own doctest
// TEST_CASE running gradcheck, gradgradcheck, the create_graph comparison and the jvp/vjp
// consistency check in float64 (plus broadcast cases and a composed reference where the row asks).
//
//   GRADCHECK_ROW(softmax, "axis 0 and -1",
//                 gct::row([](const gct::Ts& x) -> gct::Ts { return {ag::softmax(x[0], 0), ...}; },
//                          {gct::any({3, 4})}));
//
// A row may return several outputs (one per shape case: same shapes, broadcasting, 0-d) so one
// TEST_CASE covers them all. Every row registers its op name; test_table_complete.cpp fails when
// an op declared in ag/ops/*.hpp has no row and is not listed as non-differentiable.
#include <set>
#include <string>
#include <vector>

#include "ag/ag.hpp"
#include "ag/doctest_op_table.hpp"

namespace gct {

using Ts = std::vector<ag::Tensor>;
using ag::testing::any;
using ag::testing::constant;
using ag::testing::Input;
using ag::testing::Kind;
using ag::testing::make_input;
using ag::testing::nonzero;
using ag::testing::positive;
using ag::testing::RegisteredRow;
using ag::testing::registered_rows;
using ag::testing::row;
using ag::testing::Row;
using ag::testing::spread;
using ag::testing::uniform;

inline std::uint64_t fnv1a(const std::string& s) { return ag::testing::seed_of(s); }
inline ag::Tensor values(const std::vector<double>& v, const ag::Shape& s) { return ag::testing::values(v, s); }
inline std::multiset<std::string> covered() { return ag::testing::covered_ops(); }

// Runs every check of a row, one doctest CHECK per check.
inline void run(const std::string& name, const Row& r) {
  const ag::testing::RowResult res = ag::testing::check_row(name, r);
  for (const ag::testing::RowCheck& c : res.checks) CHECK_MESSAGE(c.ok, c.what << ":\n" << c.report);
}

}  // namespace gct

// One TEST_CASE named "gradcheck <op>: <label>" running the row built by the trailing expression.
#define GRADCHECK_ROW(op, label, ...) AG_OP_ROW(op, label, __VA_ARGS__)

// Row bodies shared by the family tables.
// A binary op on inputs a, b [2,3]; c [2,1]; d [3]; e 0-d: same shapes, broadcast both ways, 0-d.
#define GCT_BINARY_CASES(op) \
  [](const ::gct::Ts& x) -> ::gct::Ts { return {op(x[0], x[1]), op(x[2], x[3]), op(x[4], x[0])}; }
// A unary op on a [2,3] and a 0-d input drawn from `domain`.
#define GCT_UNARY_ROW(op, domain)                                                                    \
  GRADCHECK_ROW(op, "[2,3] and 0-d",                                                                 \
                ::gct::row([](const ::gct::Ts& x) -> ::gct::Ts { return {ag::op(x[0]), ag::op(x[1])}; }, \
                           {::gct::domain({2, 3}), ::gct::domain({})}))
// The same with a label and extra arguments after the input (", 0.3" for a slope).
#define GCT_UNARY_WITH(op, domain, label, ...)                                                       \
  GRADCHECK_ROW(op, label,                                                                           \
                ::gct::row([](const ::gct::Ts& x) -> ::gct::Ts {                                     \
                  return {ag::op(x[0] __VA_ARGS__), ag::op(x[1] __VA_ARGS__)};                       \
                }, {::gct::domain({2, 3}), ::gct::domain({})}))
