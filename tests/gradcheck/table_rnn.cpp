// Gradcheck table: the fused recurrent gate ops (ag/ops/rnn.hpp). Several rows and a column of
// batch 1; the first-order rows check the fused loop, the second-order ones the ag-op VJP.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(lstm_gates, "B = 3, H = 2, B = 1, H = 1",
              row([](const Ts& x) -> Ts { return {ag::lstm_gates(x[0], x[1]), ag::lstm_gates(x[2], x[3])}; },
                  {any({3, 8}), any({3, 2}), any({1, 4}), any({1, 1})}));
GRADCHECK_ROW(gru_gates, "B = 3, H = 2, B = 1, H = 1",
              row([](const Ts& x) -> Ts { return {ag::gru_gates(x[0], x[1], x[2]), ag::gru_gates(x[3], x[4], x[5])}; },
                  {any({3, 6}), any({3, 6}), any({3, 2}), any({1, 3}), any({1, 3}), any({1, 1})}));
GRADCHECK_ROW(lstm_sequence, "T = 3, B = 2, H = 2 forward and reverse, T = 1, B = 1, H = 1",
              row([](const Ts& x) -> Ts {
                return {ag::lstm_sequence(x[0], x[1], x[2], x[3]), ag::lstm_sequence(x[0], x[1], x[2], x[3], true),
                        ag::lstm_sequence(x[4], x[5], x[6], x[7])};
              },
                  {any({3, 2, 8}), any({8, 2}), any({2, 2}), any({2, 2}), any({1, 1, 4}), any({4, 1}), any({1, 1}),
                   any({1, 1})}));
