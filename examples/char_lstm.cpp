// A character-level language model of English words: nn::Embedding -> nn::LSTM -> nn::Dense,
// trained on the lower-case words of Debian's wamerican list (data/words.txt, fetched by
// scripts/fetch-data), which then samples new words with a temperature.
//
//   char_lstm [--quick | --full] [DATA_DIR]
//
// The data, its encoding, batches, loss and the unigram bar are in char_words.hpp (shared with
// char_transformer): each word is its own sequence [0, c, a, t] -> [c, a, t, 0], padded to the
// longest word of the batch; the lengths go to the LSTM (padded steps leave the state alone and
// give zero outputs) and the padded targets are ignored. Every sequence starts from the zero
// state, exactly as sampling does.
// Validation loss: mean nats per predicted character on held-out words, before and after training,
// against the unigram entropy (the training words' character frequencies scored on the same words).
// Exits non-zero unless the trained loss is below the unigram entropy by at least 0.25 nats.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ag/nn.hpp>

#include "char_words.hpp"

#ifndef TAPEGRAD_DATA_DIR
#define TAPEGRAD_DATA_DIR "data"
#endif

namespace {

namespace nn = ag::nn;
using namespace char_words;

struct Setting {
  std::size_t embed, hidden, steps, batch, val_words;
  double lr;
};

}  // namespace

int main(int argc, char** argv) {
  // default: the CI setting (seconds in Release); --quick: smaller still (sanitizer builds);
  // --full: a wider LSTM trained for about 6 epochs.
  Setting set{16, 64, 500, 64, 2000, 0.01};
  std::string dir = TAPEGRAD_DATA_DIR;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      set = {32, 256, 6000, 64, 5000, 0.005};
    else if (std::strcmp(argv[i], "--quick") == 0)
      set = {16, 32, 120, 32, 400, 0.02};
    else
      dir = argv[i];
  }
  ag::Generator gen(11);
  Split data;
  if (!load_split(dir, set.val_words, gen, data)) return 2;
  const std::vector<std::string>& train = data.train;
  const std::vector<std::string>& val = data.val;
  const double unigram = data.unigram;

  CharLSTM model(set.embed, set.hidden, gen);
  nn::Adam adam(model.parameters(), set.lr);
  auto logits = [&](const Batch& b) { return model.logits(b); };
  const double before = mean_nll(logits, val);
  const double ln2 = std::log(2.0);
  fmt::print("words.txt: {} words (train {}, validation {}); {}\n", data.words, train.size(), val.size(),
             model.lstm->describe());
  fmt::print("validation loss per character before training: {:.3f} nats ({:.3f} bits; uniform over 27: {:.3f} nats)\n",
             before, before / ln2, std::log(27.0));

  for (std::size_t step = 1; step <= set.steps; ++step) {
    std::vector<std::size_t> pick(set.batch);
    for (std::size_t& i : pick) i = gen.below(train.size());
    const Batch b = make_batch(train, pick);
    adam.zero_grad();
    const ag::Tensor loss = batch_nll(model.logits(b), b, nn::Reduction::mean);
    loss.backward();
    nn::clip_grad_norm(model.parameters(), 1.0);
    adam.step();
    if (step % std::max<std::size_t>(1, set.steps / 5) == 0)
      fmt::print("step {:5d}: training loss {:.3f} nats/char\n", step, loss.item());
  }
  const double after = mean_nll(logits, val);
  fmt::print("validation loss per character after {} steps of {} words: {:.3f} nats ({:.3f} bits); unigram "
             "entropy {:.3f} nats ({:.3f} bits)\n",
             set.steps, set.batch, after, after / ln2, unigram, unigram / ln2);

  print_samples("", [&](double temperature, ag::Generator& g) { return model.sample_word(temperature, g); }, data.known,
                gen);
  if (!(after <= unigram - 0.25)) {
    fmt::print(stderr, "the validation loss {:.3f} nats is not clearly below the unigram entropy {:.3f}\n", after,
               unigram);
    return 1;
  }
  return 0;
}
