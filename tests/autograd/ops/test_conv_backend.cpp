// The convolution backends (ag/conv_backend.hpp): oneDNN and the portable im2col + GEMM path give
// the same float32 values for conv2d / conv1d / conv_transpose2d and all their gradients, on many
// geometries (stride, padding per side, dilation, groups, depthwise, 1×1, batch 1 and larger,
// unbatched; oneDNN's plain and blocked layouts), and both agree with the float64 portable
// result; second order through create_graph with oneDNN active; the selection API. Without
// oneDNN built in, only the portable checks run.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/values.hpp"

using opt::vals;

namespace {

// Sets the backend for one scope and restores the previous one.
struct BackendScope {
  ag::ConvBackend saved = ag::conv_backend();
  explicit BackendScope(ag::ConvBackend b) { ag::set_conv_backend(b); }
  ~BackendScope() { ag::set_conv_backend(saved); }
};

const bool kOnednn = ag::conv_backend_available(ag::ConvBackend::onednn);

// |got - want| <= eps·max(1, max|want|) element-wise: float32 sums reordered by a backend differ by
// a relative error of the whole sum's scale, not of each (possibly tiny) element.
void check_close(const ag::Tensor& got, const ag::Tensor& want, double eps, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = vals(got), w = vals(want);
  double scale = 1.0;
  for (double v : w) scale = std::max(scale, std::abs(v));
  double worst = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < w.size(); ++i)
    if (std::abs(g[i] - w[i]) > worst) worst = std::abs(g[i] - w[i]), at = i;
  CHECK_MESSAGE(worst <= eps * scale, "worst error " << worst << " at element " << at << " (scale " << scale << ")");
}

// A convolution with its three differentiable inputs (b may be undefined).
using ConvFn = std::function<ag::Tensor(const ag::Tensor&, const ag::Tensor&, const ag::Tensor&)>;

struct Case {
  std::string what;
  ag::Shape xs, ws;
  bool bias;
  ConvFn f;
};

// y and ∂⟨y, u⟩/∂(x, w, b) for dtype d under the current backend.
std::vector<ag::Tensor> run(const Case& c, const ag::Tensor& x64, const ag::Tensor& w64, const ag::Tensor& b64,
                            const ag::Tensor& u64, ag::DType d) {
  ag::Tensor x = x64.to(d).requires_grad_(), w = w64.to(d).requires_grad_();
  ag::Tensor b = c.bias ? b64.to(d).requires_grad_() : ag::Tensor();
  const ag::Tensor y = c.f(x, w, b);
  std::vector<ag::Tensor> inputs = {x, w};
  if (c.bias) inputs.push_back(b);
  std::vector<ag::Tensor> out = {y.detach()};
  for (const ag::Tensor& g : ag::grad({ag::sum(y * u64.to(d))}, inputs)) out.push_back(g);
  return out;
}

std::vector<Case> cases() {
  using O = ag::Conv2dOptions;
  auto c2 = [](O o) { return [o](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) { return ag::conv2d(x, w, b, o); }; };
  auto c1 = [](ag::Conv1dOptions o) {
    return [o](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) { return ag::conv1d(x, w, b, o); };
  };
  auto ct = [](ag::ConvTranspose2dOptions o) {
    return [o](const ag::Tensor& x, const ag::Tensor& w, const ag::Tensor& b) { return ag::conv_transpose2d(x, w, b, o); };
  };
  return {
      {"3×3, batch 1", {1, 3, 8, 8}, {4, 3, 3, 3}, true, c2(O())},
      {"3×3 padding 1, batch 5", {5, 3, 9, 7}, {6, 3, 3, 3}, true, c2(O().padding(1))},
      {"stride 2, padding 1", {2, 4, 9, 10}, {5, 4, 3, 3}, true, c2(O().stride(2).padding(1))},
      {"stride 3 dropping rows at the end", {2, 2, 10, 11}, {3, 2, 2, 2}, false, c2(O().stride(3))},
      {"per-axis stride, padding, dilation", {2, 2, 9, 11}, {3, 2, 2, 3}, true,
       c2(O().stride({2, 1}).padding({1, 2}).dilation({2, 3}))},
      {"dilation 2, padding 2", {3, 4, 12, 12}, {8, 4, 3, 3}, false, c2(O().dilation(2).padding(2))},
      {"groups 2", {2, 4, 7, 7}, {6, 2, 3, 3}, true, c2(O().groups(2))},
      {"groups 4, stride 2, dilation 2", {2, 8, 11, 11}, {8, 2, 3, 3}, true, c2(O().groups(4).stride(2).dilation(2).padding(1))},
      {"depthwise 3×3 padding 1", {4, 16, 10, 10}, {16, 1, 3, 3}, true, c2(O().groups(16).padding(1))},
      {"depthwise multiplier 2, stride 2", {2, 6, 9, 9}, {12, 1, 3, 3}, false, c2(O().groups(6).stride(2).padding(1))},
      {"1×1", {3, 16, 6, 5}, {8, 16, 1, 1}, true, c2(O())},
      {"1×1 stride 2", {2, 8, 7, 7}, {4, 8, 1, 1}, false, c2(O().stride(2))},
      {"padding per side", {2, 3, 6, 7}, {4, 3, 3, 2}, true, c2(O().padding(ag::Padding<2>::sides({0, 2, 1, 0})))},
      {"\"same\" with an even kernel and dilation", {2, 3, 7, 7}, {4, 3, 4, 2}, true, c2(O().padding("same").dilation({1, 2}))},
      {"5×5 on 1×28×28 (LeNet's first layer), batch 8", {8, 1, 28, 28}, {6, 1, 5, 5}, true, c2(O())},
      {"64→64 3×3 padding 1 on 16×16, batch 2", {2, 64, 16, 16}, {64, 64, 3, 3}, true, c2(O().padding(1))},
      {"24→20 channels (blocked layouts padded to 16-channel blocks), stride 2", {3, 24, 9, 9}, {20, 24, 3, 3}, true,
       c2(O().stride(2).padding(1))},
      {"groups 2 with 32 channels per group (blocked)", {2, 64, 6, 6}, {64, 32, 3, 3}, true, c2(O().groups(2).padding(1))},
      {"depthwise 20 channels (blocked depthwise kernel, padded block)", {2, 20, 7, 7}, {20, 1, 3, 3}, true,
       c2(O().groups(20).padding(1))},
      {"unbatched [C, H, W]", {3, 7, 6}, {5, 3, 3, 3}, true, c2(O().padding(1))},
      {"kernel as large as the input", {2, 3, 5, 5}, {4, 3, 5, 5}, true, c2(O())},
      {"conv1d: stride 2, padding 1, dilation 2", {3, 4, 20}, {6, 4, 3}, true,
       c1(ag::Conv1dOptions().stride(2).padding(1).dilation(2))},
      {"conv1d: groups 2, \"same\"", {2, 4, 11}, {4, 2, 4}, false, c1(ag::Conv1dOptions().groups(2).padding("same"))},
      {"conv_transpose2d: stride 2, padding 1, output_padding 1", {2, 4, 5, 5}, {4, 3, 3, 3}, true,
       ct(ag::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1))},
      {"conv_transpose2d: groups 2, dilation 2", {2, 4, 4, 6}, {4, 2, 3, 3}, true,
       ct(ag::ConvTranspose2dOptions().groups(2).dilation(2))},
  };
}

}  // namespace

TEST_CASE("conv backends: oneDNN and portable agree in float32 on values and gradients (x, w, b) over many geometries") {
  ag::Generator gen(31);
  for (const Case& c : cases()) {
    INFO(c.what);
    const ag::Tensor x64 = ag::randn(c.xs, gen, ag::f64), w64 = ag::randn(c.ws, gen, ag::f64);
    const ag::Tensor b64 = ag::randn({c.f(x64, w64, {}).shape()[c.xs.size() == 3 && c.ws.size() == 4 ? 0 : 1]}, gen, ag::f64);
    const ag::Tensor u64 = ag::randn(c.f(x64, w64, {}).shape(), gen, ag::f64);
    std::vector<ag::Tensor> want;
    {
      BackendScope s(ag::ConvBackend::portable);
      want = run(c, x64, w64, b64, u64, ag::f64);
    }
    std::vector<ag::Tensor> portable;
    {
      BackendScope s(ag::ConvBackend::portable);
      portable = run(c, x64, w64, b64, u64, ag::f32);
    }
    const char* names[] = {"y", "dx", "dw", "db"};
    for (std::size_t i = 0; i < want.size(); ++i) check_close(portable[i], want[i], 1e-5, std::string("portable f32 vs f64: ") + names[i]);
    if (!kOnednn) continue;
    BackendScope s(ag::ConvBackend::onednn);
    const ag::ConvKernelCounts before = ag::conv_kernel_counts();
    const std::vector<ag::Tensor> onednn = run(c, x64, w64, b64, u64, ag::f32);
    // every kernel (forward, input grad, weight grad) ran on oneDNN: none declined to the portable path
    CHECK(ag::conv_kernel_counts().onednn - before.onednn == 3);
    CHECK(ag::conv_kernel_counts().portable == before.portable);
    for (std::size_t i = 0; i < want.size(); ++i) {
      CHECK(onednn[i].dtype() == ag::f32);
      check_close(onednn[i], portable[i], 1e-4, std::string("oneDNN vs portable f32: ") + names[i]);
      check_close(onednn[i], want[i], 1e-5, std::string("oneDNN f32 vs portable f64: ") + names[i]);
    }
    // the same geometry again: the cached primitive gives the same values
    const std::vector<ag::Tensor> again = run(c, x64, w64, b64, u64, ag::f32);
    for (std::size_t i = 0; i < want.size(); ++i) check_close(again[i], onednn[i], 0.0, std::string("cached: ") + names[i]);
  }
}

TEST_CASE("conv backends: float32 second order (Hessian-vector product via create_graph) agrees between backends") {
  // f(x, w) = Σ conv2d(x, w)²·u: its gradient in x, differentiated again in x and w along v, runs
  // every kernel (forward, input grad, weight grad) a second time under create_graph.
  ag::Generator gen(32);
  const ag::Tensor x64 = ag::randn({2, 4, 9, 8}, gen, ag::f64), w64 = ag::randn({6, 2, 3, 3}, gen, ag::f64);
  const ag::Tensor v64 = ag::randn({2, 4, 9, 8}, gen, ag::f64);
  const auto opts = ag::Conv2dOptions().stride(2).padding(1).groups(2);
  auto hvp = [&](ag::DType d) {
    ag::Tensor x = x64.to(d).requires_grad_(), w = w64.to(d).requires_grad_();
    const ag::Tensor y = ag::conv2d(x, w, {}, opts);
    const ag::Tensor gx = ag::grad({ag::sum(ag::square(y))}, {x}, {}, true, true)[0];
    return ag::grad({ag::sum(gx * v64.to(d))}, {x, w});
  };
  std::vector<ag::Tensor> want, portable;
  {
    BackendScope s(ag::ConvBackend::portable);
    want = hvp(ag::f64);
    portable = hvp(ag::f32);
  }
  for (std::size_t i = 0; i < 2; ++i) check_close(portable[i], want[i], 1e-5, "portable f32 vs f64");
  if (!kOnednn) return;
  BackendScope s(ag::ConvBackend::onednn);
  const ag::ConvKernelCounts before = ag::conv_kernel_counts();
  const std::vector<ag::Tensor> onednn = hvp(ag::f32);
  CHECK(ag::conv_kernel_counts().onednn > before.onednn);
  CHECK(ag::conv_kernel_counts().portable == before.portable);
  for (std::size_t i = 0; i < 2; ++i) {
    check_close(onednn[i], portable[i], 1e-4, "oneDNN vs portable f32");
    check_close(onednn[i], want[i], 1e-5, "oneDNN f32 vs f64");
  }
}

TEST_CASE("conv backends: oneDNN from several threads at once (per-thread primitive caches and streams)") {
  if (!kOnednn) return;
  BackendScope s(ag::ConvBackend::onednn);
  ag::Generator gen(33);
  const ag::Tensor x = ag::randn({4, 8, 12, 12}, gen, ag::f32), w = ag::randn({8, 8, 3, 3}, gen, ag::f32);
  const std::vector<double> want = vals(ag::conv2d(x, w, {}, 1, 1));
  std::vector<std::vector<double>> got(3);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 5; ++r) got[t] = vals(ag::conv2d(x, w, {}, 1, 1));
    });
  for (std::thread& t : threads) t.join();
  for (const auto& g : got) CHECK(g == want);
}

TEST_CASE("conv backends: selection API and float64 staying portable") {
  const ag::ConvBackend saved = ag::conv_backend();
  CHECK(ag::conv_backend_available(ag::ConvBackend::portable));
  CHECK(ag::conv_backend_available(ag::ConvBackend::automatic));
  {
    BackendScope s(ag::ConvBackend::portable);
    CHECK(ag::conv_backend() == ag::ConvBackend::portable);
    CHECK(ag::conv_backend_info().rfind("portable", 0) == 0);
    const ag::ConvKernelCounts before = ag::conv_kernel_counts();
    ag::conv2d(ag::ones({1, 2, 4, 4}, ag::f32), ag::ones({3, 2, 3, 3}, ag::f32));
    CHECK(ag::conv_kernel_counts().portable == before.portable + 1);
    CHECK(ag::conv_kernel_counts().onednn == before.onednn);
  }
  CHECK(ag::conv_backend() == saved);
  if (kOnednn) {
    BackendScope s(ag::ConvBackend::onednn);
    CHECK(ag::conv_backend() == ag::ConvBackend::onednn);
    CHECK(ag::conv_backend_info().rfind("oneDNN 2.", 0) == 0);
    // float64 has no oneDNN kernel: the same values as the portable path, bit for bit
    ag::Generator gen(34);
    const ag::Tensor x = ag::randn({2, 3, 7, 7}, gen, ag::f64), w = ag::randn({4, 3, 3, 3}, gen, ag::f64);
    const ag::ConvKernelCounts before = ag::conv_kernel_counts();
    const std::vector<double> on = vals(ag::conv2d(x, w, {}, 2, 1));
    CHECK(ag::conv_kernel_counts().portable == before.portable + 1);
    CHECK(ag::conv_kernel_counts().onednn == before.onednn);
    ag::set_conv_backend(ag::ConvBackend::portable);
    CHECK(vals(ag::conv2d(x, w, {}, 2, 1)) == on);
  } else {
    CHECK_THROWS_AS(ag::set_conv_backend(ag::ConvBackend::onednn), ag::ValueError);
    CHECK(ag::conv_backend() == saved);
  }
}
