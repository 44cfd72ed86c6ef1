// Gradcheck table, part 2: the ops beyond the core (activations, maximum/clamp/where, max/min,
// var/std/norm/logsumexp, softmax, shape and indexing ops).
#include "gradcheck/gradcheck_table.hpp"

using gct::any;
using gct::constant;
using gct::nonzero;
using gct::positive;
using gct::row;
using gct::spread;
using gct::Ts;

namespace {
// A float64 tensor with the given values (index arrays, masks); never differentiated.
ag::Tensor values(std::vector<double> v, const ag::Shape& s) {
  xt::xarray<double> a = xt::xarray<double>::from_shape(s);
  std::copy(v.begin(), v.end(), a.begin());
  return ag::Tensor(std::move(a));
}
}  // namespace

// ---- elementwise -----------------------------------------------------------------------------------
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

#define GCT_UNARY(op, domain, label, ...)                                                                 \
  GRADCHECK_ROW(op, label, row([](const Ts& x) -> Ts { return {ag::op(x[0] __VA_ARGS__), ag::op(x[1] __VA_ARGS__)}; }, \
                                {domain({2, 3}), domain({})}))
GCT_UNARY(leaky_relu, nonzero, "default slope, [2,3] and 0-d");
GCT_UNARY(leaky_relu, nonzero, "slope 0.3", , 0.3);
GCT_UNARY(elu, nonzero, "alpha 1, [2,3] and 0-d");
GCT_UNARY(elu, nonzero, "alpha 0.5", , 0.5);
GCT_UNARY(softplus, any, "[2,3] and 0-d");
GCT_UNARY(gelu, any, "[2,3] and 0-d");
GCT_UNARY(log1p, positive, "[2,3] and 0-d");
GCT_UNARY(expm1, any, "[2,3] and 0-d");
GCT_UNARY(reciprocal, nonzero, "[2,3] and 0-d");
GRADCHECK_ROW(softplus, "large magnitudes", row([](const Ts& x) { return ag::softplus(x[0]); }, {gct::uniform({4}, -30, 30)}));
GRADCHECK_ROW(log1p, "near -1 and near 0", row([](const Ts& x) { return ag::log1p(x[0]); }, {gct::uniform({4}, -0.9, 1e-3)}));

// ---- reductions --------------------------------------------------------------------------------------
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
GRADCHECK_ROW(logsumexp, "all, axes, non-adjacent axes, keepdims, 0-d",
              row([](const Ts& x) -> Ts {
                    return {ag::logsumexp(x[0]), ag::logsumexp(x[0], {1}), ag::logsumexp(x[0], {0, 2}, true),
                            ag::logsumexp(x[1])};
                  },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(logsumexp, "large inputs", row([](const Ts& x) { return ag::logsumexp(x[0], {1}); }, {gct::uniform({2, 3}, 998, 1002)}));

// ---- softmax -----------------------------------------------------------------------------------------
GRADCHECK_ROW(softmax, "last axis, axis 0, middle axis",
              row([](const Ts& x) -> Ts { return {ag::softmax(x[0]), ag::softmax(x[0], 0), ag::softmax(x[1], 1)}; },
                  {any({3, 4}), any({2, 3, 2})}));
GRADCHECK_ROW(softmax, "large logits", row([](const Ts& x) { return ag::softmax(x[0]); }, {gct::uniform({2, 3}, 998, 1002)}));
GRADCHECK_ROW(log_softmax, "last axis, axis 0, middle axis",
              row([](const Ts& x) -> Ts { return {ag::log_softmax(x[0]), ag::log_softmax(x[0], 0), ag::log_softmax(x[1], 1)}; },
                  {any({3, 4}), any({2, 3, 2})}));
GRADCHECK_ROW(log_softmax, "large negative logits",
              row([](const Ts& x) { return ag::log_softmax(x[0]); }, {gct::uniform({2, 3}, -1002, -998)}));

// ---- shape -------------------------------------------------------------------------------------------
GRADCHECK_ROW(squeeze, "all and given axes",
              row([](const Ts& x) -> Ts { return {ag::squeeze(x[0]), ag::squeeze(x[0], {-2})}; }, {any({1, 3, 1, 2})}));
GRADCHECK_ROW(unsqueeze, "front, back, 0-d",
              row([](const Ts& x) -> Ts { return {ag::unsqueeze(x[0], 0), ag::unsqueeze(x[0], -1), ag::unsqueeze(x[1], 0)}; },
                  {any({2, 3}), any({})}));
GRADCHECK_ROW(flatten, "all, a range, 0-d",
              row([](const Ts& x) -> Ts { return {ag::flatten(x[0]), ag::flatten(x[0], 1), ag::flatten(x[1])}; },
                  {any({2, 3, 2}), any({})}));
GRADCHECK_ROW(expand, "size-1 and new axes",
              row([](const Ts& x) -> Ts { return {ag::expand(x[0], {2, 2, 3}), ag::expand(x[1], {3})}; }, {any({2, 1}), any({})}));
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

// ---- indexing ----------------------------------------------------------------------------------------
GRADCHECK_ROW(index_select, "repeated indices, list and tensor forms",
              row([](const Ts& x) -> Ts {
                    return {ag::index_select(x[0], 1, {2, 0, 2}), ag::index_select(x[0], 0, values({1, 1, 0}, {3}))};
                  },
                  {any({2, 3})}));
GRADCHECK_ROW(take_along_axis, "NLL pick on axis 1, repeats on axis 0",
              row([](const Ts& x) -> Ts {
                    return {ag::take_along_axis(x[0], values({2, 0, 1}, {3, 1}), 1),
                            ag::take_along_axis(x[0], values({1, 1, 0, 2, 2, 2}, {2, 3}), 0)};
                  },
                  {any({3, 3})}));
GRADCHECK_ROW(gather, "torch argument order",
              row([](const Ts& x) { return ag::gather(x[0], 1, values({1, 0, 0, 2}, {2, 2})); }, {any({2, 3})}));
