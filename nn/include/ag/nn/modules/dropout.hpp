#pragma once
// Dropout: zeroes random elements in training, the identity in eval mode.
#include <cstdint>
#include <optional>
#include <string>

#include "ag/nn/module.hpp"

namespace ag::nn {

// Inverted dropout: in training each element is zeroed with probability p and the survivors are
// scaled by 1/(1-p), so the expected value is unchanged; in eval mode it is the identity.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);                      // global generator
  Dropout(double p, Generator& gen);                     // gen must outlive the layer
  Dropout(double p, std::uint64_t seed);                 // owns a generator seeded with `seed`
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string describe() const override;
  double p() const { return p_; }
  Generator& generator() { return gen(); }  // the generator it draws from (the global one by default)

 private:
  Generator& gen();
  double p_;
  Generator* gen_ = nullptr;          // nullptr: the global generator
  std::optional<Generator> own_gen_;  // for the seed constructor
};

}  // namespace ag::nn
