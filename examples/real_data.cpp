// Real data: iris (150 flowers, 4 measurements, 3 species) and digits (1797 8×8 images of
// handwritten digits, 64 pixel values 0-16, 10 classes), from the CSV files Debian's
// python3-sklearn package ships. Fetch them first with scripts/fetch-data.
//
//   real_data [DATA_DIR] [loss_curves.svg]
//
// For each data set: a stratified 80/20 train/test split (seeded), 15% of the training rows held
// out for validation, features standardised with statistics of the training rows only, a small
// MLP trained with Adam on the cross-entropy, early stopping on the validation loss with the best
// weights restored. A single split's test accuracy depends a lot on which rows land in the test
// set (iris' test set has only 30 rows: one row is 3.3%), so this is repeated over several splits
// (seeds 1..R) and the mean is reported as the test accuracy. Writes the loss curves of the first
// split as an SVG plot.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
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

struct Result {
  std::string name;
  double test_accuracy = 0, seconds = 0;
  std::size_t epochs = 0, test_rows = 0, best_epoch = 0;
  nn::History history;
};

struct Setup {
  std::string name;
  std::size_t hidden, epochs, batch_size, patience;
  double lr;
  std::size_t repeats;
};

Result train_and_test(const Setup& s, const nn::CsvTable& table, std::uint64_t seed, bool verbose) {
  ag::Generator gen(seed);
  nn::LabelEncoder enc;
  const std::vector<std::size_t> classes = enc.fit_transform(table.labels);
  const std::size_t n_classes = enc.num_classes(), n_features = table.x.shape()[1];
  const nn::Dataset all(table.x, ag::one_hot(classes, n_classes));

  // test 20%, then validation 15% of the rest; stratified so each part keeps the class mix
  auto [rest, test] = nn::train_test_split(all, 0.2, seed, classes);
  auto [train, val] = nn::train_test_split(rest, 0.15, seed + 1, nn::class_indices(rest.y()));

  nn::StandardScaler scaler;  // fitted on the training rows only
  train = nn::Dataset(scaler.fit_transform(train.x()), train.y());
  val = nn::Dataset(scaler.transform(val.x()), val.y());
  test = nn::Dataset(scaler.transform(test.x()), test.y());

  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Dense>(n_features, s.hidden, gen, true, nn::Init::he_uniform),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Dense>(s.hidden, n_classes, gen));
  nn::Adam adam(model->parameters(), s.lr);
  nn::FitOptions o;
  o.epochs = s.epochs;
  o.batch_size = s.batch_size;
  o.seed = seed;
  o.validation_data = val;
  o.metrics = {nn::metrics::accuracy()};
  auto stop = std::make_shared<nn::EarlyStopping>("val_loss", s.patience, 0.0, nn::Mode::automatic,
                                                  /*restore_best_weights=*/true);
  o.callbacks = {stop};
  // One line per epoch would be long here: print every epoch on a terminal (progress bar),
  // otherwise stay quiet and summarise.
  o.verbosity = verbose && nn::stdout_is_terminal() ? nn::Verbosity::progress_bar
                                                   : nn::Verbosity::silent;

  if (verbose) {
  fmt::print("[{}] {} rows, {} features, {} classes; train {}, validation {}, test {}\n", s.name,
             all.size(), n_features, n_classes, train.size(), val.size(), test.size());
  fmt::print("[{}] MLP {} -> {} (ReLU) -> {}, Adam lr {}, batch {}, up to {} epochs\n", s.name,
             n_features, s.hidden, n_classes, s.lr, s.batch_size, s.epochs);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Result r;
  r.name = s.name;
  r.history = nn::fit(*model, nn::CrossEntropyLoss(), adam, train, o);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.epochs = r.history.epochs();
  r.test_rows = test.size();
  r.best_epoch = stop->best_epoch();
  const nn::Logs t = nn::evaluate(*model, nn::CrossEntropyLoss(), test, o.metrics);
  r.test_accuracy = t.at("accuracy");
  fmt::print("[{}] split {:2d}: {:3d} epochs in {:.2f} s{}, best val_loss {:.4f} at epoch {:3d}, "
             "test loss {:.4f}, accuracy {:.4f}\n",
             s.name, seed, r.epochs, r.seconds, r.history.stopped_early ? " (early stop)" : "",
             stop->best().value_or(NAN), stop->best_epoch(), t.at("loss"), r.test_accuracy);
  return r;
}

// iris.csv as shipped: "150,4,setosa,versicolor,virginica", then rows "5.1,3.5,1.4,0.2,0".
std::vector<std::string> iris_species(const std::string& path) {
  std::ifstream f(path);
  std::string first;
  std::getline(f, first);
  const auto cells = nn::split_csv_line(first, ',', path + ":1");
  return std::vector<std::string>(cells.begin() + 2, cells.end());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : TAPEGRAD_DATA_DIR;
  const std::string out = argc > 2 ? argv[2] : "real_data_loss.svg";
  nn::CsvTable iris, digits;
  try {
    nn::CsvOptions o;
    o.header = false;  // the first line is sklearn's "n_samples,n_features,names..."
    o.skip_lines = 1;
    o.label_index = -1;  // the class is the last column
    iris = nn::read_csv(dir + "/iris.csv", o);
    o.skip_lines = 0;  // digits.csv has no header at all
    digits = nn::read_csv(dir + "/digits.csv", o);
  } catch (const ag::IOError& e) {
    fmt::print(stderr, "{}\nrun scripts/fetch-data first (or pass the data directory)\n", e.what());
    return 2;
  }
  const auto species = iris_species(dir + "/iris.csv");
  fmt::print("iris species: {}\n\n", fmt::format("{}, {}, {}", species.at(0), species.at(1), species.at(2)));

  struct Summary {
    Result first;
    double mean_accuracy = 0, max_seconds = 0;
  };
  auto run = [](const Setup& s, const nn::CsvTable& table) {
    Summary sum;
    for (std::size_t k = 1; k <= s.repeats; ++k) {
      Result r = train_and_test(s, table, k, k == 1);
      sum.mean_accuracy += r.test_accuracy / static_cast<double>(s.repeats);
      sum.max_seconds = std::max(sum.max_seconds, r.seconds);
      if (k == 1) sum.first = std::move(r);
    }
    fmt::print("[{}] test accuracy: {:.4f}  (mean over {} splits; each trained in at most {:.2f} s)\n\n",
               s.name, sum.mean_accuracy, s.repeats, sum.max_seconds);
    return sum;
  };
  const Summary si = run({"iris", 16, 300, 16, 30, 0.01, 10}, iris);
  const Summary sd = run({"digits", 128, 100, 32, 10, 0.002, 5}, digits);
  const Result& ri = si.first;
  const Result& rd = sd.first;

  svg::Document d(900, 340);
  auto panel = [&](double x, const Result& r) {
    svg::line_chart(d, x, 10, 440, 320,
                    fmt::format("{}, split 1: cross-entropy per epoch (test acc. {:.3f})", r.name, r.test_accuracy),
                    {{"train loss", r.history.loss, "#1f77b4"},
                     {"validation loss", r.history.val_loss, "#ff7f0e"}},
                    r.best_epoch, "best val_loss: weights kept");
  };
  panel(0, ri);
  panel(450, rd);
  d.save(out);
  fmt::print("wrote {} (loss curves)\n", out);
  fmt::print("summary: iris test accuracy {:.4f}, digits test accuracy {:.4f} (targets 0.95, 0.96)\n",
             si.mean_accuracy, sd.mean_accuracy);
  return si.mean_accuracy >= 0.95 && sd.mean_accuracy >= 0.96 ? 0 : 1;
}
