// Gradcheck table, part 1: the core ops (elementwise, scalar forms, reductions, matmul, shape).
// Binary rows cover same shapes, broadcasting on both sides and a 0-d operand in one check.
#include "gradcheck/gradcheck_table.hpp"

using gct::any;
using gct::nonzero;
using gct::positive;
using gct::row;
using gct::spread;
using gct::Ts;

// inputs: a, b [2,3]; c [2,1]; d [3]; e 0-d
#define GCT_BINARY_CASES(op)                                                          \
  [](const Ts& x) -> Ts { return {op(x[0], x[1]), op(x[2], x[3]), op(x[4], x[0])}; }

// ---- binary --------------------------------------------------------------------------------------
GRADCHECK_ROW(add, "same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::add), {any({2, 3}), any({2, 3}), any({2, 1}), any({3}), any({})}));
GRADCHECK_ROW(sub, "same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::sub), {any({2, 3}), any({2, 3}), any({2, 1}), any({3}), any({})}));
GRADCHECK_ROW(mul, "same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::mul), {any({2, 3}), any({2, 3}), any({2, 1}), any({3}), any({})}));
GRADCHECK_ROW(div, "same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::div), {any({2, 3}), nonzero({2, 3}), any({2, 1}), nonzero({3}), nonzero({})}));
GRADCHECK_ROW(pow, "tensor^tensor, same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::pow), {positive({2, 3}), any({2, 3}), positive({2, 1}), any({3}), positive({})}));
GRADCHECK_ROW(pow, "tensor^double",
              row([](const Ts& x) -> Ts { return {ag::pow(x[0], 3.0), ag::pow(x[1], -1.5), ag::pow(x[2], 0.5)}; },
                  {any({2, 3}), positive({4}), positive({})}));
GRADCHECK_ROW(pow, "double^tensor",
              row([](const Ts& x) -> Ts { return {ag::pow(2.5, x[0]), ag::pow(0.5, x[1])}; }, {any({2, 3}), any({})}));
GRADCHECK_ROW(add, "tensor + double (both sides)",
              row([](const Ts& x) -> Ts { return {ag::add(x[0], 1.5), 2.0 + x[1], x[0] - 0.5}; }, {any({2, 3}), any({})}));
GRADCHECK_ROW(mul, "tensor * double (both sides) and / double",
              row([](const Ts& x) -> Ts { return {ag::mul(x[0], -1.5), 2.0 * x[1], x[0] / 4.0}; }, {any({2, 3}), any({})}));
GRADCHECK_ROW(rsub, "double - tensor",
              row([](const Ts& x) -> Ts { return {ag::rsub(1.5, x[0]), 2.0 - x[1]}; }, {any({2, 3}), any({})}));
GRADCHECK_ROW(rdiv, "double / tensor",
              row([](const Ts& x) -> Ts { return {ag::rdiv(1.5, x[0]), 2.0 / x[1]}; }, {nonzero({2, 3}), nonzero({})}));

// ---- unary: a [2,3] and a 0-d input each ---------------------------------------------------------------
#define GCT_UNARY(op, domain)                                                                     \
  GRADCHECK_ROW(op, "[2,3] and 0-d",                                                            \
                row([](const Ts& x) -> Ts { return {ag::op(x[0]), ag::op(x[1])}; }, {domain({2, 3}), domain({})}))
GCT_UNARY(neg, any);
GCT_UNARY(exp, any);
GCT_UNARY(log, positive);
GCT_UNARY(sqrt, positive);
GCT_UNARY(abs, nonzero);
GCT_UNARY(sin, any);
GCT_UNARY(cos, any);
GCT_UNARY(tanh, any);
GCT_UNARY(sigmoid, any);
GCT_UNARY(relu, nonzero);
GCT_UNARY(square, any);

// ---- reductions ------------------------------------------------------------------------------------------
GRADCHECK_ROW(sum, "all, axes, negative axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::sum(x[0]), ag::sum(x[0], {1}), ag::sum(x[0], {0, -1}, true), ag::sum(x[0], {-2}),
                            ag::sum(x[1])};
                  },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(mean, "all, axes, negative axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::mean(x[0]), ag::mean(x[0], {1}), ag::mean(x[0], {0, -1}, true), ag::mean(x[1])};
                  },
                  {any({2, 3, 2}), any({})}));

// ---- linear algebra ----------------------------------------------------------------------------------------
GRADCHECK_ROW(matmul, "2-D, batched with broadcast, 1-D on either side, 1-D·1-D",
              row([](const Ts& x) -> Ts {
                    return {ag::matmul(x[0], x[1]), ag::matmul(x[2], x[1]), ag::matmul(x[3], x[1]),
                            ag::matmul(x[0], x[4]), ag::matmul(x[4], x[4])};
                  },
                  {any({2, 3}), any({3, 2}), any({2, 1, 2, 3}), any({3}), any({3})}));
GRADCHECK_ROW(matmul_t, "all four transpose flags, batched",
              row([](const Ts& x) -> Ts {
                    return {ag::matmul_t(x[0], x[1], false, false), ag::matmul_t(x[2], x[1], true, false),
                            ag::matmul_t(x[0], x[3], false, true), ag::matmul_t(x[2], x[3], true, true),
                            ag::matmul_t(x[4], x[1], false, false)};
                  },
                  {any({2, 3}), any({3, 2}), any({3, 2}), any({2, 3}), any({2, 2, 3})}));
GRADCHECK_ROW(linear, "small (plain loop), BLAS-sized (12·10·12 > 1024), 3-D input (matmul + add), "
              "the per-row shapes: one output column (n = 1), one input feature (k = 1)",
              row([](const Ts& x) -> Ts {
                    return {ag::linear(x[0], x[1], x[2]), ag::linear(x[3], x[4], x[5]),
                            ag::linear(x[6], x[1], x[2]), ag::linear(x[7], x[8], x[9]),
                            ag::linear(x[10], x[11], x[12])};
                  },
                  {any({2, 3}), any({3, 4}), any({4}), any({12, 10}), any({10, 12}), any({12}),
                   any({2, 2, 3}), any({1, 16}), any({16, 1}), any({1}), any({4, 1}), any({1, 5}),
                   any({5})}));

// ---- shape ------------------------------------------------------------------------------------------------
GRADCHECK_ROW(reshape, "with -1 and to 0-d",
              row([](const Ts& x) -> Ts { return {ag::reshape(x[0], {3, -1}), ag::reshape(x[1], {})}; },
                  {any({2, 3}), any({1, 1})}));
GRADCHECK_ROW(permute, "3-D with negative axes",
              row([](const Ts& x) -> Ts { return {ag::permute(x[0], {2, 0, 1}), ag::permute(x[0], {-1, -3, -2})}; },
                  {any({2, 3, 2})}));
GRADCHECK_ROW(transpose, "two axes and reversed",
              row([](const Ts& x) -> Ts { return {ag::transpose(x[0], 0, 2), ag::transpose(x[0]), ag::transpose(x[1])}; },
                  {any({2, 3, 2}), any({2, 3})}));
GRADCHECK_ROW(broadcast_to, "leading and size-1 axes, 0-d",
              row([](const Ts& x) -> Ts { return {ag::broadcast_to(x[0], {2, 2, 3}), ag::broadcast_to(x[1], {2, 3})}; },
                  {any({2, 1}), any({})}));
GRADCHECK_ROW(sum_to, "leading and size-1 axes, to 0-d",
              row([](const Ts& x) -> Ts { return {ag::sum_to(x[0], {2, 1}), ag::sum_to(x[0], {3}), ag::sum_to(x[0], {})}; },
                  {any({2, 2, 3})}));
// through float32 and back: the finite differences see float32 rounding, hence the larger eps
GRADCHECK_ROW(to_dtype, "float64 -> float32 -> float64",
              row([](const Ts& x) { return ag::to_dtype(ag::to_dtype(x[0], ag::f32), ag::f64); }, {any({2, 3})})
                  .eps(1e-2)
                  .tol(1e-4, 1e-3));
