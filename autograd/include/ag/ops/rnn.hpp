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
// A whole LSTM layer direction as one op: gx [T, B, 4H] (x_t·W_ihᵀ + biases for every step),
// w_hh [4H, H], h0 [B, H], c0 [B, H] -> [T, B, 2H] holding [h_t | c_t] of every step; reverse runs
// the steps from t = T-1 down to 0 (the backward direction of a bidirectional layer). One node per
// sequence: the backward through time is one fused loop (dW_hh in one product at the end), so an
// overhead-bound sequence pays the per-op cost once instead of per step. Under create_graph the VJP
// differentiates the per-step composition, so higher derivatives work.
Tensor lstm_sequence(const Tensor& gx, const Tensor& w_hh, const Tensor& h0, const Tensor& c0, bool reverse = false);

}  // namespace ag
