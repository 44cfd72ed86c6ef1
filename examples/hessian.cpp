// Newton's method with ag::hessian, next to plain gradient descent, on a two-class logistic
// regression (two overlapping Gaussian blobs, seeded, so the maximum-likelihood weights are finite).
//
// The loss L(w) = mean(softplus(X·w) − y ⊙ X·w) + λ/2·|w|² is convex; Newton's step
// w ← w − H⁻¹∇L (H = ag::hessian of L, a [4, 4] matrix here) converges quadratically, in a handful
// of steps, where gradient descent is still far after the same number. Exits non-zero otherwise.
#include <cmath>
#include <cstdio>
#include <vector>

#include <fmt/core.h>

#include <ag/ag.hpp>

namespace {

constexpr std::size_t kPerClass = 100;
constexpr std::size_t kFeatures = 3;  // + a column of ones for the bias
constexpr int kSteps = 8;
constexpr double kLambda = 1e-3;
constexpr double kLearningRate = 1.0;

// Solves A·x = b for a small symmetric positive definite A (Gaussian elimination, partial pivoting).
std::vector<double> solve(std::vector<double> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[p * n + c])) p = r;
    for (std::size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[p * n + k]);
    std::swap(b[c], b[p]);
    for (std::size_t r = c + 1; r < n; ++r) {
      const double m = a[r * n + c] / a[c * n + c];
      for (std::size_t k = c; k < n; ++k) a[r * n + k] -= m * a[c * n + k];
      b[r] -= m * b[c];
    }
  }
  std::vector<double> x(n);
  for (std::size_t r = n; r-- > 0;) {
    double s = b[r];
    for (std::size_t k = r + 1; k < n; ++k) s -= a[r * n + k] * x[k];
    x[r] = s / a[r * n + r];
  }
  return x;
}

}  // namespace

int main() {
  // Class 0 around (−1, −0.5, 0), class 1 around (1, 0.5, 0.5), unit variance: they overlap.
  ag::Generator gen(7);
  const std::size_t n = 2 * kPerClass, d = kFeatures + 1;
  std::vector<double> xs, ys;
  const double centre[2][kFeatures] = {{-1.0, -0.5, 0.0}, {1.0, 0.5, 0.5}};
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % 2;
    for (std::size_t k = 0; k < kFeatures; ++k) xs.push_back(centre[c][k] + gen.normal());
    xs.push_back(1.0);
    ys.push_back(static_cast<double>(c));
  }
  const ag::Tensor X = ag::from_vector(xs, {n, d});  // [200, 4], float64
  const ag::Tensor y = ag::from_vector(ys, {n});       // [200]

  auto loss = [&](const ag::Tensor& w) {
    const ag::Tensor z = ag::matmul(X, w);  // [n]
    return ag::mean(ag::softplus(z) - y * z) + 0.5 * kLambda * ag::sum(w * w);
  };

  ag::Tensor w_newton = ag::zeros({d}, ag::f64), w_gd = ag::zeros({d}, ag::f64);
  std::printf("step  loss (Newton)          loss (gradient descent, lr %.1f)\n", kLearningRate);
  double grad_norm = 0.0;
  for (int step = 0; step <= kSteps; ++step) {
    std::printf("%4d  %.15f  %.15f\n", step, loss(w_newton).item(), loss(w_gd).item());
    if (step == kSteps) break;
    // Newton: H·Δ = ∇L, w ← w − Δ
    const auto [value, g] = ag::vjp(loss, w_newton);
    const ag::Tensor H = ag::hessian(loss, w_newton);
    const std::vector<double> delta = solve(H.to_vector<double>(), g.to_vector<double>());
    w_newton = w_newton - ag::from_vector(delta, {d});
    grad_norm = std::sqrt(ag::sum(g * g).item());
    // gradient descent: w ← w − lr·∇L
    w_gd = w_gd - kLearningRate * ag::vjp(loss, w_gd).vjp;
  }
  const double final_grad = std::sqrt(ag::sum(ag::square(ag::vjp(loss, w_newton).vjp)).item());
  const double gap = loss(w_gd).item() - loss(w_newton).item();
  std::printf("|grad| after %d Newton steps: %.3g (before the last step %.3g); gradient descent is %.3g above\n",
              kSteps, final_grad, grad_norm, gap);
  if (!(final_grad < 1e-10) || !(gap > 1e-4)) {
    std::fprintf(stderr, "hessian example: Newton did not converge (|grad| %.3g) or gradient descent was not behind (%.3g)\n",
                 final_grad, gap);
    return 1;
  }
  return 0;
}
