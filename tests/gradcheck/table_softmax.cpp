// Gradcheck table: softmax, log_softmax, logsumexp (ag/ops/softmax.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(logsumexp, "all, axes, non-adjacent axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::logsumexp(x[0]), ag::logsumexp(x[0], {1}), ag::logsumexp(x[0], {0, 2}, true),
                            ag::logsumexp(x[1])};
                  },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(logsumexp, "large inputs", row([](const Ts& x) { return ag::logsumexp(x[0], {1}); }, {gct::uniform({2, 3}, 998, 1002)}));
GRADCHECK_ROW(softmax, "last axis, axis 0, middle axis",
              row([](const Ts& x) -> Ts { return {ag::softmax(x[0]), ag::softmax(x[0], 0), ag::softmax(x[1], 1)}; },
                  {any({3, 4}), any({2, 3, 2})}));
GRADCHECK_ROW(softmax, "large logits", row([](const Ts& x) { return ag::softmax(x[0]); }, {gct::uniform({2, 3}, 998, 1002)}));
GRADCHECK_ROW(log_softmax, "last axis, axis 0, middle axis",
              row([](const Ts& x) -> Ts { return {ag::log_softmax(x[0]), ag::log_softmax(x[0], 0), ag::log_softmax(x[1], 1)}; },
                  {any({3, 4}), any({2, 3, 2})}));
GRADCHECK_ROW(log_softmax, "large negative logits",
              row([](const Ts& x) { return ag::log_softmax(x[0]); }, {gct::uniform({2, 3}, -1002, -998)}));
