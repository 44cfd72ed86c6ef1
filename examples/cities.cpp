// Classification as in the backprop tutorial: which city do the weather readings come from?
//
// The classes (San Francisco, New York, Boston) are label-encoded and one-hot encoded; the network
// ends in a softmax layer with one neuron per class, so each output row is a probability
// distribution (it sums to 1); the error is the categorical log-loss, which punishes a confident
// wrong answer hugely (−log p of the true class).
#include <fmt/core.h>

#include "tutorial.hpp"

int main() {
  namespace nn = ag::nn;
  const auto& names = tutorial::city_feature_names();
  fmt::print("Cities: synthetic weather readings [{}, {}, {}] from three cities\n", names[0],
             names[1], names[2]);
  fmt::print("network 3 -> 8 (ReLU) -> 3 -> softmax, categorical log-loss, per-row SGD, {} epochs\n\n",
             tutorial::kCityEpochs);

  const tutorial::CitiesRun r = tutorial::run_cities(nn::Verbosity::automatic);

  fmt::print("\nclasses (LabelEncoder, sorted) and their one-hot rows:\n");
  for (std::size_t c = 0; c < r.encoder.num_classes(); ++c) {
    const auto row = ag::one_hot({c}, r.encoder.num_classes()).to_xarray<double>();
    fmt::print("  {} {:<14} [{}, {}, {}]\n", c, r.encoder.label(c), row(0, 0), row(0, 1), row(0, 2));
  }
  fmt::print("\ntraining accuracy {:.4f} ({} rows), test accuracy {:.4f} ({} new rows)\n",
             r.train_accuracy, r.train.size(), r.test_accuracy, r.test.size());

  // Class probabilities of a few test rows, two per city.
  const std::vector<std::size_t> rows = {0, 1, 20, 21, 40, 41};
  const ag::Tensor probs = nn::predict(*r.model, ag::index_select(r.test.x(), 0, rows));
  const auto p = probs.to_xarray<double>();
  const auto raw = ag::index_select(r.test_rows.x, 0, rows).to_xarray<double>();
  const std::vector<std::string> predicted = r.encoder.inverse_transform(ag::argmax(probs, 1));
  fmt::print("\n{:>6} {:>8} {:>8}  {:>8} {:>8} {:>8}  {:>8}  {:<14} {}\n", names[0], names[1],
             names[2], "P(0)", "P(1)", "P(2)", "sum", "true city", "predicted");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double sum = p(i, 0) + p(i, 1) + p(i, 2);
    fmt::print("{:6.1f} {:8.1f} {:8.1f}  {:8.4f} {:8.4f} {:8.4f}  {:8.6f}  {:<14} {}\n", raw(i, 0),
               raw(i, 1), raw(i, 2), p(i, 0), p(i, 1), p(i, 2), sum, r.test_rows.labels[rows[i]],
               predicted[i]);
  }
  return r.train_accuracy == 1.0 ? 0 : 1;
}
