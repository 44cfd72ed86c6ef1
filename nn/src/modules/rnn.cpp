// Recurrent cells and layers, composed of ag ops (so every order of derivative works). A layer
// projects the whole input sequence through W_ih in one matrix product per layer and direction,
// [T·B, in]·[in, G·H], and runs only h·W_hhᵀ and the gate math per step.
#include "ag/nn/modules/rnn.hpp"

#include <cmath>

#include "ag/extend.hpp"
#include "ag/nn/init.hpp"

namespace ag::nn {

namespace {

// x·W_ihᵀ + b_ih for x [N, in]: [N, G·H]
Tensor project(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = matmul_t(x, w, false, true);
  return b.defined() ? y + b : y;
}

// The steps on gx = x·W_ihᵀ + b_ih (precomputed): what the cells and the layers share.
Tensor rnn_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh, RNNNonlinearity act) {
  const Tensor a = gx + project(h, w_hh, b_hh);
  return act == RNNNonlinearity::relu ? relu(a) : tanh(a);
}

// fused: one lstm_gates / gru_gates node for the gate math; otherwise the elementwise ops.
std::pair<Tensor, Tensor> lstm_step(const Tensor& gx, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                    const Tensor& b_hh, bool fused) {
  const Tensor gates = gx + project(h, w_hh, b_hh);  // [B, 4H]: i, f, g, o
  const std::ptrdiff_t H = static_cast<std::ptrdiff_t>(h.size(1));
  if (fused) {
    const Tensor hc = lstm_gates(gates, c);  // [B, 2H] = [h' | c']
    return {slice(hc, 1, 0, H), slice(hc, 1, H, 2 * H)};
  }
  const std::vector<Tensor> g = split(gates, 4, -1);
  const Tensor c2 = sigmoid(g[1]) * c + sigmoid(g[0]) * tanh(g[2]);
  return {sigmoid(g[3]) * tanh(c2), c2};
}

Tensor gru_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh, bool fused) {
  const Tensor gh = project(h, w_hh, b_hh);  // [B, 3H]: h_r, h_z, h_n
  if (fused) return gru_gates(gx, gh, h);
  const std::vector<Tensor> xs = split(gx, 3, -1), hs = split(gh, 3, -1);
  const Tensor r = sigmoid(xs[0] + hs[0]);
  const Tensor z = sigmoid(xs[1] + hs[1]);
  const Tensor n = tanh(xs[2] + r * hs[2]);
  return n + z * (h - n);  // (1 - z)·n + z·h
}

// The T steps [B, G] of a time-major projection [T·B, G]: rows t·B .. t·B + B - 1, one slice
// node each. One slice per step would build, in backward, a zero-filled [T·B, G] gradient per step
// (T² work in all, a seventh of an LSTM training step at T = 32); halving the rows recursively
// costs about log2(T) passes instead. Small projections (per-node overhead dominates) and
// projections without gradient take one slice per step.
void halve_into(const Tensor& part, std::size_t steps, std::size_t B, std::vector<Tensor>& rows) {
  if (steps == 1) {
    rows.push_back(part);
    return;
  }
  const std::size_t first = steps / 2;
  const std::vector<Tensor> halves = split(part, {first * B, (steps - first) * B}, 0);
  halve_into(halves[0], first, B, rows);
  halve_into(halves[1], steps - first, B, rows);
}

std::vector<Tensor> step_rows(const Tensor& all, std::size_t T, std::size_t B) {
  std::vector<Tensor> rows;
  rows.reserve(T);
  if (T > 2 && all.numel() >= 65536 && all.requires_grad() && is_grad_enabled()) {
    halve_into(all, T, B, rows);
  } else {
    for (std::size_t t = 0; t < T; ++t)
      rows.push_back(slice(all, 0, static_cast<std::ptrdiff_t>(t * B), static_cast<std::ptrdiff_t>((t + 1) * B)));
  }
  return rows;
}

Tensor uniform_param(std::vector<std::size_t> shape, double k, Generator& gen, DType dtype) {
  return init::uniform_(zeros(Shape(shape.begin(), shape.end()), dtype), gen, -k, k);
}

}  // namespace

Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, RNNNonlinearity act) {
  return rnn_step(project(x, w_ih, b_ih), h, w_hh, b_hh, act);
}

std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool fused) {
  return lstm_step(project(x, w_ih, b_ih), h, c, w_hh, b_hh, fused);
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, bool fused) {
  return gru_step(project(x, w_ih, b_ih), h, w_hh, b_hh, fused);
}

// ---- cells ---------------------------------------------------------------------------------------

RNNCellBase::RNNCellBase(std::size_t input_size, std::size_t hidden_size, std::size_t gates, bool bias,
                         Generator& gen, DType dtype)
    : input_size_(input_size), hidden_size_(hidden_size) {
  if (input_size == 0 || hidden_size == 0)
    throw ValueError(fmt::format("recurrent cell: input_size ({}) and hidden_size ({}) must be > 0", input_size,
                                 hidden_size));
  if (!is_floating(dtype))
    throw DtypeError(fmt::format("recurrent cell: parameters must be float32 or float64, got {}", dtype_name(dtype)));
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  w_ih_ = register_parameter("weight_ih", uniform_param({gates * hidden_size, input_size}, k, gen, dtype));
  w_hh_ = register_parameter("weight_hh", uniform_param({gates * hidden_size, hidden_size}, k, gen, dtype));
  if (bias) {
    b_ih_ = register_parameter("bias_ih", uniform_param({gates * hidden_size}, k, gen, dtype));
    b_hh_ = register_parameter("bias_hh", uniform_param({gates * hidden_size}, k, gen, dtype));
  }
}

std::string RNNCellBase::describe() const {
  return fmt::format("{}({}, {}{})", type_name(), input_size_, hidden_size_, b_ih_.defined() ? "" : ", bias=false");
}

bool RNNCellBase::prepare(TensorList& in, std::size_t states) const {
  const std::string who = describe();
  if (in.empty() || in.size() > 1 + states)
    throw ValueError(fmt::format("{}: takes the input and up to {} state tensor{}, got {} tensors", who, states,
                                 states == 1 ? "" : "s", in.size()));
  require_defined(who.c_str(), in[0], "the input");
  const Tensor& x = in[0];
  if ((x.dim() != 1 && x.dim() != 2) || x.size(-1) != input_size_)
    throw ShapeError(fmt::format("{}: input of shape {}, expected [batch, {}] or [{}]", who, shape_str(x.shape()),
                                 input_size_, input_size_));
  if (x.dtype() != w_ih_.dtype())
    throw DtypeError(fmt::format("{}: input is {} but the parameters are {}", who, dtype_name(x.dtype()),
                                 dtype_name(w_ih_.dtype())));
  const bool unbatched = x.dim() == 1;
  const Shape want = unbatched ? Shape{hidden_size_} : Shape{x.size(0), hidden_size_};
  if (unbatched) in[0] = unsqueeze(x, 0);
  in.resize(1 + states);
  for (std::size_t s = 1; s <= states; ++s) {
    if (!in[s].defined()) {
      in[s] = zeros({in[0].size(0), hidden_size_}, x.dtype());
      continue;
    }
    if (in[s].shape() != want)
      throw ShapeError(fmt::format("{}: state {} of shape {}, expected {} for input {}", who, s,
                                   shape_str(in[s].shape()), shape_str(want), shape_str(x.shape())));
    if (in[s].dtype() != x.dtype())
      throw DtypeError(fmt::format("{}: state {} is {}, the input {}", who, s, dtype_name(in[s].dtype()),
                                   dtype_name(x.dtype())));
    if (unbatched) in[s] = unsqueeze(in[s], 0);
  }
  return unbatched;
}

RNNCell::RNNCell(std::size_t input_size, std::size_t hidden_size, bool bias, RNNNonlinearity act, DType dtype)
    : RNNCell(input_size, hidden_size, default_generator(), bias, act, dtype) {}
RNNCell::RNNCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias, RNNNonlinearity act,
                 DType dtype)
    : RNNCellBase(input_size, hidden_size, 1, bias, gen, dtype), act_(act) {}

Tensor RNNCell::operator()(const Tensor& x, const Tensor& h) { return call({x, h})[0]; }

TensorList RNNCell::forward_list(const TensorList& inputs) {
  TensorList in = inputs;
  const bool unbatched = prepare(in, 1);
  Tensor h = rnn_cell(in[0], in[1], w_ih_, w_hh_, b_ih_, b_hh_, act_);
  return {unbatched ? squeeze(h, {0}) : h};
}

LSTMCell::LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias, DType dtype)
    : LSTMCell(input_size, hidden_size, default_generator(), bias, dtype) {}
LSTMCell::LSTMCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias, DType dtype)
    : RNNCellBase(input_size, hidden_size, 4, bias, gen, dtype) {}

std::pair<Tensor, Tensor> LSTMCell::operator()(const Tensor& x) {
  TensorList out = call({x});
  return {out[0], out[1]};
}
std::pair<Tensor, Tensor> LSTMCell::operator()(const Tensor& x, const Tensor& h, const Tensor& c) {
  TensorList out = call({x, h, c});
  return {out[0], out[1]};
}

TensorList LSTMCell::forward_list(const TensorList& inputs) {
  TensorList in = inputs;
  const bool unbatched = prepare(in, 2);
  auto [h, c] = lstm_cell(in[0], in[1], in[2], w_ih_, w_hh_, b_ih_, b_hh_, fused_);
  if (unbatched) return {squeeze(h, {0}), squeeze(c, {0})};
  return {h, c};
}

GRUCell::GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias, DType dtype)
    : GRUCell(input_size, hidden_size, default_generator(), bias, dtype) {}
GRUCell::GRUCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias, DType dtype)
    : RNNCellBase(input_size, hidden_size, 3, bias, gen, dtype) {}

Tensor GRUCell::operator()(const Tensor& x, const Tensor& h) { return call({x, h})[0]; }

TensorList GRUCell::forward_list(const TensorList& inputs) {
  TensorList in = inputs;
  const bool unbatched = prepare(in, 1);
  Tensor h = gru_cell(in[0], in[1], w_ih_, w_hh_, b_ih_, b_hh_, fused_);
  return {unbatched ? squeeze(h, {0}) : h};
}

// ---- layers --------------------------------------------------------------------------------------

RecurrentBase::RecurrentBase(Kind kind, const RNNOptions& o, Generator* gen_in) : kind_(kind), options_(o) {
  const char* type = kind == Kind::lstm ? "LSTM" : kind == Kind::gru ? "GRU" : "RNN";
  if (o.input_size() == 0 || o.hidden_size() == 0 || o.num_layers() == 0)
    throw ValueError(fmt::format("{}: input_size ({}), hidden_size ({}) and num_layers ({}) must be > 0", type,
                                 o.input_size(), o.hidden_size(), o.num_layers()));
  if (!(o.dropout() >= 0.0 && o.dropout() <= 1.0))
    throw ValueError(fmt::format("{}: dropout must be in [0, 1], got {}", type, o.dropout()));
  if (!is_floating(o.dtype()))
    throw DtypeError(fmt::format("{}: parameters must be float32 or float64, got {}", type, dtype_name(o.dtype())));
  Generator& gen = gen_in ? *gen_in : default_generator();
  const std::size_t gates = kind == Kind::lstm ? 4 : kind == Kind::gru ? 3 : 1;
  const std::size_t H = o.hidden_size(), D = o.bidirectional() ? 2 : 1;
  const double k = 1.0 / std::sqrt(static_cast<double>(H));
  for (std::size_t l = 0; l < o.num_layers(); ++l) {
    const std::size_t in = l == 0 ? o.input_size() : H * D;
    for (std::size_t d = 0; d < D; ++d) {
      const std::string sfx = fmt::format("_l{}{}", l, d == 1 ? "_reverse" : "");
      std::vector<Tensor> w;
      w.push_back(register_parameter("weight_ih" + sfx, uniform_param({gates * H, in}, k, gen, o.dtype())));
      w.push_back(register_parameter("weight_hh" + sfx, uniform_param({gates * H, H}, k, gen, o.dtype())));
      if (o.bias()) {
        w.push_back(register_parameter("bias_ih" + sfx, uniform_param({gates * H}, k, gen, o.dtype())));
        w.push_back(register_parameter("bias_hh" + sfx, uniform_param({gates * H}, k, gen, o.dtype())));
      } else {
        w.resize(4);
      }
      weights_.push_back(std::move(w));
    }
  }
  if (o.dropout() > 0.0 && o.num_layers() > 1) {
    if (gen_in)
      dropout_.emplace(o.dropout(), *gen_in);
    else
      dropout_.emplace(o.dropout());
  }
}

std::string RecurrentBase::describe() const {
  const RNNOptions& o = options_;
  std::string s = fmt::format("{}({}, {}", type_name(), o.input_size(), o.hidden_size());
  if (o.num_layers() != 1) s += fmt::format(", num_layers={}", o.num_layers());
  if (kind_ == Kind::rnn && o.nonlinearity() == RNNNonlinearity::relu) s += ", nonlinearity=relu";
  if (!o.bias()) s += ", bias=false";
  if (o.batch_first()) s += ", batch_first";
  if (o.dropout() != 0.0) s += fmt::format(", dropout={}", o.dropout());
  if (o.bidirectional()) s += ", bidirectional";
  return s + ")";
}

std::vector<Tensor> RecurrentBase::layer_parameters(std::size_t layer, std::size_t direction) const {
  const std::size_t D = options_.bidirectional() ? 2 : 1;
  if (layer >= options_.num_layers() || direction >= D)
    throw IndexError(fmt::format("{}: no layer {} direction {} ({} layers, {} direction{})", describe(), layer,
                                 direction, options_.num_layers(), D, D == 1 ? "" : "s"));
  return weights_[layer * D + direction];
}

TensorList RecurrentBase::forward_list(const TensorList& inputs) { return run(inputs); }

TensorList RecurrentBase::run(const TensorList& inputs) {
  const RNNOptions& o = options_;
  const std::string who = describe();
  const bool lstm = kind_ == Kind::lstm;
  const std::size_t states = lstm ? 2 : 1;
  if (inputs.empty() || inputs.size() > 2 + states)
    throw ValueError(fmt::format("{}: takes the input, {} and lengths (all but the input optional), got {} tensors",
                                 who, lstm ? "h0, c0" : "h0", inputs.size()));
  require_defined(who.c_str(), inputs[0], "the input");
  Tensor x = inputs[0];
  const std::size_t H = o.hidden_size(), D = o.bidirectional() ? 2 : 1, L = o.num_layers();
  if ((x.dim() != 2 && x.dim() != 3) || x.size(-1) != o.input_size())
    throw ShapeError(fmt::format("{}: input of shape {}, expected {} (or unbatched [seq, {}])", who,
                                 shape_str(x.shape()),
                                 o.batch_first() ? fmt::format("[batch, seq, {}]", o.input_size())
                                                 : fmt::format("[seq, batch, {}]", o.input_size()),
                                 o.input_size()));
  if (x.dtype() != o.dtype())
    throw DtypeError(fmt::format("{}: input is {} but the parameters are {}", who, dtype_name(x.dtype()),
                                 dtype_name(o.dtype())));
  const bool unbatched = x.dim() == 2;
  if (unbatched)
    x = unsqueeze(x, 1);  // [T, 1, in]
  else if (o.batch_first())
    x = transpose(x, 0, 1);  // time-major from here: [T, B, in]
  const std::size_t T = x.size(0), B = x.size(1);
  if (T == 0) throw ValueError(fmt::format("{}: empty sequence (input of shape {})", who, shape_str(inputs[0].shape())));

  // Initial states [L·D, B, H] (unbatched: [L·D, H]).
  const Shape state_shape = unbatched ? Shape{L * D, H} : Shape{L * D, B, H};
  TensorList init(states);
  for (std::size_t s = 0; s < states; ++s) {
    const Tensor& given = 1 + s < inputs.size() ? inputs[1 + s] : Tensor();
    if (!given.defined()) {
      init[s] = zeros({L * D, B, H}, x.dtype());
      continue;
    }
    if (given.shape() != state_shape)
      throw ShapeError(fmt::format("{}: {} of shape {}, expected {} for input {}", who, s == 0 ? "h0" : "c0",
                                   shape_str(given.shape()), shape_str(state_shape), shape_str(inputs[0].shape())));
    if (given.dtype() != x.dtype())
      throw DtypeError(fmt::format("{}: {} is {}, the input {}", who, s == 0 ? "h0" : "c0", dtype_name(given.dtype()),
                                   dtype_name(x.dtype())));
    init[s] = unbatched ? unsqueeze(given, 1) : given;
  }

  // lengths: masks[t] [B, 1] bool, true where step t is real.
  std::vector<Tensor> masks;
  const Tensor lengths = 1 + states < inputs.size() ? inputs[1 + states] : Tensor();
  if (lengths.defined()) {
    if (!is_integer(lengths.dtype()) || lengths.dim() != 1 || lengths.size(0) != B)
      throw ShapeError(fmt::format("{}: lengths must be an integer tensor of shape [{}] (one per sequence), got {} {}",
                                   who, B, dtype_name(lengths.dtype()), shape_str(lengths.shape())));
    const std::vector<std::int64_t> len = lengths.to(i64).to_vector<std::int64_t>();
    for (std::size_t b = 0; b < B; ++b)
      if (len[b] < 1 || static_cast<std::size_t>(len[b]) > T)
        throw ValueError(fmt::format("{}: lengths[{}] = {} is outside [1, {}] (the input has {} steps: {})", who, b,
                                     len[b], T, T, shape_str(inputs[0].shape())));
    NoGradGuard ng;
    const Tensor len_col = reshape(lengths.to(i64), {static_cast<std::ptrdiff_t>(B), 1});
    for (std::size_t t = 0; t < T; ++t) masks.push_back(gt(len_col, static_cast<double>(t)));
  }

  Tensor layer_in = x;  // [T, B, in_l]
  TensorList h_n, c_n;
  for (std::size_t l = 0; l < L; ++l) {
    if (l > 0 && dropout_) {
      dropout_->train(is_training());
      layer_in = (*dropout_)(layer_in);
    }
    std::vector<Tensor> dir_out;
    for (std::size_t d = 0; d < D; ++d) {
      const std::vector<Tensor>& w = weights_[l * D + d];
      const std::size_t in = layer_in.size(2);
      // One product for every step: [T·B, in]·[in, G·H] -> [T·B, G·H]. RNN and LSTM add b_hh here
      // too (it only ever adds to the same pre-activation); GRU's b_hn sits inside r·(h·W_hnᵀ + b_hn).
      const bool fold = kind_ != Kind::gru && w[3].defined();
      const Tensor b_in = fold ? w[2] + w[3] : w[2];
      const Tensor b_step = fold ? Tensor() : w[3];
      const Tensor gx_all =
          project(reshape(layer_in, {static_cast<std::ptrdiff_t>(T * B), static_cast<std::ptrdiff_t>(in)}), w[0], b_in);
      Tensor h = select(init[0], 0, static_cast<std::ptrdiff_t>(l * D + d));
      Tensor c = lstm ? select(init[1], 0, static_cast<std::ptrdiff_t>(l * D + d)) : Tensor();
      if (lstm && o.fused() && masks.empty() && !b_step.defined()) {
        // the whole direction as one node: [T, B, 2H] of [h_t | c_t]
        const auto sT = static_cast<std::ptrdiff_t>(T), sB = static_cast<std::ptrdiff_t>(B),
                   sH = static_cast<std::ptrdiff_t>(H);
        const Tensor hc = lstm_sequence(reshape(gx_all, {sT, sB, 4 * sH}), w[1], h, c, /*reverse=*/d == 1);
        const Tensor last = select(hc, 0, d == 0 ? sT - 1 : 0);
        dir_out.push_back(slice(hc, 2, 0, sH));
        h_n.push_back(slice(last, 1, 0, sH));
        c_n.push_back(slice(last, 1, sH, 2 * sH));
        continue;
      }
      const std::vector<Tensor> gx_rows = step_rows(gx_all, T, B);
      std::vector<Tensor> ys(T);
      for (std::size_t s = 0; s < T; ++s) {
        const std::size_t t = d == 0 ? s : T - 1 - s;
        const Tensor& gx = gx_rows[t];
        Tensor h2, c2;
        if (lstm)
          std::tie(h2, c2) = lstm_step(gx, h, c, w[1], b_step, o.fused());
        else if (kind_ == Kind::gru)
          h2 = gru_step(gx, h, w[1], b_step, o.fused());
        else
          h2 = rnn_step(gx, h, w[1], b_step, o.nonlinearity());
        if (masks.empty()) {
          h = h2;
          c = c2;
          ys[t] = h2;
        } else {  // padded steps: state kept, output zero, no gradient through h2
          h = where(masks[t], h2, h);
          if (lstm) c = where(masks[t], c2, c);
          ys[t] = where(masks[t], h2, zeros({1}, h2.dtype()));
        }
      }
      // [T, B, H]: one concat along the rows and one reshape (stack would add an unsqueeze per step)
      dir_out.push_back(reshape(concat(ys, 0), {static_cast<std::ptrdiff_t>(T), static_cast<std::ptrdiff_t>(B),
                                                static_cast<std::ptrdiff_t>(H)}));
      h_n.push_back(h);
      if (lstm) c_n.push_back(c);
    }
    layer_in = D == 1 ? dir_out[0] : concat(dir_out, 2);
  }

  Tensor y = layer_in;  // [T, B, D·H]
  Tensor hn = stack(std::vector<Tensor>(h_n.begin(), h_n.end()), 0);  // [L·D, B, H]
  Tensor cn = lstm ? stack(std::vector<Tensor>(c_n.begin(), c_n.end()), 0) : Tensor();
  if (unbatched) {
    y = squeeze(y, {1});
    hn = squeeze(hn, {1});
    if (lstm) cn = squeeze(cn, {1});
  } else if (o.batch_first()) {
    y = transpose(y, 0, 1);
  }
  if (lstm) return {y, hn, cn};
  return {y, hn};
}

RNNResult RNN::operator()(const Tensor& x, const Tensor& h0, const Tensor& lengths) {
  TensorList out = call({x, h0, lengths});
  return {out[0], out[1]};
}

LSTMResult LSTM::operator()(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& lengths) {
  TensorList out = call({x, h0, c0, lengths});
  return {out[0], out[1], out[2]};
}

RNNResult GRU::operator()(const Tensor& x, const Tensor& h0, const Tensor& lengths) {
  TensorList out = call({x, h0, lengths});
  return {out[0], out[1]};
}

}  // namespace ag::nn
