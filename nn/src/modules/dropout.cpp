// Dropout: a Bernoulli mask drawn per element, scaled by 1/(1-p).
#include "ag/nn/modules/dropout.hpp"

#include "ag/extend.hpp"

namespace ag::nn {

namespace {
void check_p(double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw ValueError(fmt::format("Dropout: p must be in [0, 1], got {}", p));
}
}  // namespace

Dropout::Dropout(double p) : p_(p) { check_p(p); }
Dropout::Dropout(double p, Generator& gen) : p_(p), gen_(&gen) { check_p(p); }
Dropout::Dropout(double p, std::uint64_t seed) : p_(p), own_gen_(std::in_place, seed) {
  check_p(p);
  gen_ = &*own_gen_;
}

Generator& Dropout::gen() { return own_gen_ ? *own_gen_ : gen_ ? *gen_ : default_generator(); }

std::string Dropout::describe() const { return fmt::format("Dropout(p={})", p_); }

Tensor Dropout::forward(const Tensor& x) {
  ag::require_defined("Dropout", x, "the input");
  if (!is_training() || p_ == 0.0) return x;
  // mask = [u >= p] / (1 - p), a constant: d(x·mask)/dx = mask
  Tensor mask = ag::dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor m = ag::empty_tensor<T>(x.shape());
    T* pm = ag::data<T>(m);
    const T keep = p_ < 1.0 ? static_cast<T>(1.0 / (1.0 - p_)) : T(0);
    Generator& g = gen();
    for (std::size_t i = 0, n = x.numel(); i < n; ++i) pm[i] = g.uniform01() >= p_ ? keep : T(0);
    return m;
  });
  return x * mask;
}

}  // namespace ag::nn
