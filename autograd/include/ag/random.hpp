#pragma once
// Seeded random tensors. Every draw comes from an explicit Generator or from the global one
// (ag::manual_seed). The sampling is tapegrad's own (not std:: distributions), so a seed gives
// the same numbers with every standard library.
#include <cstdint>
#include <random>
#include <string>

#include "ag/tensor.hpp"

namespace ag {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) : engine_(seed) {}
  void seed(std::uint64_t s) {
    engine_.seed(s);
    has_spare_ = false;  // a leftover Box-Muller value would shift the reseeded stream
  }
  double uniform01();  // [0, 1), 53 random bits
  double normal();     // standard normal (Box-Muller)
  std::uint64_t next() { return engine_(); }
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n)
  // The whole state as text (the engine's standard text form, then the Box-Muller spare as its
  // exact bits), for checkpoints: set_state(state()) continues the same stream, across processes
  // and standard libraries. set_state throws ValueError on text state() did not write and leaves
  // the generator unchanged then.
  std::string state() const;
  void set_state(const std::string& text);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

Generator& default_generator();       // this thread's global generator
void manual_seed(std::uint64_t seed);  // seeds it
// A Generator is a value: a copy is a snapshot of its whole state (engine and the spare normal of
// Box-Muller), and assigning it back replays the same draws. These do that for the global one:
//   ag::Generator s = ag::get_rng_state();  ... draws ...;  ag::set_rng_state(s);  // same draws again
Generator get_rng_state();
void set_rng_state(const Generator& state);

Tensor rand(const Shape& shape, Generator& gen, DType dtype = f32);   // U[0, 1)
Tensor randn(const Shape& shape, Generator& gen, DType dtype = f32);  // N(0, 1)
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype = f32);
Tensor rand(const Shape& shape, DType dtype = f32);  // global generator
Tensor randn(const Shape& shape, DType dtype = f32);
Tensor uniform(const Shape& shape, double low, double high, DType dtype = f32);
Tensor rand_like(const Tensor& t, Generator& gen);
Tensor randn_like(const Tensor& t, Generator& gen);

}  // namespace ag
