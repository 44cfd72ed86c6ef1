// The tapegrad side: each workload written the way a user would, through the public API.
#include <ag/ag.hpp>
#include <ag/nn.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include <ag/profiler.hpp>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "tapegrad";
std::vector<std::pair<std::string, std::string>> side_info() { return {}; }

namespace {
// time_it, then, when TAPEGRAD_BENCH_PROFILE=N is set, N more steps under ag::Profiler with its
// per-op table on stderr (where the time goes; the profiler's own overhead inflates small ops).
template <class F> Result measure(F&& step, const Options& opt) {
  Result r = time_it(step, opt);
  if (const char* n = std::getenv("TAPEGRAD_BENCH_PROFILE")) {
    const long steps = std::max(1L, std::atol(n));
    ag::Profiler prof;
    for (long i = 0; i < steps; ++i) step();
    prof.stop();
    std::fprintf(stderr, "PROFILE %ld steps\n%s\n", steps, prof.table().c_str());
  }
  return r;
}

ag::Tensor from_floats(const float* p, const ag::Shape& shape, bool requires_grad) {
  xt::xarray<float> v = xt::xarray<float>::from_shape(shape);
  std::copy(p, p + v.size(), v.data());
  return ag::Tensor(std::move(v), requires_grad);
}
void append_values(std::vector<double>& out, const ag::Tensor& t) {
  for (float v : t.value<float>()) out.push_back(v);
}
void append_checksums(std::vector<double>& out, const ag::Tensor& t) {
  const auto& v = t.value<float>();
  bench::append_checksums(out, v.data(), v.size());
}
// A Dense layer with the shared initial weights (LayerInit holds W as [out, in]; Dense wants
// [in, out]).
std::shared_ptr<ag::nn::Dense> dense(const LayerInit& L) {
  auto d = std::make_shared<ag::nn::Dense>(L.in, L.out);
  ag::Tensor w = d->weight(), b = d->bias();  // handles: writing through them updates the layer
  const std::vector<float> wt = transposed(L);
  std::copy(wt.begin(), wt.end(), w.mutable_value<float>().data());
  std::copy(L.b.begin(), L.b.end(), b.mutable_value<float>().data());
  return d;
}
// Checksums of a Dense layer's W (in LayerInit's [out, in] order) and b.
void append_layer(std::vector<double>& out, const ag::nn::Dense& d) {
  const auto& w = d.weight().value<float>();
  std::vector<float> t(w.size());
  const std::size_t in = d.in_features(), o = d.out_features();
  for (std::size_t i = 0; i < in; ++i)
    for (std::size_t k = 0; k < o; ++k) t[k * in + i] = w.data()[i * o + k];
  bench::append_checksums(out, t.data(), t.size());
  append_checksums(out, d.bias());
}
// A Conv2d layer with the shared initial weights (ConvInit's [out, in, k, k] is Conv2d's layout).
std::shared_ptr<ag::nn::Conv2d> conv_module(const ConvInit& L) {
  auto c = std::make_shared<ag::nn::Conv2d>(L.in, L.out, static_cast<int>(L.k),
                                            ag::Conv2dOptions().padding(static_cast<int>(L.pad)));
  ag::Tensor w = c->weight(), b = c->bias();
  std::copy(L.w.begin(), L.w.end(), w.mutable_value<float>().data());
  std::copy(L.b.begin(), L.b.end(), b.mutable_value<float>().data());
  return c;
}
}  // namespace

BENCH_SIDE(tiny_graph) {
  ag::Tensor a = from_floats(tiny_graph::a, {3}, true);
  ag::Tensor b = from_floats(tiny_graph::b, {3}, true);
  ag::Tensor y;
  auto step = [&] {
    a.zero_grad();  // set to none
    b.zero_grad();
    y = (a * b + a).sum();
    y.backward();
  };
  Result r = measure(step, opt);
  step();
  r.check.push_back(y.item());
  append_values(r.check, a.grad());
  append_values(r.check, b.grad());
  return r;
}

BENCH_SIDE(matmul_fb) {
  const std::size_t n = matmul_fb::n;
  std::vector<float> buf(n * n);
  fill_uniform(buf.data(), buf.size(), matmul_fb::seed_a);
  ag::Tensor A = from_floats(buf.data(), {n, n}, true);
  fill_uniform(buf.data(), buf.size(), matmul_fb::seed_b);
  ag::Tensor B = from_floats(buf.data(), {n, n}, true);
  fill_uniform(buf.data(), buf.size(), matmul_fb::seed_g);
  ag::Tensor G = from_floats(buf.data(), {n, n}, false);
  ag::Tensor C;
  auto step = [&] {
    A.zero_grad();
    B.zero_grad();
    C = ag::matmul(A, B);
    C.backward(G);
  };
  Result r = measure(step, opt);
  step();
  append_checksums(r.check, C);
  append_checksums(r.check, A.grad());
  append_checksums(r.check, B.grad());
  return r;
}

// ---- seed_sgd: one row per step, the tutorial's loop ---------------------------------------------
namespace {
struct SeedNet {
  std::shared_ptr<ag::nn::Dense> fc1, fc2;
  std::shared_ptr<ag::nn::Sequential> model;
  std::unique_ptr<ag::nn::SGD> opt;
  std::vector<ag::Tensor> x, t;  // per row: [1, 3] and [1, 1]
  std::size_t row = 0;
  SeedNet(const seed_sgd::Data& d, const std::vector<LayerInit>& init) {
    fc1 = dense(init[0]);
    fc2 = dense(init[1]);
    model = std::make_shared<ag::nn::Sequential>(fc1, std::make_shared<ag::nn::Sigmoid>(), fc2);
    opt = std::make_unique<ag::nn::SGD>(model->parameters(), seed_sgd::lr);
    for (std::size_t r = 0; r < seed_sgd::rows; ++r) {
      x.push_back(from_floats(&d.x[r * seed_sgd::in], {1, seed_sgd::in}, false));
      t.push_back(from_floats(&d.t[r], {1, 1}, false));
    }
  }
  ag::Tensor step() {  // one row: returns its loss (read only by the check: no item() when timed)
    opt->zero_grad();
    ag::Tensor loss = ag::nn::mse_loss((*model)(x[row]), t[row]);
    loss.backward();
    opt->step();
    row = (row + 1) % seed_sgd::rows;
    return loss;
  }
};
}  // namespace

BENCH_SIDE(seed_sgd) {
  const seed_sgd::Data data = seed_sgd::make_data();
  const std::vector<LayerInit> init = seed_sgd::make_init();
  SeedNet timed(data, init);
  Result r = measure([&] { timed.step(); }, opt);
  // check: a fresh net, `epochs` passes in order; mean loss of the first and the last pass
  SeedNet net(data, init);
  double first = 0, last = 0;
  for (std::size_t e = 0; e < seed_sgd::epochs; ++e) {
    double s = 0;
    for (std::size_t k = 0; k < seed_sgd::rows; ++k) s += net.step().item();
    if (e == 0) first = s / seed_sgd::rows;
    last = s / seed_sgd::rows;
  }
  r.check = {first, last};
  append_layer(r.check, *net.fc1);
  append_layer(r.check, *net.fc2);
  return r;
}

// ---- mlp_*: mini-batch classifier training --------------------------------------------------------
namespace {
struct Mlp : ag::nn::Module {
  std::vector<std::shared_ptr<ag::nn::Dense>> fc;
  explicit Mlp(const std::vector<LayerInit>& init) {
    for (std::size_t l = 0; l < init.size(); ++l)
      fc.push_back(register_module("fc" + std::to_string(l), dense(init[l])));
  }
  ag::Tensor forward(const ag::Tensor& x) override {
    ag::Tensor h = x;
    for (std::size_t l = 0; l + 1 < fc.size(); ++l) h = ag::relu((*fc[l])(h));
    return (*fc.back())(h);
  }
  std::string type_name() const override { return "Mlp"; }
};

struct MlpRun {
  Mlp model;
  ag::nn::SGD opt;
  std::vector<ag::Tensor> x, y;  // per batch: [B, in] and [B] class indices
  std::size_t k = 0;
  MlpRun(const mlp::Spec& s, const mlp::Data& d)
      : model(mlp_init(s.sizes, s.seed)), opt(model.parameters(), mlp::lr, mlp::momentum) {
    for (std::size_t b = 0; b < mlp::batches; ++b) {
      x.push_back(from_floats(d.x[b].data(), {s.batch, s.sizes.front()}, false));
      std::vector<float> lab(d.label[b].begin(), d.label[b].end());
      y.push_back(from_floats(lab.data(), {s.batch}, false));
    }
  }
  ag::Tensor step() {
    opt.zero_grad();
    ag::Tensor loss = ag::nn::cross_entropy(model(x[k]), y[k]);
    loss.backward();
    opt.step();
    k = (k + 1) % mlp::batches;
    return loss;
  }
};

Result run_mlp(const mlp::Spec& s, const Options& opt) {
  const mlp::Data data = mlp::make_data(s);
  Result r;
  {
    MlpRun timed(s, data);
    r = measure([&] { timed.step(); }, opt);
  }
  MlpRun run(s, data);  // check: loss of the first and the last of check_steps steps
  double first = 0, last = 0;
  for (std::size_t i = 0; i < mlp::check_steps; ++i) {
    last = run.step().item();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& d : run.model.fc) append_layer(r.check, *d);
  return r;
}
}  // namespace

BENCH_SIDE(mlp_digits_b32) { return run_mlp(mlp::digits(32), opt); }
BENCH_SIDE(mlp_digits_b512) { return run_mlp(mlp::digits(512), opt); }
BENCH_SIDE(mlp_mnist_b32) { return run_mlp(mlp::mnist(32), opt); }
BENCH_SIDE(mlp_mnist_b512) { return run_mlp(mlp::mnist(512), opt); }

// ---- lenet_*, convdigits_*: convolutional classifier training ------------------------------------
namespace {
struct CnnRun {
  std::vector<std::shared_ptr<ag::nn::Conv2d>> conv;
  std::vector<std::shared_ptr<ag::nn::Dense>> fc;
  ag::nn::Sequential model;  // [Conv2d, ReLU, MaxPool2d]*, Flatten, [Dense, ReLU]*, Dense
  std::unique_ptr<ag::nn::SGD> opt;
  std::vector<ag::Tensor> x, y;  // per batch: [B, C, H, W] and [B] class indices
  std::size_t k = 0;
  CnnRun(const cnn::Spec& s, const mlp::Data& d) {
    const cnn::Init init = cnn::make_init(s);
    for (const ConvInit& c : init.conv) {
      conv.push_back(conv_module(c));
      model.push_back(conv.back());
      model.push_back(std::make_shared<ag::nn::ReLU>());
      model.push_back(std::make_shared<ag::nn::MaxPool2d>(2));
    }
    model.push_back(std::make_shared<ag::nn::Flatten>());
    for (std::size_t l = 0; l < init.dense.size(); ++l) {
      fc.push_back(dense(init.dense[l]));
      model.push_back(fc.back());
      if (l + 1 < init.dense.size()) model.push_back(std::make_shared<ag::nn::ReLU>());
    }
    opt = std::make_unique<ag::nn::SGD>(model.parameters(), cnn::lr, cnn::momentum);
    for (std::size_t b = 0; b < mlp::batches; ++b) {
      x.push_back(from_floats(d.x[b].data(), {s.batch, s.channels, s.height, s.width}, false));
      std::vector<float> lab(d.label[b].begin(), d.label[b].end());
      y.push_back(from_floats(lab.data(), {s.batch}, false));
    }
  }
  ag::Tensor step() {
    opt->zero_grad();
    ag::Tensor loss = ag::nn::cross_entropy(model(x[k]), y[k]);
    loss.backward();
    opt->step();
    k = (k + 1) % mlp::batches;
    return loss;
  }
};

Result run_cnn(const cnn::Spec& s, const Options& opt) {
  const mlp::Data data = cnn::make_data(s);
  Result r;
  {
    CnnRun timed(s, data);
    r = measure([&] { timed.step(); }, opt);
  }
  CnnRun run(s, data);  // check: loss of the first and the last of check_steps steps, then the weights
  double first = 0, last = 0;
  for (std::size_t i = 0; i < mlp::check_steps; ++i) {
    last = run.step().item();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& c : run.conv) {
    append_checksums(r.check, c->weight());
    append_checksums(r.check, c->bias());
  }
  for (const auto& d : run.fc) append_layer(r.check, *d);
  return r;
}
}  // namespace

BENCH_SIDE(lenet_b32) { return run_cnn(cnn::lenet(32), opt); }
BENCH_SIDE(lenet_b256) { return run_cnn(cnn::lenet(256), opt); }
BENCH_SIDE(convdigits_b1) { return run_cnn(cnn::digits(1), opt); }
BENCH_SIDE(convdigits_b64) { return run_cnn(cnn::digits(64), opt); }

// ---- conv_layer: one 64→64 3×3 convolution, forward + backward + SGD --------------------------------
namespace {
struct ConvLayerRun {
  std::shared_ptr<ag::nn::Conv2d> conv;
  std::unique_ptr<ag::nn::SGD> opt;
  ag::Tensor x, g, y;
  explicit ConvLayerRun(const conv_layer::Data& d) : conv(conv_module(d.init)) {
    using namespace conv_layer;
    opt = std::make_unique<ag::nn::SGD>(conv->parameters(), lr);
    x = from_floats(d.x.data(), {n, c, h, w}, true);
    g = from_floats(d.g.data(), {n, c, h, w}, false);
  }
  void step() {
    opt->zero_grad();
    x.zero_grad();
    y = (*conv)(x);
    y.backward(g);
    opt->step();
  }
};
}  // namespace

BENCH_SIDE(conv_layer) {
  const conv_layer::Data data = conv_layer::make_data();
  Result r;
  {
    ConvLayerRun timed(data);
    r = measure([&] { timed.step(); }, opt);
  }
  ConvLayerRun run(data);
  for (std::size_t i = 0; i < conv_layer::check_steps; ++i) run.step();
  append_checksums(r.check, run.y);
  append_checksums(r.check, run.x.grad());
  append_checksums(r.check, run.conv->weight());
  append_checksums(r.check, run.conv->bias());
  return r;
}

// ---- lstm_*: nn::LSTM over a sequence, MSE of the last hidden state, Adam ---------------------------
namespace {
struct LstmRun {
  lstm::Spec s;
  ag::nn::LSTM layer;
  std::unique_ptr<ag::nn::Adam> opt;
  ag::Tensor x, y;  // [T, B, H], [B, H]
  LstmRun(const lstm::Spec& spec, const lstm::Init& in)
      : s(spec), layer(ag::nn::LSTMOptions(spec.hidden, spec.hidden)) {
    const std::vector<ag::Tensor> p = layer.layer_parameters(0);  // w_ih, w_hh, b_ih, b_hh: PyTorch's layout
    const std::vector<float>* src[] = {&in.w_ih, &in.w_hh, &in.b_ih, &in.b_hh};
    for (std::size_t k = 0; k < 4; ++k) {
      ag::Tensor t = p[k];
      std::copy(src[k]->begin(), src[k]->end(), t.mutable_data<float>());
    }
    opt = std::make_unique<ag::nn::Adam>(layer.parameters(), lstm::lr, ag::nn::Betas{lstm::beta1, lstm::beta2},
                                         lstm::eps);
    x = from_floats(in.x.data(), {s.seq, s.batch, s.hidden}, false);
    y = from_floats(in.y.data(), {s.batch, s.hidden}, false);
  }
  ag::Tensor step() {
    opt->zero_grad();
    const ag::nn::LSTMResult r = layer(x);
    ag::Tensor loss = ag::nn::mse_loss(ag::select(r.output, 0, static_cast<std::ptrdiff_t>(s.seq - 1)), y);
    loss.backward();
    opt->step();
    return loss;
  }
};

Result run_lstm(const lstm::Spec& s, const Options& opt) {
  const lstm::Init in = lstm::make_init(s);
  Result r;
  {
    LstmRun timed(s, in);
    r = measure([&] { timed.step(); }, opt);
  }
  LstmRun run(s, in);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < lstm::check_steps; ++i) {
    last = run.step().item();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const ag::Tensor& p : run.layer.layer_parameters(0)) append_checksums(r.check, p);
  return r;
}
}  // namespace

BENCH_SIDE(lstm_h32_t32_b1) { return run_lstm(lstm::h32_t32_b1(), opt); }
BENCH_SIDE(lstm_h128_t64_b32) { return run_lstm(lstm::h128_t64_b32(), opt); }
BENCH_SIDE(lstm_h512_t32_b64) { return run_lstm(lstm::h512_t32_b64(), opt); }
BENCH_SIDE(lstm_infer_h32_t32_b1) {  // the forward over the sequence, no grad
  const lstm::Spec s = lstm::h32_t32_b1();
  LstmRun run(s, lstm::make_init(s));
  ag::NoGradGuard no_grad;
  ag::Tensor last;
  Result r = measure([&] { last = ag::select(run.layer(run.x).output, 0, static_cast<std::ptrdiff_t>(s.seq - 1)); }, opt);
  append_checksums(r.check, last);
  return r;
}

// ---- transformer_*: nn::TransformerEncoder LM (batch_first), cross-entropy, AdamW --------------------
namespace {
// Copies parameters given by PyTorch name and layout into a module (Dense weights are stored
// transposed, [in, out]); every parameter of the module must be given.
void load_torch_layout(ag::nn::Module& m, const std::vector<transformer::Param>& params) {
  std::set<std::string> dense;
  for (const auto& [name, mod] : m.named_modules())
    if (dynamic_cast<const ag::nn::Dense*>(mod)) dense.insert(name + ".weight");
  const auto named = m.named_parameters();
  if (named.size() != params.size())
    throw std::runtime_error("transformer: " + std::to_string(named.size()) + " parameters, expected " +
                             std::to_string(params.size()));
  for (const transformer::Param& p : params) {
    auto it = std::find_if(named.begin(), named.end(), [&](const auto& e) { return e.first == p.name; });
    if (it == named.end()) throw std::runtime_error("transformer: no parameter " + p.name);
    ag::Tensor t = it->second;
    if (t.numel() != p.value.size()) throw std::runtime_error("transformer: size of " + p.name);
    float* dst = t.mutable_data<float>();
    if (dense.count(p.name)) {  // [out, in] -> [in, out]
      const std::size_t out = p.shape[0], in = p.shape[1];
      for (std::size_t o = 0; o < out; ++o)
        for (std::size_t i = 0; i < in; ++i) dst[i * out + o] = p.value[o * in + i];
    } else {
      std::copy(p.value.begin(), p.value.end(), dst);
    }
  }
}
// Checksums of the parameters' gradients in PyTorch's order and layout.
void append_torch_layout_grads(std::vector<double>& out, const ag::nn::Module& m,
                               const std::vector<transformer::Param>& params) {
  std::set<std::string> dense;
  for (const auto& [name, mod] : m.named_modules())
    if (dynamic_cast<const ag::nn::Dense*>(mod)) dense.insert(name + ".weight");
  const auto named = m.named_parameters();
  for (const transformer::Param& p : params) {
    auto it = std::find_if(named.begin(), named.end(), [&](const auto& e) { return e.first == p.name; });
    const ag::Tensor g = it->second.grad();
    const float* src = g.value<float>().data();
    std::vector<float> v(src, src + p.value.size());
    if (dense.count(p.name)) {
      const std::size_t o_n = p.shape[0], i_n = p.shape[1];
      for (std::size_t o = 0; o < o_n; ++o)
        for (std::size_t i = 0; i < i_n; ++i) v[o * i_n + i] = src[i * o_n + o];
    }
    bench::append_checksums(out, v.data(), v.size());
  }
}

struct TransformerRun {
  transformer::Spec s;
  std::shared_ptr<ag::nn::Embedding> embed;
  std::shared_ptr<ag::nn::TransformerEncoder> encoder;
  std::shared_ptr<ag::nn::Dense> head;
  std::unique_ptr<ag::nn::AdamW> opt;
  ag::Tensor ids, target, pe;  // [B, T] int64, [B·T] int64, [T, E]
  TransformerRun(const transformer::Spec& spec, const transformer::Init& in) : s(spec) {
    const std::size_t E = transformer::d_model, V = transformer::vocab;
    embed = std::make_shared<ag::nn::Embedding>(V, E);
    ag::Tensor w = embed->weight();
    std::copy(in.embedding.begin(), in.embedding.end(), w.mutable_data<float>());
    encoder = std::make_shared<ag::nn::TransformerEncoder>(
        ag::nn::TransformerLayerOptions(static_cast<int64_t>(E), static_cast<int64_t>(transformer::heads))
            .dim_feedforward(static_cast<int64_t>(transformer::ff))
            .dropout(0.0)
            .activation("relu")
            .batch_first(true)
            .norm_first(false),
        static_cast<int64_t>(transformer::layers));
    load_torch_layout(*encoder, in.encoder);
    head = dense(in.head);
    std::vector<ag::Tensor> params = embed->parameters();
    for (const ag::Tensor& t : encoder->parameters()) params.push_back(t);
    for (const ag::Tensor& t : head->parameters()) params.push_back(t);
    opt = std::make_unique<ag::nn::AdamW>(params, transformer::lr, ag::nn::Betas{transformer::beta1, transformer::beta2},
                                          transformer::eps, transformer::weight_decay);
    ids = ag::from_vector(in.ids, {s.batch, s.seq});
    target = ag::from_vector(in.target, {s.batch * s.seq});
    pe = from_floats(in.pe.data(), {s.seq, E}, false);
  }
  template <class AfterBackward = void (*)()> ag::Tensor step(AfterBackward&& after_backward = [] {}) {
    opt->zero_grad();
    const ag::Tensor x = (*embed)(ids) + pe;  // [B, T, E]
    const ag::Tensor h = (*encoder)(x);       // [B, T, E]
    const ag::Tensor logits = (*head)(h);     // [B, T, V]
    ag::Tensor loss = ag::nn::cross_entropy(ag::reshape(logits, {-1, static_cast<std::ptrdiff_t>(transformer::vocab)}),
                                            target);
    loss.backward();
    after_backward();
    opt->step();
    return loss;
  }
};

Result run_transformer(const transformer::Spec& s, const Options& opt) {
  const transformer::Init in = transformer::make_init(s);
  Result r;
  {
    TransformerRun timed(s, in);
    r = measure([&] { timed.step(); }, opt);
  }
  TransformerRun run(s, in);
  std::vector<double> grads;
  for (std::size_t i = 0; i < transformer::check_steps; ++i) {
    r.check.push_back(run.step([&] {
      if (i != 0) return;
      append_checksums(grads, run.embed->weight().grad());
      append_torch_layout_grads(grads, *run.encoder, in.encoder);
      const std::size_t nin = run.head->in_features(), nout = run.head->out_features();
      const float* g = run.head->weight().grad().value<float>().data();
      std::vector<float> t(nin * nout);
      for (std::size_t a = 0; a < nin; ++a)
        for (std::size_t b = 0; b < nout; ++b) t[b * nin + a] = g[a * nout + b];
      bench::append_checksums(grads, t.data(), t.size());
      append_checksums(grads, run.head->bias().grad());
    }).item());
  }
  r.check.insert(r.check.end(), grads.begin(), grads.end());
  return r;
}
}  // namespace

BENCH_SIDE(transformer_b16_t64) { return run_transformer(transformer::b16_t64(), opt); }
BENCH_SIDE(transformer_b1_t16) { return run_transformer(transformer::b1_t16(), opt); }

}  // namespace bench
