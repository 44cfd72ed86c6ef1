// Transformer encoder/decoder layers and stacks, positional encodings. Each block is PyTorch's
// formula written with the sub-modules (called through call(), so hooks and summary() see them);
// the attention is MultiheadAttention with need_weights = false (no second score product).
#include "ag/nn/modules/transformer.hpp"

#include <cmath>
#include <limits>

#include "ag/extend.hpp"
#include "ag/nn/init.hpp"

namespace ag::nn {

namespace {

std::ptrdiff_t sp(std::size_t v) { return static_cast<std::ptrdiff_t>(v); }

void check_options(const char* who, int64_t d_model, int64_t nhead, const TransformerLayerOptions& o) {
  if (d_model <= 0 || nhead <= 0)
    throw ValueError(fmt::format("{}: d_model ({}) and nhead ({}) must be > 0 (TransformerLayerOptions(d_model, "
                                 "nhead) for the stacks)", who, d_model, nhead));
  if (o.dim_feedforward() <= 0)
    throw ValueError(fmt::format("{}: dim_feedforward must be > 0, got {}", who, o.dim_feedforward()));
  if (o.activation() != "relu" && o.activation() != "gelu")
    throw ValueError(fmt::format("{}: activation must be \"relu\" or \"gelu\", got \"{}\"", who, o.activation()));
  if (!(o.dropout() >= 0.0 && o.dropout() < 1.0))
    throw ValueError(fmt::format("{}: dropout must be in [0, 1), got {}", who, o.dropout()));
}

// A Dense with torch.nn.Linear's init: weight and bias U(-1/√in, 1/√in).
std::shared_ptr<Dense> torch_linear(std::size_t in, std::size_t out, Generator& gen, bool bias, DType dt) {
  auto d = std::make_shared<Dense>(in, out, gen, bias, Init::zeros, dt);
  const double b = 1.0 / std::sqrt(static_cast<double>(in));
  init::uniform_(d->weight(), gen, -b, b);
  if (bias) init::uniform_(d->bias(), gen, -b, b);
  return d;
}

MultiheadAttentionOptions mha_options(const TransformerLayerOptions& o) {
  return MultiheadAttentionOptions().dropout(o.dropout()).bias(o.bias()).batch_first(o.batch_first()).dtype(o.dtype());
}

Tensor activate(const std::string& act, const Tensor& x) { return act == "gelu" ? gelu(x) : relu(x); }

// linear2(dropout(act(linear1(x)))) on the rows of x as a 2-D [rows, d_model]: Dense on 2-D input
// is one fused linear op whose weight gradient is one gemm (on 3-D input, matmul + add, whose
// weight gradient is a gemm per batch entry summed afterwards).
Tensor feed_forward(Dense& l1, Dropout& drop, Dense& l2, const std::string& act, const Tensor& x) {
  if (x.dim() == 2) return l2(drop(activate(act, l1(x))));
  const Shape xs = x.shape();
  const Tensor y = l2(drop(activate(act, l1(reshape(x, {-1, sp(xs.back())})))));
  return reshape(y, std::vector<std::ptrdiff_t>(xs.begin(), xs.end()));
}

std::string layer_describe(const char* type, const TransformerLayerOptions& o, int64_t d, int64_t h) {
  std::string s = fmt::format("{}(d_model={}, nhead={}, dim_feedforward={}, dropout={}", type, d, h,
                              o.dim_feedforward(), o.dropout());
  if (o.activation() != "relu") s += ", activation=" + o.activation();
  if (o.norm_first()) s += ", norm_first";
  if (o.batch_first()) s += ", batch_first";
  return s + ")";
}

const Tensor& at(const TensorList& in, std::size_t i) {
  static const Tensor none;
  return i < in.size() ? in[i] : none;
}

}  // namespace

// ---- encoder layer ---------------------------------------------------------------------------------
TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions opts)
    : TransformerEncoderLayer(d_model, nhead, default_generator(), std::move(opts)) {}

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, Generator& gen,
                                                 TransformerLayerOptions opts)
    : options_(std::move(opts)) {
  check_options("TransformerEncoderLayer", d_model, nhead, options_);
  options_.d_model(d_model).nhead(nhead);
  const std::size_t E = static_cast<std::size_t>(d_model), F = static_cast<std::size_t>(options_.dim_feedforward());
  const DType dt = options_.dtype();
  // PyTorch's registration order (the order of the state dict)
  self_attn_ = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, gen, mha_options(options_)));
  linear1_ = register_module("linear1", torch_linear(E, F, gen, options_.bias(), dt));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(options_.dropout()));
  linear2_ = register_module("linear2", torch_linear(F, E, gen, options_.bias(), dt));
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(E, options_.layer_norm_eps(), true, dt));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(E, options_.layer_norm_eps(), true, dt));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(options_.dropout()));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(options_.dropout()));
}

std::string TransformerEncoderLayer::describe() const {
  return layer_describe("TransformerEncoderLayer", options_, options_.d_model(), options_.nhead());
}

Tensor TransformerEncoderLayer::operator()(const Tensor& src, const EncoderCall& c) {
  struct Restore {
    bool& f;
    ~Restore() { f = false; }
  } restore{is_causal_};
  is_causal_ = c.is_causal;
  return call({src, c.mask, c.src_key_padding_mask})[0];
}

TensorList TransformerEncoderLayer::forward_list(const TensorList& in) {
  if (in.empty() || in.size() > 3)
    throw ValueError(fmt::format("{}: takes src[, mask[, src_key_padding_mask]], got {} tensors", describe(), in.size()));
  Tensor x = in[0];
  const MhaCall attn{at(in, 2), at(in, 1), false, true, is_causal_};
  const auto sa = [&](const Tensor& t) { return (*dropout1_)((*self_attn_)(t, t, t, attn).output); };
  const auto ff = [&](const Tensor& t) {
    return (*dropout2_)(feed_forward(*linear1_, *dropout_, *linear2_, options_.activation(), t));
  };
  if (options_.norm_first()) {
    x = x + sa((*norm1_)(x));
    x = x + ff((*norm2_)(x));
  } else {
    x = (*norm1_)(x + sa(x));
    x = (*norm2_)(x + ff(x));
  }
  return {x};
}

// ---- decoder layer ---------------------------------------------------------------------------------
TransformerDecoderLayer::TransformerDecoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions opts)
    : TransformerDecoderLayer(d_model, nhead, default_generator(), std::move(opts)) {}

TransformerDecoderLayer::TransformerDecoderLayer(int64_t d_model, int64_t nhead, Generator& gen,
                                                 TransformerLayerOptions opts)
    : options_(std::move(opts)) {
  check_options("TransformerDecoderLayer", d_model, nhead, options_);
  options_.d_model(d_model).nhead(nhead);
  const std::size_t E = static_cast<std::size_t>(d_model), F = static_cast<std::size_t>(options_.dim_feedforward());
  const DType dt = options_.dtype();
  self_attn_ = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, gen, mha_options(options_)));
  multihead_attn_ =
      register_module("multihead_attn", std::make_shared<MultiheadAttention>(d_model, nhead, gen, mha_options(options_)));
  linear1_ = register_module("linear1", torch_linear(E, F, gen, options_.bias(), dt));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(options_.dropout()));
  linear2_ = register_module("linear2", torch_linear(F, E, gen, options_.bias(), dt));
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(E, options_.layer_norm_eps(), true, dt));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(E, options_.layer_norm_eps(), true, dt));
  norm3_ = register_module("norm3", std::make_shared<LayerNorm>(E, options_.layer_norm_eps(), true, dt));
  dropout1_ = register_module("dropout1", std::make_shared<Dropout>(options_.dropout()));
  dropout2_ = register_module("dropout2", std::make_shared<Dropout>(options_.dropout()));
  dropout3_ = register_module("dropout3", std::make_shared<Dropout>(options_.dropout()));
}

std::string TransformerDecoderLayer::describe() const {
  return layer_describe("TransformerDecoderLayer", options_, options_.d_model(), options_.nhead());
}

Tensor TransformerDecoderLayer::operator()(const Tensor& tgt, const Tensor& memory, const DecoderCall& c) {
  struct Restore {
    bool& a;
    bool& b;
    ~Restore() { a = b = false; }
  } restore{tgt_is_causal_, memory_is_causal_};
  tgt_is_causal_ = c.tgt_is_causal;
  memory_is_causal_ = c.memory_is_causal;
  return call({tgt, memory, c.tgt_mask, c.memory_mask, c.tgt_key_padding_mask, c.memory_key_padding_mask})[0];
}

TensorList TransformerDecoderLayer::forward_list(const TensorList& in) {
  if (in.size() < 2 || in.size() > 6)
    throw ValueError(fmt::format("{}: takes tgt, memory[, tgt_mask, memory_mask, tgt_key_padding_mask, "
                                 "memory_key_padding_mask], got {} tensors", describe(), in.size()));
  Tensor x = in[0];
  const Tensor& memory = in[1];
  const MhaCall self_call{at(in, 4), at(in, 2), false, true, tgt_is_causal_};
  const MhaCall cross_call{at(in, 5), at(in, 3), false, true, memory_is_causal_};
  const auto sa = [&](const Tensor& t) { return (*dropout1_)((*self_attn_)(t, t, t, self_call).output); };
  const auto mha = [&](const Tensor& t) {
    return (*dropout2_)((*multihead_attn_)(t, memory, memory, cross_call).output);
  };
  const auto ff = [&](const Tensor& t) {
    return (*dropout3_)(feed_forward(*linear1_, *dropout_, *linear2_, options_.activation(), t));
  };
  if (options_.norm_first()) {
    x = x + sa((*norm1_)(x));
    x = x + mha((*norm2_)(x));
    x = x + ff((*norm3_)(x));
  } else {
    x = (*norm1_)(x + sa(x));
    x = (*norm2_)(x + mha(x));
    x = (*norm3_)(x + ff(x));
  }
  return {x};
}

// ---- stacks ----------------------------------------------------------------------------------------
TransformerEncoder::TransformerEncoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm)
    : TransformerEncoder(layer, num_layers, final_norm, default_generator()) {}

TransformerEncoder::TransformerEncoder(int64_t d_model, int64_t nhead, int64_t num_layers,
                                       TransformerLayerOptions opts, bool final_norm)
    : TransformerEncoder(opts.d_model(d_model).nhead(nhead), num_layers, final_norm) {}

TransformerEncoder::TransformerEncoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm,
                                       Generator& gen) {
  if (num_layers <= 0) throw ValueError(fmt::format("TransformerEncoder: num_layers must be > 0, got {}", num_layers));
  check_options("TransformerEncoder", layer.d_model(), layer.nhead(), layer);
  list_ = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < num_layers; ++i)
    layers_.push_back(list_->push_back(std::make_shared<TransformerEncoderLayer>(layer.d_model(), layer.nhead(), gen, layer)));
  if (final_norm)
    norm_ = register_module("norm", std::make_shared<LayerNorm>(static_cast<std::size_t>(layer.d_model()),
                                                                 layer.layer_norm_eps(), true, layer.dtype()));
}

std::string TransformerEncoder::describe() const {
  return fmt::format("TransformerEncoder({} x {}{})", layers_.size(), layers_.front()->describe(),
                     norm_ ? ", final norm" : "");
}

Tensor TransformerEncoder::operator()(const Tensor& src, const EncoderCall& c) {
  struct Restore {
    bool& f;
    ~Restore() { f = false; }
  } restore{is_causal_};
  is_causal_ = c.is_causal;
  return call({src, c.mask, c.src_key_padding_mask})[0];
}

TensorList TransformerEncoder::forward_list(const TensorList& in) {
  if (in.empty() || in.size() > 3)
    throw ValueError(fmt::format("{}: takes src[, mask[, src_key_padding_mask]], got {} tensors", describe(), in.size()));
  const EncoderCall c{at(in, 1), at(in, 2), is_causal_};
  Tensor x = in[0];
  for (const auto& l : layers_) x = (*l)(x, c);
  if (norm_) x = (*norm_)(x);
  return {x};
}

TransformerDecoder::TransformerDecoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm)
    : TransformerDecoder(layer, num_layers, final_norm, default_generator()) {}

TransformerDecoder::TransformerDecoder(int64_t d_model, int64_t nhead, int64_t num_layers,
                                       TransformerLayerOptions opts, bool final_norm)
    : TransformerDecoder(opts.d_model(d_model).nhead(nhead), num_layers, final_norm) {}

TransformerDecoder::TransformerDecoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm,
                                       Generator& gen) {
  if (num_layers <= 0) throw ValueError(fmt::format("TransformerDecoder: num_layers must be > 0, got {}", num_layers));
  check_options("TransformerDecoder", layer.d_model(), layer.nhead(), layer);
  list_ = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < num_layers; ++i)
    layers_.push_back(list_->push_back(std::make_shared<TransformerDecoderLayer>(layer.d_model(), layer.nhead(), gen, layer)));
  if (final_norm)
    norm_ = register_module("norm", std::make_shared<LayerNorm>(static_cast<std::size_t>(layer.d_model()),
                                                                 layer.layer_norm_eps(), true, layer.dtype()));
}

std::string TransformerDecoder::describe() const {
  return fmt::format("TransformerDecoder({} x {}{})", layers_.size(), layers_.front()->describe(),
                     norm_ ? ", final norm" : "");
}

Tensor TransformerDecoder::operator()(const Tensor& tgt, const Tensor& memory, const DecoderCall& c) {
  struct Restore {
    bool& a;
    bool& b;
    ~Restore() { a = b = false; }
  } restore{tgt_is_causal_, memory_is_causal_};
  tgt_is_causal_ = c.tgt_is_causal;
  memory_is_causal_ = c.memory_is_causal;
  return call({tgt, memory, c.tgt_mask, c.memory_mask, c.tgt_key_padding_mask, c.memory_key_padding_mask})[0];
}

TensorList TransformerDecoder::forward_list(const TensorList& in) {
  if (in.size() < 2 || in.size() > 6)
    throw ValueError(fmt::format("{}: takes tgt, memory[, tgt_mask, memory_mask, tgt_key_padding_mask, "
                                 "memory_key_padding_mask], got {} tensors", describe(), in.size()));
  const DecoderCall c{at(in, 2), at(in, 3), at(in, 4), at(in, 5), tgt_is_causal_, memory_is_causal_};
  Tensor x = in[0];
  for (const auto& l : layers_) x = (*l)(x, in[1], c);
  if (norm_) x = (*norm_)(x);
  return {x};
}

// ---- masks and positions -----------------------------------------------------------------------------
Tensor generate_square_subsequent_mask(int64_t L, DType dtype) {
  if (L < 0) throw ValueError(fmt::format("generate_square_subsequent_mask: L must be >= 0, got {}", L));
  const std::size_t n = static_cast<std::size_t>(L);
  Tensor m = zeros({n, n}, dtype);
  dispatch(dtype, [&](auto t) {
    using T = decltype(t);
    T* p = data<T>(m);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) p[i * n + j] = -std::numeric_limits<T>::infinity();
    return 0;
  });
  return m;
}

namespace {
// The sequence length of x [L, N, d] / [N, L, d] (batch_first) / [L, d], checked against the table.
std::size_t positions_of(const char* who, const std::string& desc, const Tensor& x, const Tensor& table,
                         int64_t max_len, int64_t d_model, bool batch_first) {
  require_defined(who, x, "the input");
  const std::size_t nd = x.dim();
  if ((nd != 2 && nd != 3) || x.size(-1) != static_cast<std::size_t>(d_model))
    throw ShapeError(fmt::format("{}: input must be {} or [L, {}], got {}", desc,
                                 batch_first ? fmt::format("[N, L, {}]", d_model) : fmt::format("[L, N, {}]", d_model),
                                 d_model, shape_str(x.shape())));
  const std::size_t L = nd == 3 && batch_first ? x.size(1) : x.size(0);
  if (L > static_cast<std::size_t>(max_len))
    throw ShapeError(fmt::format("{}: sequence length {} exceeds max_len {} (input {})", desc, L, max_len,
                                 shape_str(x.shape())));
  if (x.dtype() != table.dtype())
    throw DtypeError(fmt::format("{}: input is {} but the table is {} ({})", desc, dtype_name(x.dtype()),
                                 dtype_name(table.dtype()), shape_str(x.shape())));
  return L;
}
// x + pe for pe [L, d], broadcast over the batch axis of x.
Tensor add_positions(const Tensor& x, const Tensor& pe, bool batch_first) {
  if (x.dim() == 2) return x + pe;
  const std::ptrdiff_t L = sp(pe.size(0)), d = sp(pe.size(1));
  return x + reshape(pe, batch_first ? std::vector<std::ptrdiff_t>{1, L, d} : std::vector<std::ptrdiff_t>{L, 1, d});
}
}  // namespace

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len, bool batch_first, DType dtype)
    : d_model_(d_model), max_len_(max_len), batch_first_(batch_first) {
  if (d_model <= 0 || max_len <= 0)
    throw ValueError(fmt::format("SinusoidalPositionalEncoding: d_model ({}) and max_len ({}) must be > 0", d_model,
                                 max_len));
  const std::size_t n = static_cast<std::size_t>(max_len), d = static_cast<std::size_t>(d_model);
  Tensor table = zeros({n, d}, dtype);
  dispatch(dtype, [&](auto t) {
    using T = decltype(t);
    T* p = data<T>(table);
    for (std::size_t pos = 0; pos < n; ++pos)
      for (std::size_t i = 0; 2 * i < d; ++i) {
        // angle = pos / 10000^(2i/d), in double
        const double a = static_cast<double>(pos) * std::exp(-std::log(10000.0) * static_cast<double>(2 * i) / d);
        p[pos * d + 2 * i] = static_cast<T>(std::sin(a));
        if (2 * i + 1 < d) p[pos * d + 2 * i + 1] = static_cast<T>(std::cos(a));
      }
    return 0;
  });
  pe_ = register_buffer("pe", table, /*persistent=*/false);
}

std::string SinusoidalPositionalEncoding::describe() const {
  return fmt::format("SinusoidalPositionalEncoding({}, max_len={}{})", d_model_, max_len_,
                     batch_first_ ? ", batch_first" : "");
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x) {
  const std::size_t L = positions_of("SinusoidalPositionalEncoding", describe(), x, pe_, max_len_, d_model_, batch_first_);
  return add_positions(x, L == pe_.size(0) ? pe_ : slice(pe_, 0, 0, sp(L)), batch_first_);
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len, int64_t d_model, bool batch_first, DType dtype)
    : LearnedPositionalEncoding(max_len, d_model, default_generator(), batch_first, dtype) {}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len, int64_t d_model, Generator& gen,
                                                     bool batch_first, DType dtype)
    : max_len_(max_len), d_model_(d_model), batch_first_(batch_first) {
  if (d_model <= 0 || max_len <= 0)
    throw ValueError(fmt::format("LearnedPositionalEncoding: max_len ({}) and d_model ({}) must be > 0", max_len,
                                 d_model));
  embedding_ = register_module("embedding", std::make_shared<Embedding>(static_cast<std::size_t>(max_len),
                                                                         static_cast<std::size_t>(d_model), gen,
                                                                         std::nullopt, std::nullopt, dtype));
}

std::string LearnedPositionalEncoding::describe() const {
  return fmt::format("LearnedPositionalEncoding({}, {}{})", max_len_, d_model_, batch_first_ ? ", batch_first" : "");
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x) {
  const std::size_t L = positions_of("LearnedPositionalEncoding", describe(), x, embedding_->weight(), max_len_,
                                     d_model_, batch_first_);
  return add_positions(x, (*embedding_)(arange(0.0, static_cast<double>(L), 1.0, i64)), batch_first_);
}

}  // namespace ag::nn
