#pragma once
// Transformer layers with PyTorch's semantics and parameter names (torch.nn.TransformerEncoderLayer,
// TransformerDecoderLayer, TransformerEncoder, TransformerDecoder), positional encodings and the
// causal mask helper.
//
//   nn::TransformerEncoder enc(nn::TransformerLayerOptions(128, 4).dim_feedforward(512).batch_first(true), 2);
//   ag::Tensor y = enc(x, {nn::Tensor(), pad});    // x [N, L, 128], pad [N, L] bool (true = padding)
//
// Shapes: src/tgt [L, N, E] ([N, L, E] with batch_first, [L, E] unbatched), memory [S, N, E];
// the masks are MultiheadAttention's (attn masks [L, S] or [N·nhead, L, S], bool true = not
// allowed or floating added; key padding masks [N, S], bool true = padding).
#include <cstdint>
#include <memory>
#include <string>

#include "ag/nn/module.hpp"
#include "ag/nn/modules/attention.hpp"
#include "ag/nn/modules/container.hpp"
#include "ag/nn/modules/dropout.hpp"
#include "ag/nn/modules/embedding.hpp"
#include "ag/nn/modules/linear.hpp"
#include "ag/nn/modules/normalization.hpp"

namespace ag::nn {

// Options as libtorch spells them: nn::TransformerLayerOptions(512, 8).dim_feedforward(2048).
// d_model and nhead are needed only by the constructors that take no explicit d_model/nhead.
struct TransformerLayerOptions {
  TransformerLayerOptions() = default;
  TransformerLayerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
#define AG_NN_OPTION(type, name)           \
  TransformerLayerOptions& name(type v) {  \
    name##_ = v;                           \
    return *this;                          \
  }                                        \
  type name() const { return name##_; }
  AG_NN_OPTION(int64_t, d_model)
  AG_NN_OPTION(int64_t, nhead)
  AG_NN_OPTION(int64_t, dim_feedforward)
  AG_NN_OPTION(double, dropout)          // after attention, inside and after the feed-forward block
  AG_NN_OPTION(std::string, activation)  // "relu" or "gelu" (exact, erf form)
  AG_NN_OPTION(double, layer_norm_eps)
  AG_NN_OPTION(bool, batch_first)
  AG_NN_OPTION(bool, norm_first)  // pre-norm: x + f(norm(x)) instead of norm(x + f(x))
  AG_NN_OPTION(bool, bias)        // of the linear layers and the attention (the norms keep theirs)
  AG_NN_OPTION(DType, dtype)
#undef AG_NN_OPTION
 private:
  int64_t d_model_ = 0, nhead_ = 0, dim_feedforward_ = 2048;
  double dropout_ = 0.1;
  std::string activation_ = "relu";
  double layer_norm_eps_ = 1e-5;
  bool batch_first_ = false, norm_first_ = false, bias_ = true;
  DType dtype_ = f32;
};

struct EncoderCall {
  Tensor mask;                  // src attention mask [L, L] or [N·nhead, L, L]
  Tensor src_key_padding_mask;  // [N, L], bool true = padding
  bool is_causal = false;       // without mask: the causal mask; with mask: a hint (mask is used)
};

struct DecoderCall {
  Tensor tgt_mask;                 // [T, T] or [N·nhead, T, T]
  Tensor memory_mask;              // [T, S] or [N·nhead, T, S]
  Tensor tgt_key_padding_mask;     // [N, T]
  Tensor memory_key_padding_mask;  // [N, S]
  bool tgt_is_causal = false;
  bool memory_is_causal = false;
};

// Parameters (PyTorch's names): self_attn.{in_proj_weight, in_proj_bias, out_proj.weight,
// out_proj.bias}, linear1.{weight, bias}, linear2.*, norm1.{weight, bias}, norm2.*. linear1/2 are
// Dense (weights stored [in, out]; StateLayout::pytorch writes Linear's [out, in]) with Linear's
// init U(±1/√in) for weight and bias. Post-norm (default):
//   x = norm1(x + dropout1(self_attn(x))); x = norm2(x + dropout2(linear2(dropout(act(linear1(x))))))
// norm_first: x = x + dropout1(self_attn(norm1(x))); x = x + dropout2(ff(norm2(x))).
class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions opts = {});
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, Generator& gen, TransformerLayerOptions opts = {});
  Tensor operator()(const Tensor& src, const EncoderCall& call = {});  // call({src, mask, src_key_padding_mask})
  TensorList forward_list(const TensorList& inputs) override;
  std::size_t num_inputs() const override { return 0; }
  std::string type_name() const override { return "TransformerEncoderLayer"; }
  std::string describe() const override;
  const TransformerLayerOptions& options() const { return options_; }
  MultiheadAttention& self_attn() { return *self_attn_; }
  Dense& linear1() { return *linear1_; }
  Dense& linear2() { return *linear2_; }
  LayerNorm& norm1() { return *norm1_; }
  LayerNorm& norm2() { return *norm2_; }

 private:
  TransformerLayerOptions options_;
  std::shared_ptr<MultiheadAttention> self_attn_;
  std::shared_ptr<Dense> linear1_, linear2_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  bool is_causal_ = false;  // of the running call
};

// Parameters: self_attn.*, multihead_attn.* (cross-attention over memory), linear1, linear2,
// norm1, norm2, norm3. Post-norm: x = norm1(x + sa(x)); x = norm2(x + mha(x, memory));
// x = norm3(x + ff(x)); norm_first puts each norm inside its residual branch.
class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions opts = {});
  TransformerDecoderLayer(int64_t d_model, int64_t nhead, Generator& gen, TransformerLayerOptions opts = {});
  // call({tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask})
  Tensor operator()(const Tensor& tgt, const Tensor& memory, const DecoderCall& call = {});
  TensorList forward_list(const TensorList& inputs) override;
  std::size_t num_inputs() const override { return 0; }
  std::string type_name() const override { return "TransformerDecoderLayer"; }
  std::string describe() const override;
  const TransformerLayerOptions& options() const { return options_; }
  MultiheadAttention& self_attn() { return *self_attn_; }
  MultiheadAttention& multihead_attn() { return *multihead_attn_; }
  Dense& linear1() { return *linear1_; }
  Dense& linear2() { return *linear2_; }
  LayerNorm& norm1() { return *norm1_; }
  LayerNorm& norm2() { return *norm2_; }
  LayerNorm& norm3() { return *norm3_; }

 private:
  TransformerLayerOptions options_;
  std::shared_ptr<MultiheadAttention> self_attn_, multihead_attn_;
  std::shared_ptr<Dense> linear1_, linear2_;
  std::shared_ptr<Dropout> dropout_, dropout1_, dropout2_, dropout3_;
  std::shared_ptr<LayerNorm> norm1_, norm2_, norm3_;
  bool tgt_is_causal_ = false, memory_is_causal_ = false;
};

// num_layers encoder layers ("layers.0.", "layers.1.", ...) and, with final_norm, a LayerNorm
// "norm" after the last. Each layer is initialised on its own (PyTorch deep-copies one layer, so
// its layers start identical). layer needs d_model and nhead: TransformerLayerOptions(d_model, nhead).
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm = false);
  TransformerEncoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm, Generator& gen);
  TransformerEncoder(int64_t d_model, int64_t nhead, int64_t num_layers, TransformerLayerOptions opts = {},
                     bool final_norm = false);
  Tensor operator()(const Tensor& src, const EncoderCall& call = {});
  TensorList forward_list(const TensorList& inputs) override;  // {src, mask, src_key_padding_mask}
  std::size_t num_inputs() const override { return 0; }
  std::string type_name() const override { return "TransformerEncoder"; }
  std::string describe() const override;
  std::size_t num_layers() const { return layers_.size(); }
  TransformerEncoderLayer& layer(std::size_t i) { return *layers_.at(i); }
  LayerNorm* norm() { return norm_.get(); }  // nullptr without final_norm

 private:
  std::shared_ptr<ModuleList> list_;
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers_;
  std::shared_ptr<LayerNorm> norm_;
  bool is_causal_ = false;
};

class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm = false);
  TransformerDecoder(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm, Generator& gen);
  TransformerDecoder(int64_t d_model, int64_t nhead, int64_t num_layers, TransformerLayerOptions opts = {},
                     bool final_norm = false);
  Tensor operator()(const Tensor& tgt, const Tensor& memory, const DecoderCall& call = {});
  TensorList forward_list(const TensorList& inputs) override;  // as TransformerDecoderLayer's
  std::size_t num_inputs() const override { return 0; }
  std::string type_name() const override { return "TransformerDecoder"; }
  std::string describe() const override;
  std::size_t num_layers() const { return layers_.size(); }
  TransformerDecoderLayer& layer(std::size_t i) { return *layers_.at(i); }
  LayerNorm* norm() { return norm_.get(); }

 private:
  std::shared_ptr<ModuleList> list_;
  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers_;
  std::shared_ptr<LayerNorm> norm_;
  bool tgt_is_causal_ = false, memory_is_causal_ = false;
};

// [L, L] of dtype: 0 on and below the diagonal, -inf above (query l may look at keys s <= l), as
// torch.nn.Transformer.generate_square_subsequent_mask; an attn_mask for the layers above.
Tensor generate_square_subsequent_mask(int64_t L, DType dtype = f32);

// x + PE[:L] with the fixed table PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d))
// (Vaswani et al.), held as the non-persistent buffer "pe" [max_len, d_model] (not saved: it is a
// function of the shape). x [L, N, d] ([N, L, d] with batch_first) or [L, d]; L <= max_len.
class SinusoidalPositionalEncoding : public Module {
 public:
  SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000, bool batch_first = false, DType dtype = f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SinusoidalPositionalEncoding"; }
  std::string describe() const override;
  const Tensor& pe() const { return pe_; }

 private:
  int64_t d_model_, max_len_;
  bool batch_first_;
  Tensor pe_;
};

// x + embedding(0..L-1): a trained position table, the sub-module "embedding" (an Embedding
// [max_len, d_model], N(0, 1) init). Same shapes as SinusoidalPositionalEncoding.
class LearnedPositionalEncoding : public Module {
 public:
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model, bool batch_first = false, DType dtype = f32);
  LearnedPositionalEncoding(int64_t max_len, int64_t d_model, Generator& gen, bool batch_first = false,
                            DType dtype = f32);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LearnedPositionalEncoding"; }
  std::string describe() const override;
  Embedding& embedding() { return *embedding_; }

 private:
  int64_t max_len_, d_model_;
  bool batch_first_;
  std::shared_ptr<Embedding> embedding_;
};

}  // namespace ag::nn
