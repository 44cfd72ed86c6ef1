// Transformer layers against a composition written here from their parameters (attention per
// head, ag::layer_norm, the feed-forward block), post- and pre-norm, relu and gelu; decoder with
// causal and padding masks; the stacks; state-dict names against PyTorch's lists; second
// derivatives; positional encodings and the causal mask helper.
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/io.hpp"
#include "ag/nn.hpp"
#include "ag/testing/op_table.hpp"
#include "support/module_util.hpp"

namespace nn = ag::nn;
using ag::Tensor;
using nn_test::contains;
using nn_test::error_of;

namespace {

void check_close(const Tensor& a, const Tensor& b, double eps) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i] == doctest::Approx(y[i]).epsilon(eps).scale(1.0));
}

std::ptrdiff_t sp(std::size_t v) { return static_cast<std::ptrdiff_t>(v); }

// Batch-first q [N, L, E], kv [N, S, E]; add: additive mask broadcastable to [N, H, L, S] or undefined.
Tensor attention(nn::MultiheadAttention& m, const Tensor& q, const Tensor& kv, const Tensor& add) {
  const std::size_t E = m.embed_dim(), H = m.num_heads(), hd = E / H;
  const Tensor W = m.in_proj_weight(), b = m.in_proj_bias();
  const auto proj = [&](const Tensor& x, std::size_t part) {  // [N, len, E] -> [N, H, len, hd]
    const Tensor w = ag::slice(W, 0, sp(part * E), sp((part + 1) * E));
    const Tensor y = ag::matmul(x, ag::transpose(w)) + ag::slice(b, 0, sp(part * E), sp((part + 1) * E));
    return ag::permute(ag::reshape(y, {sp(x.size(0)), sp(x.size(1)), sp(H), sp(hd)}), {0, 2, 1, 3});
  };
  Tensor z = ag::matmul(proj(q, 0), ag::transpose(proj(kv, 1), 2, 3)) * (1.0 / std::sqrt(double(hd)));
  if (add.defined()) z = z + add;
  const Tensor o = ag::matmul(ag::softmax(z, -1), proj(kv, 2));  // [N, H, L, hd]
  const Tensor cat = ag::reshape(ag::permute(o, {0, 2, 1, 3}), {sp(q.size(0)), sp(q.size(1)), sp(E)});
  return ag::matmul(cat, m.out_proj().weight()) + m.out_proj().bias();
}

Tensor norm(nn::LayerNorm& n, const Tensor& x) { return ag::layer_norm(x, n.normalized_shape(), n.weight(), n.bias(), n.eps()); }

Tensor ff(nn::Dense& l1, nn::Dense& l2, const Tensor& x, bool gelu) {
  const Tensor h = ag::matmul(x, l1.weight()) + l1.bias();
  return ag::matmul(gelu ? ag::gelu(h) : ag::relu(h), l2.weight()) + l2.bias();
}

Tensor encoder_reference(nn::TransformerEncoderLayer& l, const Tensor& x, const Tensor& add) {
  const bool gelu = l.options().activation() == "gelu";
  if (l.options().norm_first()) {
    Tensor h = norm(l.norm1(), x);
    Tensor y = x + attention(l.self_attn(), h, h, add);
    return y + ff(l.linear1(), l.linear2(), norm(l.norm2(), y), gelu);
  }
  Tensor y = norm(l.norm1(), x + attention(l.self_attn(), x, x, add));
  return norm(l.norm2(), y + ff(l.linear1(), l.linear2(), y, gelu));
}

// Nonzero norm parameters, so that they are tested too.
void perturb_norms(nn::Module& m, ag::Generator& gen) {
  for (auto& [name, t] : m.named_parameters())
    if (contains(name, "norm")) nn::init::uniform_(t, gen, 0.5, 1.5);
}

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [n, t] : m.state_dict()) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("TransformerEncoderLayer equals its composition: post-norm relu, pre-norm gelu, masks, every layout") {
  ag::Generator gen(1);
  for (bool norm_first : {false, true}) {
    INFO("norm_first " << norm_first);
    nn::TransformerEncoderLayer layer(8, 2, gen, nn::TransformerLayerOptions().dim_feedforward(12).dropout(0.0)
                                                      .norm_first(norm_first).activation(norm_first ? "gelu" : "relu")
                                                      .batch_first(true).dtype(ag::f64));
    perturb_norms(layer, gen);
    const Tensor x = ag::randn({2, 5, 8}, gen, ag::f64);
    check_close(layer(x), encoder_reference(layer, x, Tensor()), 1e-12);
    // padding: true = ignored; causal
    const Tensor pad = ag::testing::values({0, 0, 0, 1, 1, 0, 0, 0, 0, 1}, {2, 5}).to(ag::bool_);
    const Tensor pad_add = ag::reshape(pad.to(ag::f64) * -1e9, {2, 1, 1, 5});
    check_close(layer(x, {Tensor(), pad}), encoder_reference(layer, x, pad_add), 1e-12);
    const Tensor causal = nn::generate_square_subsequent_mask(5, ag::f64);
    check_close(layer(x, {Tensor(), Tensor(), true}), encoder_reference(layer, x, causal), 1e-12);
    check_close(layer(x, {causal, Tensor()}), encoder_reference(layer, x, causal), 1e-12);
  }
  // seq-first and unbatched agree with batch_first
  ag::Generator g1(2), g2(2);
  nn::TransformerEncoderLayer bf(8, 2, g1, nn::TransformerLayerOptions().dim_feedforward(12).batch_first(true));
  nn::TransformerEncoderLayer sf(8, 2, g2, nn::TransformerLayerOptions().dim_feedforward(12));
  bf.eval();
  sf.eval();
  const Tensor x = ag::randn({3, 4, 8}, gen);
  const Tensor ybf = bf(x);
  CHECK(ybf.shape() == ag::Shape{3, 4, 8});
  check_close(ag::transpose(sf(ag::transpose(x, 0, 1)), 0, 1), ybf, 1e-5);
  check_close(bf(ag::select(x, 0, 1)), ag::select(ybf, 0, 1), 1e-5);
}

TEST_CASE("Transformer layers: dropout in training only, eval is deterministic, summary sees the sub-modules") {
  ag::Generator gen(3);
  nn::TransformerEncoderLayer layer(8, 2, gen, nn::TransformerLayerOptions().dim_feedforward(16).dropout(0.3));
  const Tensor x = ag::randn({4, 2, 8}, gen);
  CHECK(layer(x).to_vector<double>() != layer(x).to_vector<double>());
  layer.eval();
  CHECK(layer(x).to_vector<double>() == layer(x).to_vector<double>());
  std::vector<std::string> called;
  for (const auto& [name, m] : layer.named_modules())
    m->register_forward_hook([&called, n = name](nn::Module&, const ag::TensorList&, const ag::TensorList&) { called.push_back(n); });
  (void)layer(x);
  CHECK(called == std::vector<std::string>{"self_attn.out_proj", "self_attn", "dropout1", "norm1", "linear1", "dropout",
                                           "linear2", "dropout2", "norm2"});
}

TEST_CASE("TransformerDecoderLayer equals its composition, tgt_is_causal equals the subsequent mask") {
  ag::Generator gen(4);
  for (bool norm_first : {false, true}) {
    INFO("norm_first " << norm_first);
    nn::TransformerDecoderLayer layer(4, 2, gen, nn::TransformerLayerOptions().dim_feedforward(6).dropout(0.0)
                                                      .norm_first(norm_first).batch_first(true).dtype(ag::f64));
    perturb_norms(layer, gen);
    const Tensor tgt = ag::randn({2, 3, 4}, gen, ag::f64), mem = ag::randn({2, 5, 4}, gen, ag::f64);
    const Tensor causal = nn::generate_square_subsequent_mask(3, ag::f64);
    const Tensor mpad = ag::testing::values({0, 0, 1, 1, 0, 0, 0, 0, 0, 1}, {2, 5}).to(ag::bool_);
    const Tensor mpad_add = ag::reshape(mpad.to(ag::f64) * -1e9, {2, 1, 1, 5});
    const auto reference = [&](const Tensor& memory_add) {
      Tensor x = tgt;
      if (norm_first) {
        Tensor h = norm(layer.norm1(), x);
        x = x + attention(layer.self_attn(), h, h, causal);
        x = x + attention(layer.multihead_attn(), norm(layer.norm2(), x), mem, memory_add);
        return x + ff(layer.linear1(), layer.linear2(), norm(layer.norm3(), x), false);
      }
      x = norm(layer.norm1(), x + attention(layer.self_attn(), x, x, causal));
      x = norm(layer.norm2(), x + attention(layer.multihead_attn(), x, mem, memory_add));
      return norm(layer.norm3(), x + ff(layer.linear1(), layer.linear2(), x, false));
    };
    const Tensor want = reference(mpad_add);
    check_close(layer(tgt, mem, {causal, Tensor(), Tensor(), mpad}), want, 1e-12);
    nn::DecoderCall c;
    c.tgt_is_causal = true;
    c.memory_key_padding_mask = mpad;
    check_close(layer(tgt, mem, c), want, 1e-12);
    // memory_mask [T, S], bool true = not allowed, together with the padding
    const Tensor mm = ag::testing::values({0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1}, {3, 5}).to(ag::bool_);
    const Tensor mm_add = ag::reshape(mm.to(ag::f64) * -1e9, {1, 1, 3, 5}) + mpad_add;
    c.memory_mask = mm;
    check_close(layer(tgt, mem, c), reference(mm_add), 1e-12);
    check_close(layer(tgt, mem, c), layer(tgt, mem, {causal, mm, Tensor(), mpad}), 1e-15);
  }
}

TEST_CASE("TransformerEncoder and TransformerDecoder apply their layers in order, then the final norm") {
  ag::Generator gen(5);
  const auto opts = nn::TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0.0).dtype(ag::f64);
  nn::TransformerEncoder enc(opts, 3, true, gen);
  CHECK(enc.num_layers() == 3);
  const Tensor x = ag::randn({5, 2, 8}, gen, ag::f64);
  const Tensor pad = ag::testing::values({0, 0, 0, 0, 1, 0, 0, 0, 1, 1}, {2, 5}).to(ag::bool_);
  Tensor want = x;
  for (std::size_t i = 0; i < 3; ++i) want = enc.layer(i)(want, {Tensor(), pad, false});
  want = (*enc.norm())(want);
  check_close(enc(x, {Tensor(), pad}), want, 1e-13);
  // layers start independently initialised
  CHECK(enc.layer(0).linear1().weight().to_vector<double>() != enc.layer(1).linear1().weight().to_vector<double>());

  nn::TransformerDecoder dec(opts, 2, false, gen);
  CHECK(dec.norm() == nullptr);
  const Tensor tgt = ag::randn({3, 2, 8}, gen, ag::f64);
  nn::DecoderCall c;
  c.tgt_is_causal = true;
  c.memory_key_padding_mask = pad;
  Tensor w = tgt;
  for (std::size_t i = 0; i < 2; ++i) w = dec.layer(i)(w, x, c);
  check_close(dec(tgt, x, c), w, 1e-13);
  CHECK(dec(tgt, x, c).shape() == ag::Shape{3, 2, 8});
  nn::TransformerEncoder enc2(16, 4, 2, nn::TransformerLayerOptions().dim_feedforward(32));
  CHECK(enc2(ag::randn({7, 3, 16}, gen)).shape() == ag::Shape{7, 3, 16});
}

TEST_CASE("Transformer state dicts have PyTorch's names, order and (in the PyTorch layout) shapes") {
  ag::Generator gen(6);
  nn::TransformerEncoder enc(nn::TransformerLayerOptions(8, 2).dim_feedforward(16), 2, true, gen);
  std::vector<std::string> want;
  for (int i = 0; i < 2; ++i)
    for (const char* n : {"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                          "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                          "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"})
      want.push_back("layers." + std::to_string(i) + "." + n);
  want.push_back("norm.weight");
  want.push_back("norm.bias");
  CHECK(names_of(enc) == want);
  const std::string path = "test_transformer_state.safetensors";
  nn::save_state(enc, path);
  for (const auto& entry : ag::io::load_safetensors(path).tensors) {  // no structured binding: INFO captures
    const std::string& name = entry.first;
    const Tensor& t = entry.second;
    INFO(name);
    if (contains(name, "linear1.weight")) CHECK(t.shape() == ag::Shape{16, 8});  // Linear's [out, in]
    if (contains(name, "linear2.weight")) CHECK(t.shape() == ag::Shape{8, 16});
    if (contains(name, "in_proj_weight")) CHECK(t.shape() == ag::Shape{24, 8});
  }
  nn::TransformerEncoder other(nn::TransformerLayerOptions(8, 2).dim_feedforward(16), 2, true);
  nn::load_state(other, path);
  std::remove(path.c_str());
  enc.eval();
  other.eval();
  const Tensor x = ag::randn({3, 2, 8}, gen);
  CHECK(enc(x).to_vector<double>() == other(x).to_vector<double>());

  nn::TransformerDecoderLayer dl(8, 2, gen, nn::TransformerLayerOptions().dim_feedforward(16));
  CHECK(names_of(dl) == std::vector<std::string>{
      "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
      "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
      "multihead_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
      "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"});
}

TEST_CASE("TransformerEncoderLayer second derivatives (gradgradcheck_module, float64, dropout 0)") {
  ag::Generator gen(7);
  nn::TransformerEncoderLayer layer(4, 2, gen, nn::TransformerLayerOptions().dim_feedforward(3).dropout(0.0)
                                                    .activation("gelu"));
  const Tensor x = ag::randn({3, 1, 4}, gen, ag::f64);
  const Tensor pad = ag::testing::values({0, 0, 1}, {1, 3}).to(ag::bool_);
  const auto loss = [&](nn::Module& m) {
    return ag::sum(ag::tanh(static_cast<nn::TransformerEncoderLayer&>(m)(x, {Tensor(), pad})));
  };
  CHECK(nn::gradcheck_module(layer, loss).ok);
  CHECK(nn::gradgradcheck_module(layer, loss).ok);
}

TEST_CASE("generate_square_subsequent_mask and the positional encodings") {
  const Tensor m = nn::generate_square_subsequent_mask(3);
  CHECK(m.dtype() == ag::f32);
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(m.to_vector<double>() == std::vector<double>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0});

  nn::SinusoidalPositionalEncoding pe(6, 10, false, ag::f64);
  CHECK(pe.named_buffers().size() == 1);
  CHECK(pe.state_dict().empty());  // a function of the shape: not saved
  const Tensor x = ag::zeros({4, 2, 6}, ag::f64);
  const Tensor y = pe(x);
  CHECK(y.shape() == ag::Shape{4, 2, 6});
  const auto v = y.to_vector<double>();
  for (std::size_t p = 0; p < 4; ++p)
    for (std::size_t n = 0; n < 2; ++n)
      for (std::size_t i = 0; i < 6; ++i) {
        const double a = p / std::pow(10000.0, double(i - i % 2) / 6);
        CHECK(v[(p * 2 + n) * 6 + i] == doctest::Approx(i % 2 ? std::cos(a) : std::sin(a)).epsilon(1e-14));
      }
  nn::SinusoidalPositionalEncoding pe_bf(6, 10, true, ag::f64);
  check_close(pe_bf(ag::transpose(x, 0, 1)), ag::transpose(y, 0, 1), 1e-15);
  CHECK(contains(error_of<ag::ShapeError>([&] { pe(ag::zeros({11, 1, 6}, ag::f64)); }), "exceeds max_len 10"));
  CHECK(contains(error_of<ag::ShapeError>([&] { pe(ag::zeros({3, 1, 5}, ag::f64)); }), "[3, 1, 5]"));

  ag::Generator gen(8);
  nn::LearnedPositionalEncoding lpe(10, 4, gen, true, ag::f64);
  CHECK(names_of(lpe) == std::vector<std::string>{"embedding.weight"});
  Tensor xb = ag::randn({2, 3, 4}, gen, ag::f64);
  const Tensor yb = lpe(xb);
  const Tensor rows = ag::slice(lpe.embedding().weight(), 0, 0, 3);
  check_close(yb, xb + ag::unsqueeze(rows, 0), 1e-15);
  ag::sum(yb).backward();
  const auto g = lpe.embedding().weight().grad().to_vector<double>();
  for (std::size_t r = 0; r < 10; ++r)
    for (std::size_t c = 0; c < 4; ++c) CHECK(g[r * 4 + c] == (r < 3 ? 2.0 : 0.0));  // batch of 2
}

TEST_CASE("Transformer layers: bad options and inputs are typed errors naming the layer") {
  CHECK(contains(error_of<ag::ValueError>([] { nn::TransformerEncoderLayer(8, 3); }), "divisible by num_heads (3)"));
  CHECK(contains(error_of<ag::ValueError>([] { nn::TransformerEncoderLayer(8, 2, nn::TransformerLayerOptions().activation("tanh")); }),
                 "\"tanh\""));
  CHECK(contains(error_of<ag::ValueError>([] { nn::TransformerEncoder(nn::TransformerLayerOptions(), 2); }),
                 "TransformerLayerOptions(d_model, nhead)"));
  CHECK(contains(error_of<ag::ValueError>([] { nn::TransformerDecoder(8, 2, 0); }), "num_layers"));
  nn::TransformerEncoderLayer layer(8, 2, nn::TransformerLayerOptions().dim_feedforward(16));
  const std::string e = error_of<ag::ShapeError>([&] { layer(ag::zeros({3, 2, 8}), {Tensor(), ag::zeros({2, 4}, ag::bool_)}); });
  CHECK(contains(e, "MultiheadAttention"));
  CHECK(contains(e, "key_padding_mask [2, 4]"));
}

TEST_CASE("summary() of a transformer layer lists the attention and its sub-modules with their shapes") {
  ag::Generator gen(9);
  nn::TransformerEncoderLayer layer(8, 2, gen, nn::TransformerLayerOptions().dim_feedforward(16).batch_first(true));
  const std::string s = nn::summary(layer, ag::zeros({2, 5, 8}));
  INFO(s);
  CHECK(contains(s, "self_attn"));
  CHECK(contains(s, "MultiheadAttention(8, num_heads=2, dropout=0.1, batch_first)"));
  CHECK(contains(s, "self_attn.out_proj"));
  CHECK(contains(s, "[10, 8]"));    // out_proj and the feed-forward run on [rows, d_model]
  CHECK(contains(s, "[2, 5, 8]"));  // the layer's output
  nn::MultiheadAttention m(8, 2, gen);
  const std::string t = nn::summary(m, ag::TensorList{ag::zeros({5, 2, 8}), ag::zeros({3, 2, 8}), ag::zeros({3, 2, 8})});
  INFO(t);
  CHECK(contains(t, "[5, 2, 8], [2, 5, 3]"));  // output and head-averaged weights
}

TEST_CASE("README: attention and transformers") {
  ag::Generator gen(0);
  // A 2-layer causal encoder over token embeddings, [batch, seq, features]
  nn::Embedding embed(100, 64, gen);
  nn::SinusoidalPositionalEncoding pos(64, /*max_len=*/512, /*batch_first=*/true);
  nn::TransformerEncoder encoder(
      nn::TransformerLayerOptions(64, 4).dim_feedforward(256).dropout(0.1).batch_first(true), 2,
      /*final_norm=*/true, gen);
  ag::Tensor ids = (ag::rand({8, 20}, gen) * 100.0).to(ag::i64);  // token ids, 0 = padding
  ag::Tensor pad = ag::eq(ids, 0.0);                                // [8, 20] bool, true = ignored
  ag::Tensor h = encoder(pos(embed(ids)), {nn::generate_square_subsequent_mask(20), pad});  // [8, 20, 64]

  // One attention layer; the weights are averaged over the heads
  nn::MultiheadAttention mha(64, 4, gen, nn::MultiheadAttentionOptions().batch_first(true));
  auto [y, w] = mha(h, h, h, {pad, ag::Tensor()});  // y [8, 20, 64], w [8, 20, 20]

  // The op itself: q, k, v [batch, heads, seq, head_dim]
  ag::Tensor q = ag::randn({8, 4, 20, 16}, gen);
  ag::Tensor o = ag::scaled_dot_product_attention(q, q, q, {}, 0.0, /*is_causal=*/true);  // [8, 4, 20, 16]

  CHECK(h.shape() == ag::Shape{8, 20, 64});
  CHECK(y.shape() == ag::Shape{8, 20, 64});
  CHECK(w.shape() == ag::Shape{8, 20, 20});
  CHECK(o.shape() == ag::Shape{8, 4, 20, 16});
  for (double v : ag::sum(w, {-1}).to_vector<double>()) CHECK(v == doctest::Approx(1.0).epsilon(1e-5));
  // causal: the first query sees only the first key
  const auto first = ag::select(ag::select(o, 2, 0), 1, 0).to_vector<double>();
  const auto v0 = ag::select(ag::select(q, 2, 0), 1, 0).to_vector<double>();
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(first[i] == doctest::Approx(v0[i]).epsilon(1e-6));
  ag::mean(h).backward();  // the whole stack trains
  CHECK(embed.weight().grad().defined());
  CHECK(encoder.layer(0).self_attn().in_proj_weight().grad().defined());
}
