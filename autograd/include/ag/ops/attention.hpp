#pragma once
// Attention as one op (PyTorch's torch.nn.functional.scaled_dot_product_attention): the scores,
// the masked softmax, dropout and the weighted sum of values in one tape node.
#include <optional>

#include "ag/tensor.hpp"

namespace ag {

// q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev]; the leading (batch, head) dims
// broadcast numpy-style. With Z = scale·q·kᵀ + M (M from the mask) and P = softmax(Z) along S:
//   out = (P ∘ D)·v,  D the dropout mask (0 with probability dropout_p, else 1/(1 - dropout_p)).
// attn_mask (optional) broadcasts to [..., L, S]: bool (true = the pair takes part, false = it is
// masked out) or floating (added to the scores; -inf masks out), of q's dtype; integer masks are
// a DtypeError. is_causal masks s > l (the lower triangle of [L, S] takes part, as torch.tril);
// giving both is a ValueError. scale defaults to 1/√E. dropout_p in [0, 1): drawn from the global
// generator (like nn::Dropout) whenever dropout_p > 0 — the op has no train/eval mode.
// A query row whose every key is masked out gives zeros and passes no gradient (as PyTorch's
// scaled_dot_product_attention since 2.5; PyTorch before that gives NaN). VJP (A = P∘D): dv = Aᵀ·g, dP = (g·vᵀ)∘D, dZ = P∘(dP - Σ_s dP∘P),
// dq = scale·dZ·k, dk = scale·dZᵀ·q, d(float mask) = dZ; P is kept from the forward.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0,
                                    bool is_causal = false, std::optional<double> scale = std::nullopt);

}  // namespace ag
