// Gradcheck table: convolution (ag/ops/conv.hpp). Tiny shapes (gradgradcheck runs under ASan in
// CI): stride > 1, padding (ints, "same" with an even kernel), dilation, groups, depthwise, 1×1
// kernels, batch > 1, with and without bias. The second derivatives exercise the three recorded
// ops (forward, input gradient, weight gradient) through one another.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(unfold, "3×2 kernel, dilation 2, padding 1, stride 2, unbatched",
              row([](const Ts& x) -> Ts {
                    return {ag::unfold(x[0], {3, 2}), ag::unfold(x[0], 2, 2, 1, 2), ag::unfold(x[1], 2, 1, 1, 1)};
                  },
                  {any({2, 2, 4, 3}), any({1, 3, 3})}));
GRADCHECK_ROW(fold, "overlapping blocks (stride 1), stride 2 with padding, unbatched",
              row([](const Ts& x) -> Ts {
                    return {ag::fold(x[0], {3, 3}, 2), ag::fold(x[1], {4, 3}, 2, 1, 1, 2), ag::fold(x[2], {2, 3}, {1, 2})};
                  },
                  {any({2, 4, 4}), any({1, 8, 6}), any({2, 4})}));
GRADCHECK_ROW(conv2d, "batch 2 with bias, stride 2, padding 1, dilation (2, 1), 1×1",
              row([](const Ts& x) -> Ts {
                    return {ag::conv2d(x[0], x[1], x[2]), ag::conv2d(x[0], x[1], {}, 2, 1, {2, 1}),
                            ag::conv2d(x[0], x[3], x[4], ag::Conv2dOptions().stride({1, 2}))};
                  },
                  {any({2, 2, 4, 4}), any({3, 2, 2, 2}), any({3}), any({2, 2, 1, 1}), any({2})}));
GRADCHECK_ROW(conv2d, "groups 2, depthwise (multiplier 2) with \"same\" and an even kernel, unbatched",
              row([](const Ts& x) -> Ts {
                    return {ag::conv2d(x[0], x[1], x[2], ag::Conv2dOptions().groups(2).padding({0, 1})),
                            ag::conv2d(x[3], x[4], {}, ag::Conv2dOptions().groups(2).padding("same")),
                            ag::conv2d(x[5], x[6], {}, 1, ag::Padding<2>::sides({1, 0, 0, 2}))};
                  },
                  {any({1, 4, 3, 3}), any({4, 2, 2, 2}), any({4}), any({1, 2, 3, 4}), any({4, 1, 2, 3}), any({2, 3, 3}),
                   any({2, 2, 2, 2})}));
GRADCHECK_ROW(conv1d, "bias, stride 2, padding 1, dilation 2, groups 2",
              row([](const Ts& x) -> Ts {
                    return {ag::conv1d(x[0], x[1], x[2]), ag::conv1d(x[0], x[1], {}, 2, 1, 2),
                            ag::conv1d(x[0], x[3], {}, ag::Conv1dOptions().groups(2).padding("same"))};
                  },
                  {any({2, 2, 6}), any({3, 2, 2}), any({3}), any({4, 1, 3})}));
GRADCHECK_ROW(conv_transpose2d, "stride 2, padding 1, output_padding 1, bias, groups 2 with dilation 2",
              row([](const Ts& x) -> Ts {
                    return {ag::conv_transpose2d(x[0], x[1], x[2], 2, 1, 1),
                            ag::conv_transpose2d(x[3], x[4], {}, ag::ConvTranspose2dOptions().groups(2).dilation(2))};
                  },
                  {any({2, 2, 2, 2}), any({2, 3, 2, 2}), any({3}), any({1, 2, 2, 3}), any({2, 1, 2, 2})}));
