// Gradcheck table: maximum, minimum, clamp, where (ag/ops/compare.hpp); the comparisons are not differentiable.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;
using gct::spread;
using gct::values;

// spread inputs: no ties between a and b at the same position (checked: distinct seeds)
GRADCHECK_ROW(maximum, "same shapes, broadcast, 0-d",
              row([](const Ts& x) -> Ts { return {ag::maximum(x[0], x[1]), ag::maximum(x[2], x[3]), ag::maximum(x[4], x[0])}; },
                  {spread({2, 3}), spread({2, 3}), spread({2, 1}), spread({3}), spread({})}));
GRADCHECK_ROW(minimum, "same shapes, broadcast, 0-d",
              row([](const Ts& x) -> Ts { return {ag::minimum(x[0], x[1]), ag::minimum(x[2], x[3]), ag::minimum(x[4], x[0])}; },
                  {spread({2, 3}), spread({2, 3}), spread({2, 1}), spread({3}), spread({})}));
// spread values of [3,4] sit at -1.5 + 0.25·(k + 0.25 ± 0.1): the bounds ±0.6 are >= 0.01 away
GRADCHECK_ROW(clamp, "both bounds, one bound, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::clamp(x[0], -0.6, 0.6), ag::clamp(x[0], std::nullopt, 0.6), ag::clamp(x[0], -0.6, std::nullopt),
                            ag::clamp(x[1], -1.0, 1.0)};
                  },
                  {spread({3, 4}), spread({})}));
GRADCHECK_ROW(where, "mask broadcast against a and b, 0-d b",
              row([](const Ts& x) -> Ts {
                    const ag::Tensor m = values({1, 0}, {2, 1});
                    const ag::Tensor m3 = values({0, 1, 1, 0, 1, 0}, {2, 3});
                    return {ag::where(m3, x[0], x[1]), ag::where(m, x[2], x[3]), ag::where(m3, x[0], x[4])};
                  },
                  {any({2, 3}), any({2, 3}), any({3}), any({2, 3}), any({})}));
