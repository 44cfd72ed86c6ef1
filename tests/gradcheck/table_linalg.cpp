// Gradcheck table: matrix products (ag/ops/linalg.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

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
