// A decoder-only (causal) transformer language model of English words, trained next to
// char_lstm's LSTM on exactly the same data: the lower-case words of Debian's wamerican list
// (data/words.txt, fetched by scripts/fetch-data), the same split, encoding, batches and loss
// (char_words.hpp). Both models see the same batches for the same number of steps; the program
// prints both validation losses, their training times, the unigram bar, and samples of each.
//
//   char_transformer [--quick | --full] [DATA_DIR]
//
// The model (GPT-style): nn::Embedding + nn::LearnedPositionalEncoding -> nn::TransformerEncoder
// of pre-norm layers (norm_first, GELU) run with the causal mask -> a final LayerNorm -> nn::Dense.
// Why encoder layers with a causal mask and not decoder layers: a PyTorch decoder layer is
// self-attention + cross-attention to an encoder's output + feed-forward; a language model has no
// encoder to attend to, so what remains is exactly an encoder layer whose self-attention is causal.
// No key-padding mask is needed: the padding of a word comes after its last real position, and
// under the causal mask a real position only sees positions before it, all real; the padded
// positions' outputs are garbage but their targets are ignored.
// Sampling: one word, one character at a time, running the model over the whole prefix each time
// (words are at most ~24 characters; no key/value cache).
// Exits non-zero unless the transformer's validation loss is below the unigram entropy by at
// least 0.25 nats (the bar char_lstm sets for itself).
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
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

constexpr int64_t kMaxLen = 32;  // positions: the longest word has 22 letters (+1 boundary), samples stop at 24

// ids [B, T] (int64) -> logits [B, T, 27], position t seeing positions <= t only.
struct CharTransformer : nn::Module {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::LearnedPositionalEncoding> pos;
  std::shared_ptr<nn::TransformerEncoder> blocks;  // with the final LayerNorm that pre-norm layers need
  std::shared_ptr<nn::Dense> head;
  CharTransformer(std::size_t d_model, std::size_t heads, std::size_t layers, std::size_t ff, ag::Generator& gen) {
    const auto d = static_cast<int64_t>(d_model);
    embed = register_module("embed", std::make_shared<nn::Embedding>(kVocab, d_model, gen));
    pos = register_module("pos", std::make_shared<nn::LearnedPositionalEncoding>(kMaxLen, d, gen, true));
    blocks = register_module("blocks", std::make_shared<nn::TransformerEncoder>(
                                           nn::TransformerLayerOptions(d, static_cast<int64_t>(heads))
                                               .dim_feedforward(static_cast<int64_t>(ff))
                                               .dropout(0.0)
                                               .activation("gelu")
                                               .batch_first(true)
                                               .norm_first(true),
                                           static_cast<int64_t>(layers), true, gen));
    head = register_module("head", std::make_shared<nn::Dense>(d_model, kVocab, gen));
  }
  ag::Tensor forward(const ag::Tensor& ids) override {
    nn::EncoderCall call;
    call.is_causal = true;  // no mask tensor: the attention op skips s > t itself
    return (*head)((*blocks)((*pos)((*embed)(ids)), call));
  }
  std::string type_name() const override { return "CharTransformer"; }

  std::string sample_word(double temperature, ag::Generator& gen, std::size_t max_len = 24) {
    ag::NoGradGuard no_grad;
    std::vector<std::int64_t> tokens{0};
    std::string word;
    while (word.size() < max_len) {
      const ag::Tensor z = forward(ag::from_vector(tokens, {1, tokens.size()}));  // [1, t, 27]
      const std::int64_t token =
          sample_token(ag::select(ag::select(z, 0, 0), 0, static_cast<std::ptrdiff_t>(tokens.size() - 1)),
                       temperature, gen);
      if (token == 0) break;
      tokens.push_back(token);
      word += static_cast<char>('a' + token - 1);
    }
    return word;
  }
};

struct Setting {
  // shared by both models
  std::size_t steps, batch, val_words;
  // char_lstm's LSTM (its setting of the same name)
  std::size_t lstm_embed, lstm_hidden;
  double lstm_lr;
  // the transformer
  std::size_t d_model, heads, layers, ff;
  double lr;
};

// Seconds of this process's CPU time (what a training run costs on a shared, loaded machine) and
// of wall-clock time since the start of a run.
struct Timer {
  std::clock_t cpu0 = std::clock();
  std::chrono::steady_clock::time_point wall0 = std::chrono::steady_clock::now();
  double cpu() const { return static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC; }
  double wall() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(); }
};

}  // namespace

int main(int argc, char** argv) {
  // default: seconds in Release; --quick: the CI test (also run in sanitizer builds); --full: the
  // LSTM of char_lstm --full against a transformer with a comparable number of parameters.
  Setting set{500, 64, 2000, 16, 64, 0.01, 64, 4, 2, 128, 3e-3};
  std::string dir = TAPEGRAD_DATA_DIR;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      set = {6000, 64, 5000, 32, 256, 0.005, 128, 4, 2, 512, 1e-3};
    else if (std::strcmp(argv[i], "--quick") == 0)
      set = {120, 32, 400, 16, 32, 0.02, 32, 2, 2, 64, 1e-2};
    else
      dir = argv[i];
  }
  ag::Generator gen(11);  // char_lstm's seed: the same shuffle, so the same split
  Split data;
  if (!load_split(dir, set.val_words, gen, data)) return 2;
  const std::vector<std::string>& train = data.train;
  const std::vector<std::string>& val = data.val;
  const double ln2 = std::log(2.0);

  // The same batches for both models: every step's words drawn up front.
  ag::Generator pick_gen(12);
  std::vector<std::vector<std::size_t>> picks(set.steps, std::vector<std::size_t>(set.batch));
  for (auto& pick : picks)
    for (std::size_t& i : pick) i = pick_gen.below(train.size());

  ag::Generator init_gen(13);
  CharTransformer tf(set.d_model, set.heads, set.layers, set.ff, init_gen);
  CharLSTM lstm(set.lstm_embed, set.lstm_hidden, init_gen);
  fmt::print("words.txt: {} words (train {}, validation {}); unigram entropy {:.3f} nats ({:.3f} bits)\n",
             data.words, train.size(), val.size(), data.unigram, data.unigram / ln2);
  fmt::print("transformer: d_model {}, {} heads, {} layers, feed-forward {}: {} parameters\n", set.d_model,
             set.heads, set.layers, set.ff, tf.num_parameters());
  fmt::print("LSTM (char_lstm's model): {}: {} parameters\n", lstm.lstm->describe(), lstm.num_parameters());

  // One model's training: Adam, gradient norm clipped at 1 (as char_lstm), the same batches.
  auto train_model = [&](nn::Module& model, auto&& logits, double lr, const char* name) {
    nn::Adam adam(model.parameters(), lr);
    const Timer timer;
    for (std::size_t step = 1; step <= set.steps; ++step) {
      const Batch b = make_batch(train, picks[step - 1]);
      adam.zero_grad();
      const ag::Tensor loss = batch_nll(logits(b), b, nn::Reduction::mean);
      loss.backward();
      nn::clip_grad_norm(model.parameters(), 1.0);
      adam.step();
      if (step % std::max<std::size_t>(1, set.steps / 5) == 0)
        fmt::print("{} step {:5d}: training loss {:.3f} nats/char\n", name, step, loss.item());
    }
    return std::pair<double, double>{timer.cpu(), timer.wall()};
  };
  auto tf_logits = [&](const Batch& b) { return tf(b.ids); };
  auto lstm_logits = [&](const Batch& b) { return lstm.logits(b); };

  const double tf_before = mean_nll(tf_logits, val);
  const auto [tf_cpu, tf_wall] = train_model(tf, tf_logits, set.lr, "transformer");
  const double tf_after = mean_nll(tf_logits, val);
  const double lstm_before = mean_nll(lstm_logits, val);
  const auto [lstm_cpu, lstm_wall] = train_model(lstm, lstm_logits, set.lstm_lr, "LSTM       ");
  const double lstm_after = mean_nll(lstm_logits, val);

  fmt::print("validation loss per character after {} steps of {} words (before training):\n", set.steps, set.batch);
  fmt::print("  transformer {:.3f} nats ({:.3f} bits; {:.3f} before), trained in {:.1f} s CPU ({:.1f} s wall)\n",
             tf_after, tf_after / ln2, tf_before, tf_cpu, tf_wall);
  fmt::print("  LSTM        {:.3f} nats ({:.3f} bits; {:.3f} before), trained in {:.1f} s CPU ({:.1f} s wall)\n",
             lstm_after, lstm_after / ln2, lstm_before, lstm_cpu, lstm_wall);
  fmt::print("  unigram     {:.3f} nats ({:.3f} bits)\n", data.unigram, data.unigram / ln2);
  print_samples(
      "transformer ", [&](double temperature, ag::Generator& g) { return tf.sample_word(temperature, g); },
      data.known, gen);
  print_samples(
      "LSTM ", [&](double temperature, ag::Generator& g) { return lstm.sample_word(temperature, g); }, data.known,
      gen);
  if (!(tf_after <= data.unigram - 0.25)) {
    fmt::print(stderr,
               "the transformer's validation loss {:.3f} nats is not clearly below the unigram entropy {:.3f}\n",
               tf_after, data.unigram);
    return 1;
  }
  return 0;
}
