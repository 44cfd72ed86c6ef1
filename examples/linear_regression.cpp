// Linear regression with tapegrad: fit y = X·w + b on synthetic data with a known answer.
//
// No nn module here: the model is two leaf tensors, the loss is written with ops, backward()
// fills w.grad() and b.grad(), and the update w ← w − lr·∂L/∂w is done by hand.
#include <cmath>
#include <cstdio>
#include <vector>

#include <fmt/core.h>

#include <ag/ag.hpp>

namespace {

constexpr std::size_t kSamples = 256;
constexpr std::size_t kFeatures = 3;
constexpr int kEpochs = 60;
constexpr double kLearningRate = 0.1;

// p ← p − lr·∂L/∂p for every parameter, in place. Nothing inside NoGradGuard is recorded, so
// the update is not part of the next step's graph. The gradients are cleared for the next step.
void sgd_step(std::vector<ag::Tensor>& params, double lr) {
  ag::NoGradGuard no_grad;
  for (ag::Tensor& p : params) {
    p.mutable_value<float>() -= static_cast<float>(lr) * p.grad().value<float>();
    p.zero_grad();
  }
}

}  // namespace

int main() {
  // Synthetic data: y = X·w_true + b_true + 0.1·noise, X and noise standard normal, seeded.
  ag::Generator gen(2024);
  const ag::Tensor w_true = ag::Tensor({2.0, -3.5, 0.5}).reshape({3, 1});
  const double b_true = 1.25;
  const ag::Tensor x = ag::randn({kSamples, kFeatures}, gen);                  // [256, 3]
  const ag::Tensor noise = ag::randn({kSamples, 1}, gen);                      // [256, 1]
  const ag::Tensor y = ag::matmul(x, w_true) + b_true + 0.1 * noise;           // [256, 1]

  // The model: w [3, 1] and a scalar bias b, both starting at zero.
  ag::Tensor w = ag::zeros({kFeatures, 1}, ag::f32, /*requires_grad=*/true);
  ag::Tensor b = ag::scalar(0.0, ag::f32, /*requires_grad=*/true);
  std::vector<ag::Tensor> params{w, b};  // handles: updating params[i] updates w and b

  fmt::print("fitting y = X·w + b on {} samples, {} features, full-batch gradient descent "
             "(lr {})\n", kSamples, kFeatures, kLearningRate);
  double loss_value = 0.0;
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    const ag::Tensor pred = ag::matmul(x, w) + b;        // [256, 1]; b broadcasts
    const ag::Tensor loss = ag::mean(ag::square(pred - y));  // mean squared error
    loss.backward();                                     // fills w.grad() [3, 1], b.grad() []
    loss_value = loss.item();
    if (epoch == 1 || epoch % 10 == 0) fmt::print("epoch {:3d}  loss {:.6f}\n", epoch, loss_value);
    sgd_step(params, kLearningRate);
  }

  // With noise of standard deviation 0.1 the least-squares fit lands within about 0.01 of the
  // true values, and the final loss near the noise variance 0.01.
  const auto w_learned = w.to_xarray<double>();
  const auto w_expected = w_true.to_xarray<double>();
  bool ok = std::abs(b.item() - b_true) < 0.05;
  fmt::print("\n          learned     true\n");
  for (std::size_t i = 0; i < kFeatures; ++i) {
    fmt::print("w[{}]   {:9.4f}  {:7.4f}\n", i, w_learned(i, 0), w_expected(i, 0));
    ok = ok && std::abs(w_learned(i, 0) - w_expected(i, 0)) < 0.05;
  }
  fmt::print("b      {:9.4f}  {:7.4f}\n", b.item(), b_true);
  ok = ok && loss_value < 0.02;
  if (!ok) {
    fmt::print(stderr, "linear_regression: the fit did not recover the true weights\n");
    return 1;
  }
  return 0;
}
