#pragma once
// Inputs of each workload, shared by every side so that their results can be compared: sizes,
// hyper-parameters, and deterministic generators for the initial weights and the data (splitmix64
// through bench::fill_uniform, plain float/double arithmetic: identical bits on every side).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"

namespace bench {

namespace tiny_graph {
// y = Σ(a·b + a) = 0.0625; dy/da = b + 1 = {2.5, 1.75, 0.5}; dy/db = a (all exact in float)
inline constexpr float a[3] = {0.5f, -1.25f, 2.0f};
inline constexpr float b[3] = {1.5f, 0.75f, -0.5f};
}  // namespace tiny_graph

namespace matmul_fb {
// C = A·B (n×n), then backward with the upstream gradient G: dA = G·Bᵀ, dB = Aᵀ·G.
inline constexpr std::size_t n = 512;
inline constexpr std::uint64_t seed_a = 1, seed_b = 2, seed_g = 3;
}  // namespace matmul_fb

// ---- MLPs: initial weights ---------------------------------------------------------------------
// One fully connected layer y = x·Wᵀ + b, W stored [out, in] row-major (torch::nn::Linear's
// layout; ag::nn::Dense stores the transpose, [in, out]).
struct LayerInit {
  std::size_t in = 0, out = 0;
  std::vector<float> w;  // [out, in]
  std::vector<float> b;  // [out]
};

// Layers sizes[0] -> sizes[1] -> ...; W and b uniform in [-1/√in, 1/√in) (the bound of
// PyTorch's default Linear init), layer l drawn from seeds seed + 2l and seed + 2l + 1.
inline std::vector<LayerInit> mlp_init(const std::vector<std::size_t>& sizes, std::uint64_t seed) {
  std::vector<LayerInit> layers;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    LayerInit L;
    L.in = sizes[l];
    L.out = sizes[l + 1];
    L.w.resize(L.in * L.out);
    L.b.resize(L.out);
    fill_uniform(L.w.data(), L.w.size(), seed + 2 * l);
    fill_uniform(L.b.data(), L.b.size(), seed + 2 * l + 1);
    const float bound = 1.0f / std::sqrt(static_cast<float>(L.in));
    for (float& v : L.w) v *= bound;
    for (float& v : L.b) v *= bound;
    layers.push_back(std::move(L));
  }
  return layers;
}

// W [out, in] -> Wᵀ [in, out]
inline std::vector<float> transposed(const LayerInit& L) {
  std::vector<float> t(L.in * L.out);
  for (std::size_t o = 0; o < L.out; ++o)
    for (std::size_t i = 0; i < L.in; ++i) t[i * L.out + o] = L.w[o * L.in + i];
  return t;
}

// ---- seed_sgd: the backprop tutorial's online SGD -----------------------------------------------
// MLP 3-16-1, sigmoid hidden layer, linear output, loss (y - t)² (MSE of one row), plain SGD.
// One timed iteration = one row: forward, backward, update. The check trains a fresh net for
// `epochs` passes over the rows in order.
namespace seed_sgd {
inline constexpr std::size_t in = 3, hidden = 16, rows = 1000, epochs = 20;
inline constexpr float lr = 0.1f;
inline constexpr std::uint64_t seed_w = 100, seed_x = 110;
struct Data {
  std::vector<float> x;  // [rows, 3] uniform in [-1, 1)
  std::vector<float> t;  // [rows]: t = 0.5·x0 - x1·x2 + 0.25 (smooth; a 3-16-1 net fits it)
};
inline Data make_data() {
  Data d;
  d.x.resize(rows * in);
  fill_uniform(d.x.data(), d.x.size(), seed_x);
  d.t.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = &d.x[r * in];
    d.t[r] = 0.5f * x[0] - x[1] * x[2] + 0.25f;
  }
  return d;
}
inline std::vector<LayerInit> make_init() { return mlp_init({in, hidden, 1}, seed_w); }
}  // namespace seed_sgd

// ---- mini-batch classifiers: mlp_digits_*, mlp_mnist_* ---------------------------------------------
// ReLU MLP, softmax cross-entropy (mean over the batch), SGD momentum 0.9, lr 0.01. One timed
// iteration = one training step on the next of `batches` fixed batches (cycled). The check trains
// a fresh net for `check_steps` steps.
namespace mlp {
inline constexpr float lr = 0.01f, momentum = 0.9f;
inline constexpr std::size_t batches = 8, check_steps = 20;
struct Spec {
  std::vector<std::size_t> sizes;  // input, hidden..., classes
  std::size_t batch;
  std::uint64_t seed;
};
inline Spec digits(std::size_t batch) { return {{64, 128, 10}, batch, 200}; }
inline Spec mnist(std::size_t batch) { return {{784, 256, 256, 10}, batch, 300}; }

struct Data {
  std::vector<std::vector<float>> x;            // per batch: [batch, input], uniform in [0, 1)
  std::vector<std::vector<std::size_t>> label;  // per batch: [batch] class indices
};
// Labels from a fixed random linear "teacher": argmax_c Σ_j T[c, j]·(x_j - 0.5), in double, so
// the classes are learnable and the loss falls during the check.
inline Data make_data(const Spec& s) {
  const std::size_t nin = s.sizes.front(), ncls = s.sizes.back();
  std::vector<float> teacher(ncls * nin);
  fill_uniform(teacher.data(), teacher.size(), s.seed + 50);
  Data d;
  for (std::size_t k = 0; k < batches; ++k) {
    std::vector<float> x(s.batch * nin);
    fill_uniform(x.data(), x.size(), s.seed + 60 + k);
    for (float& v : x) v = 0.5f * v + 0.5f;  // [-1, 1) -> [0, 1), exact
    std::vector<std::size_t> lab(s.batch);
    for (std::size_t r = 0; r < s.batch; ++r) {
      std::size_t best = 0;
      double best_v = -1e300;
      for (std::size_t c = 0; c < ncls; ++c) {
        double v = 0;
        for (std::size_t j = 0; j < nin; ++j)
          v += static_cast<double>(teacher[c * nin + j]) * (static_cast<double>(x[r * nin + j]) - 0.5);
        if (v > best_v) {
          best_v = v;
          best = c;
        }
      }
      lab[r] = best;
    }
    d.x.push_back(std::move(x));
    d.label.push_back(std::move(lab));
  }
  return d;
}
}  // namespace mlp

// ---- convolutional classifiers: lenet_*, convdigits_* ------------------------------------------------
// [conv k×k (padding p) → ReLU → maxpool 2]* → flatten → [Dense → ReLU]* → Dense, softmax cross-entropy
// (mean over the batch), SGD momentum 0.9, lr 0.01: the MLP workloads' training loop (mlp::batches
// fixed batches cycled, check_steps steps for the check) and their data generator (inputs uniform in
// [0, 1), labels from a random linear teacher on the flattened image).
struct ConvInit {
  std::size_t in = 0, out = 0, k = 0, pad = 0;
  std::vector<float> w;  // [out, in, k, k] (torch::nn::Conv2d's and ag::nn::Conv2d's layout)
  std::vector<float> b;  // [out]
};

namespace cnn {
inline constexpr float lr = mlp::lr, momentum = mlp::momentum;
struct ConvSpec {
  std::size_t out, k, pad;
};
struct Spec {
  std::size_t channels, height, width;  // one input image
  std::vector<ConvSpec> convs;          // each followed by ReLU and 2×2 max pooling (stride 2)
  std::vector<std::size_t> dense;       // hidden widths after flatten, then the classes
  std::size_t batch;
  std::uint64_t seed;
  std::size_t pixels() const { return channels * height * width; }
};
// LeNet-style: 1×28×28 → conv 6@5×5 → 6×24×24 → pool → 6×12×12 → conv 16@5×5 → 16×8×8 → pool →
// 16×4×4 = 256 → 120 → 84 → 10.
inline Spec lenet(std::size_t batch) { return {1, 28, 28, {{6, 5, 0}, {16, 5, 0}}, {120, 84, 10}, batch, 400}; }
// digits-sized: 1×8×8 → conv 16@3×3 pad 1 → pool → 16×4×4 → conv 32@3×3 pad 1 → pool → 32×2×2 = 128 → 10.
inline Spec digits(std::size_t batch) { return {1, 8, 8, {{16, 3, 1}, {32, 3, 1}}, {10}, batch, 500}; }

struct Init {
  std::vector<ConvInit> conv;
  std::vector<LayerInit> dense;
};
// W and b uniform in [-1/√fan_in, 1/√fan_in), fan_in = in·k·k (the bound of PyTorch's default
// Conv2d init); the dense layers as mlp_init. Conv layer l from seeds seed + 2l and seed + 2l + 1.
inline Init make_init(const Spec& s) {
  Init init;
  std::size_t c = s.channels, h = s.height, w = s.width;
  for (std::size_t l = 0; l < s.convs.size(); ++l) {
    const ConvSpec& cs = s.convs[l];
    ConvInit L;
    L.in = c;
    L.out = cs.out;
    L.k = cs.k;
    L.pad = cs.pad;
    L.w.resize(L.out * L.in * L.k * L.k);
    L.b.resize(L.out);
    fill_uniform(L.w.data(), L.w.size(), s.seed + 2 * l);
    fill_uniform(L.b.data(), L.b.size(), s.seed + 2 * l + 1);
    const float bound = 1.0f / std::sqrt(static_cast<float>(L.in * L.k * L.k));
    for (float& v : L.w) v *= bound;
    for (float& v : L.b) v *= bound;
    init.conv.push_back(std::move(L));
    c = cs.out;
    h = (h + 2 * cs.pad - cs.k + 1) / 2;
    w = (w + 2 * cs.pad - cs.k + 1) / 2;
  }
  std::vector<std::size_t> sizes{c * h * w};
  sizes.insert(sizes.end(), s.dense.begin(), s.dense.end());
  init.dense = mlp_init(sizes, s.seed + 100);
  return init;
}
// x per batch: [batch, channels·height·width] (reshape to [batch, C, H, W]); labels [batch].
inline mlp::Data make_data(const Spec& s) {
  return mlp::make_data({{s.pixels(), s.dense.back()}, s.batch, s.seed});
}
}  // namespace cnn

// ---- conv_layer: one large convolution alone ----------------------------------------------------------
// y = conv2d(x, W, b, padding 1), x [16, 64, 32, 32] (requires grad), W [64, 64, 3, 3], b [64];
// backward with the fixed upstream gradient G [16, 64, 32, 32] (dx, dW, db), then plain SGD on W and b.
// The check: check_steps steps from the initial weights, then checksums of y, dx, W and b.
namespace conv_layer {
inline constexpr std::size_t n = 16, c = 64, h = 32, w = 32, k = 3, pad = 1;
inline constexpr float lr = 1e-3f;
inline constexpr std::size_t check_steps = 3;
inline constexpr std::uint64_t seed_x = 600, seed_g = 601, seed_w = 602, seed_b = 603;
struct Data {
  std::vector<float> x, g;  // [n, c, h, w], uniform in [-1, 1)
  ConvInit init;
};
inline Data make_data() {
  Data d;
  d.x.resize(n * c * h * w);
  d.g.resize(n * c * h * w);
  fill_uniform(d.x.data(), d.x.size(), seed_x);
  fill_uniform(d.g.data(), d.g.size(), seed_g);
  d.init.in = d.init.out = c;
  d.init.k = k;
  d.init.pad = pad;
  d.init.w.resize(c * c * k * k);
  d.init.b.resize(c);
  fill_uniform(d.init.w.data(), d.init.w.size(), seed_w);
  fill_uniform(d.init.b.data(), d.init.b.size(), seed_b);
  const float bound = 1.0f / std::sqrt(static_cast<float>(c * k * k));
  for (float& v : d.init.w) v *= bound;
  for (float& v : d.init.b) v *= bound;
  return d;
}
}  // namespace conv_layer

// ---- lstm_*: one LSTM layer, training step over a whole sequence ------------------------------------
// Input size = hidden size H, sequence T, batch B, float32, time-major x [T, B, H] uniform in
// [-1, 1). One timed iteration = zero the gradients, run the layer over the sequence from a zero
// state, loss = mean((h_T - y)²) over [B, H] (y a fixed target uniform in [-0.5, 0.5)), backward,
// one Adam step (lr 1e-3, betas 0.9/0.999, eps 1e-8, PyTorch's formula). The check runs
// `check_steps` steps on a fresh layer: first and last loss, then checksums of the parameters.
// Parameters in PyTorch's layout (nn::LSTM shares it): w_ih [4H, H], w_hh [4H, H], b_ih, b_hh [4H],
// gates i, f, g, o; all uniform in [-1/√H, 1/√H) (PyTorch's default bound).
namespace lstm {
inline constexpr double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
inline constexpr std::size_t check_steps = 5;
struct Spec {
  std::size_t hidden, seq, batch;
  std::uint64_t seed;
};
inline Spec h32_t32_b1() { return {32, 32, 1, 400}; }
inline Spec h128_t64_b32() { return {128, 64, 32, 500}; }
inline Spec h512_t32_b64() { return {512, 32, 64, 600}; }

struct Init {
  std::vector<float> w_ih, w_hh, b_ih, b_hh;  // PyTorch's layout and order
  std::vector<float> x;                       // [T, B, H]
  std::vector<float> y;                       // [B, H]
};
inline Init make_init(const Spec& s) {
  const std::size_t H = s.hidden, G = 4 * H;
  Init in;
  in.w_ih.resize(G * H);
  in.w_hh.resize(G * H);
  in.b_ih.resize(G);
  in.b_hh.resize(G);
  fill_uniform(in.w_ih.data(), in.w_ih.size(), s.seed);
  fill_uniform(in.w_hh.data(), in.w_hh.size(), s.seed + 1);
  fill_uniform(in.b_ih.data(), in.b_ih.size(), s.seed + 2);
  fill_uniform(in.b_hh.data(), in.b_hh.size(), s.seed + 3);
  const float bound = 1.0f / std::sqrt(static_cast<float>(H));
  for (auto* v : {&in.w_ih, &in.w_hh, &in.b_ih, &in.b_hh})
    for (float& e : *v) e *= bound;
  in.x.resize(s.seq * s.batch * H);
  fill_uniform(in.x.data(), in.x.size(), s.seed + 4);
  in.y.resize(s.batch * H);
  fill_uniform(in.y.data(), in.y.size(), s.seed + 5);
  for (float& e : in.y) e *= 0.5f;
  return in;
}
}  // namespace lstm

// ---- transformer_*: a 2-layer post-norm TransformerEncoder language model, training step ----------
// ids [B, T] (uniform in [0, V)) → Embedding(V, E) + a fixed sinusoidal table pe [T, E] → 2 ×
// TransformerEncoderLayer(E, heads, ff, dropout 0, ReLU, post-norm, no mask) → Linear(E, V) →
// softmax cross-entropy (mean over the B·T positions) against target[b, t] = ids[b, (t + 1) mod T]
// → backward → AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 1e-2, PyTorch's formula).
// One timed iteration = one step on the same batch. The check runs `check_steps` steps on a fresh
// model: the loss of each step, then checksums of every parameter's gradient after the first
// backward (PyTorch's names and layouts). Not the parameters after the steps: the key part of
// in_proj_bias has a zero gradient in exact arithmetic (softmax ignores a shift shared by all keys),
// so its float gradients are rounding noise, which Adam's normalised step turns into ±lr moves that
// differ between the sides (the loss does not depend on those biases).
// tapegrad runs batch_first ([B, T, E]); libtorch 1.13's C++ TransformerEncoderLayer has no
// batch_first, so it runs sequence-first ([T, B, E]) on the transposed ids: the same numbers.
namespace transformer {
inline constexpr std::size_t d_model = 128, heads = 4, ff = 512, layers = 2, vocab = 64;
inline constexpr double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
inline constexpr std::size_t check_steps = 5;
struct Spec {
  std::size_t batch, seq;
  std::uint64_t seed;
};
inline Spec b16_t64() { return {16, 64, 700}; }
inline Spec b1_t16() { return {1, 16, 800}; }

struct Param {
  std::string name;                // PyTorch's name inside TransformerEncoder ("layers.0.linear1.weight")
  std::vector<std::size_t> shape;  // PyTorch's layout (Linear weights [out, in])
  std::vector<float> value;
};
struct Init {
  std::vector<Param> encoder;   // torch's named_parameters() order
  std::vector<float> embedding;  // [V, E] uniform in [-1, 1)
  std::vector<float> pe;         // [T, E]: sin(t / 10000^(2i/E)) at 2i, cos at 2i + 1 (double, rounded)
  LayerInit head;                // Linear(E, V)
  std::vector<std::int64_t> ids, target;  // [B, T] each
};
// Weights uniform in ±bound: in_proj_weight xavier (√(6 / (E + 3E))), every other Linear weight and
// every bias 1/√fan_in (PyTorch zeroes the attention biases; non-zero ones exercise their gradients),
// LayerNorm weight 1 and bias 0.
inline Init make_init(const Spec& s) {
  const std::size_t E = d_model, F = ff, V = vocab, T = s.seq, B = s.batch;
  Init in;
  std::uint64_t seed = s.seed;
  auto uniform = [&](const std::string& name, std::vector<std::size_t> shape, float bound) {
    Param p{name, std::move(shape), {}};
    std::size_t n = 1;
    for (std::size_t d : p.shape) n *= d;
    p.value.resize(n);
    fill_uniform(p.value.data(), n, seed++);
    for (float& v : p.value) v *= bound;
    in.encoder.push_back(std::move(p));
  };
  auto constant = [&](const std::string& name, std::size_t n, float v) {
    in.encoder.push_back(Param{name, {n}, std::vector<float>(n, v)});
  };
  const float rE = 1.0f / std::sqrt(static_cast<float>(E)), rF = 1.0f / std::sqrt(static_cast<float>(F));
  for (std::size_t l = 0; l < layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    uniform(p + "self_attn.in_proj_weight", {3 * E, E}, std::sqrt(6.0f / static_cast<float>(4 * E)));
    uniform(p + "self_attn.in_proj_bias", {3 * E}, rE);
    uniform(p + "self_attn.out_proj.weight", {E, E}, rE);
    uniform(p + "self_attn.out_proj.bias", {E}, rE);
    uniform(p + "linear1.weight", {F, E}, rE);
    uniform(p + "linear1.bias", {F}, rE);
    uniform(p + "linear2.weight", {E, F}, rF);
    uniform(p + "linear2.bias", {E}, rF);
    constant(p + "norm1.weight", E, 1.0f);
    constant(p + "norm1.bias", E, 0.0f);
    constant(p + "norm2.weight", E, 1.0f);
    constant(p + "norm2.bias", E, 0.0f);
  }
  in.embedding.resize(V * E);
  fill_uniform(in.embedding.data(), in.embedding.size(), seed++);
  in.pe.resize(T * E);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < E; i += 2) {
      const double a = static_cast<double>(t) / std::pow(10000.0, static_cast<double>(i) / static_cast<double>(E));
      in.pe[t * E + i] = static_cast<float>(std::sin(a));
      in.pe[t * E + i + 1] = static_cast<float>(std::cos(a));
    }
  in.head = mlp_init({E, V}, seed)[0];
  seed += 2;
  std::vector<float> u(B * T);
  fill_uniform(u.data(), u.size(), seed++);
  in.ids.resize(B * T);
  in.target.resize(B * T);
  for (std::size_t k = 0; k < B * T; ++k)
    in.ids[k] = std::min<std::int64_t>(static_cast<std::int64_t>((u[k] + 1.0f) * 0.5f * V), V - 1);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t) in.target[b * T + t] = in.ids[b * T + (t + 1) % T];
  return in;
}
}  // namespace transformer

}  // namespace bench
