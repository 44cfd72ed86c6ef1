// Gradcheck table: rearranging ops (ag/ops/shape.hpp: flip, roll, tile, repeat_interleave) and matrix
// structure (ag/ops/linalg.hpp: triu, tril, diag).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(flip, "one axis, two axes with a negative one, 0-d",
              row([](const Ts& x) -> Ts { return {ag::flip(x[0], {1}), ag::flip(x[0], {0, -1}), ag::flip(x[1], {})}; },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(roll, "one axis both ways, several axes, flattened",
              row([](const Ts& x) -> Ts {
                    return {ag::roll(x[0], 1, 1), ag::roll(x[0], -4, -1), ag::roll(x[0], {1, 2}, {0, 1}), ag::roll(x[0], 5)};
                  },
                  {any({2, 3})}));
GRADCHECK_ROW(tile, "same rank, shorter reps, longer reps",
              row([](const Ts& x) -> Ts { return {ag::tile(x[0], {2, 1}), ag::tile(x[0], {3}), ag::tile(x[1], {2, 1, 2})}; },
                  {any({2, 3}), any({3})}));
GRADCHECK_ROW(repeat_interleave, "first and last axis",
              row([](const Ts& x) -> Ts { return {ag::repeat_interleave(x[0], 2, 0), ag::repeat_interleave(x[0], 3, -1)}; },
                  {any({2, 3})}));
GRADCHECK_ROW(triu, "k = 0, 1, -1, batched",
              row([](const Ts& x) -> Ts { return {ag::triu(x[0]), ag::triu(x[0], 1), ag::triu(x[1], -1)}; },
                  {any({3, 4}), any({2, 3, 3})}));
GRADCHECK_ROW(tril, "k = 0, 1, -1, batched",
              row([](const Ts& x) -> Ts { return {ag::tril(x[0]), ag::tril(x[0], 1), ag::tril(x[1], -1)}; },
                  {any({3, 4}), any({2, 3, 3})}));
GRADCHECK_ROW(diag, "vector to matrix (k = 0, 1, -2), matrix to vector (k = 0, 1, -1)",
              row([](const Ts& x) -> Ts {
                    return {ag::diag(x[0]), ag::diag(x[0], 1), ag::diag(x[0], -2),
                            ag::diag(x[1]), ag::diag(x[1], 1), ag::diag(x[1], -1)};
                  },
                  {any({3}), any({3, 4})}));
