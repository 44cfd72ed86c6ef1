#pragma once
// e^v for float without a libm call or a branch, so that loops calling it vectorize (the files
// using it, ops/rnn.cpp and ops/attention.cpp, are built with -fno-trapping-math, which lets GCC
// if-convert the clamp and the selects).
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace ag::detail {

// v = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact k·ln2), e^r by its Taylor polynomial to r⁷
// (truncation < 1.3e-8 relative), 2^k written into the exponent bits. v is clamped to [-87, 88]
// (the result stays a normal float); NaN passes through. Within 2 ulps of e^v.
inline float exp_f(float v) {
  const float x = v != v ? 0.0f : std::min(std::max(v, -87.0f), 88.0f);  // NaN: any finite x (no UB below)
  const float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest (1.5·2²³)
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return v != v ? v : p * scale;
}

}  // namespace ag::detail
