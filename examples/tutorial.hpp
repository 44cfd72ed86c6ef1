#pragma once
// The backprop tutorial's examples, set up once: the data, the model, the loss and the training
// options. The example programs (regression.cpp, cities.cpp, two_class.cpp) print and draw what
// these functions return; tests/nn/integration/test_tutorial_examples.cpp checks the same runs.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ag/nn.hpp>

namespace tutorial {

namespace nn = ag::nn;

// ---- regression: X1, X2, X3 -> continuous Y -------------------------------------------------------

// The known relation the network has to discover (no noise): nonlinear in every input.
//   Y = 0.5·X1² + sin(2·X2) − X1·X3
inline ag::Tensor regression_relation(const ag::Tensor& x) {  // x [N, 3] -> [N, 1]
  const ag::Tensor x1 = ag::slice(x, 1, 0, 1), x2 = ag::slice(x, 1, 1, 2), x3 = ag::slice(x, 1, 2, 3);
  return 0.5 * ag::square(x1) + ag::sin(2.0 * x2) - x1 * x3;
}

// N rows of X uniform in [-1, 1]³ and Y = relation(X) + 0.05·noise (noise standard normal): the
// best possible MSE is the noise variance, 0.0025.
inline nn::Dataset regression_data(std::size_t n, ag::Generator& gen) {
  const ag::Tensor x = ag::uniform({n, 3}, -1.0, 1.0, gen);
  const ag::Tensor y = regression_relation(x) + 0.05 * ag::randn({n, 1}, gen);
  return nn::Dataset(x, y);
}

struct RegressionRun {
  std::shared_ptr<nn::Sequential> model;
  nn::Dataset train, test;
  nn::History history;      // history.loss = training MSE per epoch
  double train_mse, test_mse;
  double target_variance;  // var(Y) on the test rows: the MSE of always predicting the mean
};

constexpr std::size_t kRegressionEpochs = 60;
constexpr double kRegressionLearningRate = 0.03;

// 3 -> 16 (tanh) -> 1, trained by per-row SGD (batch size 1: one weight update per row, every
// row once per epoch, rows in a new random order each epoch) on the mean squared error.
inline RegressionRun run_regression(nn::Verbosity verbosity, std::uint64_t seed = 7) {
  ag::Generator gen(seed);
  RegressionRun r;
  r.train = regression_data(256, gen);
  r.test = regression_data(256, gen);
  r.model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 16, gen),
                                             std::make_shared<nn::Tanh>(),
                                             std::make_shared<nn::Dense>(16, 1, gen));
  nn::SGD sgd(r.model->parameters(), kRegressionLearningRate);
  nn::FitOptions o;
  o.epochs = kRegressionEpochs;
  o.batch_size = 1;
  o.seed = seed;
  o.verbosity = verbosity;
  r.history = nn::fit(*r.model, nn::MSELoss(), sgd, r.train, o);
  r.train_mse = nn::evaluate(*r.model, nn::MSELoss(), r.train).at("loss");
  r.test_mse = nn::evaluate(*r.model, nn::MSELoss(), r.test).at("loss");
  r.target_variance = ag::var(r.test.y(), {0}, /*unbiased=*/false).item();
  return r;
}

// ---- classification: three cities, softmax output, categorical log-loss --------------------------

// Synthetic weather readings (seeded): per city a Gaussian cluster in
//   [daily high (°C), relative humidity (%), wind speed (km/h)].
struct CityProfile {
  const char* name;
  double mean[3];
  double stddev[3];
};
inline const std::vector<CityProfile>& city_profiles() {
  static const std::vector<CityProfile> profiles = {
      {"San Francisco", {18.0, 78.0, 22.0}, {1.5, 4.0, 3.0}},
      {"New York", {27.0, 62.0, 15.0}, {2.0, 5.0, 3.0}},
      {"Boston", {21.0, 66.0, 30.0}, {2.0, 5.0, 3.0}},
  };
  return profiles;
}
inline const std::vector<std::string>& city_feature_names() {
  static const std::vector<std::string> names = {"high_c", "humidity", "wind_kmh"};
  return names;
}

struct CityRows {
  ag::Tensor x;                     // [N, 3] raw readings
  std::vector<std::string> labels;  // the city of each row
};

// `per_city` rows of each city, cities in city_profiles() order.
inline CityRows city_rows(std::size_t per_city, ag::Generator& gen) {
  std::vector<ag::Tensor> parts;
  CityRows rows;
  for (const CityProfile& c : city_profiles()) {
    const ag::Tensor mean({c.mean[0], c.mean[1], c.mean[2]});
    const ag::Tensor sd({c.stddev[0], c.stddev[1], c.stddev[2]});
    parts.push_back(ag::randn({per_city, 3}, gen) * sd + mean);  // [per_city, 3]
    rows.labels.insert(rows.labels.end(), per_city, c.name);
  }
  rows.x = ag::concat(parts, 0);
  return rows;
}

// Categorical log-loss on probabilities p [N, C] with one-hot targets y [N, C]:
//   L = −(1/N)·Σ_n Σ_c y_nc·log p_nc
// Only the true class's term survives, so a confident wrong answer (p_true → 0) costs −log p_true,
// without bound. p is clamped to 1e-7 so that a probability of exactly 0 stays finite.
inline ag::Tensor categorical_log_loss(const ag::Tensor& p, const ag::Tensor& y) {
  return -ag::mean(ag::sum(y * ag::log(ag::clamp(p, 1e-7, std::nullopt)), {1}));
}

struct CitiesRun {
  std::shared_ptr<nn::Sequential> model;  // ends in Softmax: rows of probabilities
  nn::LabelEncoder encoder;               // city name <-> class index (sorted names)
  nn::StandardScaler scaler;              // fitted on the training rows
  CityRows train_rows, test_rows;
  nn::Dataset train, test;                // scaled features, one-hot targets
  nn::History history;
  double train_accuracy, test_accuracy;
};

constexpr std::size_t kCityEpochs = 20;

// 3 -> 8 (ReLU) -> 3 -> Softmax, per-row SGD on the categorical log-loss.
inline CitiesRun run_cities(nn::Verbosity verbosity, std::uint64_t seed = 11) {
  ag::Generator gen(seed);
  CitiesRun r;
  r.train_rows = city_rows(40, gen);
  r.test_rows = city_rows(20, gen);
  const std::vector<std::size_t> train_idx = r.encoder.fit_transform(r.train_rows.labels);
  const std::vector<std::size_t> test_idx = r.encoder.transform(r.test_rows.labels);
  const std::size_t classes = r.encoder.num_classes();
  // One-hot targets: San Francisco -> [0, 0, 1] (classes sorted: Boston, New York, San Francisco).
  r.train = nn::Dataset(r.scaler.fit_transform(r.train_rows.x), ag::one_hot(train_idx, classes));
  r.test = nn::Dataset(r.scaler.transform(r.test_rows.x), ag::one_hot(test_idx, classes));

  r.model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 8, gen),
                                             std::make_shared<nn::ReLU>(),
                                             std::make_shared<nn::Dense>(8, classes, gen),
                                             std::make_shared<nn::Softmax>(1));
  nn::SGD sgd(r.model->parameters(), 0.05);
  nn::FitOptions o;
  o.epochs = kCityEpochs;
  o.batch_size = 1;
  o.seed = seed;
  o.metrics = {nn::metrics::accuracy()};
  o.verbosity = verbosity;
  r.history = nn::fit(*r.model, categorical_log_loss, sgd, r.train, o);
  r.train_accuracy = nn::accuracy_score(nn::predict(*r.model, r.train.x()), r.train.y());
  r.test_accuracy = nn::accuracy_score(nn::predict(*r.model, r.test.x()), r.test.y());
  return r;
}

// ---- two classes in 2-D: red and green points, one sigmoid output ---------------------------------

// Green points (class 1) lie inside the circle of radius 0.6 around the origin, red ones (class 0)
// in the rest of [-1, 1]²; points within 0.05 of the circle are left out, so a margin separates
// the two classes.
struct TwoClassRun {
  std::shared_ptr<nn::Sequential> model;  // 2 -> 16 (tanh) -> 1 -> Sigmoid: P(green)
  nn::Dataset data;                       // x [N, 2], y [N, 1] of 0/1
  nn::History history;
  double accuracy;
};

inline nn::Dataset two_class_data(std::size_t n, ag::Generator& gen) {
  std::vector<double> xs, ys;
  while (ys.size() < n) {
    const double a = 2.0 * gen.uniform01() - 1.0, b = 2.0 * gen.uniform01() - 1.0;
    const double r = std::sqrt(a * a + b * b);
    if (std::abs(r - 0.6) < 0.05) continue;
    xs.push_back(a);
    xs.push_back(b);
    ys.push_back(r < 0.6 ? 1.0 : 0.0);
  }
  xt::xarray<float> x = xt::xarray<float>::from_shape({n, std::size_t{2}});
  xt::xarray<float> y = xt::xarray<float>::from_shape({n, std::size_t{1}});
  for (std::size_t i = 0; i < 2 * n; ++i) x.data()[i] = static_cast<float>(xs[i]);
  for (std::size_t i = 0; i < n; ++i) y.data()[i] = static_cast<float>(ys[i]);
  return nn::Dataset(ag::Tensor(std::move(x)), ag::Tensor(std::move(y)));
}

inline TwoClassRun run_two_class(nn::Verbosity verbosity, std::uint64_t seed = 5) {
  ag::Generator gen(seed);
  TwoClassRun r;
  r.data = two_class_data(300, gen);
  r.model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(2, 16, gen),
                                             std::make_shared<nn::Tanh>(),
                                             std::make_shared<nn::Dense>(16, 1, gen),
                                             std::make_shared<nn::Sigmoid>());
  nn::Adam adam(r.model->parameters(), 0.02);
  nn::FitOptions o;
  o.epochs = 150;
  o.batch_size = 16;
  o.seed = seed;
  o.metrics = {nn::metrics::accuracy()};
  o.verbosity = verbosity;
  // Binary log-loss on the sigmoid's probability p: −(y·log p + (1−y)·log(1−p)), averaged.
  r.history = nn::fit(*r.model, nn::BCELoss(), adam, r.data, o);
  r.accuracy = nn::accuracy_score(nn::predict(*r.model, r.data.x()), r.data.y());
  return r;
}

}  // namespace tutorial
