// Regression as in the backprop tutorial: three inputs X1, X2, X3 -> one continuous output Y.
//
// Each row is fed through a small dense network, Y_pred is compared with Y, the error is
// differentiated with respect to every weight (backward, last layer first) and each weight takes a
// small step against its derivative: one update per row (batch size 1), all rows once per epoch,
// for several epochs. The error is the mean squared error over the rows.
#include <cstdio>

#include <fmt/core.h>

#include "tutorial.hpp"

int main() {
  namespace nn = ag::nn;
  fmt::print("Regression: Y = 0.5·X1² + sin(2·X2) − X1·X3 + noise(σ = 0.05), X uniform in [-1, 1]³\n");
  fmt::print("network 3 -> 16 (tanh) -> 1, per-row SGD (lr {}), {} epochs of 256 rows\n\n",
             tutorial::kRegressionLearningRate, tutorial::kRegressionEpochs);

  // The per-epoch lines are printed by fit(): "loss" is the training MSE of that epoch.
  const tutorial::RegressionRun r = tutorial::run_regression(nn::Verbosity::automatic);

  fmt::print("\nfinal training MSE {:.4f}, test MSE {:.4f} on 256 new rows\n", r.train_mse, r.test_mse);
  fmt::print("(predicting the mean would give {:.4f}; the noise alone gives 0.0025)\n",
             r.target_variance);

  // A few test rows: what the network learned against the true relation.
  const ag::Tensor x = ag::slice(r.test.x(), 0, 0, 5);
  const auto xv = x.to_xarray<double>();
  const auto pred = nn::predict(*r.model, x).to_xarray<double>();
  const auto truth = tutorial::regression_relation(x).to_xarray<double>();
  fmt::print("\n     X1      X2      X3   Y_pred  Y_true(no noise)\n");
  for (std::size_t i = 0; i < 5; ++i)
    fmt::print("{:7.3f} {:7.3f} {:7.3f}  {:7.3f}  {:7.3f}\n", xv(i, 0), xv(i, 1), xv(i, 2), pred(i, 0),
               truth(i, 0));
  return r.test_mse < 0.02 ? 0 : 1;
}
