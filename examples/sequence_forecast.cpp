// One-step-ahead forecasting of a real time series: the yearly mean sunspot numbers 1700-2008
// (statsmodels ships them as sunspots.csv, fetched by scripts/fetch-data). Every forecast of year
// t sees only the `lags` years before it.
//
//   sequence_forecast [--quick | --full] [DATA_DIR]
//
// Three forecasts of the same test years:
//   naive  ŷ_t = y_{t-1}, the bar any forecast must clear;
//   AR(p)  a linear autoregression on the same p lags with an intercept, fitted by least squares
//          (closed form, normal equations in double);
//   LSTM   the p lags read as a sequence of p steps of one feature -> nn::LSTM -> Dense on the
//          last hidden state, trained with Adam on the squared error, early-stopped on the
//          validation years (the parameters of the best validation epoch are kept).
// The split is chronological by target year: the first 70% train, the next 15% validate, the last
// 15% test (no shuffling across time). Values are standardised with the mean and standard
// deviation of the training years only. The series has no missing years (fetch-data checks that
// every year 1700-2008 is present with a value), so nothing is interpolated.
// RMSEs are in the series' units (sunspot number). The test-year forecasts and the truth are
// plotted to sequence_forecast.svg.
// Exits non-zero when the LSTM's test RMSE is not below the naive forecast's (or the AR's is not:
// then the data or the split is wrong).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ag/nn.hpp>

#include "svg.hpp"

#ifndef TAPEGRAD_DATA_DIR
#define TAPEGRAD_DATA_DIR "data"
#endif

namespace {

namespace nn = ag::nn;

struct YearlySeries {
  std::vector<long> year;
  std::vector<double> value;
};

// sunspots.csv: a header "YEAR","SUNACTIVITY", then rows year,value.
YearlySeries read_sunspots(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string line;
  if (!std::getline(f, line) || line.find("SUNACTIVITY") == std::string::npos)
    throw std::runtime_error(path + ": expected a header with SUNACTIVITY");
  YearlySeries s;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    const std::size_t comma = line.find(',');
    if (comma == std::string::npos) throw std::runtime_error(path + ": malformed row '" + line + "'");
    s.year.push_back(std::stol(line.substr(0, comma)));
    s.value.push_back(std::stod(line.substr(comma + 1)));
  }
  return s;
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

// Least squares w = argmin |A·w - y|² through the normal equations (AᵀA + λI)·w = Aᵀy, solved by
// Cholesky in double; A [n, k] row-major. λ = 1e-9·trace/k only guards against exact collinearity.
std::vector<double> least_squares(const std::vector<double>& A, const std::vector<double>& y, std::size_t k) {
  const std::size_t n = y.size();
  std::vector<double> M(k * k, 0.0), r(k, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < k; ++a) {
      r[a] += A[i * k + a] * y[i];
      for (std::size_t b = 0; b < k; ++b) M[a * k + b] += A[i * k + a] * A[i * k + b];
    }
  double tr = 0;
  for (std::size_t a = 0; a < k; ++a) tr += M[a * k + a];
  for (std::size_t a = 0; a < k; ++a) M[a * k + a] += 1e-9 * tr / static_cast<double>(k);
  for (std::size_t j = 0; j < k; ++j) {  // M = L·Lᵀ, L stored in the lower triangle
    for (std::size_t p = 0; p < j; ++p) M[j * k + j] -= M[j * k + p] * M[j * k + p];
    M[j * k + j] = std::sqrt(M[j * k + j]);
    for (std::size_t i = j + 1; i < k; ++i) {
      for (std::size_t p = 0; p < j; ++p) M[i * k + j] -= M[i * k + p] * M[j * k + p];
      M[i * k + j] /= M[j * k + j];
    }
  }
  for (std::size_t i = 0; i < k; ++i) {  // L·u = r
    for (std::size_t p = 0; p < i; ++p) r[i] -= M[i * k + p] * r[p];
    r[i] /= M[i * k + i];
  }
  for (std::size_t i = k; i-- > 0;) {  // Lᵀ·w = u
    for (std::size_t p = i + 1; p < k; ++p) r[i] -= M[p * k + i] * r[p];
    r[i] /= M[i * k + i];
  }
  return r;
}

// x [B, p] (p standardised lags, oldest first) -> [B, 1], the standardised forecast.
struct LSTMForecaster : nn::Module {
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Dense> head;
  LSTMForecaster(std::size_t hidden, ag::Generator& gen) {
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(nn::LSTMOptions(1, hidden).batch_first(true), gen));
    head = register_module("head", std::make_shared<nn::Dense>(hidden, 1, gen));
  }
  ag::Tensor forward(const ag::Tensor& x) override {
    const nn::LSTMResult r = (*lstm)(ag::unsqueeze(x, 2));  // [B, p, 1]: one feature per step
    return (*head)(ag::select(r.h_n, 0, 0));                // h_n [1, B, H] -> [B, H] -> [B, 1]
  }
  std::string type_name() const override { return "LSTMForecaster"; }
};

struct Setting {
  std::size_t hidden, epochs, batch;
  double lr;
};

}  // namespace

int main(int argc, char** argv) {
  // default: the CI setting (a few seconds in Release); --quick: fewer epochs (for sanitizer
  // builds); --full: a wider LSTM trained longer.
  Setting set{24, 150, 32, 0.01};
  std::string dir = TAPEGRAD_DATA_DIR;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      set = {48, 300, 32, 0.005};
    else if (std::strcmp(argv[i], "--quick") == 0)
      set = {16, 60, 32, 0.02};
    else
      dir = argv[i];
  }
  YearlySeries s;
  try {
    s = read_sunspots(dir + "/sunspots.csv");
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\nrun scripts/fetch-data first (or pass the data directory)\n", e.what());
    return 2;
  }
  const std::size_t p = 12;  // lags: a little more than one ~11-year solar cycle
  const std::size_t N = s.value.size();
  if (N < 100) {
    fmt::print(stderr, "sunspots.csv: only {} years\n", N);
    return 2;
  }
  // Sample k forecasts year t = k + p from the years t-p .. t-1.
  const std::size_t n = N - p;
  const std::size_t n_train = n * 70 / 100, n_val = n * 15 / 100, n_test = n - n_train - n_val;
  const std::size_t val0 = n_train, test0 = n_train + n_val;

  // Standardisation from the training years only: every value a training sample reads or predicts.
  double mu = 0, var = 0;
  const std::size_t seen = n_train + p;
  for (std::size_t i = 0; i < seen; ++i) mu += s.value[i] / static_cast<double>(seen);
  for (std::size_t i = 0; i < seen; ++i) var += (s.value[i] - mu) * (s.value[i] - mu) / static_cast<double>(seen);
  const double sd = std::sqrt(var);
  std::vector<double> z(N);
  for (std::size_t i = 0; i < N; ++i) z[i] = (s.value[i] - mu) / sd;

  std::vector<float> xs(n * p), ys(n);
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t j = 0; j < p; ++j) xs[k * p + j] = static_cast<float>(z[k + j]);
    ys[k] = static_cast<float>(z[k + p]);
  }
  const ag::Tensor X = ag::from_vector(xs, {n, p}), Y = ag::from_vector(ys, {n, 1});
  auto rows = [](const ag::Tensor& t, std::size_t a, std::size_t b) {
    return ag::slice(t, 0, static_cast<std::ptrdiff_t>(a), static_cast<std::ptrdiff_t>(b));
  };
  const ag::Tensor X_train = rows(X, 0, n_train), Y_train = rows(Y, 0, n_train);
  const ag::Tensor X_val = rows(X, val0, test0), X_test = rows(X, test0, n);
  auto truth = [&](std::size_t a, std::size_t b) {
    return std::vector<double>(s.value.begin() + static_cast<std::ptrdiff_t>(a + p),
                               s.value.begin() + static_cast<std::ptrdiff_t>(b + p));
  };
  const std::vector<double> y_val = truth(val0, test0), y_test = truth(test0, n);
  auto unstandardise = [&](const ag::Tensor& pred) {
    std::vector<double> v;
    for (float f : pred.to_vector<float>()) v.push_back(static_cast<double>(f) * sd + mu);
    return v;
  };
  fmt::print("sunspots.csv: {} years {}-{}; {} lags; forecasts of train {}-{}, validation {}-{}, test {}-{}\n", N,
             s.year.front(), s.year.back(), p, s.year[p], s.year[p + n_train - 1], s.year[p + val0],
             s.year[p + test0 - 1], s.year[p + test0], s.year.back());

  // naive: last year's value.
  std::vector<double> naive_test(s.value.begin() + static_cast<std::ptrdiff_t>(test0 + p - 1),
                                 s.value.begin() + static_cast<std::ptrdiff_t>(n + p - 1));
  std::vector<double> naive_val(s.value.begin() + static_cast<std::ptrdiff_t>(val0 + p - 1),
                                s.value.begin() + static_cast<std::ptrdiff_t>(test0 + p - 1));

  // AR(p) on the standardised lags: ŷ = w0 + Σ_j w_j·z_{t-p+j}.
  const std::size_t k = p + 1;
  std::vector<double> A(n_train * k), b(n_train);
  for (std::size_t i = 0; i < n_train; ++i) {
    A[i * k] = 1.0;
    for (std::size_t j = 0; j < p; ++j) A[i * k + 1 + j] = z[i + j];
    b[i] = z[i + p];
  }
  const std::vector<double> w = least_squares(A, b, k);
  auto ar_forecast = [&](std::size_t a, std::size_t e) {
    std::vector<double> v;
    for (std::size_t i = a; i < e; ++i) {
      double f = w[0];
      for (std::size_t j = 0; j < p; ++j) f += w[1 + j] * z[i + j];
      v.push_back(f * sd + mu);
    }
    return v;
  };
  const std::vector<double> ar_val = ar_forecast(val0, test0), ar_test = ar_forecast(test0, n);

  // LSTM: mini-batch Adam, gradient norm clipped at 1, the best validation epoch kept.
  ag::Generator gen(7);
  LSTMForecaster model(set.hidden, gen);
  nn::Adam adam(model.parameters(), set.lr);
  auto predict = [&](const ag::Tensor& x) {
    ag::NoGradGuard no_grad;
    return unstandardise(model(x));
  };
  const double rmse_before = rmse(predict(X_val), y_val);
  std::vector<ag::Tensor> best;
  for (const auto& [name, t] : model.state_dict()) best.push_back(ag::zeros_like(t).copy_(t));
  double best_val = rmse_before;
  std::size_t best_epoch = 0;
  std::vector<std::size_t> order(n_train);
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t epoch = 1; epoch <= set.epochs; ++epoch) {
    for (std::size_t i = n_train; i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);
    for (std::size_t a = 0; a < n_train; a += set.batch) {
      const std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(a),
                                         order.begin() + static_cast<std::ptrdiff_t>(std::min(a + set.batch, n_train)));
      adam.zero_grad();
      const ag::Tensor loss = nn::mse_loss(model(ag::index_select(X_train, 0, idx)), ag::index_select(Y_train, 0, idx));
      loss.backward();
      nn::clip_grad_norm(model.parameters(), 1.0);
      adam.step();
    }
    const double v = rmse(predict(X_val), y_val);
    if (v < best_val) {
      best_val = v;
      best_epoch = epoch;
      ag::NoGradGuard no_grad;
      std::size_t i = 0;
      for (const auto& [name, t] : model.state_dict()) best[i++].copy_(t);
    }
  }
  {
    ag::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& [name, t] : model.state_dict()) t.copy_(best[i++]);
  }
  const std::vector<double> lstm_test = predict(X_test);

  const double r_naive = rmse(naive_test, y_test), r_ar = rmse(ar_test, y_test), r_lstm = rmse(lstm_test, y_test);
  fmt::print("{}, hidden {}, {} epochs (best validation RMSE at epoch {}), batch {}, Adam lr {}\n",
             model.lstm->describe(), set.hidden, set.epochs, best_epoch, set.batch, set.lr);
  fmt::print("validation RMSE (sunspot number): naive {:.2f}, AR({}) {:.2f}, LSTM {:.2f} (untrained {:.2f})\n",
             rmse(naive_val, y_val), p, rmse(ar_val, y_val), best_val, rmse_before);
  fmt::print("test RMSE over {} years (sunspot number): naive {:.2f}, AR({}) {:.2f}, LSTM {:.2f}\n", n_test,
             r_naive, p, r_ar, r_lstm);
  fmt::print("LSTM vs AR({}): {:+.1f}% RMSE\n", p, 100.0 * (r_lstm / r_ar - 1.0));

  svg::Document d(720, 360);
  svg::line_chart(d, 0, 0, 720, 360,
                  fmt::format("Sunspots, one year ahead (test RMSE: AR {:.1f}, LSTM {:.1f})", r_ar, r_lstm),
                  {{"truth", y_test, "#222"}, {fmt::format("AR({})", p), ar_test, "#1f77b4"}, {"LSTM", lstm_test, "#d62728"}},
                  0, "", "year", s.year[p + test0]);
  d.save("sequence_forecast.svg");
  fmt::print("wrote sequence_forecast.svg\n");

  if (!(r_ar < r_naive)) {
    fmt::print(stderr, "the AR({}) forecast is not better than the naive one: check the data\n", p);
    return 1;
  }
  if (!(r_lstm < r_naive)) {
    fmt::print(stderr, "the LSTM forecast is not better than the naive one\n");
    return 1;
  }
  return 0;
}
