// Gradcheck table: reductions (ag/ops/reduce.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::nonzero;
using gct::row;
using gct::spread;

GRADCHECK_ROW(sum, "all, axes, negative axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::sum(x[0]), ag::sum(x[0], {1}), ag::sum(x[0], {0, -1}, true), ag::sum(x[0], {-2}),
                            ag::sum(x[1])};
                  },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(mean, "all, axes, negative axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::mean(x[0]), ag::mean(x[0], {1}), ag::mean(x[0], {0, -1}, true), ag::mean(x[1])};
                  },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(max, "all, axes, non-adjacent axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::max(x[0]), ag::max(x[0], {1}), ag::max(x[0], {0, 2}, true), ag::max(x[0], {-1}), ag::max(x[1])};
                  },
                  {spread({2, 3, 2}), spread({})}));
GRADCHECK_ROW(min, "all, axes, non-adjacent axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::min(x[0]), ag::min(x[0], {1}), ag::min(x[0], {0, 2}, true), ag::min(x[0], {-1}), ag::min(x[1])};
                  },
                  {spread({2, 3, 2}), spread({})}));
GRADCHECK_ROW(var, "all, axes, biased, keepdims",
              row([](const Ts& x) -> Ts {
                    return {ag::var(x[0]), ag::var(x[0], {1}), ag::var(x[0], {0, 2}, false, true), ag::var(x[0], {-1}, false)};
                  },
                  {any({2, 3, 2})}));
GRADCHECK_ROW(std, "all, axes, biased, keepdims",
              row([](const Ts& x) -> Ts {
                    return {ag::std(x[0]), ag::std(x[0], {1}), ag::std(x[0], {0, 2}, false, true), ag::std(x[0], {-1}, false)};
                  },
                  {spread({2, 3, 2})}));
GRADCHECK_ROW(norm, "all, axes, non-adjacent axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::norm(x[0]), ag::norm(x[0], {1}), ag::norm(x[0], {0, 2}, true), ag::norm(x[1])};
                  },
                  {any({2, 3, 2}), nonzero({})}));
// away from the norms' kink at 0 (any() vectors of 3 or 2 entries are almost never near 0)
GRADCHECK_ROW(cosine_similarity, "axis -1 and 0, broadcast [2,3] with [3] and [2,1], 1-D",
              row([](const Ts& x) -> Ts {
                    return {ag::cosine_similarity(x[0], x[1]), ag::cosine_similarity(x[0], x[1], 0),
                            ag::cosine_similarity(x[0], x[2]), ag::cosine_similarity(x[3], x[0], 0),
                            ag::cosine_similarity(x[2], x[2])};
                  },
                  {any({2, 3}), any({2, 3}), any({3}), any({2, 1})}));
