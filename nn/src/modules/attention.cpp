// MultiheadAttention: the input projections as one linear op per distinct input (one for q, k and
// v together in self-attention), the heads as [N, H, L, E/H] by one reshape + permute, one
// scaled_dot_product_attention over every head at once, and out_proj on [rows, E].
#include "ag/nn/modules/attention.hpp"

#include <cmath>
#include <limits>

#include "ag/extend.hpp"
#include "ag/nn/init.hpp"

namespace ag::nn {

namespace {

constexpr const char* kName = "MultiheadAttention";

std::ptrdiff_t sp(std::size_t v) { return static_cast<std::ptrdiff_t>(v); }

// A bool mask (true = takes part) as 0 / -inf of dtype dt, to add to a floating one.
Tensor to_additive(const Tensor& allowed, DType dt) {
  return where(allowed, zeros({}, dt), full({}, -std::numeric_limits<double>::infinity(), dt));
}

// The two masks for scaled_dot_product_attention as one (both bool: their conjunction).
Tensor combine(const Tensor& a, const Tensor& b, DType dt) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  if (a.dtype() == bool_ && b.dtype() == bool_) return logical_and(a, b);
  return add(a.dtype() == bool_ ? to_additive(a, dt) : a, b.dtype() == bool_ ? to_additive(b, dt) : b);
}

}  // namespace

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, MultiheadAttentionOptions opts)
    : MultiheadAttention(embed_dim, num_heads, default_generator(), opts) {}

MultiheadAttention::MultiheadAttention(int64_t embed_dim, int64_t num_heads, Generator& gen,
                                       MultiheadAttentionOptions opts)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      kdim_(opts.kdim() != 0 ? opts.kdim() : embed_dim),
      vdim_(opts.vdim() != 0 ? opts.vdim() : embed_dim),
      options_(opts) {
  if (embed_dim <= 0 || num_heads <= 0)
    throw ValueError(fmt::format("{}: embed_dim ({}) and num_heads ({}) must be > 0", kName, embed_dim, num_heads));
  if (embed_dim % num_heads != 0)
    throw ValueError(fmt::format("{}: embed_dim ({}) must be divisible by num_heads ({})", kName, embed_dim,
                                 num_heads));
  if (kdim_ < 0 || vdim_ < 0)
    throw ValueError(fmt::format("{}: kdim ({}) and vdim ({}) must be > 0", kName, kdim_, vdim_));
  if (!(opts.dropout() >= 0.0 && opts.dropout() < 1.0))
    throw ValueError(fmt::format("{}: dropout must be in [0, 1), got {}", kName, opts.dropout()));
  const std::size_t E = static_cast<std::size_t>(embed_dim);
  const DType dt = opts.dtype();
  // PyTorch's order: in_proj_weight (or q/k/v_proj_weight), in_proj_bias, out_proj
  if (kdim_ == embed_dim && vdim_ == embed_dim) {
    in_proj_weight_ = register_parameter("in_proj_weight", init::xavier_uniform_(zeros({3 * E, E}, dt), gen));
  } else {
    q_proj_weight_ = register_parameter("q_proj_weight", init::xavier_uniform_(zeros({E, E}, dt), gen));
    k_proj_weight_ = register_parameter("k_proj_weight",
                                        init::xavier_uniform_(zeros({E, static_cast<std::size_t>(kdim_)}, dt), gen));
    v_proj_weight_ = register_parameter("v_proj_weight",
                                        init::xavier_uniform_(zeros({E, static_cast<std::size_t>(vdim_)}, dt), gen));
  }
  if (opts.bias()) in_proj_bias_ = register_parameter("in_proj_bias", zeros({3 * E}, dt));
  out_proj_ = register_module("out_proj", std::make_shared<Dense>(E, E, gen, opts.bias(), Init::zeros, dt));
  const double bound = 1.0 / std::sqrt(static_cast<double>(E));  // Linear's kaiming_uniform(a = √5)
  init::uniform_(out_proj_->weight(), gen, -bound, bound);
}

std::string MultiheadAttention::describe() const {
  std::string s = fmt::format("{}({}, num_heads={}", kName, embed_dim_, num_heads_);
  if (options_.dropout() != 0.0) s += fmt::format(", dropout={}", options_.dropout());
  if (kdim_ != embed_dim_) s += fmt::format(", kdim={}", kdim_);
  if (vdim_ != embed_dim_) s += fmt::format(", vdim={}", vdim_);
  if (!options_.bias()) s += ", bias=false";
  if (options_.batch_first()) s += ", batch_first";
  return s + ")";
}

MultiheadAttentionResult MultiheadAttention::operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                                        const MhaCall& call_args) {
  struct Restore {  // the flags hold for this call only
    MhaCall& f;
    ~Restore() { f = MhaCall{}; }
  } restore{flags_};
  flags_.need_weights = call_args.need_weights;
  flags_.average_attn_weights = call_args.average_attn_weights;
  flags_.is_causal = call_args.is_causal;
  TensorList out = call({query, key, value, call_args.key_padding_mask, call_args.attn_mask});
  return {out[0], out.size() > 1 ? out[1] : Tensor()};
}

TensorList MultiheadAttention::forward_list(const TensorList& in) {
  if (in.size() < 3 || in.size() > 5)
    throw ValueError(fmt::format("{}: takes query, key, value[, key_padding_mask[, attn_mask]], got {} tensors",
                                 describe(), in.size()));
  const Tensor& query = in[0];
  const Tensor& key = in[1];
  const Tensor& value = in[2];
  const Tensor kpm = in.size() > 3 ? in[3] : Tensor();
  const Tensor am = in.size() > 4 ? in[4] : Tensor();
  require_defined(kName, query, "query");
  require_defined(kName, key, "key");
  require_defined(kName, value, "value");
  const auto shapes = [&] {
    std::string s = fmt::format("query {}, key {}, value {}", shape_str(query.shape()), shape_str(key.shape()),
                                shape_str(value.shape()));
    if (kpm.defined()) s += fmt::format(", key_padding_mask {}", shape_str(kpm.shape()));
    if (am.defined()) s += fmt::format(", attn_mask {}", shape_str(am.shape()));
    return s;
  };
  const DType dt = out_proj_->weight().dtype();
  for (const Tensor* t : {&query, &key, &value})
    if (t->dtype() != dt)
      throw DtypeError(fmt::format("{}: query, key and value must have the parameters' dtype {}, got {}, {} and {} "
                                   "({})", describe(), dtype_name(dt), dtype_name(query.dtype()),
                                   dtype_name(key.dtype()), dtype_name(value.dtype()), shapes()));
  const std::size_t rank = query.dim();
  if ((rank != 2 && rank != 3) || key.dim() != rank || value.dim() != rank)
    throw ShapeError(fmt::format("{}: query, key and value must all be 3-D ({}) or all 2-D (unbatched [L, E]), got {}",
                                 describe(), batch_first() ? "[N, L, E]" : "[L, N, E]", shapes()));
  const bool batched = rank == 3;
  const bool bf = batch_first() || !batched;  // unbatched: [L, E] is [1, L, E] batch-first
  const auto dims = [&](const Tensor& t) -> std::pair<std::size_t, std::size_t> {  // (N, length)
    if (!batched) return {1, t.size(0)};
    return bf ? std::pair{t.size(0), t.size(1)} : std::pair{t.size(1), t.size(0)};
  };
  const std::size_t N = dims(query).first, L = dims(query).second;  // no structured bindings: lambdas capture these
  const std::size_t Nk = dims(key).first, S = dims(key).second;
  const std::size_t Nv = dims(value).first, Sv = dims(value).second;
  const std::size_t E = static_cast<std::size_t>(embed_dim_), H = static_cast<std::size_t>(num_heads_), hd = E / H;
  if (query.size(-1) != E)
    throw ShapeError(fmt::format("{}: query must have embed_dim = {} features, got {}", describe(), E, shapes()));
  if (key.size(-1) != static_cast<std::size_t>(kdim_) || value.size(-1) != static_cast<std::size_t>(vdim_))
    throw ShapeError(fmt::format("{}: key and value must have kdim = {} and vdim = {} features, got {}", describe(),
                                 kdim_, vdim_, shapes()));
  if (Nk != N || Nv != N)
    throw ShapeError(fmt::format("{}: query, key and value must have the same batch size, got {}", describe(),
                                 shapes()));
  if (Sv != S)
    throw ShapeError(fmt::format("{}: key and value must have the same sequence length, got {}", describe(), shapes()));

  // ---- masks as one mask for scaled_dot_product_attention (bool true = takes part, or additive)
  const auto check_mask_dtype = [&](const Tensor& m, const char* what) {
    if (m.dtype() != bool_ && m.dtype() != dt)
      throw DtypeError(fmt::format("{}: {} must be bool or {}, got {} ({})", describe(), what, dtype_name(dt),
                                   dtype_name(m.dtype()), shapes()));
  };
  Tensor mask;
  if (am.defined()) {
    check_mask_dtype(am, "attn_mask");
    const Shape ms = am.shape();
    const bool two_d = ms == Shape{L, S};
    const bool three_d = ms == Shape{N * H, L, S};
    if (!two_d && !three_d)
      throw ShapeError(fmt::format("{}: attn_mask must be [L, S] = [{}, {}] or [N·num_heads, L, S] = [{}, {}, {}], got {}",
                                   describe(), L, S, N * H, L, S, shapes()));
    Tensor m = three_d ? reshape(am, {sp(N), sp(H), sp(L), sp(S)}) : am;
    mask = m.dtype() == bool_ ? logical_not(m) : m;  // MultiheadAttention's bool: true = not allowed
  }
  if (kpm.defined()) {
    check_mask_dtype(kpm, "key_padding_mask");
    const Shape want = batched ? Shape{N, S} : Shape{S};
    if (kpm.shape() != want)
      throw ShapeError(fmt::format("{}: key_padding_mask must be {} (batch, keys), got {}", describe(),
                                   shape_str(want), shapes()));
    Tensor m = reshape(kpm, {sp(N), 1, 1, sp(S)});
    mask = combine(mask, m.dtype() == bool_ ? logical_not(m) : m, dt);  // true = padding, ignored
  }
  bool causal = false;
  if (flags_.is_causal && !am.defined()) {
    if (mask.defined()) mask = combine(mask, ne(tril(ones({L, S}, dt)), 0.0), dt);
    else causal = true;
  }

  // ---- projections, heads [N, H, len, hd]
  // rows of a 2-D view in the input's order: [len·N] (seq-first) or [N·len] (batch-first)
  const auto rows = [&](const Tensor& x) { return reshape(x, {-1, sp(x.size(-1))}); };
  const auto heads = [&](const Tensor& p, std::size_t len) {  // p [rows, E] -> [N, H, len, hd]
    return bf ? permute(reshape(p, {sp(N), sp(len), sp(H), sp(hd)}), {0, 2, 1, 3})
              : permute(reshape(p, {sp(len), sp(N), sp(H), sp(hd)}), {1, 2, 0, 3});
  };
  const bool packed = in_proj_weight_.defined();
  const auto weight = [&](int i) -> Tensor {
    if (!packed) return i == 0 ? q_proj_weight_ : i == 1 ? k_proj_weight_ : v_proj_weight_;
    return slice(in_proj_weight_, 0, sp(i * E), sp((i + 1) * E));
  };
  const auto bias = [&](int i) -> Tensor {
    return in_proj_bias_.defined() ? slice(in_proj_bias_, 0, sp(i * E), sp((i + 1) * E)) : Tensor();
  };
  // x [rows, in]·Wᵀ + b with W [out, in] (PyTorch's layout). Many rows: one fused linear on a
  // transposed copy of W; few rows (the copy of W would cost more than the rows): the product
  // with W read transposed in place, then the bias added.
  const auto project = [](const Tensor& x, const Tensor& w, const Tensor& b) {
    if (!b.defined()) return matmul_t(x, w, false, true);
    if (x.size(0) > 2 * x.size(1)) return linear(x, transpose(w), b);
    return add(matmul_t(x, w, false, true), b);
  };
  Tensor qh, kh, vh;
  const bool self = query.impl() == key.impl() && key.impl() == value.impl();
  if (packed && self) {  // one product for q, k and v: [rows, 3E] -> [3, N, H, L, hd]
    const Tensor qkv = project(rows(query), in_proj_weight_, in_proj_bias_);
    const Tensor t = bf ? permute(reshape(qkv, {sp(N), sp(L), 3, sp(H), sp(hd)}), {2, 0, 3, 1, 4})
                        : permute(reshape(qkv, {sp(L), sp(N), 3, sp(H), sp(hd)}), {2, 1, 3, 0, 4});
    qh = select(t, 0, 0);
    kh = select(t, 0, 1);
    vh = select(t, 0, 2);
  } else {
    qh = heads(project(rows(query), weight(0), bias(0)), L);
    kh = heads(project(rows(key), weight(1), bias(1)), S);
    vh = heads(project(rows(value), weight(2), bias(2)), S);
  }

  const double p = is_training() ? options_.dropout() : 0.0;
  const Tensor o = scaled_dot_product_attention(qh, kh, vh, mask, p, causal);  // [N, H, L, hd]
  const Tensor merged = bf ? reshape(permute(o, {0, 2, 1, 3}), {sp(N * L), sp(E)})
                           : reshape(permute(o, {2, 0, 1, 3}), {sp(L * N), sp(E)});
  Tensor out = (*out_proj_)(merged);
  out = batched ? (bf ? reshape(out, {sp(N), sp(L), sp(E)}) : reshape(out, {sp(L), sp(N), sp(E)}))
                : reshape(out, {sp(L), sp(E)});
  if (!flags_.need_weights) return {out, Tensor()};

  // weights: softmax(q·kᵀ/√hd + mask) again in ag ops (before dropout); rows with every key
  // masked out are zeros, as in the output
  Tensor z = mul(matmul_t(qh, kh, false, true), 1.0 / std::sqrt(static_cast<double>(hd)));
  Tensor add_mask = causal ? to_additive(ne(tril(ones({L, S}, dt)), 0.0), dt)
                           : mask.defined() && mask.dtype() == bool_ ? to_additive(mask, dt) : mask;
  if (add_mask.defined()) z = add(z, add_mask);
  const Tensor dead = eq(max(z.detach(), {-1}, true), -std::numeric_limits<double>::infinity());
  const Tensor zero = zeros({}, dt);
  Tensor w = where(dead, zero, softmax(where(dead, zero, z), -1));  // [N, H, L, S]
  if (flags_.average_attn_weights) w = mean(w, {1});                // [N, L, S]
  if (!batched) w = select(w, 0, 0);
  return {out, w};
}

}  // namespace ag::nn
