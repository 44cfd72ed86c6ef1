// MultiheadAttention against an independent composition written here (one head at a time, the
// masks applied as PyTorch documents them), parameter names and shapes, layouts (seq-first,
// batch_first, unbatched), masks, weights, gradients, and typed errors.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

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

struct Reference {
  Tensor out, weights;  // weights [N, H, L, S]
};

// Batch-first q [N, L, E], k [N, S, kd], v [N, S, vd]; allowed[n][h][l][s] as a float 0/1 tensor
// broadcastable to [N, H, L, S] (undefined: all allowed). Per head h: Q = q·W_qhᵀ + b, softmax of
// Q·Kᵀ/√hd over the allowed keys, times V; heads concatenated, then out_proj (W stored [in, out]).
Reference reference(nn::MultiheadAttention& m, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& allowed) {
  const std::size_t E = m.embed_dim(), H = m.num_heads(), hd = E / H;
  const auto sp = [](std::size_t x) { return static_cast<std::ptrdiff_t>(x); };
  Tensor wq, wk, wv;
  if (m.in_proj_weight().defined()) {
    wq = ag::slice(m.in_proj_weight(), 0, 0, sp(E));
    wk = ag::slice(m.in_proj_weight(), 0, sp(E), sp(2 * E));
    wv = ag::slice(m.in_proj_weight(), 0, sp(2 * E), sp(3 * E));
  } else {
    wq = m.q_proj_weight();
    wk = m.k_proj_weight();
    wv = m.v_proj_weight();
  }
  std::vector<Tensor> outs, ws;
  for (std::size_t h = 0; h < H; ++h) {
    const auto rows = [&](const Tensor& w) { return ag::slice(w, 0, sp(h * hd), sp((h + 1) * hd)); };
    const auto brow = [&](std::size_t part) {
      return ag::slice(m.in_proj_bias(), 0, sp(part * E + h * hd), sp(part * E + (h + 1) * hd));
    };
    const Tensor Q = ag::matmul(q, ag::transpose(rows(wq))) + brow(0);  // [N, L, hd]
    const Tensor K = ag::matmul(k, ag::transpose(rows(wk))) + brow(1);
    const Tensor V = ag::matmul(v, ag::transpose(rows(wv))) + brow(2);
    Tensor z = ag::matmul(Q, ag::transpose(K, 1, 2)) * (1.0 / std::sqrt(double(hd)));  // [N, L, S]
    Tensor w;
    if (allowed.defined()) {
      const Tensor a = ag::select(allowed, 1, allowed.size(1) == 1 ? 0 : static_cast<std::ptrdiff_t>(h));
      z = z + (1.0 - a) * -1e9;
      w = ag::softmax(z, -1) * a;  // a large negative score is exp -> 0 for masked keys
    } else {
      w = ag::softmax(z, -1);
    }
    outs.push_back(ag::matmul(w, V));
    ws.push_back(w);
  }
  const Tensor cat = ag::concat(outs, -1);  // [N, L, E]
  const Tensor out = ag::matmul(cat, m.out_proj().weight()) + m.out_proj().bias();
  return {out, ag::stack(ws, 1)};
}

}  // namespace

TEST_CASE("MultiheadAttention has PyTorch's parameter names, shapes and init") {
  ag::Generator gen(1);
  nn::MultiheadAttention m(8, 2, gen);
  std::vector<std::string> names;
  for (const auto& [n, t] : m.named_parameters()) names.push_back(n + " " + ag::shape_str(t.shape()));
  CHECK(names == std::vector<std::string>{"in_proj_weight [24, 8]", "in_proj_bias [24]", "out_proj.weight [8, 8]",
                                          "out_proj.bias [8]"});
  for (double b : m.in_proj_bias().to_vector<double>()) CHECK(b == 0.0);
  for (double b : m.out_proj().bias().to_vector<double>()) CHECK(b == 0.0);
  const double xavier = std::sqrt(6.0 / (8 + 24)), lin = 1.0 / std::sqrt(8.0);
  double mx = 0.0;
  for (double w : m.in_proj_weight().to_vector<double>()) mx = std::max(mx, std::abs(w));
  CHECK(mx <= xavier);
  CHECK(mx > 0.8 * xavier);
  mx = 0.0;
  for (double w : m.out_proj().weight().to_vector<double>()) mx = std::max(mx, std::abs(w));
  CHECK(mx <= lin);
  CHECK(mx > 0.8 * lin);

  nn::MultiheadAttention m2(8, 4, gen, nn::MultiheadAttentionOptions().kdim(5).vdim(3).bias(false));
  names.clear();
  for (const auto& [n, t] : m2.named_parameters()) names.push_back(n + " " + ag::shape_str(t.shape()));
  CHECK(names == std::vector<std::string>{"q_proj_weight [8, 8]", "k_proj_weight [8, 5]", "v_proj_weight [8, 3]",
                                          "out_proj.weight [8, 8]"});
  CHECK(m2.describe() == "MultiheadAttention(8, num_heads=4, kdim=5, vdim=3, bias=false)");
}

TEST_CASE("MultiheadAttention equals a per-head composition: self and cross attention, every layout") {
  ag::Generator gen(2);
  for (bool bf : {false, true}) {
    INFO("batch_first " << bf);
    nn::MultiheadAttention m(6, 3, gen, nn::MultiheadAttentionOptions().batch_first(bf).dtype(ag::f64));
    ag::nn::init::uniform_(m.in_proj_bias(), gen, -0.5, 0.5);  // nonzero biases, so they are tested
    ag::nn::init::uniform_(m.out_proj().bias(), gen, -0.5, 0.5);
    const Tensor x = ag::randn({2, 4, 6}, gen, ag::f64), mem = ag::randn({2, 5, 6}, gen, ag::f64);  // [N, L, E]
    const auto layout = [&](const Tensor& t) { return bf ? t : ag::transpose(t, 0, 1); };
    // self-attention (the packed path) and cross attention
    auto r = m(layout(x), layout(x), layout(x));
    Reference want = reference(m, x, x, x, Tensor());
    check_close(r.output, layout(want.out), 1e-12);
    check_close(r.weights, ag::mean(want.weights, {1}), 1e-12);
    r = m(layout(x), layout(mem), layout(mem), {Tensor(), Tensor(), true, false});
    want = reference(m, x, mem, mem, Tensor());
    check_close(r.output, layout(want.out), 1e-12);
    check_close(r.weights, want.weights, 1e-12);
    // need_weights = false
    r = m(layout(x), layout(mem), layout(mem), {Tensor(), Tensor(), false});
    CHECK_FALSE(r.weights.defined());
    check_close(r.output, layout(want.out), 1e-12);
  }
}

TEST_CASE("MultiheadAttention masks: key_padding_mask true is ignored, attn_mask true is not allowed, both, causal") {
  ag::Generator gen(3);
  nn::MultiheadAttention m(4, 2, gen, nn::MultiheadAttentionOptions().batch_first(true).dtype(ag::f64));
  const Tensor x = ag::randn({2, 3, 4}, gen, ag::f64), mem = ag::randn({2, 4, 4}, gen, ag::f64);
  const Tensor kpm = ag::testing::values({0, 0, 1, 1, 0, 1, 0, 0}, {2, 4}).to(ag::bool_);  // true = pad
  const Tensor am = ag::testing::values({0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0}, {3, 4}).to(ag::bool_);
  const Tensor keep_k = ag::reshape(1.0 - kpm.to(ag::f64), {2, 1, 1, 4});
  const Tensor keep_a = ag::reshape(1.0 - am.to(ag::f64), {1, 1, 3, 4});
  auto r = m(x, mem, mem, {kpm, Tensor(), true, false});
  Reference want = reference(m, x, mem, mem, keep_k);
  check_close(r.output, want.out, 1e-12);
  check_close(r.weights, want.weights, 1e-12);
  r = m(x, mem, mem, {kpm, am, true, false});
  want = reference(m, x, mem, mem, keep_k * keep_a);
  check_close(r.output, want.out, 1e-12);
  check_close(r.weights, want.weights, 1e-12);
  // a float attn_mask is added; -inf where the bool one is true gives the same result
  const Tensor fam = ag::where(am, ag::full({}, -INFINITY, ag::f64), ag::zeros({}, ag::f64));
  check_close(m(x, mem, mem, {kpm, fam}).output, want.out, 1e-12);
  // [N·H, L, S] per head
  const Tensor am3 = ag::testing::values({0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0,  0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0,
                                          1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1,  0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0},
                                         {4, 3, 4}).to(ag::bool_);
  r = m(x, mem, mem, {Tensor(), am3, true, false});
  want = reference(m, x, mem, mem, ag::reshape(1.0 - am3.to(ag::f64), {2, 2, 3, 4}));
  check_close(r.output, want.out, 1e-12);
  // is_causal without attn_mask: query l sees keys s <= l, with and without a padding mask
  const Tensor causal = ag::reshape(ag::tril(ag::ones({3, 3}, ag::f64)), {1, 1, 3, 3});
  check_close(m(x, x, x, {Tensor(), Tensor(), false, true, true}).output,
              reference(m, x, x, x, causal).out, 1e-12);
  const Tensor kpm3 = ag::testing::values({0, 0, 1, 0, 0, 0}, {2, 3}).to(ag::bool_);
  check_close(m(x, x, x, {kpm3, Tensor(), false, true, true}).output,
              reference(m, x, x, x, causal * ag::reshape(1.0 - kpm3.to(ag::f64), {2, 1, 1, 3})).out, 1e-12);
  // a query with every key padded: zeros before out_proj, so the output row is out_proj's bias
  const Tensor all_pad = ag::testing::values({1, 1, 1, 1, 0, 0, 0, 0}, {2, 4}).to(ag::bool_);
  r = m(x, mem, mem, {all_pad, Tensor()});
  for (double w : ag::select(r.weights, 0, 0).to_vector<double>()) CHECK(w == 0.0);
  check_close(ag::select(r.output, 0, 0), ag::stack({m.out_proj().bias(), m.out_proj().bias(), m.out_proj().bias()}), 1e-15);
}

TEST_CASE("MultiheadAttention unbatched input equals batch 1, and gradients equal the composition's") {
  ag::Generator gen(4);
  nn::MultiheadAttention m(4, 2, gen, nn::MultiheadAttentionOptions().dtype(ag::f64));
  Tensor x = ag::randn({3, 4}, gen, ag::f64).requires_grad_();
  auto r = m(x, x, x);
  CHECK(r.output.shape() == ag::Shape{3, 4});
  CHECK(r.weights.shape() == ag::Shape{3, 3});
  const Reference want = reference(m, ag::unsqueeze(x, 0), ag::unsqueeze(x, 0), ag::unsqueeze(x, 0), Tensor());
  check_close(r.output, ag::select(want.out, 0, 0), 1e-12);
  const Tensor w = ag::randn({3, 4}, gen, ag::f64);
  std::vector<Tensor> wrt = {x, m.in_proj_weight(), m.in_proj_bias(), m.out_proj().weight()};
  const auto g1 = ag::grad({ag::sum(r.output * w)}, wrt);
  const auto g2 = ag::grad({ag::sum(ag::select(want.out, 0, 0) * w)}, wrt);
  for (std::size_t i = 0; i < wrt.size(); ++i) check_close(g1[i], g2[i], 1e-11);
}

TEST_CASE("MultiheadAttention second derivatives (gradgradcheck_module) and hooks see the call") {
  ag::Generator gen(5);
  nn::MultiheadAttention m(4, 2, gen, nn::MultiheadAttentionOptions().kdim(3).vdim(2));
  const Tensor q = ag::randn({2, 1, 4}, gen, ag::f64), k = ag::randn({3, 1, 3}, gen, ag::f64),
               v = ag::randn({3, 1, 2}, gen, ag::f64);
  ag::nn::init::uniform_(m.in_proj_bias(), gen, -0.5, 0.5);
  const Tensor kpm = ag::testing::values({0, 1, 0}, {1, 3}).to(ag::bool_);
  const auto loss = [&](nn::Module& mod) {
    auto& mha = static_cast<nn::MultiheadAttention&>(mod);
    return ag::sum(ag::tanh(mha(q, k, v, {kpm, Tensor()}).output));
  };
  CHECK(nn::gradcheck_module(m, loss).ok);
  CHECK(nn::gradgradcheck_module(m, loss).ok);
  std::size_t seen = 0;
  auto h = m.register_forward_hook([&](nn::Module&, const ag::TensorList& in, const ag::TensorList& out) {
    seen = in.size() * 10 + out.size();
  });
  m.to(ag::f32);
  (void)m(q.to(ag::f32), k.to(ag::f32), v.to(ag::f32));
  CHECK(seen == 52);
}

TEST_CASE("MultiheadAttention: dropout only in training, eval is deterministic") {
  ag::Generator gen(6);
  nn::MultiheadAttention m(4, 2, gen, nn::MultiheadAttentionOptions().dropout(0.5));
  const Tensor x = ag::randn({5, 2, 4}, gen);
  const Tensor a = m(x, x, x).output, b = m(x, x, x).output;
  CHECK(a.to_vector<double>() != b.to_vector<double>());
  m.eval();
  CHECK(m(x, x, x).output.to_vector<double>() == m(x, x, x).output.to_vector<double>());
}

TEST_CASE("MultiheadAttention bad input names the layer and every shape") {
  ag::Generator gen(7);
  CHECK(contains(error_of<ag::ValueError>([&] { nn::MultiheadAttention(10, 3); }), "divisible by num_heads (3)"));
  CHECK(contains(error_of<ag::ValueError>([&] { nn::MultiheadAttention(8, 2, nn::MultiheadAttentionOptions().dropout(1.0)); }),
                 "dropout"));
  nn::MultiheadAttention m(4, 2, gen);
  const Tensor x = ag::randn({3, 2, 4}, gen), mem = ag::randn({5, 2, 4}, gen);
  const std::string xs = "query [3, 2, 4]", ks = "key [5, 2, 4]";
  std::string e = error_of<ag::ShapeError>([&] { m(x, mem, ag::randn({4, 2, 4}, gen)); });
  CHECK(contains(e, "MultiheadAttention"));
  CHECK(contains(e, "same sequence length"));
  CHECK(contains(e, "value [4, 2, 4]"));
  e = error_of<ag::ShapeError>([&] { m(ag::randn({3, 2, 5}, gen), mem, mem); });
  CHECK(contains(e, "embed_dim = 4"));
  CHECK(contains(e, "query [3, 2, 5]"));
  e = error_of<ag::ShapeError>([&] { m(x, ag::randn({5, 3, 4}, gen), ag::randn({5, 3, 4}, gen)); });
  CHECK(contains(e, "batch size"));
  e = error_of<ag::ShapeError>([&] { m(ag::randn({4}, gen), mem, mem); });
  CHECK(contains(e, "3-D"));
  e = error_of<ag::ShapeError>([&] { m(x, mem, mem, {ag::zeros({2, 4}, ag::bool_), Tensor()}); });
  CHECK(contains(e, "key_padding_mask must be [2, 5]"));
  CHECK(contains(e, xs));
  CHECK(contains(e, ks));
  e = error_of<ag::ShapeError>([&] { m(x, mem, mem, {Tensor(), ag::zeros({3, 4}, ag::bool_)}); });
  CHECK(contains(e, "attn_mask must be [L, S] = [3, 5] or [N·num_heads, L, S] = [4, 3, 5]"));
  CHECK(contains(e, "attn_mask [3, 4]"));
  e = error_of<ag::DtypeError>([&] { m(x, mem, mem, {ag::zeros({2, 5}, ag::i64), Tensor()}); });
  CHECK(contains(e, "key_padding_mask must be bool or float32"));
  CHECK(contains(e, "int64"));
  e = error_of<ag::DtypeError>([&] { m(x, mem, mem, {Tensor(), ag::zeros({3, 5}, ag::i32)}); });
  CHECK(contains(e, "attn_mask"));
  e = error_of<ag::DtypeError>([&] { m(x.to(ag::f64), mem, mem); });
  CHECK(contains(e, "float64"));
}
