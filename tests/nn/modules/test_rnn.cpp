// Recurrent cells and layers: values against a scalar reference written here (loops over plain
// arrays), PyTorch's parameter names and shapes, variable lengths, gradients of first and second
// order, and bad input.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/nn.hpp"
#include "support/module_util.hpp"

namespace nn = ag::nn;
using nn_test::contains;
using nn_test::error_of;

namespace {

// ---- scalar reference: one step for one row, plain vectors -------------------------------------
using Vec = std::vector<double>;
double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// W [rows, cols] row-major times v [cols] plus b [rows] (b may be empty).
Vec affine(const Vec& W, const Vec& v, const Vec& b, std::size_t rows) {
  const std::size_t cols = v.size();
  Vec out(rows, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t k = 0; k < cols; ++k) out[r] += W[r * cols + k] * v[k];
    if (!b.empty()) out[r] += b[r];
  }
  return out;
}

struct RefParams {
  Vec w_ih, w_hh, b_ih, b_hh;
};
RefParams ref_params(const std::vector<ag::Tensor>& w) {
  RefParams p{w[0].to_vector<double>(), w[1].to_vector<double>(), {}, {}};
  if (w[2].defined()) p.b_ih = w[2].to_vector<double>();
  if (w[3].defined()) p.b_hh = w[3].to_vector<double>();
  return p;
}

// One step of kind "rnn_tanh", "rnn_relu", "lstm" or "gru"; h (and c) updated in place.
void ref_step(const std::string& kind, const RefParams& p, const Vec& x, Vec& h, Vec& c) {
  const std::size_t H = h.size();
  const std::size_t G = kind == "lstm" ? 4 : kind == "gru" ? 3 : 1;
  const Vec gx = affine(p.w_ih, x, p.b_ih, G * H), gh = affine(p.w_hh, h, p.b_hh, G * H);
  Vec h2(H), c2(H);
  for (std::size_t j = 0; j < H; ++j) {
    if (kind == "lstm") {
      const double i = sig(gx[j] + gh[j]), f = sig(gx[H + j] + gh[H + j]), g = std::tanh(gx[2 * H + j] + gh[2 * H + j]),
                   o = sig(gx[3 * H + j] + gh[3 * H + j]);
      c2[j] = f * c[j] + i * g;
      h2[j] = o * std::tanh(c2[j]);
    } else if (kind == "gru") {
      const double r = sig(gx[j] + gh[j]), z = sig(gx[H + j] + gh[H + j]);
      const double n = std::tanh(gx[2 * H + j] + r * gh[2 * H + j]);
      h2[j] = (1 - z) * n + z * h[j];
    } else {
      const double a = gx[j] + gh[j];
      h2[j] = kind == "rnn_relu" ? std::max(a, 0.0) : std::tanh(a);
    }
  }
  h = h2;
  if (kind == "lstm") c = c2;
}

ag::Tensor rnd(const ag::Shape& s, ag::Generator& gen) { return ag::randn(s, gen, ag::f64); }
ag::Tensor leaf(const ag::Shape& s, ag::Generator& gen) { return rnd(s, gen).requires_grad_(); }

}  // namespace

TEST_CASE("rnn cells: one step equals the scalar reference, batched and unbatched") {
  ag::Generator gen(11);
  const std::size_t I = 3, H = 4, B = 2;
  for (const std::string kind : {"rnn_tanh", "rnn_relu", "lstm", "gru"}) {
    INFO(kind);
    std::shared_ptr<nn::RNNCellBase> cell;
    if (kind == "lstm")
      cell = std::make_shared<nn::LSTMCell>(I, H, gen, true, ag::f64);
    else if (kind == "gru")
      cell = std::make_shared<nn::GRUCell>(I, H, gen, true, ag::f64);
    else
      cell = std::make_shared<nn::RNNCell>(I, H, gen, true,
                                           kind == "rnn_relu" ? nn::RNNNonlinearity::relu : nn::RNNNonlinearity::tanh,
                                           ag::f64);
    const ag::Tensor x = rnd({B, I}, gen), h = rnd({B, H}, gen), c = rnd({B, H}, gen);
    ag::TensorList in{x, h};
    if (kind == "lstm") in.push_back(c);
    const ag::TensorList out = cell->call(in);
    const RefParams p = ref_params({cell->weight_ih(), cell->weight_hh(), cell->bias_ih(), cell->bias_hh()});
    const Vec xv = x.to_vector<double>(), hv = h.to_vector<double>(), cv = c.to_vector<double>();
    const Vec got_h = out[0].to_vector<double>();
    for (std::size_t b = 0; b < B; ++b) {
      Vec hb(hv.begin() + b * H, hv.begin() + (b + 1) * H), cb(cv.begin() + b * H, cv.begin() + (b + 1) * H);
      ref_step(kind, p, Vec(xv.begin() + b * I, xv.begin() + (b + 1) * I), hb, cb);
      for (std::size_t j = 0; j < H; ++j) CHECK(got_h[b * H + j] == doctest::Approx(hb[j]).epsilon(1e-13));
      if (kind == "lstm")
        for (std::size_t j = 0; j < H; ++j) CHECK(out[1].to_vector<double>()[b * H + j] == doctest::Approx(cb[j]).epsilon(1e-13));
    }
    // unbatched [I] gives [H], the same values as row 0; no state means zeros
    ag::TensorList in1{ag::select(x, 0, 0)};
    const ag::TensorList out1 = cell->call(in1);
    CHECK(out1[0].shape() == ag::Shape{H});
    ag::TensorList in0{ag::slice(x, 0, 0, 1), ag::zeros({1, H}, ag::f64)};
    if (kind == "lstm") in0.push_back(ag::zeros({1, H}, ag::f64));
    CHECK(out1[0].to_vector<double>() == cell->call(in0)[0].to_vector<double>());
  }
}

TEST_CASE("rnn cells: parameters as PyTorch names and lays them out, initialised in ±1/sqrt(H)") {
  ag::Generator gen(3);
  nn::LSTMCell lstm(5, 8, gen);
  const auto ps = lstm.named_parameters();
  REQUIRE(ps.size() == 4);
  CHECK(ps[0].first == "weight_ih");
  CHECK(ps[0].second.shape() == ag::Shape{32, 5});
  CHECK(ps[1].first == "weight_hh");
  CHECK(ps[1].second.shape() == ag::Shape{32, 8});
  CHECK(ps[2].first == "bias_ih");
  CHECK(ps[3].first == "bias_hh");
  const double k = 1 / std::sqrt(8.0);
  double lo = 1, hi = -1;
  for (const auto& p : ps)
    for (double v : p.second.to_vector<double>()) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= -k);
  CHECK(hi <= k);
  CHECK(lo < -0.9 * k);  // the whole range is used (416 draws)
  CHECK(hi > 0.9 * k);
  nn::GRUCell gru(2, 3, gen, false);
  CHECK(gru.named_parameters().size() == 2);
  CHECK(gru.weight_ih().shape() == ag::Shape{9, 2});
  CHECK(gru.describe() == "GRUCell(2, 3, bias=false)");
}

namespace {
// The reference layer: x [T, B, I] (time-major values), h0/c0 [L·D, B, H]; returns y [T, B, D·H]
// and the final states, all flattened.
struct RefOut {
  Vec y, h_n, c_n;
};
RefOut ref_layer(const std::string& kind, nn::RecurrentBase& m, const Vec& x, std::size_t T, std::size_t B,
                 const Vec& h0, const Vec& c0, const std::vector<std::size_t>& lengths) {
  const nn::RNNOptions& o = m.options();
  const std::size_t H = o.hidden_size(), D = o.bidirectional() ? 2 : 1, L = o.num_layers();
  std::size_t in = o.input_size();
  Vec layer_in = x;  // [T, B, in]
  RefOut r;
  r.h_n.assign(L * D * B * H, 0.0);
  r.c_n.assign(L * D * B * H, 0.0);
  for (std::size_t l = 0; l < L; ++l) {
    Vec out(T * B * D * H, 0.0);
    for (std::size_t d = 0; d < D; ++d) {
      const RefParams p = ref_params(m.layer_parameters(l, d));
      for (std::size_t b = 0; b < B; ++b) {
        const std::size_t s0 = ((l * D + d) * B + b) * H;
        Vec h(h0.begin() + s0, h0.begin() + s0 + H), c(c0.begin() + s0, c0.begin() + s0 + H);
        const std::size_t len = lengths.empty() ? T : lengths[b];
        for (std::size_t s = 0; s < len; ++s) {
          const std::size_t t = d == 0 ? s : len - 1 - s;
          ref_step(kind, p, Vec(layer_in.begin() + (t * B + b) * in, layer_in.begin() + (t * B + b + 1) * in), h, c);
          for (std::size_t j = 0; j < H; ++j) out[(t * B + b) * D * H + d * H + j] = h[j];
        }
        for (std::size_t j = 0; j < H; ++j) {
          r.h_n[s0 + j] = h[j];
          r.c_n[s0 + j] = c[j];
        }
      }
    }
    layer_in = out;
    in = D * H;
  }
  r.y = layer_in;
  return r;
}

void check_close(const Vec& got, const Vec& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
}
}  // namespace

TEST_CASE("rnn layers: stacked, bidirectional, batch_first and lengths equal the scalar reference") {
  ag::Generator gen(7);
  const std::size_t I = 3, H = 4, T = 5, B = 3;
  for (const std::string kind : {"rnn_tanh", "rnn_relu", "lstm", "gru"}) {
    for (int variant = 0; variant < 3; ++variant) {
      INFO(kind << " variant " << variant);
      const bool bidir = variant >= 1, batch_first = variant == 2;
      nn::RNNOptions o(I, H);
      o.num_layers(2).bidirectional(bidir).batch_first(batch_first).dtype(ag::f64);
      if (kind == "rnn_relu") o.nonlinearity(nn::RNNNonlinearity::relu);
      std::shared_ptr<nn::RecurrentBase> m;
      if (kind == "lstm")
        m = std::make_shared<nn::LSTM>(o, gen);
      else if (kind == "gru")
        m = std::make_shared<nn::GRU>(o, gen);
      else
        m = std::make_shared<nn::RNN>(o, gen);
      const std::size_t D = bidir ? 2 : 1;
      const ag::Tensor x_tm = rnd({T, B, I}, gen);  // time-major values
      const ag::Tensor h0 = rnd({2 * D, B, H}, gen), c0 = rnd({2 * D, B, H}, gen);
      const std::vector<std::size_t> lengths = variant == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{5, 2, 4};
      ag::TensorList in{batch_first ? ag::transpose(x_tm, 0, 1) : x_tm, h0};
      if (kind == "lstm") in.push_back(c0);
      if (!lengths.empty()) in.push_back(ag::tensor(std::vector<std::int64_t>{5, 2, 4}, {3}));
      const ag::TensorList out = m->call(in);
      const RefOut r = ref_layer(kind, *m, x_tm.to_vector<double>(), T, B, h0.to_vector<double>(),
                                 c0.to_vector<double>(), lengths);
      const ag::Tensor y_tm = batch_first ? ag::transpose(out[0], 0, 1) : out[0];
      CHECK(y_tm.shape() == ag::Shape{T, B, D * H});
      check_close(y_tm.to_vector<double>(), r.y);  // padded steps: exactly the reference's zeros
      check_close(out[1].to_vector<double>(), r.h_n);
      if (kind == "lstm") check_close(out[2].to_vector<double>(), r.c_n);
    }
  }
}

TEST_CASE("rnn layers: PyTorch's parameter names, describe, typed results, unbatched input") {
  ag::Generator gen(1);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true), gen);
  std::vector<std::string> names;
  for (const auto& [n, p] : lstm.named_parameters()) names.push_back(n);
  const std::vector<std::string> want{
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  CHECK(names == want);
  CHECK(lstm.layer_parameters(1, 0)[0].shape() == ag::Shape{16, 8});  // layer 1 reads both directions
  CHECK(lstm.describe() == "LSTM(3, 4, num_layers=2, bidirectional)");
  auto [y, h, c] = lstm(ag::randn({6, 2, 3}, gen));
  CHECK(y.shape() == ag::Shape{6, 2, 8});
  CHECK(h.shape() == ag::Shape{4, 2, 4});
  CHECK(c.shape() == ag::Shape{4, 2, 4});
  // unbatched [T, in]: the same as a batch of one
  const ag::Tensor x1 = ag::randn({6, 3}, gen);
  auto r1 = lstm(x1);
  auto rb = lstm(ag::unsqueeze(x1, 1));
  CHECK(r1.output.shape() == ag::Shape{6, 8});
  CHECK(r1.h_n.shape() == ag::Shape{4, 4});
  CHECK(r1.output.to_vector<float>() == rb.output.to_vector<float>());
  nn::GRU gru(nn::GRUOptions(2, 3).bias(false).batch_first(true));
  CHECK(gru.named_parameters().size() == 2);
  CHECK(gru.describe() == "GRU(2, 3, bias=false, batch_first)");
  auto [gy, gh] = gru(ag::zeros({4, 7, 2}));
  CHECK(gy.shape() == ag::Shape{4, 7, 3});
  CHECK(gh.shape() == ag::Shape{1, 4, 3});
  nn::RNN rnn(nn::RNNOptions(2, 3).nonlinearity(nn::RNNNonlinearity::relu).dropout(0.5).num_layers(2));
  CHECK(rnn.describe() == "RNN(2, 3, num_layers=2, nonlinearity=relu, dropout=0.5)");
}

TEST_CASE("rnn layers: padded steps get no gradient and do not change the state") {
  ag::Generator gen(5);
  nn::GRU gru(nn::GRUOptions(2, 3).dtype(ag::f64).bidirectional(true), gen);
  ag::Tensor x = rnd({4, 2, 2}, gen).requires_grad_();
  const ag::Tensor lengths = ag::tensor(std::vector<std::int64_t>{4, 2}, {2});
  auto [y, h] = gru(x, {}, lengths);
  (ag::sum(y) + ag::sum(h)).backward();
  const Vec g = x.grad().to_vector<double>();
  for (std::size_t t = 2; t < 4; ++t)  // row 1's steps 2 and 3 are padding
    for (std::size_t k = 0; k < 2; ++k) CHECK(g[(t * 2 + 1) * 2 + k] == 0.0);
  CHECK(g[(1 * 2 + 1) * 2] != 0.0);
  // row 1 alone, 2 steps, gives the same final state
  auto [y1, h1] = gru(ag::slice(ag::slice(x.detach(), 1, 1, 2), 0, 0, 2));
  const Vec hb = h.to_vector<double>(), h1v = h1.to_vector<double>();
  for (std::size_t d = 0; d < 2; ++d)
    for (std::size_t j = 0; j < 3; ++j) CHECK(hb[(d * 2 + 1) * 3 + j] == doctest::Approx(h1v[d * 3 + j]).epsilon(1e-14));
}

TEST_CASE("rnn: first and second derivatives (cell functions and layers, float64)") {
  ag::Generator gen(9);
  const std::size_t B = 2, I = 3, H = 2;
  const std::vector<ag::Tensor> lstm_in{leaf({B, I}, gen), leaf({B, H}, gen), leaf({B, H}, gen), leaf({4 * H, I}, gen),
                                        leaf({4 * H, H}, gen), leaf({4 * H}, gen), leaf({4 * H}, gen)};
  for (bool fused : {true, false}) {
    INFO("fused " << fused);
    auto lstm_f = [fused](const std::vector<ag::Tensor>& v) -> std::vector<ag::Tensor> {
      auto [h, c] = nn::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6], fused);
      return {h, c};
    };
    CHECK(ag::gradcheck(lstm_f, lstm_in).ok);
    CHECK(ag::gradgradcheck(lstm_f, lstm_in).ok);
    const std::vector<ag::Tensor> gru_in{leaf({B, I}, gen), leaf({B, H}, gen), leaf({3 * H, I}, gen),
                                         leaf({3 * H, H}, gen), leaf({3 * H}, gen), leaf({3 * H}, gen)};
    auto gru_f = [fused](const std::vector<ag::Tensor>& v) {
      return nn::gru_cell(v[0], v[1], v[2], v[3], v[4], v[5], fused);
    };
    CHECK(ag::gradcheck(gru_f, gru_in).ok);
    CHECK(ag::gradgradcheck(gru_f, gru_in).ok);
  }
  const std::vector<ag::Tensor> rnn_in{leaf({B, I}, gen), leaf({B, H}, gen), leaf({H, I}, gen), leaf({H, H}, gen)};
  auto rnn_f = [](const std::vector<ag::Tensor>& v) { return nn::rnn_cell(v[0], v[1], v[2], v[3]); };
  CHECK(ag::gradcheck(rnn_f, rnn_in).ok);
  CHECK(ag::gradgradcheck(rnn_f, rnn_in).ok);

  // whole layers: every parameter (gradcheck_module) and second order through x and h0
  nn::LSTM lstm(nn::LSTMOptions(I, H).num_layers(2).bidirectional(true).dtype(ag::f64), gen);
  const ag::Tensor x = rnd({3, B, I}, gen);
  const ag::Tensor lengths = ag::tensor(std::vector<std::int64_t>{3, 2}, {2});
  CHECK(nn::gradcheck_module(lstm, [&](nn::Module& m) {
          auto r = static_cast<nn::LSTM&>(m)(x, {}, {}, lengths);
          return ag::sum(r.output * r.output) + ag::sum(r.c_n);
        }).ok);
  nn::GRU gru(nn::GRUOptions(I, H).dtype(ag::f64), gen);
  auto layer_f = [&](const std::vector<ag::Tensor>& v) -> std::vector<ag::Tensor> {
    auto r = gru(v[0], v[1]);
    return {r.output, r.h_n};
  };
  CHECK(ag::gradgradcheck(layer_f, {x.detach().requires_grad_(), leaf({1, B, H}, gen)}).ok);
}

TEST_CASE("rnn: truncated BPTT with detach keeps the gradient inside the chunk") {
  ag::Generator gen(2);
  nn::LSTM lstm(nn::LSTMOptions(2, 3).dtype(ag::f64), gen);
  ag::Tensor x1 = rnd({4, 1, 2}, gen).requires_grad_(), x2 = rnd({4, 1, 2}, gen);
  auto r1 = lstm(x1);
  auto r2 = lstm(x2, r1.h_n.detach(), r1.c_n.detach());
  ag::sum(r2.output).backward();
  CHECK_FALSE(x1.grad().defined());  // the first chunk is cut off
  CHECK(lstm.layer_parameters(0)[0].grad().defined());
}

TEST_CASE("rnn: bad input names the layer and the shapes") {
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2));
  CHECK(contains(error_of<ag::ShapeError>([&] { lstm(ag::zeros({5, 2, 4})); }), "LSTM(3, 4, num_layers=2): input of shape [5, 2, 4], expected [seq, batch, 3]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { lstm(ag::zeros({5, 2, 3}), ag::zeros({1, 2, 4})); }), "h0 of shape [1, 2, 4], expected [2, 2, 4]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { lstm(ag::zeros({5, 2, 3}), {}, ag::zeros({2, 3, 4})); }), "c0 of shape [2, 3, 4], expected [2, 2, 4]"));
  CHECK(contains(error_of<ag::ValueError>([&] { lstm(ag::zeros({0, 2, 3})); }), "empty sequence"));
  const ag::Tensor too_long = ag::tensor(std::vector<std::int64_t>{5, 6}, {2});
  CHECK(contains(error_of<ag::ValueError>([&] { lstm(ag::zeros({5, 2, 3}), {}, {}, too_long); }), "lengths[1] = 6 is outside [1, 5]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { lstm(ag::zeros({5, 2, 3}), {}, {}, ag::ones({2})); }), "lengths must be an integer tensor of shape [2]"));
  CHECK(contains(error_of<ag::DtypeError>([&] { lstm(ag::zeros({5, 2, 3}, ag::f64)); }), "input is float64 but the parameters are float32"));
  CHECK(contains(error_of<ag::ShapeError>([&] { lstm(ag::zeros({5})); }), "input of shape [5]"));
  nn::GRUCell cell(3, 4);
  CHECK(contains(error_of<ag::ShapeError>([&] { cell(ag::zeros({2, 3}), ag::zeros({3, 4})); }), "GRUCell(3, 4): state 1 of shape [3, 4], expected [2, 4]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { cell(ag::zeros({2, 5})); }), "GRUCell(3, 4): input of shape [2, 5], expected [batch, 3] or [3]"));
  CHECK(contains(error_of<ag::ValueError>([] { nn::RNN(nn::RNNOptions(3, 0)); }), "must be > 0"));
  CHECK(contains(error_of<ag::ValueError>([] { nn::GRU(nn::GRUOptions(3, 2).dropout(1.5)); }), "dropout must be in [0, 1]"));
  // a single-tensor container passes one tensor: the LSTM returns three, which operator() refuses
  nn::Sequential seq(std::make_shared<nn::LSTM>(3, 4));
  CHECK_THROWS(seq(ag::zeros({2, 1, 3})));
}

TEST_CASE("rnn: dropout between layers only in training, state dict round trip") {
  ag::Generator gen(4);
  nn::GRU gru(nn::GRUOptions(2, 3).num_layers(2).dropout(0.5), gen);
  const ag::Tensor x = ag::randn({5, 2, 2}, gen);
  gru.eval();
  const auto a = gru(x).output.to_vector<float>(), b = gru(x).output.to_vector<float>();
  CHECK(a == b);
  gru.train();
  CHECK(gru(x).output.to_vector<float>() != a);
  nn::GRU other(nn::GRUOptions(2, 3).num_layers(2).dropout(0.5));
  other.load_state_dict(gru.state_dict());
  other.eval();
  gru.eval();
  CHECK(other(x).output.to_vector<float>() == a);
}

TEST_CASE("rnn layers: the fused gate ops give the composed layer's values and gradients") {
  ag::Generator gen(8);
  for (const bool lstm : {true, false}) {
    INFO((lstm ? "LSTM" : "GRU"));
    nn::RNNOptions o = nn::RNNOptions(3, 4).num_layers(2).bidirectional(true).dtype(ag::f64);
    std::shared_ptr<nn::RecurrentBase> a, b;
    if (lstm) {
      a = std::make_shared<nn::LSTM>(o, gen);
      b = std::make_shared<nn::LSTM>(nn::RNNOptions(o).fused(false));
    } else {
      a = std::make_shared<nn::GRU>(o, gen);
      b = std::make_shared<nn::GRU>(nn::RNNOptions(o).fused(false));
    }
    b->load_state_dict(a->state_dict());
    const ag::Tensor x = rnd({5, 2, 3}, gen);
    const ag::Tensor lengths = ag::tensor(std::vector<std::int64_t>{5, 3}, {2});
    auto loss = [&](nn::RecurrentBase& m) {
      ag::TensorList in{x, ag::Tensor()};
      if (lstm) in.push_back(ag::Tensor());
      in.push_back(lengths);
      const ag::TensorList out = m.call(in);
      return ag::sum(out[0] * out[0]) + ag::sum(out[1]);
    };
    const ag::Tensor la = loss(*a), lb = loss(*b);
    CHECK(la.item() == doctest::Approx(lb.item()).epsilon(1e-13));
    la.backward();
    lb.backward();
    const auto pa = a->parameters(), pb = b->parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) {
      const Vec ga = pa[i].grad().to_vector<double>(), gb = pb[i].grad().to_vector<double>();
      for (std::size_t k = 0; k < ga.size(); ++k) CHECK(ga[k] == doctest::Approx(gb[k]).epsilon(1e-12));
    }
  }
}

TEST_CASE("rnn layers: long sequences (rows taken by halving) give the step-by-step cell's values and gradients") {
  // T·B·4H = 17·16·256 >= 65536 with gradient: the layer takes the rows of its input projection by
  // recursive halving (uneven halves at T = 17) instead of one select per step. Reference: the
  // same parameters through nn::lstm_cell, one select of x per step.
  ag::Generator gen(12);
  const std::size_t T = 17, B = 16, H = 64, in = 5;
  nn::LSTM lstm(nn::RNNOptions(in, H).dtype(ag::f64), gen);
  const ag::Tensor x = rnd({T, B, in}, gen).requires_grad_();
  const ag::Tensor w = rnd({T, B, H}, gen);  // a fixed cotangent for the outputs
  const nn::LSTMResult r = lstm(x);
  const ag::Tensor la = ag::sum(r.output * w) + ag::sum(r.c_n);
  const std::vector<ag::Tensor> p = lstm.layer_parameters(0);
  const std::vector<ag::Tensor> inputs{x, p[0], p[1], p[2], p[3]};
  const auto ga = ag::grad({la}, inputs);

  ag::Tensor h = ag::zeros({B, H}, ag::f64), c = ag::zeros({B, H}, ag::f64), lb = ag::zeros({}, ag::f64);
  for (std::size_t t = 0; t < T; ++t) {
    std::tie(h, c) = nn::lstm_cell(ag::select(x, 0, static_cast<std::ptrdiff_t>(t)), h, c, p[0], p[1], p[2], p[3]);
    lb = lb + ag::sum(h * ag::select(w, 0, static_cast<std::ptrdiff_t>(t)));
  }
  lb = lb + ag::sum(c);
  const auto gb = ag::grad({lb}, inputs);
  CHECK(la.item() == doctest::Approx(lb.item()).epsilon(1e-12));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    INFO("input " << i);
    const Vec a = ga[i].to_vector<double>(), b = gb[i].to_vector<double>();
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == doctest::Approx(b[k]).epsilon(1e-11));
  }
}
