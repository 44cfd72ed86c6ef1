#pragma once
// Raw bits of a tensor's values, for bit-identical comparisons (shared by the thread tests).
#include <cstdint>
#include <cstring>
#include <vector>

#include "ag/ag.hpp"

inline std::vector<std::uint64_t> bits_of(const ag::Tensor& t) {
  const xt::xarray<double> a = t.to_xarray<double>();
  std::vector<std::uint64_t> out;
  for (double v : a) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    out.push_back(b);
  }
  return out;
}
