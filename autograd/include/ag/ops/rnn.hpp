#pragma once
// The gate math of one LSTM or GRU step as single ops (one tape node per step instead of about
// fifteen): the recurrent layers' hot path. The matrix products stay outside (matmul_t), so these
// see only pre-activations. VJPs: one fused loop for a first-order backward, ag ops under
// create_graph (so second derivatives work).
#include "ag/tensor.hpp"

namespace ag {

// LSTM: gates [B, 4H] = [a_i | a_f | a_g | a_o] (x·W_ihᵀ + h·W_hhᵀ + biases), c [B, H] ->
// [B, 2H] = [h' | c'] with c' = σ(a_f)·c + σ(a_i)·tanh(a_g), h' = σ(a_o)·tanh(c').
Tensor lstm_gates(const Tensor& gates, const Tensor& c);
// GRU: gx [B, 3H] = x·W_ihᵀ + b_ih, gh [B, 3H] = h·W_hhᵀ + b_hh, h [B, H] -> h' [B, H] with
// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r·gh_n), h' = (1 - z)·n + z·h.
Tensor gru_gates(const Tensor& gx, const Tensor& gh, const Tensor& h);

}  // namespace ag
