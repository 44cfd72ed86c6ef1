// The tapegrad side: each workload written the way a user would, through the public API.
#include <ag/ag.hpp>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "tapegrad";
std::vector<std::pair<std::string, std::string>> side_info() { return {}; }

namespace {
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
  Result r = time_it(step, opt);
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
  Result r = time_it(step, opt);
  step();
  append_checksums(r.check, C);
  append_checksums(r.check, A.grad());
  append_checksums(r.check, B.grad());
  return r;
}

}  // namespace bench
