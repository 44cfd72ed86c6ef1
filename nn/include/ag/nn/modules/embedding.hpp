#pragma once
// Embedding: a lookup table of learned vectors, one row per id.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ag/nn/module.hpp"

namespace ag::nn {

// y[..., :] = W[ids[...], :] with W of shape [num_embeddings, embedding_dim] drawn from N(0, 1)
// (PyTorch's init) from `gen` or the global generator. ids: an int64/int32/uint8 tensor of any
// shape; y has shape ids.shape + [embedding_dim]. The lookup is index_select on the flattened ids,
// so an id that occurs several times gets the sum of its rows' gradients.
//   padding_idx: that row starts at zero and never gets a gradient (its grad row is exactly 0);
//                its value is still what the lookup returns.
//   max_norm:    before each lookup, every looked-up row of W whose L2 norm exceeds max_norm is
//                scaled in place (not recorded) to norm max_norm, as PyTorch does: W changes.
// Bad ids: bool or floating ids are a DtypeError, an id outside [0, num_embeddings) an IndexError
// naming the layer, the id and num_embeddings.
class Embedding : public Module {
 public:
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim,
            std::optional<std::size_t> padding_idx = std::nullopt,
            std::optional<double> max_norm = std::nullopt, DType dtype = f32);
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen,
            std::optional<std::size_t> padding_idx = std::nullopt,
            std::optional<double> max_norm = std::nullopt, DType dtype = f32);
  Tensor forward(const Tensor& ids) override;
  std::string type_name() const override { return "Embedding"; }
  std::string describe() const override;  // "Embedding(10, 3, padding_idx=0, max_norm=1)"
  std::size_t num_embeddings() const { return num_; }
  std::size_t embedding_dim() const { return dim_; }
  std::optional<std::size_t> padding_idx() const { return padding_idx_; }
  std::optional<double> max_norm() const { return max_norm_; }
  const Tensor& weight() const { return weight_; }

 private:
  void renorm(const std::vector<std::size_t>& rows);  // the max_norm rescaling, in place
  std::size_t num_, dim_;
  std::optional<std::size_t> padding_idx_;
  std::optional<double> max_norm_;
  Tensor weight_;
};

}  // namespace ag::nn
