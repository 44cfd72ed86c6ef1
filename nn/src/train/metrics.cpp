// Metrics: accuracy (argmax rows or a threshold), mean squared and mean absolute error.
#include "ag/nn/train/metrics.hpp"

#include <cmath>

#include <fmt/core.h>

#include "ag/extend.hpp"

namespace ag::nn {

namespace {

std::size_t rows_of(const char* who, const Tensor& t, const char* what) {
  ag::require_defined(who, t, what);
  if (t.dim() == 0 || t.shape()[0] == 0)
    throw ShapeError(fmt::format("{}: {} needs at least one row, got shape {}", who, what,
                                 shape_str(t.shape())));
  return t.shape()[0];
}

// [N] or [N, 1]
bool is_column(const Shape& s, std::size_t n) {
  return (s.size() == 1 && s[0] == n) || (s.size() == 2 && s[0] == n && s[1] == 1);
}

std::size_t argmax_row(const double* row, std::size_t c) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < c; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

}  // namespace

double accuracy_score(const Tensor& pred, const Tensor& target, double threshold) {
  const char* who = "accuracy_score";
  const std::size_t n = rows_of(who, pred, "pred");
  rows_of(who, target, "target");
  const Shape ps = pred.shape(), ts = target.shape();
  auto mismatch = [&]() {
    return ShapeError(fmt::format("accuracy_score: pred {} and target {} do not fit (expected "
                                  "target [N], [N, 1] or [N, C] for pred [N, C]; [N] or [N, 1] "
                                  "for a single output)",
                                  shape_str(ps), shape_str(ts)));
  };
  if (ps.size() > 2 || ts.size() > 2 || ts[0] != n) throw mismatch();
  const auto p = pred.to_xarray<double>();
  const auto t = target.to_xarray<double>();
  const std::size_t c = ps.size() == 2 ? ps[1] : 1;
  std::size_t correct = 0;
  if (c > 1) {
    const bool one_hot = ts.size() == 2 && ts[1] == c;
    if (!one_hot && !is_column(ts, n)) throw mismatch();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t guess = argmax_row(p.data() + i * c, c);
      const double truth = one_hot ? static_cast<double>(argmax_row(t.data() + i * c, c)) : t.data()[i];
      correct += static_cast<double>(guess) == truth;
    }
  } else {
    if (!is_column(ts, n)) throw mismatch();
    for (std::size_t i = 0; i < n; ++i)
      correct += (p.data()[i] > threshold) == (t.data()[i] > 0.5);
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

namespace {

template <class F> double mean_of_diffs(const char* who, const Tensor& pred, const Tensor& target, F f) {
  const std::size_t n = rows_of(who, pred, "pred");
  rows_of(who, target, "target");
  if (target.shape()[0] != n || pred.numel() != target.numel())
    throw ShapeError(fmt::format("{}: pred {} and target {} differ", who, shape_str(pred.shape()),
                                 shape_str(target.shape())));
  const auto p = pred.to_xarray<double>();
  const auto t = target.to_xarray<double>();
  double s = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) s += f(p.data()[i] - t.data()[i]);
  return s / static_cast<double>(p.size());
}

}  // namespace

double mse_score(const Tensor& pred, const Tensor& target) {
  return mean_of_diffs("mse_score", pred, target, [](double d) { return d * d; });
}

double mae_score(const Tensor& pred, const Tensor& target) {
  return mean_of_diffs("mae_score", pred, target, [](double d) { return std::abs(d); });
}

namespace metrics {
Metric accuracy(double threshold) {
  return {"accuracy", [threshold](const Tensor& p, const Tensor& t) { return accuracy_score(p, t, threshold); }};
}
Metric mse() { return {"mse", [](const Tensor& p, const Tensor& t) { return mse_score(p, t); }}; }
Metric mae() { return {"mae", [](const Tensor& p, const Tensor& t) { return mae_score(p, t); }}; }
}  // namespace metrics

}  // namespace ag::nn
