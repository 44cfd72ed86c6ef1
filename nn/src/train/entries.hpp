#pragma once
// Named scalar / vector / text entries of a checkpoint (internal): 0-d and 1-d float64 tensors and
// uint8 bytes, and a reader that finds them by name and says which entry is missing or malformed.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn::entries {

using Named = std::vector<std::pair<std::string, Tensor>>;

Tensor number(double v);                           // 0-d float64 (exact for integers below 2^53)
Tensor numbers(const std::vector<double>& v);      // 1-d float64
Tensor text(const std::string& s);                 // 1-d uint8, the bytes
Tensor copy(const Tensor& t);                      // a detached copy of the values (any dtype)
Named copy(const Named& entries);

// Reads entries of one owner (`who` names it in errors, e.g. "StepLR::load_state"). Every lookup
// throws ValueError naming the entry when it is missing or has the wrong shape or dtype.
class Reader {
 public:
  Reader(const Named& entries, std::string who) : entries_(entries), who_(std::move(who)) {}
  bool has(const std::string& name) const;
  double number(const std::string& name) const;
  std::size_t count(const std::string& name) const;  // a number that must be an integer >= 0
  std::vector<double> numbers(const std::string& name) const;
  std::vector<double> numbers(const std::string& name, std::size_t size) const;  // exactly `size`
  std::string text(const std::string& name) const;
  const Tensor& tensor(const std::string& name) const;
  // ValueError when an entry's name is not one of `known` (a state from another type).
  void only(const std::vector<std::string>& known) const;
  const std::string& who() const { return who_; }

 private:
  const Named& entries_;
  std::string who_;
};

// The entries whose names start with `prefix`, with the prefix removed.
Named with_prefix(const Named& entries, const std::string& prefix);
// The entries except those named in `names`.
Named without(const Named& entries, const std::vector<std::string>& names);
// Appends `part` to `out` with every name prefixed.
void append(Named& out, const std::string& prefix, const Named& part);

}  // namespace ag::nn::entries
