// Gradcheck table: layer_norm, batch_norm, group_norm (ag/ops/norm.hpp). Inputs x, weight, bias
// are differentiated; batch_norm's running statistics are constants (fresh tensors per call in
// training, so that the in-place update cannot leak from one evaluation into the next).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

namespace {
ag::Tensor running(const std::vector<double>& v) { return gct::values(v, {v.size()}); }
}  // namespace

GRADCHECK_ROW(layer_norm, "last dim with affine, two dims without, 1-D",
              row([](const Ts& x) -> Ts {
                    return {ag::layer_norm(x[0], {4}, x[1], x[2]), ag::layer_norm(x[0], {3, 4}),
                            ag::layer_norm(x[3], {5}, {}, x[4], 0.1)};
                  },
                  {any({2, 3, 4}), any({4}), any({4}), any({5}), any({5})}));
GRADCHECK_ROW(batch_norm, "training, [N, C] and [N, C, L], tracked and untracked",
              row([](const Ts& x) -> Ts {
                    return {ag::batch_norm(x[0], running({0.1, -0.2, 0.3}), running({1.0, 2.0, 0.5}), x[1], x[2], true),
                            ag::batch_norm(x[3], {}, {}, x[4], {}, true, 0.1, 0.01)};
                  },
                  {any({4, 3}), any({3}), any({3}), any({3, 2, 2}), any({2})}));
GRADCHECK_ROW(batch_norm, "eval: the running statistics, [N, C, H, W] and [N, C]",
              row([](const Ts& x) -> Ts {
                    return {ag::batch_norm(x[0], running({0.1, -0.2}), running({1.5, 0.5}), x[1], x[2], false),
                            ag::batch_norm(x[0], running({0.3, 0.0}), running({0.7, 2.0}), {}, {}, false),
                            ag::batch_norm(x[3], running({0.3, 0.0}), running({0.7, 2.0}), x[1], x[2], false)};
                  },
                  {any({2, 2, 2, 3}), any({2}), any({2}), any({3, 2})}));
GRADCHECK_ROW(group_norm, "2 groups with affine, 3 groups, 1 group, instance norm",
              row([](const Ts& x) -> Ts {
                    return {ag::group_norm(x[0], 2, x[1], x[2]), ag::group_norm(x[3], 3),
                            ag::group_norm(x[0], 1, x[1]), ag::group_norm(x[0], 4, {}, x[2], 0.1)};
                  },
                  {any({2, 4, 3}), any({4}), any({4}), any({2, 6})}));
