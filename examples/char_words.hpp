#pragma once
// The word-list data of the character-level language models (char_lstm.cpp, char_transformer.cpp),
// shared so that both see exactly the same split, encoding, batches, loss and unigram bar; and
// char_lstm's model, which char_transformer trains next to its transformer.
//
// Tokens: 0 is the word boundary, 1-26 are a-z. The word "cat" is the input sequence [0, c, a, t]
// and the target sequence [c, a, t, 0]: each letter, and the end of the word, is predicted from
// the letters before it.
// Batches: each word is its own sequence, padded to the longest word of the batch; the padded
// targets are ignore_index (no loss, no gradient). Why not one long stream of words: a word's
// probability depends only on its own letters, so every sequence should start afresh, exactly as
// sampling does. A stream would carry context across word boundaries (and, in a sorted list, the
// previous word would give away the next one's prefix).
// Validation loss: the mean negative log-likelihood per predicted character (the end of a word
// counts as one) on held-out words, in nats (bits = nats / ln 2). The bar is the unigram entropy:
// the cross-entropy, on the same held-out words, of the training words' character frequencies (a
// model that ignores context).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <fmt/core.h>

#include <ag/nn.hpp>

namespace char_words {

namespace nn = ag::nn;

constexpr std::size_t kVocab = 27;      // boundary + a-z
constexpr std::int64_t kIgnore = -100;  // target of a padded step

// A batch of words: inputs [B, T], targets [B·T] (kIgnore on padding), lengths [B], T = longest + 1.
struct Batch {
  ag::Tensor ids, targets, lengths;
  std::size_t chars = 0;  // predicted characters (targets not ignored)
};
inline Batch make_batch(const std::vector<std::string>& words, const std::vector<std::size_t>& pick) {
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

// The lower-case words of <dir>/words.txt shuffled by `gen`; the first val_words are held out.
struct Split {
  std::size_t words = 0;
  std::vector<std::string> train, val;
  std::unordered_set<std::string> known;  // every word of the list (to mark samples that are real words)
  double unigram = 0;                     // nats per character on val of the training frequencies
};
// Returns false (after printing why) when the file is missing or too short.
inline bool load_split(const std::string& dir, std::size_t val_words, ag::Generator& gen, Split& s) {
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
    return false;
  }
  s.words = words.size();
  s.known = std::unordered_set<std::string>(words.begin(), words.end());
  for (std::size_t i = words.size(); i > 1; --i) std::swap(words[i - 1], words[gen.below(i)]);
  s.val.assign(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(val_words));
  s.train.assign(words.begin() + static_cast<std::ptrdiff_t>(val_words), words.end());

  // Unigram bar: training character frequencies (the word end included), scored on the validation words.
  std::vector<double> count(kVocab, 0.0);
  double total = 0;
  for (const std::string& w : s.train) {
    for (char ch : w) count[static_cast<std::size_t>(ch - 'a' + 1)] += 1;
    count[0] += 1;
    total += static_cast<double>(w.size() + 1);
  }
  double unigram = 0, val_chars = 0;
  for (const std::string& w : s.val) {
    for (char ch : w) unigram -= std::log(count[static_cast<std::size_t>(ch - 'a' + 1)] / total);
    unigram -= std::log(count[0] / total);
    val_chars += static_cast<double>(w.size() + 1);
  }
  s.unigram = unigram / val_chars;
  return true;
}

// Cross-entropy of logits [B, T, 27] against a batch's real targets (padding ignored).
inline ag::Tensor batch_nll(const ag::Tensor& logits, const Batch& b, nn::Reduction reduction) {
  nn::CrossEntropyOptions o;
  o.reduction = reduction;
  o.ignore_index = kIgnore;
  return nn::cross_entropy(ag::reshape(logits, {-1, static_cast<std::ptrdiff_t>(kVocab)}), b.targets, o);
}

// Mean nats per predicted character over `words`; logits(batch) -> [B, T, 27].
template <class Logits> double mean_nll(Logits&& logits, const std::vector<std::string>& words) {
  ag::NoGradGuard no_grad;
  double nll = 0;
  std::size_t chars = 0;
  for (std::size_t a = 0; a < words.size(); a += 256) {
    std::vector<std::size_t> pick;
    for (std::size_t i = a; i < std::min(a + 256, words.size()); ++i) pick.push_back(i);
    const Batch b = make_batch(words, pick);
    nll += batch_nll(logits(b), b, nn::Reduction::sum).item();
    chars += b.chars;
  }
  return nll / static_cast<double>(chars);
}

// A token drawn from p(next) = softmax(logits / temperature), logits [27].
inline std::int64_t sample_token(const ag::Tensor& logits, double temperature, ag::Generator& gen) {
  const std::vector<float> p = ag::softmax(ag::reshape(logits, {-1}) / temperature).to_vector<float>();
  const double u = gen.uniform01();
  double acc = 0;
  for (std::size_t k = 0; k < kVocab; ++k)
    if ((acc += p[k]) > u) return static_cast<std::int64_t>(k);
  return static_cast<std::int64_t>(kVocab) - 1;
}

// char_lstm's model: ids [B, T] (int64), lengths [B] -> logits [B, T, 27]. The lengths go to the
// LSTM (padded steps leave the state alone and give zero outputs).
struct CharLSTM : nn::Module {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::Dense> head;
  CharLSTM(std::size_t embed_dim, std::size_t hidden, ag::Generator& gen) {
    embed = register_module("embed", std::make_shared<nn::Embedding>(kVocab, embed_dim, gen));
    lstm = register_module("lstm",
                           std::make_shared<nn::LSTM>(nn::LSTMOptions(embed_dim, hidden).batch_first(true), gen));
    head = register_module("head", std::make_shared<nn::Dense>(hidden, kVocab, gen));
  }
  ag::Tensor logits(const Batch& b) { return (*head)((*lstm)((*embed)(b.ids), {}, {}, b.lengths).output); }
  ag::Tensor forward(const ag::Tensor& ids) override { return (*head)((*lstm)((*embed)(ids), {}, {}, {}).output); }
  std::string type_name() const override { return "CharLSTM"; }

  // One word, one character at a time from the zero state.
  std::string sample_word(double temperature, ag::Generator& gen, std::size_t max_len = 24) {
    ag::NoGradGuard no_grad;
    const std::size_t H = lstm->options().hidden_size();
    ag::Tensor h = ag::zeros({1, 1, H}), c = ag::zeros({1, 1, H});
    std::int64_t token = 0;
    std::string word;
    while (word.size() < max_len) {
      const ag::Tensor x = (*embed)(ag::from_vector(std::vector<std::int64_t>{token}, {1, 1}));
      const nn::LSTMResult r = (*lstm)(x, h, c);
      h = r.h_n;
      c = r.c_n;
      token = sample_token((*head)(r.output), temperature, gen);
      if (token == 0) break;
      word += static_cast<char>('a' + token - 1);
    }
    return word;
  }
};

// Ten sampled words per temperature, words of the list marked with *; each line starts with `label`.
template <class Sample>
void print_samples(const std::string& label, Sample&& sample_word, const std::unordered_set<std::string>& known,
                   ag::Generator& gen) {
  for (double temperature : {0.5, 0.8, 1.0}) {
    std::string line;
    std::size_t novel = 0, n = 10;
    for (std::size_t k = 0; k < n; ++k) {
      const std::string w = sample_word(temperature, gen);
      const bool is_new = !known.count(w);
      novel += is_new;
      line += " " + w + (is_new ? "" : "*");
    }
    fmt::print("{}samples at temperature {:.1f} (* = in the word list, {} of {} new):{}\n", label, temperature, novel,
               n, line);
  }
}

}  // namespace char_words
