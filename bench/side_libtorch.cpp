// The libtorch side (optional: built only when find_package(Torch) succeeds). Pinned to one
// thread (or OMP_NUM_THREADS threads: bench/run --threads N); each workload mirrors the tapegrad
// one line for line.
#include <torch/torch.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "libtorch";
std::vector<std::pair<std::string, std::string>> side_info() {
  const char* env = std::getenv("OMP_NUM_THREADS");  // bench/run sets it (1 unless --threads N)
  const int threads = env && std::atoi(env) > 0 ? std::atoi(env) : 1;
  at::set_num_threads(threads);  // before any work
  at::set_num_interop_threads(1);
  return {{"torch_version", TORCH_VERSION}, {"torch_threads", std::to_string(at::get_num_threads())}};
}

namespace {
torch::Tensor from_floats(const float* p, std::vector<int64_t> shape, bool requires_grad) {
  return torch::from_blob(const_cast<float*>(p), shape, torch::kFloat32).clone().requires_grad_(requires_grad);
}
void append_values(std::vector<double>& out, const torch::Tensor& t) {
  auto c = t.contiguous();
  const float* p = c.data_ptr<float>();
  out.insert(out.end(), p, p + c.numel());
}
void append_checksums(std::vector<double>& out, const torch::Tensor& t) {
  auto c = t.contiguous();
  bench::append_checksums(out, c.data_ptr<float>(), static_cast<std::size_t>(c.numel()));
}
// A Linear layer with the shared initial weights (LayerInit's [out, in] is torch's layout).
torch::nn::Linear linear(const LayerInit& L) {
  torch::nn::Linear lin(static_cast<int64_t>(L.in), static_cast<int64_t>(L.out));
  torch::NoGradGuard no_grad;
  lin->weight.copy_(torch::from_blob(const_cast<float*>(L.w.data()),
                                     {static_cast<int64_t>(L.out), static_cast<int64_t>(L.in)}, torch::kFloat32));
  lin->bias.copy_(torch::from_blob(const_cast<float*>(L.b.data()), {static_cast<int64_t>(L.out)}, torch::kFloat32));
  return lin;
}
void append_layer(std::vector<double>& out, const torch::nn::Linear& lin) {
  append_checksums(out, lin->weight.detach());
  append_checksums(out, lin->bias.detach());
}
// A Conv2d layer with the shared initial weights (ConvInit's [out, in, k, k] is torch's layout).
torch::nn::Conv2d conv_module(const ConvInit& L) {
  const auto in = static_cast<int64_t>(L.in), out = static_cast<int64_t>(L.out), k = static_cast<int64_t>(L.k);
  torch::nn::Conv2d c(torch::nn::Conv2dOptions(in, out, k).padding(static_cast<int64_t>(L.pad)));
  torch::NoGradGuard no_grad;
  c->weight.copy_(torch::from_blob(const_cast<float*>(L.w.data()), {out, in, k, k}, torch::kFloat32));
  c->bias.copy_(torch::from_blob(const_cast<float*>(L.b.data()), {out}, torch::kFloat32));
  return c;
}
}  // namespace

BENCH_SIDE(tiny_graph) {
  torch::Tensor a = from_floats(tiny_graph::a, {3}, true);
  torch::Tensor b = from_floats(tiny_graph::b, {3}, true);
  torch::Tensor y;
  auto step = [&] {
    a.mutable_grad().reset();  // set to none
    b.mutable_grad().reset();
    y = (a * b + a).sum();
    y.backward();
  };
  Result r = time_it(step, opt);
  step();
  r.check.push_back(y.item<float>());
  append_values(r.check, a.grad());
  append_values(r.check, b.grad());
  return r;
}

BENCH_SIDE(matmul_fb) {
  const auto n = static_cast<int64_t>(matmul_fb::n);
  std::vector<float> buf(matmul_fb::n * matmul_fb::n);
  fill_uniform(buf.data(), buf.size(), matmul_fb::seed_a);
  torch::Tensor A = from_floats(buf.data(), {n, n}, true);
  fill_uniform(buf.data(), buf.size(), matmul_fb::seed_b);
  torch::Tensor B = from_floats(buf.data(), {n, n}, true);
  fill_uniform(buf.data(), buf.size(), matmul_fb::seed_g);
  torch::Tensor G = from_floats(buf.data(), {n, n}, false);
  torch::Tensor C;
  auto step = [&] {
    A.mutable_grad().reset();
    B.mutable_grad().reset();
    C = torch::matmul(A, B);
    C.backward(G);
  };
  Result r = time_it(step, opt);
  step();
  append_checksums(r.check, C.detach());
  append_checksums(r.check, A.grad());
  append_checksums(r.check, B.grad());
  return r;
}

// ---- seed_sgd: one row per step, the tutorial's loop ---------------------------------------------
namespace {
struct SeedNet {
  torch::nn::Linear fc1, fc2;
  torch::nn::Sequential model;
  std::unique_ptr<torch::optim::SGD> opt;
  std::vector<torch::Tensor> x, t;  // per row: [1, 3] and [1, 1]
  std::size_t row = 0;
  SeedNet(const seed_sgd::Data& d, const std::vector<LayerInit>& init)
      : fc1(linear(init[0])), fc2(linear(init[1])), model(fc1, torch::nn::Sigmoid(), fc2) {
    opt = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(seed_sgd::lr));
    for (std::size_t r = 0; r < seed_sgd::rows; ++r) {
      x.push_back(from_floats(&d.x[r * seed_sgd::in], {1, static_cast<int64_t>(seed_sgd::in)}, false));
      t.push_back(from_floats(&d.t[r], {1, 1}, false));
    }
  }
  torch::Tensor step() {  // one row: returns its loss (read only by the check)
    opt->zero_grad();
    torch::Tensor loss = torch::mse_loss(model->forward(x[row]), t[row]);
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
  Result r = time_it([&] { timed.step(); }, opt);
  SeedNet net(data, init);
  double first = 0, last = 0;
  for (std::size_t e = 0; e < seed_sgd::epochs; ++e) {
    double s = 0;
    for (std::size_t k = 0; k < seed_sgd::rows; ++k) s += net.step().item<float>();
    if (e == 0) first = s / seed_sgd::rows;
    last = s / seed_sgd::rows;
  }
  r.check = {first, last};
  append_layer(r.check, net.fc1);
  append_layer(r.check, net.fc2);
  return r;
}

// ---- mlp_*: mini-batch classifier training --------------------------------------------------------
namespace {
struct MlpImpl : torch::nn::Module {
  std::vector<torch::nn::Linear> fc;
  explicit MlpImpl(const std::vector<LayerInit>& init) {
    for (std::size_t l = 0; l < init.size(); ++l)
      fc.push_back(register_module("fc" + std::to_string(l), linear(init[l])));
  }
  torch::Tensor forward(torch::Tensor h) {
    for (std::size_t l = 0; l + 1 < fc.size(); ++l) h = torch::relu(fc[l]->forward(h));
    return fc.back()->forward(h);
  }
};

struct MlpRun {
  std::shared_ptr<MlpImpl> model;
  torch::optim::SGD opt;
  std::vector<torch::Tensor> x, y;  // per batch: [B, in] float and [B] int64 class indices
  std::size_t k = 0;
  MlpRun(const mlp::Spec& s, const mlp::Data& d)
      : model(std::make_shared<MlpImpl>(mlp_init(s.sizes, s.seed))),
        opt(model->parameters(), torch::optim::SGDOptions(mlp::lr).momentum(mlp::momentum)) {
    const auto B = static_cast<int64_t>(s.batch);
    for (std::size_t b = 0; b < mlp::batches; ++b) {
      x.push_back(from_floats(d.x[b].data(), {B, static_cast<int64_t>(s.sizes.front())}, false));
      std::vector<int64_t> lab(d.label[b].begin(), d.label[b].end());
      y.push_back(torch::from_blob(lab.data(), {B}, torch::kInt64).clone());
    }
  }
  torch::Tensor step() {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x[k]), y[k]);
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
    r = time_it([&] { timed.step(); }, opt);
  }
  MlpRun run(s, data);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < mlp::check_steps; ++i) {
    last = run.step().item<float>();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& l : run.model->fc) append_layer(r.check, l);
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
  std::vector<torch::nn::Conv2d> conv;
  std::vector<torch::nn::Linear> fc;
  torch::nn::Sequential model;  // [Conv2d, ReLU, MaxPool2d]*, Flatten, [Linear, ReLU]*, Linear
  std::unique_ptr<torch::optim::SGD> opt;
  std::vector<torch::Tensor> x, y;  // per batch: [B, C, H, W] float and [B] int64 class indices
  std::size_t k = 0;
  CnnRun(const cnn::Spec& s, const mlp::Data& d) {
    const cnn::Init init = cnn::make_init(s);
    for (const ConvInit& c : init.conv) {
      conv.push_back(conv_module(c));
      model->push_back(conv.back());
      model->push_back(torch::nn::ReLU());
      model->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
    }
    model->push_back(torch::nn::Flatten());
    for (std::size_t l = 0; l < init.dense.size(); ++l) {
      fc.push_back(linear(init.dense[l]));
      model->push_back(fc.back());
      if (l + 1 < init.dense.size()) model->push_back(torch::nn::ReLU());
    }
    opt = std::make_unique<torch::optim::SGD>(model->parameters(),
                                              torch::optim::SGDOptions(cnn::lr).momentum(cnn::momentum));
    const auto B = static_cast<int64_t>(s.batch);
    for (std::size_t b = 0; b < mlp::batches; ++b) {
      x.push_back(from_floats(d.x[b].data(), {B, static_cast<int64_t>(s.channels), static_cast<int64_t>(s.height),
                                              static_cast<int64_t>(s.width)}, false));
      std::vector<int64_t> lab(d.label[b].begin(), d.label[b].end());
      y.push_back(torch::from_blob(lab.data(), {B}, torch::kInt64).clone());
    }
  }
  torch::Tensor step() {
    opt->zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x[k]), y[k]);
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
    r = time_it([&] { timed.step(); }, opt);
  }
  CnnRun run(s, data);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < mlp::check_steps; ++i) {
    last = run.step().item<float>();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& c : run.conv) {
    append_checksums(r.check, c->weight.detach());
    append_checksums(r.check, c->bias.detach());
  }
  for (const auto& l : run.fc) append_layer(r.check, l);
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
  torch::nn::Conv2d conv;
  torch::optim::SGD opt;
  torch::Tensor x, g, y;
  explicit ConvLayerRun(const conv_layer::Data& d)
      : conv(conv_module(d.init)), opt(conv->parameters(), torch::optim::SGDOptions(conv_layer::lr)) {
    using namespace conv_layer;
    const std::vector<int64_t> shape{int64_t{n}, int64_t{c}, int64_t{h}, int64_t{w}};
    x = from_floats(d.x.data(), shape, true);
    g = from_floats(d.g.data(), shape, false);
  }
  void step() {
    opt.zero_grad();
    x.mutable_grad().reset();
    y = conv->forward(x);
    y.backward(g);
    opt.step();
  }
};
}  // namespace

BENCH_SIDE(conv_layer) {
  const conv_layer::Data data = conv_layer::make_data();
  Result r;
  {
    ConvLayerRun timed(data);
    r = time_it([&] { timed.step(); }, opt);
  }
  ConvLayerRun run(data);
  for (std::size_t i = 0; i < conv_layer::check_steps; ++i) run.step();
  append_checksums(r.check, run.y.detach());
  append_checksums(r.check, run.x.grad());
  append_checksums(r.check, run.conv->weight.detach());
  append_checksums(r.check, run.conv->bias.detach());
  return r;
}

// ---- lstm_*: torch::nn::LSTM over a sequence, MSE of the last hidden state, Adam --------------------
namespace {
struct LstmRun {
  lstm::Spec s;
  torch::nn::LSTM layer;
  std::unique_ptr<torch::optim::Adam> opt;
  torch::Tensor x, y;  // [T, B, H], [B, H]
  LstmRun(const lstm::Spec& spec, const lstm::Init& in)
      : s(spec),
        layer(torch::nn::LSTMOptions(static_cast<int64_t>(spec.hidden), static_cast<int64_t>(spec.hidden))) {
    const auto H = static_cast<int64_t>(s.hidden);
    {
      torch::NoGradGuard no_grad;
      layer->named_parameters()["weight_ih_l0"].copy_(
          torch::from_blob(const_cast<float*>(in.w_ih.data()), {4 * H, H}, torch::kFloat32));
      layer->named_parameters()["weight_hh_l0"].copy_(
          torch::from_blob(const_cast<float*>(in.w_hh.data()), {4 * H, H}, torch::kFloat32));
      layer->named_parameters()["bias_ih_l0"].copy_(
          torch::from_blob(const_cast<float*>(in.b_ih.data()), {4 * H}, torch::kFloat32));
      layer->named_parameters()["bias_hh_l0"].copy_(
          torch::from_blob(const_cast<float*>(in.b_hh.data()), {4 * H}, torch::kFloat32));
    }
    opt = std::make_unique<torch::optim::Adam>(
        layer->parameters(),
        torch::optim::AdamOptions(lstm::lr).betas(std::make_tuple(lstm::beta1, lstm::beta2)).eps(lstm::eps));
    x = from_floats(in.x.data(), {static_cast<int64_t>(s.seq), static_cast<int64_t>(s.batch), H}, false);
    y = from_floats(in.y.data(), {static_cast<int64_t>(s.batch), H}, false);
  }
  torch::Tensor step() {
    opt->zero_grad();
    torch::Tensor out = std::get<0>(layer->forward(x));  // [T, B, H]
    torch::Tensor loss = torch::mse_loss(out[static_cast<int64_t>(s.seq) - 1], y);
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
    r = time_it([&] { timed.step(); }, opt);
  }
  LstmRun run(s, in);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < lstm::check_steps; ++i) {
    last = run.step().item<float>();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const char* name : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"})
    append_checksums(r.check, run.layer->named_parameters()[name].detach());
  return r;
}
}  // namespace

BENCH_SIDE(lstm_h32_t32_b1) { return run_lstm(lstm::h32_t32_b1(), opt); }
BENCH_SIDE(lstm_h128_t64_b32) { return run_lstm(lstm::h128_t64_b32(), opt); }
BENCH_SIDE(lstm_h512_t32_b64) { return run_lstm(lstm::h512_t32_b64(), opt); }
BENCH_SIDE(lstm_infer_h32_t32_b1) {  // the forward over the sequence, no grad
  const lstm::Spec s = lstm::h32_t32_b1();
  LstmRun run(s, lstm::make_init(s));
  torch::NoGradGuard no_grad;
  torch::Tensor last;
  Result r = time_it([&] { last = std::get<0>(run.layer->forward(run.x))[static_cast<int64_t>(s.seq) - 1]; }, opt);
  append_checksums(r.check, last.contiguous());
  return r;
}

// ---- transformer_*: torch::nn::TransformerEncoder LM, cross-entropy, AdamW --------------------------
// Sequence-first throughout (libtorch 1.13's C++ layers have no batch_first): ids [T, B].
namespace {
struct TransformerRun {
  transformer::Spec s;
  torch::nn::Embedding embed;
  torch::nn::TransformerEncoder encoder;
  torch::nn::Linear head;
  std::unique_ptr<torch::optim::AdamW> opt;
  torch::Tensor ids, target, pe;  // [T, B], [T·B], [T, 1, E]
  TransformerRun(const transformer::Spec& spec, const transformer::Init& in)
      : s(spec),
        embed(static_cast<int64_t>(transformer::vocab), static_cast<int64_t>(transformer::d_model)),
        encoder(torch::nn::TransformerEncoderOptions(
            torch::nn::TransformerEncoderLayerOptions(static_cast<int64_t>(transformer::d_model),
                                                      static_cast<int64_t>(transformer::heads))
                .dim_feedforward(static_cast<int64_t>(transformer::ff))
                .dropout(0.0)
                .activation(torch::kReLU),
            static_cast<int64_t>(transformer::layers))),
        head(linear(in.head)) {
    const auto T = static_cast<int64_t>(s.seq), B = static_cast<int64_t>(s.batch);
    const auto E = static_cast<int64_t>(transformer::d_model), V = static_cast<int64_t>(transformer::vocab);
    {
      torch::NoGradGuard no_grad;
      auto named = encoder->named_parameters();
      if (named.size() != in.encoder.size()) throw std::runtime_error("transformer: parameter count differs");
      for (const transformer::Param& p : in.encoder) {
        torch::Tensor t = named[p.name];  // throws on an unknown name
        std::vector<int64_t> shape(p.shape.begin(), p.shape.end());
        t.copy_(torch::from_blob(const_cast<float*>(p.value.data()), shape, torch::kFloat32));
      }
      embed->weight.copy_(torch::from_blob(const_cast<float*>(in.embedding.data()), {V, E}, torch::kFloat32));
    }
    std::vector<torch::Tensor> params = embed->parameters();
    for (const auto& t : encoder->parameters()) params.push_back(t);
    for (const auto& t : head->parameters()) params.push_back(t);
    opt = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(transformer::lr)
                                                            .betas(std::make_tuple(transformer::beta1, transformer::beta2))
                                                            .eps(transformer::eps)
                                                            .weight_decay(transformer::weight_decay));
    torch::Tensor ids_bt = torch::from_blob(const_cast<std::int64_t*>(in.ids.data()), {B, T}, torch::kInt64);
    torch::Tensor tgt_bt = torch::from_blob(const_cast<std::int64_t*>(in.target.data()), {B, T}, torch::kInt64);
    ids = ids_bt.t().contiguous();
    target = tgt_bt.t().contiguous().reshape({T * B});
    pe = torch::from_blob(const_cast<float*>(in.pe.data()), {T, 1, E}, torch::kFloat32).clone();
  }
  template <class AfterBackward = void (*)()> torch::Tensor step(AfterBackward&& after_backward = [] {}) {
    opt->zero_grad();
    torch::Tensor x = embed(ids) + pe;               // [T, B, E]
    torch::Tensor h = encoder(x);                    // [T, B, E]
    torch::Tensor logits = head(h);                  // [T, B, V]
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, static_cast<int64_t>(transformer::vocab)}), target);
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
    r = time_it([&] { timed.step(); }, opt);
  }
  TransformerRun run(s, in);
  std::vector<double> grads;
  for (std::size_t i = 0; i < transformer::check_steps; ++i) {
    r.check.push_back(run.step([&] {
      if (i != 0) return;
      append_checksums(grads, run.embed->weight.grad());
      auto named = run.encoder->named_parameters();
      for (const transformer::Param& p : in.encoder) append_checksums(grads, named[p.name].grad());
      append_checksums(grads, run.head->weight.grad());
      append_checksums(grads, run.head->bias.grad());
    }).item<float>());
  }
  r.check.insert(r.check.end(), grads.begin(), grads.end());
  return r;
}
}  // namespace

BENCH_SIDE(transformer_b16_t64) { return run_transformer(transformer::b16_t64(), opt); }
BENCH_SIDE(transformer_b1_t16) { return run_transformer(transformer::b1_t16(), opt); }

}  // namespace bench
