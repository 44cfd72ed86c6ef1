#pragma once
// Recurrent layers: RNN, LSTM and GRU cells (one step) and layers (whole sequences), with
// PyTorch's semantics, parameter names and layouts, so weights carry over by name.
//
//   nn::LSTM lstm(nn::LSTMOptions(8, 32).num_layers(2).batch_first(true));
//   auto [y, h, c] = lstm(x);               // x [B, T, 8] -> y [B, T, 32], h and c [2, B, 32]
//   auto [y2, h2, c2] = lstm(x2, h.detach(), c.detach());  // truncated BPTT: carry the state on
//
// Shapes (H = hidden size, G = gates: 1 for RNN, 4 for LSTM, 3 for GRU):
//   weight_ih [G·H, in], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H] (PyTorch's layout, the
//   transpose of Dense's [in, out]); gates in PyTorch's order: LSTM i, f, g, o; GRU r, z, n.
//   Every weight and bias starts U(-1/√H, 1/√H) (PyTorch's default; nn::init::orthogonal_ on
//   weight_hh is the common alternative).
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/module.hpp"
#include "ag/nn/modules/dropout.hpp"

namespace ag::nn {

enum class RNNNonlinearity { tanh, relu };

// ---- one step, as functions of the parameters (what the modules call) --------------------------
// b_ih and b_hh may be undefined (no bias). x [B, in], h and c [B, H].
// h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)
Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = {}, const Tensor& b_hh = {}, RNNNonlinearity act = RNNNonlinearity::tanh);
// [i, f, g, o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh; c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c').
// Returns (h', c'). fused: the gate math as one ag::lstm_gates node (same values to rounding);
// false: composed of elementwise ops (the reference the fused op is checked against).
std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih = {}, const Tensor& b_hh = {},
                                    bool fused = true);
// r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n), h' = (1 - z)·n + z·h, where
// [x_r, x_z, x_n] = x·W_ihᵀ + b_ih and [h_r, h_z, h_n] = h·W_hhᵀ + b_hh.
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = {}, const Tensor& b_hh = {}, bool fused = true);

// ---- cells ---------------------------------------------------------------------------------------
// x [B, in] or [in] (unbatched); a missing state is zeros. Parameters: weight_ih, weight_hh,
// bias_ih, bias_hh. Bad input (feature count, state shape, dtype) is a ShapeError/DtypeError
// naming the cell and the shapes.
class RNNCellBase : public Module {
 public:
  std::size_t input_size() const { return input_size_; }
  std::size_t hidden_size() const { return hidden_size_; }
  const Tensor& weight_ih() const { return w_ih_; }
  const Tensor& weight_hh() const { return w_hh_; }
  const Tensor& bias_ih() const { return b_ih_; }  // undefined without bias
  const Tensor& bias_hh() const { return b_hh_; }
  std::size_t num_inputs() const override { return 0; }  // x, then the state (optional)
  std::string describe() const override;                 // "LSTMCell(3, 8)"
  // LSTM and GRU: gate math as one fused node per step (default) or composed of elementwise ops.
  void set_fused(bool fused) { fused_ = fused; }
  bool fused() const { return fused_; }

 protected:
  RNNCellBase(std::size_t input_size, std::size_t hidden_size, std::size_t gates, bool bias, Generator& gen,
              DType dtype);
  // x and the state tensors checked and brought to [B, ·]; returns whether x was unbatched.
  bool prepare(TensorList& in, std::size_t states) const;

  std::size_t input_size_, hidden_size_;
  Tensor w_ih_, w_hh_, b_ih_, b_hh_;
  bool fused_ = true;
};

// (x, h) -> h'
class RNNCell : public RNNCellBase {
 public:
  RNNCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
          RNNNonlinearity act = RNNNonlinearity::tanh, DType dtype = f32);
  RNNCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias = true,
          RNNNonlinearity act = RNNNonlinearity::tanh, DType dtype = f32);
  using Module::operator();                             // (x): h = 0
  Tensor operator()(const Tensor& x, const Tensor& h);  // call({x, h})
  TensorList forward_list(const TensorList& inputs) override;
  std::string type_name() const override { return "RNNCell"; }
  RNNNonlinearity nonlinearity() const { return act_; }

 private:
  RNNNonlinearity act_;
};

// (x, h, c) -> (h', c')
class LSTMCell : public RNNCellBase {
 public:
  LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias = true, DType dtype = f32);
  LSTMCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias = true, DType dtype = f32);
  std::pair<Tensor, Tensor> operator()(const Tensor& x);  // h = c = 0
  std::pair<Tensor, Tensor> operator()(const Tensor& x, const Tensor& h, const Tensor& c);
  TensorList forward_list(const TensorList& inputs) override;
  std::string type_name() const override { return "LSTMCell"; }
};

// (x, h) -> h'
class GRUCell : public RNNCellBase {
 public:
  GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias = true, DType dtype = f32);
  GRUCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias = true, DType dtype = f32);
  using Module::operator();
  Tensor operator()(const Tensor& x, const Tensor& h);
  TensorList forward_list(const TensorList& inputs) override;
  std::string type_name() const override { return "GRUCell"; }
};

// ---- layers over sequences ---------------------------------------------------------------------
// Options as libtorch spells them: nn::LSTMOptions(8, 32).num_layers(2).bidirectional(true).
struct RNNOptions {
  RNNOptions(std::size_t input_size, std::size_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
#define AG_NN_OPTION(type, name) \
  RNNOptions& name(type v) {     \
    name##_ = v;                 \
    return *this;                \
  }                              \
  type name() const { return name##_; }
  AG_NN_OPTION(std::size_t, input_size)
  AG_NN_OPTION(std::size_t, hidden_size)
  AG_NN_OPTION(std::size_t, num_layers)
  AG_NN_OPTION(bool, bias)
  AG_NN_OPTION(bool, batch_first)    // x [B, T, in] and y [B, T, ·] instead of [T, B, ·]
  AG_NN_OPTION(double, dropout)      // on the outputs of every layer but the last, in training
  AG_NN_OPTION(bool, bidirectional)  // y [..., 2·H]: forward then reverse direction
  AG_NN_OPTION(RNNNonlinearity, nonlinearity)  // RNN only
  AG_NN_OPTION(DType, dtype)
  // LSTM: without lengths, each layer direction is one ag::lstm_sequence node; with lengths, and for GRU,
  // the gate math is one node per step (ag::lstm_gates / gru_gates). false: every step composed of
  // elementwise ops (the reference).
  AG_NN_OPTION(bool, fused)
#undef AG_NN_OPTION
 private:
  std::size_t input_size_, hidden_size_, num_layers_ = 1;
  bool bias_ = true, batch_first_ = false;
  double dropout_ = 0.0;
  bool bidirectional_ = false;
  RNNNonlinearity nonlinearity_ = RNNNonlinearity::tanh;
  DType dtype_ = f32;
  bool fused_ = true;
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

// output [T, B, D·H] (D = 2 when bidirectional); h_n (and c_n) [L·D, B, H], layer-major with the
// reverse direction second, as PyTorch. Unbatched x [T, in] gives output [T, D·H], h_n [L·D, H].
struct RNNResult {
  Tensor output, h_n;
};
struct LSTMResult {
  Tensor output, h_n, c_n;
};

// Parameters weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} per layer k, with the
// suffix _reverse for the reverse direction (PyTorch's names, shapes and order).
// lengths (optional, integer [B], each in [1, T]): row b is a sequence of lengths[b] steps
// followed by padding; padded steps leave the state unchanged, give zero outputs and receive no
// gradient, and the reverse direction starts at the last real step (PyTorch's packed sequences).
// Bad input — wrong rank or feature count, an empty sequence, an initial state of the wrong
// shape, lengths out of range — is a typed error naming the layer and the shapes.
class RecurrentBase : public Module {
 public:
  const RNNOptions& options() const { return options_; }
  std::string describe() const override;  // "LSTM(8, 32, num_layers=2, bidirectional)"
  std::size_t num_inputs() const override { return 0; }
  TensorList forward_list(const TensorList& inputs) override;  // {x, h0, [c0,] lengths} -> {y, h_n, [c_n]}
  // The parameters of layer k, direction d (0 forward, 1 reverse): w_ih, w_hh, b_ih, b_hh.
  std::vector<Tensor> layer_parameters(std::size_t layer, std::size_t direction = 0) const;

 protected:
  enum class Kind { rnn, lstm, gru };
  RecurrentBase(Kind kind, const RNNOptions& options, Generator* gen);
  TensorList run(const TensorList& inputs);

 private:
  Kind kind_;
  RNNOptions options_;
  std::vector<std::vector<Tensor>> weights_;  // [layer·D + direction] -> {w_ih, w_hh, b_ih, b_hh}
  std::optional<Dropout> dropout_;
};

class RNN : public RecurrentBase {
 public:
  explicit RNN(const RNNOptions& options) : RecurrentBase(Kind::rnn, options, nullptr) {}
  RNN(const RNNOptions& options, Generator& gen) : RecurrentBase(Kind::rnn, options, &gen) {}
  RNN(std::size_t input_size, std::size_t hidden_size) : RNN(RNNOptions(input_size, hidden_size)) {}
  RNNResult operator()(const Tensor& x, const Tensor& h0 = {}, const Tensor& lengths = {});
  std::string type_name() const override { return "RNN"; }
};

class LSTM : public RecurrentBase {
 public:
  explicit LSTM(const RNNOptions& options) : RecurrentBase(Kind::lstm, options, nullptr) {}
  LSTM(const RNNOptions& options, Generator& gen) : RecurrentBase(Kind::lstm, options, &gen) {}
  LSTM(std::size_t input_size, std::size_t hidden_size) : LSTM(RNNOptions(input_size, hidden_size)) {}
  LSTMResult operator()(const Tensor& x, const Tensor& h0 = {}, const Tensor& c0 = {}, const Tensor& lengths = {});
  std::string type_name() const override { return "LSTM"; }
};

class GRU : public RecurrentBase {
 public:
  explicit GRU(const RNNOptions& options) : RecurrentBase(Kind::gru, options, nullptr) {}
  GRU(const RNNOptions& options, Generator& gen) : RecurrentBase(Kind::gru, options, &gen) {}
  GRU(std::size_t input_size, std::size_t hidden_size) : GRU(RNNOptions(input_size, hidden_size)) {}
  RNNResult operator()(const Tensor& x, const Tensor& h0 = {}, const Tensor& lengths = {});
  std::string type_name() const override { return "GRU"; }
};

}  // namespace ag::nn
