// Gradcheck table: broadcasting and its adjoint (ag/ops/broadcast.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(broadcast_to, "leading and size-1 axes, 0-d",
              row([](const Ts& x) -> Ts { return {ag::broadcast_to(x[0], {2, 2, 3}), ag::broadcast_to(x[1], {2, 3})}; },
                  {any({2, 1}), any({})}));
GRADCHECK_ROW(sum_to, "leading and size-1 axes, to 0-d",
              row([](const Ts& x) -> Ts { return {ag::sum_to(x[0], {2, 1}), ag::sum_to(x[0], {3}), ag::sum_to(x[0], {})}; },
                  {any({2, 2, 3})}));
GRADCHECK_ROW(expand, "size-1 and new axes",
              row([](const Ts& x) -> Ts { return {ag::expand(x[0], {2, 2, 3}), ag::expand(x[1], {3})}; }, {any({2, 1}), any({})}));
