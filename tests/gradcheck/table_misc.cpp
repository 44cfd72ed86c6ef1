// Gradcheck table: the p-norm, outer and masked_fill (autograd/src/ops/misc.cpp).
#include <limits>

#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::nonzero;
using gct::row;
using gct::spread;

GRADCHECK_ROW(norm_p, "p = 3: all, axes, non-adjacent axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::norm_p(x[0], 3.0), ag::norm_p(x[0], 3.0, {1}), ag::norm_p(x[0], 3.0, {0, 2}, true),
                            ag::norm_p(x[1], 3.0)};
                  },
                  {nonzero({2, 3, 2}), nonzero({})}));
GRADCHECK_ROW(norm_p, "p = 1, 1.5, 2, 4.5 over axis -1",
              row([](const Ts& x) -> Ts {
                    return {ag::norm_p(x[0], 1.0, {-1}), ag::norm_p(x[0], 1.5, {-1}), ag::norm_p(x[0], 2.0, {-1}),
                            ag::norm_p(x[0], 4.5, {-1})};
                  },
                  {nonzero({3, 4})}));
GRADCHECK_ROW(norm_p, "p = inf: all, axis, keepdims",
              row([](const Ts& x) -> Ts {
                    const double inf = std::numeric_limits<double>::infinity();
                    return {ag::norm_p(x[0], inf), ag::norm_p(x[0], inf, {0}), ag::norm_p(x[0], inf, {1}, true)};
                  },
                  {spread({3, 4})}));
GRADCHECK_ROW(norm, "p form (norm(x, p[, axes]))",
              row([](const Ts& x) -> Ts { return {ag::norm(x[0], 3), ag::norm(x[0], 2.5, {1}, true)}; },
                  {nonzero({2, 3})}));

GRADCHECK_ROW(outer, "[3] x [4], [1] x [2]",
              row([](const Ts& x) -> Ts { return {ag::outer(x[0], x[1]), ag::outer(x[2], x[3])}; },
                  {any({3}), any({4}), any({1}), any({2})}));

GRADCHECK_ROW(masked_fill, "same shape, broadcast row, column and 0-d masks",
              row([](const Ts& x) -> Ts {
                    return {ag::masked_fill(x[0], gct::values({1, 0, 0, 1, 0, 1}, {2, 3}), 2.5),
                            ag::masked_fill(x[0], gct::values({0, 1, 0}, {3}), -1.0),
                            ag::masked_fill(x[0], gct::values({1, 0}, {2, 1}), 0.0),
                            ag::masked_fill(x[0], gct::values({0}, {}), 7.0), ag::masked_fill(x[1], gct::values({1}, {}), 7.0)};
                  },
                  {any({2, 3}), any({})}));
