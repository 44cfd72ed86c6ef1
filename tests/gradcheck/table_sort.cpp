// Gradcheck table: ordering along an axis (ag/ops/sort.hpp). Inputs are spread: no ties, so the
// chosen positions do not change under the finite-difference steps. Indices are not differentiated.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::row;
using gct::spread;

GRADCHECK_ROW(sort, "last axis ascending, first axis descending",
              row([](const Ts& x) -> Ts { return {ag::sort(x[0]).values, ag::sort(x[0], 0, true).values}; },
                  {spread({3, 4})}));
GRADCHECK_ROW(topk, "largest sorted, smallest by position, middle axis, k = all",
              row([](const Ts& x) -> Ts {
                    return {ag::topk(x[0], 2).values, ag::topk(x[0], 3, 1, false, false).values,
                            ag::topk(x[0], 3, 1).values};
                  },
                  {spread({2, 3, 4})}));
GRADCHECK_ROW(max_with_indices, "axis, keepdims, negative axis, and the ag::max(x, axis) spelling",
              row([](const Ts& x) -> Ts {
                    return {ag::max_with_indices(x[0], 1).values, ag::max_with_indices(x[0], -1, true).values,
                            ag::max(x[0], 0).values};
                  },
                  {spread({2, 3, 4})}));
GRADCHECK_ROW(min_with_indices, "axis, keepdims, negative axis, and the ag::min(x, axis) spelling",
              row([](const Ts& x) -> Ts {
                    return {ag::min_with_indices(x[0], 1).values, ag::min_with_indices(x[0], -1, true).values,
                            ag::min(x[0], 0).values};
                  },
                  {spread({2, 3, 4})}));
