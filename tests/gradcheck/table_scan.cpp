// Gradcheck table: products and scans (autograd/src/ops/scan.cpp). prod and cumprod are
// polynomials, so finite differences are exact at zeros too: the rows "with zeros" put exact
// zeros (inputs drawn from [0, 0]) among the factors, one and several per group.
#include <optional>

#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::nonzero;
using gct::row;
using gct::uniform;

namespace {
// a [2, 3] with z [2, 1] (zeros) inserted as column 1 -> [2, 4]: one zero per row, two per column 1
ag::Tensor with_zero_column(const ag::Tensor& a, const ag::Tensor& z) {
  return ag::concat({ag::slice(a, 1, 0, 1), z, ag::slice(a, 1, 1, std::nullopt)}, 1);
}
}  // namespace

GRADCHECK_ROW(prod, "all, axes, non-adjacent axes, keepdims, negative axis, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::prod(x[0]), ag::prod(x[0], {1}), ag::prod(x[0], {0, 2}, true), ag::prod(x[0], {-1}),
                            ag::prod(x[1])};
                  },
                  {nonzero({2, 3, 2}), nonzero({})}));
GRADCHECK_ROW(prod, "with zeros: one per group, two per group, all zero",
              row([](const Ts& x) -> Ts {
                    const ag::Tensor m = with_zero_column(x[0], x[1]);  // [2, 4]
                    return {ag::prod(m, {1}), ag::prod(m, {0}), ag::prod(m), ag::prod(x[1])};
                  },
                  {nonzero({2, 3}), uniform({2, 1}, 0, 0)}));
GRADCHECK_ROW(prod, "with zeros over non-adjacent axes",
              row([](const Ts& x) -> Ts {
                    const ag::Tensor m = ag::reshape(ag::concat({x[0], x[1]}, 0), {2, 2, 3});  // zeros in [1, :, :]
                    return {ag::prod(m, {0, 2}), ag::prod(m, {0, 1}, true)};
                  },
                  {nonzero({2, 3}), uniform({2, 3}, 0, 0)}));

GRADCHECK_ROW(cumsum, "axes 0, 1, -1, 1-D",
              row([](const Ts& x) -> Ts {
                    return {ag::cumsum(x[0], 0), ag::cumsum(x[0], 1), ag::cumsum(x[0], -1), ag::cumsum(x[1], 0)};
                  },
                  {any({2, 3, 2}), any({4})}));

GRADCHECK_ROW(cumprod, "axes 0, 1, -1, 1-D",
              row([](const Ts& x) -> Ts {
                    return {ag::cumprod(x[0], 0), ag::cumprod(x[0], 1), ag::cumprod(x[0], -1), ag::cumprod(x[1], 0)};
                  },
                  {nonzero({2, 3, 2}), nonzero({4})}));
GRADCHECK_ROW(cumprod, "with zeros: first, middle, two",
              row([](const Ts& x) -> Ts {
                    const ag::Tensor m = with_zero_column(x[0], x[1]);  // [2, 4], zeros at column 1
                    const ag::Tensor two = ag::concat({x[1], m}, 1);   // [2, 5], zeros at columns 0 and 2
                    return {ag::cumprod(m, 1), ag::cumprod(m, 0), ag::cumprod(two, -1), ag::cumprod(x[1], 1)};
                  },
                  {nonzero({2, 3}), uniform({2, 1}, 0, 0)}));
