// Gradcheck table: elementwise ops (ag/ops/elementwise.hpp). Binary rows cover same shapes, broadcasting on
// both sides and a 0-d operand in one check.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::nonzero;
using gct::positive;
using gct::row;

GRADCHECK_ROW(add, "same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::add), {any({2, 3}), any({2, 3}), any({2, 1}), any({3}), any({})}));
GRADCHECK_ROW(sub, "same shapes, broadcast, 0-d",
              row(GCT_BINARY_CASES(ag::sub), {any({2, 3}), any({2, 3}), any({2, 1}), any({3}), any({})}));
GRADCHECK_ROW(mul, "same shapes, broadcast, 0-d, automatic broadcast cases of the first two",
              row(GCT_BINARY_CASES(ag::mul), {any({2, 3}), any({2, 3}), any({2, 1}), any({3}), any({})}).broadcast({0, 1}));
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
GCT_UNARY_ROW(neg, any);
GCT_UNARY_ROW(exp, any);
GCT_UNARY_ROW(log, positive);
GCT_UNARY_ROW(sqrt, positive);
GCT_UNARY_ROW(abs, nonzero);
GCT_UNARY_ROW(sin, any);
GCT_UNARY_ROW(cos, any);
GCT_UNARY_ROW(tanh, any);
GCT_UNARY_ROW(sigmoid, any);
GCT_UNARY_ROW(relu, nonzero);
GCT_UNARY_ROW(square, any);
// through float32 and back: the finite differences see float32 rounding, hence the larger eps
GRADCHECK_ROW(to_dtype, "float64 -> float32 -> float64",
              row([](const Ts& x) { return ag::to_dtype(ag::to_dtype(x[0], ag::f32), ag::f64); }, {any({2, 3})})
                  .eps(1e-2)
                  .tol(1e-4, 1e-3)
                  .jvp_tol(1e-12, 1e-6));
GCT_UNARY_WITH(log1p, positive, "[2,3] and 0-d");
GCT_UNARY_WITH(expm1, any, "[2,3] and 0-d");
GCT_UNARY_WITH(reciprocal, nonzero, "[2,3] and 0-d");
GRADCHECK_ROW(log1p, "near -1 and near 0", row([](const Ts& x) { return ag::log1p(x[0]); }, {gct::uniform({4}, -0.9, 1e-3)}));
// piecewise constant: derivative 0 away from the jumps (nonzero inputs)
GCT_UNARY_ROW(sign, nonzero);
GCT_UNARY_ROW(step, nonzero);
