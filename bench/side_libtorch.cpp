// The libtorch side (optional: built only when find_package(Torch) succeeds). Pinned to one
// thread; each workload mirrors the tapegrad one line for line.
#include <torch/torch.h>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "libtorch";
std::vector<std::pair<std::string, std::string>> side_info() {
  at::set_num_threads(1);  // before any work; bench/run also sets OMP_NUM_THREADS=1
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

}  // namespace bench
