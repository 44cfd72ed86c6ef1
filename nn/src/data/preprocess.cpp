// train_test_split, class_indices, LabelEncoder, scalers.
#include "ag/nn/data/preprocess.hpp"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <map>

#include <fmt/core.h>

#include "ag/extend.hpp"

namespace ag::nn {

// ---- train_test_split ----------------------------------------------------------------------------

namespace {

std::size_t test_count(const char* who, double fraction, std::size_t n) {
  if (!(fraction > 0.0 && fraction < 1.0))
    throw ValueError(fmt::format("{}: test_fraction must be in (0, 1), got {}", who, fraction));
  const auto k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  if (k < 1 || k + 1 > n)
    throw ValueError(fmt::format(
        "{}: test_fraction {} of {} rows leaves an empty part ({} test rows)", who, fraction, n, k));
  return k;
}

std::pair<Dataset, Dataset> split_by(const Dataset& data, const std::vector<std::size_t>& order,
                                      const std::vector<bool>& is_test) {
  std::vector<std::size_t> train, test;
  for (std::size_t i : order) (is_test[i] ? test : train).push_back(i);
  return {data.subset(train), data.subset(test)};
}

}  // namespace

std::pair<Dataset, Dataset> train_test_split(const Dataset& data, double test_fraction,
                                             std::uint64_t seed) {
  const std::size_t n = data.size();
  const std::size_t k = test_count("train_test_split", test_fraction, n);
  Generator gen(seed);
  const std::vector<std::size_t> order = permutation(n, gen);
  std::vector<bool> is_test(n, false);
  for (std::size_t j = 0; j < k; ++j) is_test[order[j]] = true;
  return split_by(data, order, is_test);
}

std::pair<Dataset, Dataset> train_test_split(const Dataset& data, double test_fraction,
                                             std::uint64_t seed,
                                             const std::vector<std::size_t>& stratify) {
  const std::size_t n = data.size();
  test_count("train_test_split", test_fraction, n);
  if (stratify.size() != n)
    throw ValueError(fmt::format("train_test_split: {} stratify labels for {} rows",
                                 stratify.size(), n));
  Generator gen(seed);
  const std::vector<std::size_t> order = permutation(n, gen);
  std::map<std::size_t, std::vector<std::size_t>> by_class;  // rows of each class, shuffled
  for (std::size_t i : order) by_class[stratify[i]].push_back(i);
  std::vector<bool> is_test(n, false);
  std::size_t total = 0;
  for (const auto& [cls, rows] : by_class) {
    const auto k = static_cast<std::size_t>(
        std::llround(test_fraction * static_cast<double>(rows.size())));
    for (std::size_t j = 0; j < k; ++j) is_test[rows[j]] = true;
    total += k;
  }
  if (total == 0 || total == n)
    throw ValueError(fmt::format(
        "train_test_split: stratified test_fraction {} of {} rows leaves an empty part",
        test_fraction, n));
  return split_by(data, order, is_test);
}

// ---- LabelEncoder --------------------------------------------------------------------------------

namespace {

bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  v = std::strtod(begin, &end);
  return end == begin + s.size() && errno != ERANGE;
}

}  // namespace

LabelEncoder& LabelEncoder::fit(const std::vector<std::string>& labels) {
  if (labels.empty()) throw ValueError("LabelEncoder::fit: no labels");
  std::vector<std::string> classes(labels);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  bool numeric = true;
  std::map<std::string, double> value;
  for (const auto& c : classes) {
    double v;
    if (!parse_number(c, v)) {
      numeric = false;
      break;
    }
    value[c] = v;
  }
  if (numeric)
    std::stable_sort(classes.begin(), classes.end(),
                     [&](const std::string& a, const std::string& b) { return value[a] < value[b]; });
  classes_ = std::move(classes);
  return *this;
}

void LabelEncoder::require_fitted(const char* who) const {
  if (!fitted()) throw ValueError(fmt::format("LabelEncoder::{}: call fit() first", who));
}

std::size_t LabelEncoder::index(const std::string& label) const {
  require_fitted("index");
  for (std::size_t i = 0; i < classes_.size(); ++i)
    if (classes_[i] == label) return i;
  std::string known;
  for (const auto& c : classes_) known += (known.empty() ? "'" : ", '") + c + "'";
  throw ValueError(fmt::format("LabelEncoder: unknown label '{}' (classes: {})", label, known));
}

std::vector<std::size_t> LabelEncoder::transform(const std::vector<std::string>& labels) const {
  require_fitted("transform");
  std::map<std::string, std::size_t> lookup;
  for (std::size_t i = 0; i < classes_.size(); ++i) lookup[classes_[i]] = i;
  std::vector<std::size_t> out;
  out.reserve(labels.size());
  for (const auto& l : labels) {
    auto it = lookup.find(l);
    out.push_back(it != lookup.end() ? it->second : index(l));  // index() throws for unknowns
  }
  return out;
}

std::vector<std::size_t> LabelEncoder::fit_transform(const std::vector<std::string>& labels) {
  return fit(labels).transform(labels);
}

const std::string& LabelEncoder::label(std::size_t index) const {
  require_fitted("label");
  if (index >= classes_.size())
    throw IndexError(fmt::format("LabelEncoder: class index {} out of range for {} classes", index,
                                 classes_.size()));
  return classes_[index];
}

std::vector<std::string> LabelEncoder::inverse_transform(
    const std::vector<std::size_t>& indices) const {
  require_fitted("inverse_transform");
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (std::size_t i : indices) out.push_back(label(i));
  return out;
}

std::vector<std::string> LabelEncoder::inverse_transform(const Tensor& indices) const {
  require_fitted("inverse_transform");
  return inverse_transform(class_indices(indices));
}

std::vector<std::size_t> class_indices(const Tensor& labels) {
  ag::require_defined("class_indices", labels, "labels");
  const Shape s = labels.shape();
  const auto v = labels.to_xarray<double>();
  std::vector<std::size_t> idx;
  if (s.size() == 2 && s[1] > 1) {  // rows of scores: argmax
    idx.reserve(s[0]);
    for (std::size_t i = 0; i < s[0]; ++i) {
      const double* row = v.data() + i * s[1];
      std::size_t best = 0;
      for (std::size_t j = 1; j < s[1]; ++j)
        if (row[j] > row[best]) best = j;
      idx.push_back(best);
    }
    return idx;
  }
  if (s.size() > 2 || (s.size() == 2 && s[1] != 1))
    throw ShapeError(fmt::format("class_indices: expected labels [N], [N, 1] or [N, C], got {}",
                                 shape_str(s)));
  idx.reserve(v.size());
  for (double d : v) {
    if (!std::isfinite(d) || d < 0 || d != std::floor(d))
      throw IndexError(fmt::format("class_indices: {} is not a class index (labels {})", d,
                                   shape_str(s)));
    idx.push_back(static_cast<std::size_t>(d));
  }
  return idx;
}

// ---- scalers -------------------------------------------------------------------------------------

namespace {

// x as float64 [N, F] (ShapeError unless 2-D with N >= 1), row-major.
xt::xarray<double> rows_of(const char* who, const Tensor& x) {
  ag::require_defined(who, x, "x");
  if (x.dim() != 2 || x.shape()[0] == 0)
    throw ShapeError(fmt::format("{}: expected x of shape [N, F] with N >= 1, got {}", who,
                                 shape_str(x.shape())));
  return x.to_xarray<double>();
}

void check_columns(const char* who, const Tensor& x, std::size_t fitted) {
  if (fitted == 0) throw ValueError(fmt::format("{}: call fit() first", who));
  if (x.dim() != 2 || x.shape()[1] != fitted)
    throw ShapeError(fmt::format("{}: fitted on {} columns, got x of shape {}", who, fitted,
                                 shape_str(x.shape())));
}

// y[n, f] = x[n, f]·a[f] + b[f], in x's dtype.
Tensor affine_columns(const Tensor& x, const std::vector<double>& a, const std::vector<double>& b) {
  xt::xarray<double> v = x.to_xarray<double>();
  const std::size_t n = v.shape()[0], f = v.shape()[1];
  double* d = v.data();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) d[i * f + j] = d[i * f + j] * a[j] + b[j];
  Tensor out(std::move(v));
  return x.dtype() == f64 ? out : out.to(x.dtype());
}

}  // namespace

StandardScaler& StandardScaler::fit(const Tensor& x) {
  const auto v = rows_of("StandardScaler::fit", x);
  const std::size_t n = v.shape()[0], f = v.shape()[1];
  const double* d = v.data();
  std::vector<double> mean(f, 0.0), var(f, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) mean[j] += d[i * f + j];
  for (double& m : mean) m /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) {
      const double c = d[i * f + j] - mean[j];  // two passes: no cancellation from E[x²] - E[x]²
      var[j] += c * c;
    }
  scale_.assign(f, 1.0);
  for (std::size_t j = 0; j < f; ++j) {
    const double s = std::sqrt(var[j] / static_cast<double>(n));
    // A column constant up to rounding noise (std within a few ulps of the mean) is zero-variance.
    const bool constant = s == 0.0 || s <= 10.0 * DBL_EPSILON * std::abs(mean[j]);
    scale_[j] = constant ? 1.0 : s;
  }
  mean_ = std::move(mean);
  return *this;
}

Tensor StandardScaler::transform(const Tensor& x) const {
  check_columns("StandardScaler::transform", x, mean_.size());
  std::vector<double> a(mean_.size()), b(mean_.size());
  for (std::size_t j = 0; j < a.size(); ++j) {
    a[j] = 1.0 / scale_[j];
    b[j] = -mean_[j] / scale_[j];
  }
  return affine_columns(x, a, b);
}

Tensor StandardScaler::inverse_transform(const Tensor& x) const {
  check_columns("StandardScaler::inverse_transform", x, mean_.size());
  return affine_columns(x, scale_, mean_);
}

MinMaxScaler::MinMaxScaler(double lo, double hi) : lo_(lo), hi_(hi) {
  if (!(lo < hi)) throw ValueError(fmt::format("MinMaxScaler: need lo < hi, got [{}, {}]", lo, hi));
}

MinMaxScaler& MinMaxScaler::fit(const Tensor& x) {
  const auto v = rows_of("MinMaxScaler::fit", x);
  const std::size_t n = v.shape()[0], f = v.shape()[1];
  const double* d = v.data();
  std::vector<double> mn(d, d + f), mx(d, d + f);
  for (std::size_t i = 1; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) {
      mn[j] = std::min(mn[j], d[i * f + j]);
      mx[j] = std::max(mx[j], d[i * f + j]);
    }
  min_ = std::move(mn);
  max_ = std::move(mx);
  return *this;
}

Tensor MinMaxScaler::transform(const Tensor& x) const {
  check_columns("MinMaxScaler::transform", x, min_.size());
  std::vector<double> a(min_.size()), b(min_.size());
  for (std::size_t j = 0; j < a.size(); ++j) {
    const double range = max_[j] > min_[j] ? max_[j] - min_[j] : 1.0;
    a[j] = (hi_ - lo_) / range;  // y = (x - min)·a + lo
    b[j] = lo_ - min_[j] * a[j];
  }
  return affine_columns(x, a, b);
}

Tensor MinMaxScaler::inverse_transform(const Tensor& x) const {
  check_columns("MinMaxScaler::inverse_transform", x, min_.size());
  std::vector<double> a(min_.size()), b(min_.size());
  for (std::size_t j = 0; j < a.size(); ++j) {
    const double range = max_[j] > min_[j] ? max_[j] - min_[j] : 1.0;
    a[j] = range / (hi_ - lo_);  // x = (y - lo)·range/(hi - lo) + min
    b[j] = min_[j] - lo_ * a[j];
  }
  return affine_columns(x, a, b);
}

}  // namespace ag::nn
