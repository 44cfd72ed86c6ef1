// Tabular data with categorical and numeric columns: Fair's 1977 survey of married women (6366
// rows; statsmodels ships it as fair.csv, fetched by scripts/fetch-data). The task is two-class:
// did the respondent report any extramarital affair (affairs > 0; about a third did)?
//
//   tabular [DATA_DIR]
//
// Columns: rate_marriage (1-5), age, yrs_married, children, religious (1-4), educ (years),
// occupation (1-6), occupation_husb (1-6), affairs. The four coded columns are categories, not
// quantities (occupation 4 is not "twice" occupation 2): each gets an Embedding table; the four
// numeric ones go through BatchNorm1d (which learns their scale from batch statistics and keeps
// running statistics as buffers for evaluation), and an MLP reads the concatenation.
// Next to it, two baselines on the same splits: always predicting the majority class, and a
// logistic regression on all eight columns standardised (the coded ones used as numbers).
// Accuracy is the mean over several stratified 80/20 splits. After training, the model is saved,
// loaded into a freshly initialised copy, and its test predictions must be bit-identical (the
// BatchNorm running statistics travel in the file as buffers).
// Exits non-zero when the embedding model is not clearly above the majority class, falls clearly
// behind the logistic regression, or the reloaded model predicts differently.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ag/nn.hpp>

#ifndef TAPEGRAD_DATA_DIR
#define TAPEGRAD_DATA_DIR "data"
#endif

namespace {

namespace nn = ag::nn;

// The coded columns of fair.csv (0-based) and how many levels each has (codes 1..levels).
struct Categorical {
  const char* name;
  int column;
  std::size_t levels, dim;
};
const Categorical categoricals[] = {
    {"rate_marriage", 0, 5, 3}, {"religious", 4, 4, 2}, {"occupation", 6, 6, 3}, {"occupation_husb", 7, 6, 3}};
const int numeric_columns[] = {1, 2, 3, 5};  // age, yrs_married, children, educ

// x [N, 8]: the file's first eight columns as read. Each coded column c becomes ids c - 1 (int64)
// and is looked up in its own table; the numeric columns are normalised by BatchNorm1d.
struct TabularNet : nn::Module {
  std::shared_ptr<nn::ModuleDict> embeddings;
  std::shared_ptr<nn::BatchNorm1d> norm;
  std::shared_ptr<nn::Sequential> mlp;

  TabularNet(std::size_t hidden, ag::Generator& gen) {
    embeddings = register_module("embeddings", std::make_shared<nn::ModuleDict>());
    std::size_t width = std::size(numeric_columns);
    for (const Categorical& c : categoricals) {
      embeddings->insert(c.name, std::make_shared<nn::Embedding>(c.levels, c.dim, gen));
      width += c.dim;
    }
    norm = register_module("norm", std::make_shared<nn::BatchNorm1d>(std::size(numeric_columns)));
    mlp = register_module("mlp", std::make_shared<nn::Sequential>(
                                     std::make_shared<nn::Dense>(width, hidden, gen, true, nn::Init::he_uniform),
                                     std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.1),
                                     std::make_shared<nn::Dense>(hidden, 1, gen)));
  }

  ag::Tensor forward(const ag::Tensor& x) override {
    std::vector<ag::Tensor> parts;
    for (const Categorical& c : categoricals) {
      const ag::Tensor ids = (ag::select(x, 1, c.column) - 1.0).to(ag::i64);  // [N], codes 1..k → 0..k-1
      parts.push_back((*embeddings)[c.name](ids));                            // [N, dim]
    }
    std::vector<ag::Tensor> numeric;
    for (int col : numeric_columns) numeric.push_back(ag::slice(x, 1, col, col + 1));
    parts.push_back((*norm)(ag::concat(numeric, 1)));  // [N, 4]
    return (*mlp)(ag::concat(parts, 1));               // [N, 1]: the logit of "affairs > 0"
  }
  std::string type_name() const override { return "TabularNet"; }
};

struct Scores {
  double majority = 0, logistic = 0, embedding = 0;     // test accuracy
  double logistic_loss = 0, embedding_loss = 0;         // test log-loss
};

Scores run_split(const nn::Dataset& all, std::uint64_t seed, std::size_t epochs, bool verbose) {
  const std::vector<std::size_t> classes = nn::class_indices(all.y());
  auto [rest, test] = nn::train_test_split(all, 0.2, seed, classes);
  auto [train, val] = nn::train_test_split(rest, 0.15, seed + 1, nn::class_indices(rest.y()));
  Scores s;

  // Majority class of the training rows.
  const double positive = ag::mean(train.y()).item();
  const double majority = positive >= 0.5 ? 1.0 : 0.0;
  s.majority = ag::mean(ag::eq(test.y(), majority).to(ag::f64)).item();

  nn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 64;
  o.seed = seed;
  o.metrics = {nn::metrics::accuracy(0.0)};  // one logit: class 1 when it is > 0
  o.verbosity = nn::Verbosity::silent;

  // Logistic regression on standardised columns (statistics of the training rows only).
  {
    ag::Generator gen(seed);
    nn::StandardScaler scaler;
    const nn::Dataset tr(scaler.fit_transform(train.x()), train.y());
    const nn::Dataset te(scaler.transform(test.x()), test.y());
    nn::Dense logistic(8, 1, gen);
    nn::Adam adam(logistic.parameters(), 0.01);
    nn::fit(logistic, nn::BCEWithLogitsLoss(), adam, tr, o);
    const nn::Logs t = nn::evaluate(logistic, nn::BCEWithLogitsLoss(), te, o.metrics);
    s.logistic = t.at("accuracy");
    s.logistic_loss = t.at("loss");
  }

  // Embeddings + BatchNorm + MLP, early stopping on the validation loss.
  ag::Generator gen(seed);
  TabularNet model(32, gen);
  nn::AdamW adamw(model.parameters(), 0.003, {}, 1e-8, 1e-3);
  o.validation_data = val;
  auto stop = std::make_shared<nn::EarlyStopping>("val_loss", 8, 0.0, nn::Mode::automatic, true);
  o.callbacks = {stop};
  if (verbose) fmt::print("{}", nn::summary(model, ag::slice(train.x(), 0, 0, 4)));  // ids must be valid codes
  const nn::History h = nn::fit(model, nn::BCEWithLogitsLoss(), adamw, train, o);
  const nn::Logs t = nn::evaluate(model, nn::BCEWithLogitsLoss(), test, o.metrics);
  s.embedding = t.at("accuracy");
  s.embedding_loss = t.at("loss");
  fmt::print("split {}: train {}, validation {}, test {} rows; {} epochs (best at {}); test accuracy "
             "(log-loss): majority {:.4f}, logistic {:.4f} ({:.4f}), embeddings+MLP {:.4f} ({:.4f})\n",
             seed, train.size(), val.size(), test.size(), h.epochs(), stop->best_epoch(), s.majority,
             s.logistic, s.logistic_loss, s.embedding, s.embedding_loss);

  // Save, load into a differently initialised model, predict again: bit-identical.
  const std::string path = fmt::format("tabular_split{}.tgm", seed);
  nn::save(model, path);
  ag::Generator other(seed + 1000);
  TabularNet reloaded(32, other);
  nn::load(reloaded, path);
  std::remove(path.c_str());
  model.eval();
  reloaded.eval();
  const std::vector<float> a = nn::predict(model, test.x()).to_vector<float>();
  const std::vector<float> b = nn::predict(reloaded, test.x()).to_vector<float>();
  if (a.size() != b.size() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0) {
    fmt::print(stderr, "split {}: the reloaded model predicts differently\n", seed);
    s.embedding = -1;  // fails the run
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : TAPEGRAD_DATA_DIR;
  nn::CsvTable table;
  try {
    table = nn::read_csv(dir + "/fair.csv");  // every column as a feature, header names kept
  } catch (const ag::IOError& e) {
    fmt::print(stderr, "{}\nrun scripts/fetch-data first (or pass the data directory)\n", e.what());
    return 2;
  }
  if (table.feature_names.size() != 9 || table.feature_names[8] != "affairs") {
    fmt::print(stderr, "{}: expected 9 columns ending with 'affairs'\n", table.path);
    return 2;
  }
  const ag::Tensor x = ag::slice(table.x, 1, 0, 8);                               // [N, 8]
  const ag::Tensor y = ag::gt(ag::slice(table.x, 1, 8, 9), 0.0).to(ag::f32);  // [N, 1]: any affair
  const nn::Dataset all(x, y);
  fmt::print("fair.csv: {} rows, {:.1f}% with affairs > 0\n", all.size(), 100 * ag::mean(y).item());

  const std::size_t splits = 5, epochs = 100;  // early stopping ends most runs near epoch 30
  Scores mean;
  for (std::size_t k = 1; k <= splits; ++k) {
    const Scores s = run_split(all, k, epochs, k == 1);
    if (s.embedding < 0) return 1;
    mean.majority += s.majority / splits;
    mean.logistic += s.logistic / splits;
    mean.embedding += s.embedding / splits;
    mean.logistic_loss += s.logistic_loss / splits;
    mean.embedding_loss += s.embedding_loss / splits;
  }
  fmt::print("mean over {} splits, test accuracy (log-loss): majority {:.4f}, logistic regression {:.4f} "
             "({:.4f}), embeddings+BatchNorm+MLP {:.4f} ({:.4f})\n",
             splits, mean.majority, mean.logistic, mean.logistic_loss, mean.embedding, mean.embedding_loss);
  return mean.embedding >= mean.majority + 0.03 && mean.embedding >= mean.logistic - 0.015 ? 0 : 1;
}
