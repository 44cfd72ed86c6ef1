// Gradcheck table: special functions and the activations built on them (autograd/src/ops/special.cpp).
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;
using gct::uniform;

GCT_UNARY_WITH(erf, any, "[2,3] and 0-d");
GCT_UNARY_WITH(erfc, any, "[2,3] and 0-d");
GRADCHECK_ROW(erf, "tails", row([](const Ts& x) { return ag::erf(x[0]); }, {uniform({6}, -4, 4)}));
GRADCHECK_ROW(erfc, "tails", row([](const Ts& x) { return ag::erfc(x[0]); }, {uniform({6}, -4, 4)}));

GCT_UNARY_WITH(log_sigmoid, any, "[2,3] and 0-d");
GRADCHECK_ROW(log_sigmoid, "large magnitudes", row([](const Ts& x) { return ag::log_sigmoid(x[0]); }, {uniform({6}, -30, 30)}));

// gelu(x) (exact) has its row in table_activation.cpp
GCT_UNARY_WITH(gelu, any, "exact, explicit GeluApprox::none", , ag::GeluApprox::none);
GCT_UNARY_WITH(gelu, any, "tanh approximation", , ag::GeluApprox::tanh);
GRADCHECK_ROW(gelu, "exact and tanh, tails",
              row([](const Ts& x) -> Ts { return {ag::gelu(x[0]), ag::gelu(x[0], ag::GeluApprox::tanh)}; },
                  {uniform({6}, -6, 6)}));

// βx crosses the threshold for some inputs (the value is x past it): no input sits within eps of it
GCT_UNARY_WITH(softplus, any, "beta 2, threshold 1 (both sides)", , 2.0, 1.0);
GCT_UNARY_WITH(softplus, any, "beta -1.5 (negative)", , -1.5);
GRADCHECK_ROW(softplus, "beta 0.5, past the threshold only",
              row([](const Ts& x) { return ag::softplus(x[0], 0.5, 1.0); }, {uniform({4}, 3, 5)}));
