// Checkpoint entries: see entries.hpp.
#include "train/entries.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

namespace ag::nn::entries {

Tensor number(double v) { return scalar(v, f64); }

Tensor numbers(const std::vector<double>& v) { return from_vector(v, Shape{v.size()}); }

Tensor text(const std::string& s) {
  return from_vector(std::vector<std::uint8_t>(s.begin(), s.end()), Shape{s.size()});
}

Tensor copy(const Tensor& t) {
  if (!t.defined()) return t;
  Tensor c = zeros(t.shape(), t.dtype());
  NoGradGuard no_grad;
  c.copy_(t);
  return c;
}

Named copy(const Named& entries) {
  Named out;
  for (const auto& e : entries) out.emplace_back(e.first, copy(e.second));
  return out;
}

bool Reader::has(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == name; });
}

const Tensor& Reader::tensor(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.first == name) return e.second;
  throw ValueError(fmt::format("{}: the state has no entry '{}'", who_, name));
}

double Reader::number(const std::string& name) const {
  const Tensor& t = tensor(name);
  if (t.dtype() != f64 || t.dim() != 0)
    throw ValueError(fmt::format("{}: entry '{}' must be a float64 scalar, got {} {}", who_, name,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  return t.item();
}

std::size_t Reader::count(const std::string& name) const {
  const double v = number(name);
  if (!(v >= 0.0 && v < 0x1p53 && std::floor(v) == v))
    throw ValueError(fmt::format("{}: entry '{}' must be a whole number >= 0, got {}", who_, name, v));
  return static_cast<std::size_t>(v);
}

std::vector<double> Reader::numbers(const std::string& name) const {
  const Tensor& t = tensor(name);
  if (t.dtype() != f64 || t.dim() != 1)
    throw ValueError(fmt::format("{}: entry '{}' must be a 1-d float64 tensor, got {} {}", who_, name,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  return t.to_vector<double>();
}

std::vector<double> Reader::numbers(const std::string& name, std::size_t size) const {
  std::vector<double> v = numbers(name);
  if (v.size() != size)
    throw ValueError(fmt::format("{}: entry '{}' has {} values, expected {}", who_, name, v.size(), size));
  return v;
}

std::string Reader::text(const std::string& name) const {
  const Tensor& t = tensor(name);
  if (t.dtype() != u8 || t.dim() != 1)
    throw ValueError(fmt::format("{}: entry '{}' must be 1-d uint8 text, got {} {}", who_, name,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  const auto bytes = t.to_vector<std::uint8_t>();
  return std::string(bytes.begin(), bytes.end());
}

void Reader::only(const std::vector<std::string>& known) const {
  for (const auto& e : entries_)
    if (std::find(known.begin(), known.end(), e.first) == known.end())
      throw ValueError(fmt::format("{}: unexpected entry '{}' (a state saved from another type?)", who_,
                                   e.first));
}

Named with_prefix(const Named& entries, const std::string& prefix) {
  Named out;
  for (const auto& e : entries)
    if (e.first.compare(0, prefix.size(), prefix) == 0) out.emplace_back(e.first.substr(prefix.size()), e.second);
  return out;
}

Named without(const Named& entries, const std::vector<std::string>& names) {
  Named out;
  for (const auto& e : entries)
    if (std::find(names.begin(), names.end(), e.first) == names.end()) out.push_back(e);
  return out;
}

void append(Named& out, const std::string& prefix, const Named& part) {
  for (const auto& e : part) out.emplace_back(prefix + e.first, e.second);
}

}  // namespace ag::nn::entries
