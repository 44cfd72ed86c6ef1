#include <cmath>

#include <ag/ag.hpp>

int main() {
  // f(w) = sum((x·w)²) for a fixed x; its gradient is ∂f/∂w = 2·xᵀ(x·w).
  ag::Tensor x({{1, 2}, {3, 4}}, ag::f64);
  ag::Tensor w({0.5, -1.0}, ag::f64, /*requires_grad=*/true);
  ag::Tensor f = ag::sum(ag::square(ag::matmul(x, w)));  // x·w = [-1.5, -2.5], f = 8.5
  f.backward();

  fmt::print("f = {}\ndf/dw = {}\n", f.item(), w.grad());
  const auto& g = w.grad().value<double>();  // 2·xᵀ·[-1.5, -2.5] = [-18, -26]
  const bool ok = std::abs(g(0) + 18.0) < 1e-12 && std::abs(g(1) + 26.0) < 1e-12;
  return ok ? 0 : 1;
}
