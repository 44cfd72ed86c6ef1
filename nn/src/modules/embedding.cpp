// Embedding: id checks (errors name the layer), the max_norm renormalisation, then index_select
// on the flattened ids and a reshape.
#include "ag/nn/modules/embedding.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ag/extend.hpp"

namespace ag::nn {

Embedding::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::optional<std::size_t> padding_idx,
                     std::optional<double> max_norm, DType dtype)
    : Embedding(num_embeddings, embedding_dim, default_generator(), padding_idx, max_norm, dtype) {}

Embedding::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen,
                     std::optional<std::size_t> padding_idx, std::optional<double> max_norm, DType dtype)
    : num_(num_embeddings), dim_(embedding_dim), padding_idx_(padding_idx), max_norm_(max_norm) {
  if (num_embeddings == 0 || embedding_dim == 0)
    throw ValueError(fmt::format("Embedding: num_embeddings ({}) and embedding_dim ({}) must be > 0",
                                 num_embeddings, embedding_dim));
  if (padding_idx && *padding_idx >= num_embeddings)
    throw ValueError(fmt::format("Embedding: padding_idx {} is out of range for num_embeddings = {}", *padding_idx,
                                 num_embeddings));
  if (max_norm && !(*max_norm > 0.0 && std::isfinite(*max_norm)))
    throw ValueError(fmt::format("Embedding: max_norm must be finite and > 0, got {}", *max_norm));
  if (!is_floating(dtype))
    throw DtypeError(fmt::format("Embedding: the weight must be float32 or float64, got {}", dtype_name(dtype)));
  Tensor w = randn({num_embeddings, embedding_dim}, gen, dtype);  // N(0, 1), as PyTorch
  if (padding_idx)
    ag::dispatch(dtype, [&](auto t) {
      using T = decltype(t);
      T* row = ag::data<T>(w) + *padding_idx * embedding_dim;
      std::fill(row, row + embedding_dim, T(0));
    });
  weight_ = register_parameter("weight", std::move(w));
}

std::string Embedding::describe() const {
  std::string s = fmt::format("Embedding({}, {}", num_, dim_);
  if (padding_idx_) s += fmt::format(", padding_idx={}", *padding_idx_);
  if (max_norm_) s += fmt::format(", max_norm={}", *max_norm_);
  return s + ")";
}

void Embedding::renorm(const std::vector<std::size_t>& rows) {
  // PyTorch's embedding_renorm_: each distinct looked-up row with ‖w‖ > max_norm is scaled by
  // max_norm/(‖w‖ + 1e-7). Not recorded: the lookup's gradient is that of the scaled rows.
  const double mx = *max_norm_;
  std::vector<char> seen(num_, 0);
  ag::dispatch(weight_.dtype(), [&](auto t) {
    using T = decltype(t);
    T* w = nullptr;  // writable only once a row changes: mutable access bumps the version
    for (std::size_t r : rows) {
      if (seen[r]) continue;
      seen[r] = 1;
      const T* row = weight_.data<T>() + r * dim_;
      double ss = 0.0;
      for (std::size_t j = 0; j < dim_; ++j) ss += static_cast<double>(row[j]) * static_cast<double>(row[j]);
      const double n = std::sqrt(ss);
      if (!(n > mx)) continue;
      if (w == nullptr) w = weight_.mutable_data<T>();
      const double scale = mx / (n + 1e-7);
      for (std::size_t j = 0; j < dim_; ++j) w[r * dim_ + j] = static_cast<T>(static_cast<double>(w[r * dim_ + j]) * scale);
    }
  });
}

Tensor Embedding::forward(const Tensor& ids) {
  ag::require_defined("Embedding", ids, "the ids");
  const DType d = ids.dtype();
  if (d == bool_)
    throw DtypeError(fmt::format("{}: the ids {} are bool (a mask, not ids); pass int64 ids", describe(),
                                 shape_str(ids.shape())));
  if (is_floating(d))
    throw DtypeError(fmt::format("{}: the ids {} are {}; pass integer ids (int64, int32 or uint8), e.g. "
                                 "ids.to(ag::i64)",
                                 describe(), shape_str(ids.shape()), dtype_name(d)));
  // the ids, checked here so that an error names this layer (not index_select)
  std::vector<std::size_t> idx(ids.numel());
  ag::dispatch_all(d, [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* p = ids.data<T>();
      for (std::size_t i = 0; i < idx.size(); ++i) {
        const auto v = static_cast<std::int64_t>(p[i]);
        if (v < 0 || static_cast<std::uint64_t>(v) >= num_)
          throw IndexError(fmt::format("{}: id {} (flat position {} of the {} ids {}) is out of range for "
                                       "num_embeddings = {} (valid ids: 0 to {})",
                                       describe(), v, i, dtype_name(d), shape_str(ids.shape()), num_, num_ - 1));
        idx[i] = static_cast<std::size_t>(v);
      }
    }
  });
  if (max_norm_) {
    NoGradGuard no_grad;
    renorm(idx);
  }
  Tensor rows = index_select(weight_, 0, idx);  // [n, dim]; repeated ids accumulate in the VJP
  if (padding_idx_ && is_grad_enabled() && weight_.requires_grad() &&
      std::find(idx.begin(), idx.end(), *padding_idx_) != idx.end()) {
    // The identity on the rows, whose VJP selects 0 at the padding positions: index_add then
    // gives the weight's padding row exactly 0, also for an inf or NaN upstream gradient (where a
    // 0/1 mask multiplication would give 0·inf = NaN). where() is an ag op: differentiable again.
    Tensor keep = ag::empty_tensor<bool>(Shape{idx.size(), 1});
    bool* k = ag::data<bool>(keep);
    for (std::size_t i = 0; i < idx.size(); ++i) k[i] = idx[i] != *padding_idx_;
    rows = ag::record("embedding_padding", {rows}, rows.detach(),
                      [keep](const VjpContext&, const Tensor& g) -> Grads {
                        return {where(keep, g, scalar(0.0, g.dtype()))};
                      });
  }
  Shape ids_shape = ids.shape();
  std::vector<std::ptrdiff_t> out(ids_shape.begin(), ids_shape.end());
  out.push_back(static_cast<std::ptrdiff_t>(dim_));
  return reshape(rows, out);  // ids.shape + [dim]
}

}  // namespace ag::nn
