// Gradcheck table: scaled_dot_product_attention (ag/ops/attention.hpp). Every row that can be
// written as matmul + softmax is also checked against that composition (values, first and second
// derivatives); masks, is_causal, broadcast heads, an explicit scale, a float mask that is itself
// differentiated, dropout under a fixed seed, and a query row with every key masked out.
#include <cmath>
#include <limits>

#include "gradcheck/gradcheck_table.hpp"

using gct::any;
using gct::constant;
using gct::row;
using gct::Ts;

namespace {

// softmax(scale·q·kᵀ + add)·v written with matmul and softmax (add: an additive mask or undefined).
ag::Tensor composed(const ag::Tensor& q, const ag::Tensor& k, const ag::Tensor& v, const ag::Tensor& add,
                    double scale) {
  ag::Tensor z = ag::mul(ag::matmul(q, ag::transpose(k, -2, -1)), scale);
  if (add.defined()) z = ag::add(z, add);
  return ag::matmul(ag::softmax(z, -1), v);
}

// A bool mask of shape [3, 5] (true = takes part): every row keeps at least one key.
ag::Tensor bool_mask_3x5() {
  return ag::testing::values({1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0}, {3, 5}).to(ag::bool_);
}
ag::Tensor additive(const ag::Tensor& bool_mask) {
  return ag::where(bool_mask, ag::zeros({}, ag::f64), ag::full({}, -std::numeric_limits<double>::infinity(), ag::f64));
}
ag::Tensor causal_additive(std::size_t L, std::size_t S) {
  return additive(ag::tril(ag::ones({L, S}, ag::f64)).to(ag::bool_));
}

}  // namespace

GRADCHECK_ROW(scaled_dot_product_attention, "3-D q k v and 2-D with scale 0.7",
              row([](const Ts& x) -> Ts {
                return {ag::scaled_dot_product_attention(x[0], x[1], x[2]),
                        ag::scaled_dot_product_attention(x[3], x[4], x[5], {}, 0.0, false, 0.7)};
              }, {any({2, 3, 4}), any({2, 5, 4}), any({2, 5, 3}), any({3, 2}), any({4, 2}), any({4, 1})})
                  .against([](const Ts& x) -> Ts {
                    return {composed(x[0], x[1], x[2], {}, 0.5), composed(x[3], x[4], x[5], {}, 0.7)};
                  }));
GRADCHECK_ROW(scaled_dot_product_attention, "heads broadcast - q [2,2,3,4] with k v [2,1,5,4] and k v without batch",
              row([](const Ts& x) -> Ts {
                return {ag::scaled_dot_product_attention(x[0], x[1], x[2]),
                        ag::scaled_dot_product_attention(x[0], x[3], x[4])};
              }, {any({2, 2, 3, 4}), any({2, 1, 5, 4}), any({2, 1, 5, 4}), any({5, 4}), any({5, 2})})
                  .against([](const Ts& x) -> Ts {
                    return {composed(x[0], x[1], x[2], {}, 0.5), composed(x[0], x[3], x[4], {}, 0.5)};
                  }));
GRADCHECK_ROW(scaled_dot_product_attention, "bool mask [3,5] and is_causal with L 4 S 4 and L 3 S 5",
              row([](const Ts& x) -> Ts {
                return {ag::scaled_dot_product_attention(x[0], x[1], x[2], bool_mask_3x5()),
                        ag::scaled_dot_product_attention(x[3], x[4], x[5], {}, 0.0, true),
                        ag::scaled_dot_product_attention(x[0], x[1], x[2], {}, 0.0, true)};
              }, {any({2, 3, 2}), any({2, 5, 2}), any({2, 5, 3}), any({4, 3}), any({4, 3}), any({4, 2})})
                  .against([](const Ts& x) -> Ts {
                    const double s2 = 1.0 / std::sqrt(2.0), s3 = 1.0 / std::sqrt(3.0);
                    return {composed(x[0], x[1], x[2], additive(bool_mask_3x5()), s2),
                            composed(x[3], x[4], x[5], causal_additive(4, 4), s3),
                            composed(x[0], x[1], x[2], causal_additive(3, 5), s2)};
                  }));
GRADCHECK_ROW(scaled_dot_product_attention, "float mask [1,3,5] differentiated and a constant [5]",
              row([](const Ts& x) -> Ts {
                return {ag::scaled_dot_product_attention(x[0], x[1], x[2], x[3]),
                        ag::scaled_dot_product_attention(x[0], x[1], x[2], x[4])};
              }, {any({2, 3, 2}), any({2, 5, 2}), any({2, 5, 3}), any({1, 3, 5}), constant(any({5}))})
                  .against([](const Ts& x) -> Ts {
                    const double s = 1.0 / std::sqrt(2.0);
                    return {composed(x[0], x[1], x[2], x[3], s), composed(x[0], x[1], x[2], x[4], s)};
                  }));
GRADCHECK_ROW(scaled_dot_product_attention, "dropout 0.3 under a fixed seed",
              row([](const Ts& x) -> Ts {
                ag::manual_seed(11);
                return {ag::scaled_dot_product_attention(x[0], x[1], x[2], {}, 0.3)};
              }, {any({2, 3, 2}), any({2, 4, 2}), any({2, 4, 3})})
                  .against([](const Ts& x) -> Ts {
                    ag::manual_seed(11);
                    const ag::Tensor keep = ag::mul((ag::rand({2, 3, 4}, ag::f64) >= 0.3).to(ag::f64), 1.0 / 0.7);
                    const ag::Tensor z = ag::mul(ag::matmul(x[0], ag::transpose(x[1], -2, -1)), 1.0 / std::sqrt(2.0));
                    return {ag::matmul(ag::mul(ag::softmax(z, -1), keep), x[2])};
                  }));
GRADCHECK_ROW(scaled_dot_product_attention, "a query row with every key masked out gives zeros",
              row([](const Ts& x) -> Ts {
                const ag::Tensor m = ag::testing::values({1, 0, 1, 0, 0, 0}, {2, 3}).to(ag::bool_);
                return {ag::scaled_dot_product_attention(x[0], x[1], x[2], m)};
              }, {any({2, 2}), any({3, 2}), any({3, 2})}));
