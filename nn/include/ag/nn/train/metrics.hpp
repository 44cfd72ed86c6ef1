#pragma once
// Metrics for fit() and evaluate(): scores computed on a batch's predictions, in float64, without
// recording.
#include <functional>
#include <string>

#include "ag/ag.hpp"

namespace ag::nn {

// A metric: the mean over a batch's rows of some per-row score (no gradient).
struct Metric {
  std::string name;
  std::function<double(const Tensor& pred, const Tensor& target)> fn;
};

// Fraction of rows classified correctly.
//   pred [N, C], C > 1: the predicted class is argmax over the last axis; target is class
//     indices [N] / [N, 1] or one-hot / probability rows [N, C] (argmax).
//   pred [N, 1] or [N] (one sigmoid output): class 1 when pred > threshold (0.5 for
//     probabilities, use 0 for logits); target holds 0/1 (> 0.5 counts as 1).
// ShapeError when pred and target do not fit together.
double accuracy_score(const Tensor& pred, const Tensor& target, double threshold = 0.5);
double mse_score(const Tensor& pred, const Tensor& target);  // mean((pred - target)²), same shapes
double mae_score(const Tensor& pred, const Tensor& target);  // mean(|pred - target|)

namespace metrics {
Metric accuracy(double threshold = 0.5);  // "accuracy"
Metric mse();                             // "mse"
Metric mae();                             // "mae"
}  // namespace metrics

}  // namespace ag::nn
