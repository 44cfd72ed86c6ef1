// A character-level language model of English words: nn::Embedding -> nn::LSTM -> nn::Dense,
// trained on the lower-case words of Debian's wamerican list (data/words.txt, fetched by
// scripts/fetch-data), which then samples new words with a temperature.
//
//   char_lstm [--quick | --full] [DATA_DIR]
//
// Tokens: 0 is the word boundary, 1-26 are a-z. The word "cat" is the input sequence [0, c, a, t]
// and the target sequence [c, a, t, 0]: each letter, and the end of the word, is predicted from
// the letters before it.
// Batches: each word is its own sequence, padded to the longest word of the batch; the lengths go
// to the LSTM (padded steps leave the state alone and give zero outputs) and the padded targets
// are ignore_index (no loss, no gradient). Why not truncated BPTT over one long stream of words:
// a word's probability depends only on its own letters, so every sequence should start from the
// zero state, exactly as sampling does. A stream would carry the state across word boundaries
// (and, in a sorted list, the previous word would give away the next one's prefix).
// Validation loss: the mean negative log-likelihood per predicted character (the end of a word
// counts as one) on held-out words, in nats (bits = nats / ln 2), before and after training. The
// bar is the unigram entropy: the cross-entropy, on the same held-out words, of the training
// words' character frequencies (a model that ignores context).
// Exits non-zero unless the trained loss is below the unigram entropy by at least 0.25 nats.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <unordered_set>
#include <vector>

#include <fmt/core.h>

#include <ag/nn.hpp>

#ifndef TAPEGRAD_DATA_DIR
#define TAPEGRAD_DATA_DIR "data"
#endif

namespace {

namespace nn = ag::nn;

constexpr std::size_t kVocab = 27;         // boundary + a-z
constexpr std::int64_t kIgnore = -100;     // target of a padded step

// ids [B, T] (int64), lengths [B] -> logits [B, T, 27].
struct CharLM : nn::Module {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Dense> head;
  CharLM(std::size_t embed_dim, std::size_t hidden, ag::Generator& gen) {
    embed = register_module("embed", std::make_shared<nn::Embedding>(kVocab, embed_dim, gen));
    lstm = register_module("lstm",
                           std::make_shared<nn::LSTM>(nn::LSTMOptions(embed_dim, hidden).batch_first(true), gen));
    head = register_module("head", std::make_shared<nn::Dense>(hidden, kVocab, gen));
  }
  ag::Tensor logits(const ag::Tensor& ids, const ag::Tensor& lengths) {
    return (*head)((*lstm)((*embed)(ids), {}, {}, lengths).output);
  }
  ag::Tensor forward(const ag::Tensor& ids) override { return logits(ids, {}); }
  std::string type_name() const override { return "CharLM"; }
};

// A batch of words: inputs [B, T], targets [B·T] (kIgnore on padding), lengths [B], T = longest + 1.
struct Batch {
  ag::Tensor ids, targets, lengths;
  std::size_t chars = 0;  // predicted characters (targets not ignored)
};
Batch make_batch(const std::vector<std::string>& words, const std::vector<std::size_t>& pick) {
  std::size_t T = 0;
  for (std::size_t i : pick) T = std::max(T, words[i].size() + 1);
  const std::size_t B = pick.size();
  std::vector<std::int64_t> ids(B * T, 0), tgt(B * T, kIgnore), len(B);
  Batch b;
  for (std::size_t r = 0; r < B; ++r) {
    const std::string& w = words[pick[r]];
    for (std::size_t t = 0; t <= w.size(); ++t) {
      ids[r * T + t] = t == 0 ? 0 : w[t - 1] - 'a' + 1;
      tgt[r * T + t] = t == w.size() ? 0 : w[t] - 'a' + 1;
    }
    len[r] = static_cast<std::int64_t>(w.size() + 1);
    b.chars += w.size() + 1;
  }
  b.ids = ag::from_vector(ids, {B, T});
  b.targets = ag::from_vector(tgt, {B * T});
  b.lengths = ag::from_vector(len, {B});
  return b;
}

// Summed negative log-likelihood (nats) of a batch's real targets.
ag::Tensor batch_nll(CharLM& model, const Batch& b, nn::Reduction reduction) {
  nn::CrossEntropyOptions o;
  o.reduction = reduction;
  o.ignore_index = kIgnore;
  const ag::Tensor z = model.logits(b.ids, b.lengths);
  return nn::cross_entropy(ag::reshape(z, {-1, static_cast<std::ptrdiff_t>(kVocab)}), b.targets, o);
}

// Mean nats per predicted character over `words`.
double mean_nll(CharLM& model, const std::vector<std::string>& words) {
  ag::NoGradGuard no_grad;
  double nll = 0;
  std::size_t chars = 0;
  for (std::size_t a = 0; a < words.size(); a += 256) {
    std::vector<std::size_t> pick;
    for (std::size_t i = a; i < std::min(a + 256, words.size()); ++i) pick.push_back(i);
    const Batch b = make_batch(words, pick);
    nll += batch_nll(model, b, nn::Reduction::sum).item();
    chars += b.chars;
  }
  return nll / static_cast<double>(chars);
}

// One word, one character at a time from the zero state: p(next) = softmax(logits / temperature).
std::string sample_word(CharLM& model, double temperature, ag::Generator& gen, std::size_t max_len = 24) {
  ag::NoGradGuard no_grad;
  const std::size_t H = model.lstm->options().hidden_size();
  ag::Tensor h = ag::zeros({1, 1, H}), c = ag::zeros({1, 1, H});
  std::int64_t token = 0;
  std::string word;
  while (word.size() < max_len) {
    const ag::Tensor x = (*model.embed)(ag::from_vector(std::vector<std::int64_t>{token}, {1, 1}));
    const nn::LSTMResult r = (*model.lstm)(x, h, c);
    h = r.h_n;
    c = r.c_n;
    const std::vector<float> p =
        ag::softmax(ag::reshape((*model.head)(r.output), {-1}) / temperature).to_vector<float>();
    double u = gen.uniform01(), acc = 0;
    token = static_cast<std::int64_t>(kVocab) - 1;
    for (std::size_t k = 0; k < kVocab; ++k)
      if ((acc += p[k]) > u) {
        token = static_cast<std::int64_t>(k);
        break;
      }
    if (token == 0) break;
    word += static_cast<char>('a' + token - 1);
  }
  return word;
}

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
  std::vector<std::string> words;
  {
    std::ifstream f(dir + "/words.txt");
    std::string w;
    while (f >> w)
      if (std::all_of(w.begin(), w.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; })) words.push_back(w);
  }
  if (words.size() < 10000) {
    fmt::print(stderr, "{}/words.txt: {} words\nrun scripts/fetch-data first (or pass the data directory)\n", dir,
               words.size());
    return 2;
  }
  const std::unordered_set<std::string> known(words.begin(), words.end());
  ag::Generator gen(11);
  for (std::size_t i = words.size(); i > 1; --i) std::swap(words[i - 1], words[gen.below(i)]);
  const std::vector<std::string> val(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(set.val_words));
  const std::vector<std::string> train(words.begin() + static_cast<std::ptrdiff_t>(set.val_words), words.end());

  // Unigram bar: training character frequencies (the word end included), scored on the validation words.
  std::vector<double> count(kVocab, 0.0);
  double total = 0;
  for (const std::string& w : train) {
    for (char ch : w) count[static_cast<std::size_t>(ch - 'a' + 1)] += 1;
    count[0] += 1;
    total += static_cast<double>(w.size() + 1);
  }
  double unigram = 0, val_chars = 0;
  for (const std::string& w : val) {
    for (char ch : w) unigram -= std::log(count[static_cast<std::size_t>(ch - 'a' + 1)] / total);
    unigram -= std::log(count[0] / total);
    val_chars += static_cast<double>(w.size() + 1);
  }
  unigram /= val_chars;

  CharLM model(set.embed, set.hidden, gen);
  nn::Adam adam(model.parameters(), set.lr);
  const double before = mean_nll(model, val);
  const double ln2 = std::log(2.0);
  fmt::print("words.txt: {} words (train {}, validation {}); {}\n", words.size(), train.size(), val.size(),
             model.lstm->describe());
  fmt::print("validation loss per character before training: {:.3f} nats ({:.3f} bits; uniform over 27: {:.3f} nats)\n",
             before, before / ln2, std::log(27.0));

  for (std::size_t step = 1; step <= set.steps; ++step) {
    std::vector<std::size_t> pick(set.batch);
    for (std::size_t& i : pick) i = gen.below(train.size());
    const Batch b = make_batch(train, pick);
    adam.zero_grad();
    const ag::Tensor loss = batch_nll(model, b, nn::Reduction::mean);
    loss.backward();
    nn::clip_grad_norm(model.parameters(), 1.0);
    adam.step();
    if (step % std::max<std::size_t>(1, set.steps / 5) == 0)
      fmt::print("step {:5d}: training loss {:.3f} nats/char\n", step, loss.item());
  }
  const double after = mean_nll(model, val);
  fmt::print("validation loss per character after {} steps of {} words: {:.3f} nats ({:.3f} bits); unigram "
             "entropy {:.3f} nats ({:.3f} bits)\n",
             set.steps, set.batch, after, after / ln2, unigram, unigram / ln2);

  for (double temperature : {0.5, 0.8, 1.0}) {
    std::string line;
    std::size_t novel = 0, n = 10;
    for (std::size_t k = 0; k < n; ++k) {
      const std::string w = sample_word(model, temperature, gen);
      const bool is_new = !known.count(w);
      novel += is_new;
      line += " " + w + (is_new ? "" : "*");
    }
    fmt::print("samples at temperature {:.1f} (* = in the word list, {} of {} new):{}\n", temperature, novel, n,
               line);
  }
  if (!(after <= unigram - 0.25)) {
    fmt::print(stderr, "the validation loss {:.3f} nats is not clearly below the unigram entropy {:.3f}\n", after,
               unigram);
    return 1;
  }
  return 0;
}
