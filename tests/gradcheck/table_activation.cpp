// Gradcheck table: activations (ag/ops/activation.hpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::nonzero;
using gct::row;

GCT_UNARY_WITH(leaky_relu, nonzero, "default slope, [2,3] and 0-d");
GCT_UNARY_WITH(leaky_relu, nonzero, "slope 0.3", , 0.3);
GCT_UNARY_WITH(elu, nonzero, "alpha 1, [2,3] and 0-d");
GCT_UNARY_WITH(elu, nonzero, "alpha 0.5", , 0.5);
GCT_UNARY_WITH(softplus, any, "[2,3] and 0-d");
GCT_UNARY_WITH(gelu, any, "[2,3] and 0-d");
GRADCHECK_ROW(softplus, "large magnitudes", row([](const Ts& x) { return ag::softplus(x[0]); }, {gct::uniform({4}, -30, 30)}));
GCT_UNARY_WITH(silu, any, "[2,3] and 0-d");
// σ(x) saturates on both sides: d -> 1 for x >> 0, -> 0 (through x·σ(x)(1 - σ(x))) for x << 0
GRADCHECK_ROW(silu, "large magnitudes", row([](const Ts& x) { return ag::silu(x[0]); }, {gct::uniform({6}, -30, 30)}));
