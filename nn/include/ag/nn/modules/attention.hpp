#pragma once
// Multi-head attention with PyTorch's semantics, parameter names and layouts (torch.nn.MultiheadAttention),
// so weights carry over by name (nn::save_state / load_state with StateLayout::pytorch).
//
//   nn::MultiheadAttention mha(64, 4, nn::MultiheadAttentionOptions().batch_first(true));
//   auto [y, w] = mha(x, x, x);   // x [N, L, 64] -> y [N, L, 64], w [N, L, L] (averaged over heads)
//
// Shapes (E = embed_dim, H = num_heads, N batch, L queries, S keys):
//   query [L, N, E], key [S, N, kdim], value [S, N, vdim] ([N, L, E]... with batch_first), or
//   unbatched [L, E], [S, kdim], [S, vdim]; output like query; weights [N, L, S] averaged over the
//   heads, or [N, H, L, S] with average_attn_weights = false ([L, S] / [H, L, S] unbatched).
// Masks follow PyTorch's MultiheadAttention conventions — OPPOSITE to ag::scaled_dot_product_attention's
// bool mask:
//   key_padding_mask [N, S] ([S] unbatched): bool, true = that key is padding and is IGNORED; or
//     floating, added to the scores.
//   attn_mask [L, S] or [N·H, L, S]: bool, true = the pair is NOT allowed; or floating, added.
//   is_causal without attn_mask applies the causal mask (query l sees keys s <= l; PyTorch raises
//     an error there); with attn_mask it is a hint, as in PyTorch, and attn_mask is used as given.
// A query whose every key is masked out gives zeros, in the output and the weights (PyTorch's
// MultiheadAttention gives NaN).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ag/nn/module.hpp"
#include "ag/nn/modules/linear.hpp"

namespace ag::nn {

// Options as libtorch spells them: nn::MultiheadAttentionOptions().dropout(0.1).batch_first(true).
struct MultiheadAttentionOptions {
#define AG_NN_OPTION(type, name)             \
  MultiheadAttentionOptions& name(type v) {  \
    name##_ = v;                             \
    return *this;                            \
  }                                          \
  type name() const { return name##_; }
  AG_NN_OPTION(double, dropout)       // on the attention probabilities, in training
  AG_NN_OPTION(bool, bias)            // in_proj_bias and out_proj.bias
  AG_NN_OPTION(int64_t, kdim)         // key features; 0 (default) = embed_dim
  AG_NN_OPTION(int64_t, vdim)         // value features; 0 (default) = embed_dim
  AG_NN_OPTION(bool, batch_first)     // [N, L, E] instead of [L, N, E]
  AG_NN_OPTION(DType, dtype)
#undef AG_NN_OPTION
 private:
  double dropout_ = 0.0;
  bool bias_ = true;
  int64_t kdim_ = 0, vdim_ = 0;
  bool batch_first_ = false;
  DType dtype_ = f32;
};

// The non-tensor arguments of one call (PyTorch's keyword arguments).
struct MhaCall {
  Tensor key_padding_mask;  // [N, S]: bool true = padding (ignored), or floating (added)
  Tensor attn_mask;         // [L, S] or [N·H, L, S]: bool true = not allowed, or floating (added)
  bool need_weights = true;
  bool average_attn_weights = true;
  bool is_causal = false;
};

struct MultiheadAttentionResult {
  Tensor output;
  Tensor weights;  // undefined when need_weights = false
};

// Parameters (PyTorch's names, shapes and order):
//   kdim = vdim = E:  in_proj_weight [3E, E] (rows: q, k, v), in_proj_bias [3E],
//   otherwise:        q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim], in_proj_bias [3E],
//   then the sub-module out_proj (a Dense(E, E): out_proj.weight is stored [in, out] like every Dense,
//   and nn::save_state's StateLayout::pytorch writes it as Linear's [out, in]), out_proj.bias [E].
// Init as PyTorch: Xavier-uniform projections, zero biases, out_proj.weight U(-1/√E, 1/√E).
// The attention itself is one ag::scaled_dot_product_attention call over [N, H, L, E/H].
// weights are the attention probabilities before dropout (PyTorch returns them after dropout);
// they cost one more score product and softmax, so pass need_weights = false when not needed
// (the transformer layers do).
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, MultiheadAttentionOptions opts = {});
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, Generator& gen, MultiheadAttentionOptions opts = {});
  // call({query, key, value, key_padding_mask, attn_mask}) with the flags of `call`.
  MultiheadAttentionResult operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                      const MhaCall& call = {});
  // {query, key, value[, key_padding_mask[, attn_mask]]} -> {output, weights}; the flags are those
  // of the running operator() (PyTorch's defaults when called directly).
  TensorList forward_list(const TensorList& inputs) override;
  std::size_t num_inputs() const override { return 0; }
  std::string type_name() const override { return "MultiheadAttention"; }
  std::string describe() const override;  // "MultiheadAttention(64, num_heads=4, dropout=0.1)"

  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  int64_t head_dim() const { return embed_dim_ / num_heads_; }
  int64_t kdim() const { return kdim_; }
  int64_t vdim() const { return vdim_; }
  bool batch_first() const { return options_.batch_first(); }
  double dropout() const { return options_.dropout(); }
  const MultiheadAttentionOptions& options() const { return options_; }
  const Tensor& in_proj_weight() const { return in_proj_weight_; }  // undefined unless kdim = vdim = E
  const Tensor& q_proj_weight() const { return q_proj_weight_; }    // defined when kdim or vdim != E
  const Tensor& k_proj_weight() const { return k_proj_weight_; }
  const Tensor& v_proj_weight() const { return v_proj_weight_; }
  const Tensor& in_proj_bias() const { return in_proj_bias_; }      // undefined without bias
  Dense& out_proj() { return *out_proj_; }

 private:
  int64_t embed_dim_, num_heads_, kdim_, vdim_;
  MultiheadAttentionOptions options_;
  Tensor in_proj_weight_, q_proj_weight_, k_proj_weight_, v_proj_weight_, in_proj_bias_;
  std::shared_ptr<Dense> out_proj_;
  MhaCall flags_;  // need_weights, average_attn_weights, is_causal of the running call
};

}  // namespace ag::nn
