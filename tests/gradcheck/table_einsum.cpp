// Gradcheck table: einsum (ag/ops/linalg.hpp), one row per pattern family.
#include "gradcheck/gradcheck_table.hpp"

using gct::Ts;
using gct::any;
using gct::row;

GRADCHECK_ROW(einsum, "matmul, batched matmul, attention scores, three operands",
              row([](const Ts& x) -> Ts {
                    return {ag::einsum("ij,jk->ik", {x[0], x[1]}), ag::einsum("bij,bjk->bik", {x[2], x[3]}),
                            ag::einsum("bhqd,bhkd->bhqk", {x[4], x[5]}), ag::einsum("ij,jk,kl->il", {x[0], x[1], x[6]})};
                  },
                  {any({2, 3}), any({3, 2}), any({2, 2, 3}), any({2, 3, 2}), any({2, 1, 2, 3}), any({2, 1, 3, 3}),
                   any({2, 2})}));
GRADCHECK_ROW(einsum, "dot, outer, transpose, column sums, implicit output, diagonal, trace",
              row([](const Ts& x) -> Ts {
                    return {ag::einsum("i,i->", {x[0], x[1]}), ag::einsum("i,j->ij", {x[0], x[2]}),
                            ag::einsum("ij->ji", {x[3]}), ag::einsum("ij->j", {x[3]}), ag::einsum("ij,jk", {x[3], x[4]}),
                            ag::einsum("ii->i", {x[5]}), ag::einsum("ii", {x[5]}), ag::einsum("iji->j", {x[6]})};
                  },
                  {any({3}), any({3}), any({2}), any({2, 3}), any({3, 2}), any({3, 3}), any({2, 3, 2})}));
