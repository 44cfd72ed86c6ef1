// bench_transforms: what the functional transforms and checkpointing cost, as a table (run by
// hand or by `bench/run --transforms`; not part of the side-by-side comparison).
//
// 1. On the mlp_mnist model (784-256-256-10, ReLU, softmax cross-entropy, float32, batch 64), the
//    time of forward only, forward + backward (Tensor::backward), ag::vjp, ag::jvp and ag::hvp
//    w.r.t. all parameters, each including its forward, and each relative to forward + backward.
//    jvp and hvp are built on the double-VJP identity (a backward under create_graph, then a
//    backward through it), so about 2-4 backwards are expected.
// 2. A 32-layer tanh MLP (width 256, batch 64, float32): forward + backward without checkpointing
//    and with nn::checkpoint_sequential every k layers: peak tape bytes (ag::Profiler), time, and
//    whether the gradients are bit-identical to the plain ones.
//
//   bench_transforms [--samples N]     (median of N timed runs after one warm-up; default 7)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ag/ag.hpp>
#include <ag/checkpoint.hpp>
#include <ag/functional.hpp>
#include <ag/nn.hpp>
#include <ag/profiler.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double median_ms(int samples, const std::function<void()>& run) {
  run();  // warm-up
  std::vector<double> t;
  for (int s = 0; s < samples; ++s) {
    const auto t0 = Clock::now();
    run();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// ---- 1. transforms on the mlp_mnist model ---------------------------------------------------------
void transforms(int samples) {
  const std::vector<std::size_t> sizes{784, 256, 256, 10};
  const std::size_t batch = 64;
  ag::Generator gen(300);
  std::vector<ag::Tensor> params;  // w0, b0, w1, b1, w2, b2
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(sizes[l]));
    params.push_back((ag::randn({sizes[l], sizes[l + 1]}, gen, ag::f32) * scale).detach().requires_grad_());
    params.push_back(ag::zeros({sizes[l + 1]}, ag::f32).requires_grad_());
  }
  const ag::Tensor x = ag::rand({batch, sizes.front()}, gen, ag::f32);
  std::vector<std::size_t> labels(batch);
  for (std::size_t r = 0; r < batch; ++r) labels[r] = gen.below(sizes.back());

  const auto loss = [&](const std::vector<ag::Tensor>& p) {
    ag::Tensor h = x;
    for (std::size_t l = 0; l < p.size() / 2; ++l) {
      h = ag::matmul(h, p[2 * l]) + p[2 * l + 1];
      if (2 * l + 2 < p.size()) h = ag::relu(h);
    }
    return ag::nn::cross_entropy(h, labels);
  };
  std::vector<ag::Tensor> v;  // tangents / hvp directions, one per parameter
  for (const ag::Tensor& p : params) v.push_back(ag::randn(p.shape(), gen, ag::f32));

  const double fwd = median_ms(samples, [&] { ag::no_grad([&] { return loss(params); }); });
  const double bwd = median_ms(samples, [&] {
    for (ag::Tensor& p : params) p.zero_grad();
    loss(params).backward();
  });
  const double vjp = median_ms(samples, [&] { ag::vjp(loss, ag::TensorList(params)); });
  const double jvp = median_ms(samples, [&] { ag::jvp(loss, ag::TensorList(params), ag::TensorList(v)); });
  const double hvp = median_ms(samples, [&] { ag::hvp(loss, ag::TensorList(params), ag::TensorList(v)); });

  fmt::print("## transforms: mlp_mnist model (784-256-256-10, ReLU, cross-entropy), float32, batch {}\n\n", batch);
  fmt::print("| what (each includes its forward) | ms (median of {}) | / forward+backward |\n|---|---:|---:|\n", samples);
  const auto line = [&](const char* what, double ms) { fmt::print("| {} | {:.3f} | {:.2f} |\n", what, ms, ms / bwd); };
  line("forward only (no_grad)", fwd);
  line("forward + backward (Tensor::backward)", bwd);
  line("ag::vjp (v = 1)", vjp);
  line("ag::jvp (double-VJP)", jvp);
  line("ag::hvp (backward under create_graph + backward)", hvp);
  fmt::print("\n");
}

// ---- 2. checkpointing a 32-layer MLP ----------------------------------------------------------------
struct Run {
  std::size_t peak_bytes = 0;
  double ms = 0.0;
  std::vector<std::vector<float>> grads;
};

void checkpointing(int samples) {
  const std::size_t layers = 32, width = 256, batch = 64;
  ag::Generator gen(7);
  auto model = std::make_shared<ag::nn::Sequential>();
  for (std::size_t l = 0; l < layers; ++l) {
    model->push_back(std::make_shared<ag::nn::Dense>(width, width, gen));
    model->push_back(std::make_shared<ag::nn::Tanh>());
  }
  const ag::Tensor x = ag::randn({batch, width}, gen, ag::f32);
  const auto params = model->parameters();

  // k = 0: no checkpointing; otherwise segments of k layers (2k modules: Dense, Tanh)
  const auto step = [&](std::size_t k) {
    for (ag::Tensor p : params) p.zero_grad();
    const ag::Tensor y = k == 0 ? (*model)(x) : ag::nn::checkpoint_sequential(*model, layers / k, x);
    ag::sum(ag::square(y)).backward();
  };
  const auto measure = [&](std::size_t k) {
    Run r;
    {
      ag::Profiler prof;
      step(k);
      prof.stop();
      r.peak_bytes = prof.peak_tape_bytes();
    }
    for (const ag::Tensor& p : params) r.grads.push_back(p.grad().to_vector<float>());
    r.ms = median_ms(samples, [&] { step(k); });
    return r;
  };

  fmt::print("## checkpointing: {}-layer tanh MLP, width {}, float32, batch {}, loss = sum(y²)\n\n", layers, width, batch);
  fmt::print("| checkpoint every | segments | peak tape MB | / plain | forward+backward ms | / plain | gradients |\n");
  fmt::print("|---|---:|---:|---:|---:|---:|---|\n");
  const Run plain = measure(0);
  fmt::print("| none | - | {:.2f} | 1.00 | {:.2f} | 1.00 | - |\n", plain.peak_bytes / 1e6, plain.ms);
  for (std::size_t k : {1, 2, 4, 8, 16}) {
    const Run r = measure(k);
    const bool same = r.grads == plain.grads;  // bit-identical
    fmt::print("| {} layers | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {} |\n", k, layers / k, r.peak_bytes / 1e6,
               static_cast<double>(r.peak_bytes) / static_cast<double>(plain.peak_bytes), r.ms, r.ms / plain.ms,
               same ? "bit-identical" : "DIFFERENT");
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int samples = 7;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
      samples = std::max(1, std::atoi(argv[++i]));
    } else {
      fmt::print(stderr, "usage: bench_transforms [--samples N]\n");
      return 2;
    }
  }
  transforms(samples);
  checkpointing(samples);
  return 0;
}
