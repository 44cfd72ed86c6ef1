// Gradcheck table: indexing (ag/ops/indexing.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;
using gct::values;

GRADCHECK_ROW(index_select, "repeated indices, list and tensor forms",
              row([](const Ts& x) -> Ts {
                    return {ag::index_select(x[0], 1, {2, 0, 2}), ag::index_select(x[0], 0, values({1, 1, 0}, {3}))};
                  },
                  {any({2, 3})}));
GRADCHECK_ROW(take_along_axis, "NLL pick on axis 1, repeats on axis 0",
              row([](const Ts& x) -> Ts {
                    return {ag::take_along_axis(x[0], values({2, 0, 1}, {3, 1}), 1),
                            ag::take_along_axis(x[0], values({1, 1, 0, 2, 2, 2}, {2, 3}), 0)};
                  },
                  {any({3, 3})}));
GRADCHECK_ROW(gather, "torch argument order",
              row([](const Ts& x) { return ag::gather(x[0], 1, values({1, 0, 0, 2}, {2, 2})); }, {any({2, 3})}));
