// Gradcheck table: pooling (ag/ops/pool.hpp). Max pooling uses spread inputs (distinct values, so
// no window has a tie and finite differences stay off the kinks). Tiny shapes: gradgradcheck
// runs under ASan in CI.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;
using gct::spread;

GRADCHECK_ROW(max_pool2d, "2×2, 3×3 stride 2 padding 1 (overlapping), dilation 2, unbatched",
              row([](const Ts& x) -> Ts {
                    return {ag::max_pool2d(x[0], 2), ag::max_pool2d(x[0], 3, 2, 1),
                            ag::max_pool2d(x[0], ag::MaxPool2dOptions({2, 2}).stride(1).dilation({2, 1})),
                            ag::max_pool2d(x[1], {2, 1})};
                  },
                  {spread({2, 2, 4, 5}), spread({2, 3, 2})}));
GRADCHECK_ROW(max_pool1d, "kernel 2, kernel 3 stride 2 padding 1 dilation 2",
              row([](const Ts& x) -> Ts { return {ag::max_pool1d(x[0], 2), ag::max_pool1d(x[0], 3, 2, 1, 2)}; },
                  {spread({2, 2, 7})}));
GRADCHECK_ROW(avg_pool2d, "2×2, 3×3 stride 2 padding 1 with and without the padding counted",
              row([](const Ts& x) -> Ts {
                    return {ag::avg_pool2d(x[0], 2), ag::avg_pool2d(x[0], 3, 2, 1),
                            ag::avg_pool2d(x[0], ag::AvgPool2dOptions(3).stride(2).padding(1).count_include_pad(false))};
                  },
                  {any({2, 2, 4, 5})}));
GRADCHECK_ROW(avg_pool1d, "kernel 2, kernel 3 stride 2 padding 1 without the padding counted",
              row([](const Ts& x) -> Ts { return {ag::avg_pool1d(x[0], 2), ag::avg_pool1d(x[0], 3, 2, 1, false)}; },
                  {any({2, 2, 7})}));
GRADCHECK_ROW(adaptive_avg_pool2d, "global, uneven windows (5×4 to 3×3), unbatched",
              row([](const Ts& x) -> Ts {
                    return {ag::adaptive_avg_pool2d(x[0], 1), ag::adaptive_avg_pool2d(x[0], 3), ag::adaptive_avg_pool2d(x[1], {2, 3})};
                  },
                  {any({2, 2, 5, 4}), any({2, 3, 4})}));
