#pragma once
// The property both foreign-format targets check: a file that loads is kept exactly by a save and
// a second load (same names, dtypes, shapes and bits).
#include <cstring>
#include <string>

#include "fuzz_util.hpp"
#include "ag/io.hpp"

namespace fuzz {

inline bool same_bits(const ag::Tensor& a, const ag::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  return ag::dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const auto x = a.to_vector<T>(), y = b.to_vector<T>();
    if constexpr (std::is_same_v<T, bool>)
      return x == y;
    else
      return x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
  });
}

}  // namespace fuzz
