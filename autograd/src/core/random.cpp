// Seeded sampling: mt19937_64 bits turned into numbers by tapegrad itself, so a seed gives the
// same tensor with every standard library.
#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/core.h>

#include "ag/random.hpp"
#include "core/internal.hpp"

namespace ag {

double Generator::uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Box-Muller: two uniforms -> two independent N(0,1); 1-u keeps the log argument in (0, 1]
  const double u1 = 1.0 - uniform01(), u2 = uniform01();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double two_pi = 6.283185307179586;
  spare_ = r * std::sin(two_pi * u2);
  has_spare_ = true;
  return r * std::cos(two_pi * u2);
}

std::uint64_t Generator::below(std::uint64_t n) {
  if (n == 0) throw ValueError("Generator::below: n must be > 0");
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);  // reject the biased tail
  std::uint64_t v;
  do v = engine_(); while (v >= limit);
  return v % n;
}

// "<engine text> <has_spare 0|1> <spare's 64 bits in decimal>": the bits, not a printed double,
// so the spare comes back exactly.
std::string Generator::state() const {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &spare_, sizeof bits);
  std::ostringstream os;
  os << engine_ << ' ' << (has_spare_ ? 1 : 0) << ' ' << bits;
  return os.str();
}

void Generator::set_state(const std::string& text) {
  std::istringstream is(text);
  std::mt19937_64 engine;
  int spare_flag = -1;
  std::uint64_t bits = 0;
  is >> engine >> spare_flag >> bits;
  std::string rest;
  if (is.fail() || (spare_flag != 0 && spare_flag != 1) || (is >> rest))
    throw ValueError(fmt::format("Generator::set_state: not a generator state written by "
                                 "Generator::state() ({} characters)", text.size()));
  engine_ = engine;
  has_spare_ = spare_flag == 1;
  std::memcpy(&spare_, &bits, sizeof bits);
}

Generator& default_generator() {
  thread_local Generator g;
  return g;
}
void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }
Generator get_rng_state() { return default_generator(); }
void set_rng_state(const Generator& state) { default_generator() = state; }

namespace {
template <class Draw> Tensor fill(const char* op, const Shape& shape, DType dtype, Draw draw) {
  numel(shape, op);
  return detail::dispatch(dtype, [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    for (auto& v : a) v = static_cast<T>(draw());
    return Tensor(std::move(a));
  });
}
}  // namespace

Tensor rand(const Shape& shape, Generator& gen, DType dtype) {
  return fill("rand", shape, dtype, [&] { return gen.uniform01(); });
}
Tensor randn(const Shape& shape, Generator& gen, DType dtype) {
  return fill("randn", shape, dtype, [&] { return gen.normal(); });
}
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype) {
  if (!(low <= high)) throw ValueError(fmt::format("uniform: low {} > high {}", low, high));
  return fill("uniform", shape, dtype, [&] { return low + (high - low) * gen.uniform01(); });
}
Tensor rand(const Shape& shape, DType dtype) { return rand(shape, default_generator(), dtype); }
Tensor randn(const Shape& shape, DType dtype) { return randn(shape, default_generator(), dtype); }
Tensor uniform(const Shape& shape, double low, double high, DType dtype) {
  return uniform(shape, low, high, default_generator(), dtype);
}
Tensor rand_like(const Tensor& t, Generator& gen) { return rand(t.shape(), gen, t.dtype()); }
Tensor randn_like(const Tensor& t, Generator& gen) { return randn(t.shape(), gen, t.dtype()); }

}  // namespace ag
