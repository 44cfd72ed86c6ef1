// Gradcheck table: shape ops (ag/ops/shape.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(reshape, "with -1 and to 0-d",
              row([](const Ts& x) -> Ts { return {ag::reshape(x[0], {3, -1}), ag::reshape(x[1], {})}; },
                  {any({2, 3}), any({1, 1})}));
GRADCHECK_ROW(permute, "3-D with negative axes",
              row([](const Ts& x) -> Ts { return {ag::permute(x[0], {2, 0, 1}), ag::permute(x[0], {-1, -3, -2})}; },
                  {any({2, 3, 2})}));
GRADCHECK_ROW(transpose, "two axes and reversed",
              row([](const Ts& x) -> Ts { return {ag::transpose(x[0], 0, 2), ag::transpose(x[0]), ag::transpose(x[1])}; },
                  {any({2, 3, 2}), any({2, 3})}));
GRADCHECK_ROW(squeeze, "all and given axes",
              row([](const Ts& x) -> Ts { return {ag::squeeze(x[0]), ag::squeeze(x[0], {-2})}; }, {any({1, 3, 1, 2})}));
GRADCHECK_ROW(unsqueeze, "front, back, 0-d",
              row([](const Ts& x) -> Ts { return {ag::unsqueeze(x[0], 0), ag::unsqueeze(x[0], -1), ag::unsqueeze(x[1], 0)}; },
                  {any({2, 3}), any({})}));
GRADCHECK_ROW(flatten, "all, a range, 0-d",
              row([](const Ts& x) -> Ts { return {ag::flatten(x[0]), ag::flatten(x[0], 1), ag::flatten(x[1])}; },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(pad, "constant (last axis, last two, with a crop), reflect, replicate, circular",
              row([](const Ts& x) -> Ts {
                    return {ag::pad(x[0], {1, 2}), ag::pad(x[0], {0, 1, 2, 0}, "constant", 0.5), ag::pad(x[0], {-1, 1, 1, -1}),
                            ag::pad(x[0], {2, 1, 1, 1}, "reflect"), ag::pad(x[0], {1, 2}, "replicate"),
                            ag::pad(x[0], {3, 1, 0, 2}, "circular")};
                  },
                  {any({2, 3, 3})}));
GRADCHECK_ROW(concat, "axis 0 and 1, three inputs",
              row([](const Ts& x) -> Ts { return {ag::concat({x[0], x[1]}, 0), ag::concat({x[0], x[2], x[0]}, -1)}; },
                  {any({2, 3}), any({1, 3}), any({2, 1})}));
GRADCHECK_ROW(stack, "new first and last axis, 0-d",
              row([](const Ts& x) -> Ts { return {ag::stack({x[0], x[1]}), ag::stack({x[0], x[1], x[0]}, -1), ag::stack({x[2], x[2]})}; },
                  {any({2, 3}), any({2, 3}), any({})}));
GRADCHECK_ROW(split, "sections and sizes",
              row([](const Ts& x) -> Ts {
                    Ts out = ag::split(x[0], 2, 1);
                    for (const ag::Tensor& p : ag::split(x[0], {1, 1}, 0)) out.push_back(p);
                    return out;
                  },
                  {any({2, 4})}));
GRADCHECK_ROW(slice, "steps, negative indices, reversed",
              row([](const Ts& x) -> Ts {
                    return {ag::slice(x[0], 1, 1, std::nullopt, 2), ag::slice(x[0], -1, -2, std::nullopt),
                            ag::slice(x[0], 0, std::nullopt, std::nullopt, -1)};
                  },
                  {any({3, 5})}));
GRADCHECK_ROW(select, "middle axis, negative index",
              row([](const Ts& x) -> Ts { return {ag::select(x[0], 1, -1), ag::select(x[1], 0, 2)}; }, {any({2, 3, 2}), any({4})}));
