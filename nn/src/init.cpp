// Weight initialisers: Init/init_tensor for layer constructors, and torch.nn.init-style in-place
// initialisers (uniform_, normal_, trunc_normal_, xavier_*, kaiming_*, orthogonal_, ...).
#include "ag/nn/init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/core.h>

namespace ag::nn {

const char* init_name(Init init) {
  switch (init) {
    case Init::glorot_uniform: return "glorot_uniform";
    case Init::he_uniform: return "he_uniform";
    case Init::he_normal: return "he_normal";
    case Init::zeros: return "zeros";
  }
  return "?";
}

Tensor init_tensor(Init init, const Shape& shape, std::size_t fan_in, std::size_t fan_out,
                   Generator& gen, DType dtype) {
  if (init != Init::zeros && fan_in == 0)
    throw ValueError(fmt::format("init {}: fan_in must be > 0 for shape {}", init_name(init),
                                 shape_str(shape)));
  switch (init) {
    case Init::glorot_uniform: {
      const double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
      return uniform(shape, -a, a, gen, dtype);
    }
    case Init::he_uniform: {
      const double a = std::sqrt(6.0 / static_cast<double>(fan_in));
      return uniform(shape, -a, a, gen, dtype);
    }
    case Init::he_normal: {
      Tensor t = randn(shape, gen, f64) * std::sqrt(2.0 / static_cast<double>(fan_in));
      return t.to(dtype).detach();
    }
    case Init::zeros: return zeros(shape, dtype);
  }
  throw ValueError("init_tensor: unknown Init");
}

}  // namespace ag::nn

// ---- torch.nn.init: in-place initialisers --------------------------------------------------

namespace ag::nn::init {

namespace {

// A defined float32/float64 tensor, or the typed error naming `op`.
void check_floating(const char* op, const Tensor& t) {
  if (!t.defined()) throw ValueError(fmt::format("{}: the tensor is undefined (default-constructed)", op));
  if (!is_floating(t.dtype()))
    throw DtypeError(fmt::format("{}: needs a float32 or float64 tensor, got {} of shape {}", op,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
}

void check_finite(const char* op, const char* name, double v) {
  if (!std::isfinite(v)) throw ValueError(fmt::format("{}: {} must be finite, got {}", op, name, v));
}

// v rounded to T, kept inside [lo, hi] (rounding a double in [lo, hi] to float can step outside).
template <class T> T round_within(double v, double lo, double hi) {
  T r = static_cast<T>(v);
  if (static_cast<double>(r) < lo) r = std::nextafter(r, std::numeric_limits<T>::infinity());
  if (static_cast<double>(r) > hi) r = std::nextafter(r, -std::numeric_limits<T>::infinity());
  return r;
}

// Writes value(i) (a double; i the row-major index) into every element of t, rounded into
// [lo, hi] in t's dtype. One version bump; not recorded. Zero elements: t is left untouched.
template <class Value>
Tensor fill(Tensor& t, Value value, double lo = -std::numeric_limits<double>::infinity(),
            double hi = std::numeric_limits<double>::infinity()) {
  const std::size_t n = t.numel();
  if (n == 0) return t;
  NoGradGuard no_grad;
  if (t.dtype() == f32) {
    float* p = t.mutable_data<float>();
    for (std::size_t i = 0; i < n; ++i) p[i] = round_within<float>(value(i), lo, hi);
  } else {
    double* p = t.mutable_data<double>();
    for (std::size_t i = 0; i < n; ++i) p[i] = std::clamp(value(i), lo, hi);
  }
  return t;
}

// The fan rule of the header: rank 2 is Dense's [in, out]; rank >= 3 is [out, in, k...].
std::pair<std::size_t, std::size_t> fans(const char* op, const Tensor& t) {
  if (!t.defined()) throw ValueError(fmt::format("{}: the tensor is undefined (default-constructed)", op));
  const Shape s = t.shape();
  if (s.size() < 2)
    throw ShapeError(fmt::format("{}: fan_in and fan_out need a tensor of rank >= 2 ([in, out] or "
                                 "[out, in, k...]), got shape {} (rank {})",
                                 op, shape_str(s), s.size()));
  if (s.size() == 2) return {s[0], s[1]};
  std::size_t receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= s[i];
  return {s[1] * receptive, s[0] * receptive};
}

// ---- the truncated normal ----
constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2Pi = 2.5066282746310002;

double phi_cdf(double x) { return 0.5 * std::erfc(-x / kSqrt2); }  // Φ(x), accurate in both tails

// Φ⁻¹(p) for p in [0, 0.5]: Acklam's rational approximation (relative error 1.2e-9), then one
// Halley step on Φ(x) - p, which brings it to full double precision.
double phi_inv_lower(double p) {
  if (p <= 0.0) return -std::numeric_limits<double>::infinity();
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  const double e = phi_cdf(x) - p;
  const double u = e * kSqrt2Pi * std::exp(0.5 * x * x);  // e / φ(x)
  return x - u / (1.0 + 0.5 * x * u);
}

// Draws of N(0, 1) conditioned on [alpha, beta] (alpha < beta, either may be infinite).
class StdTruncNormal {
 public:
  StdTruncNormal(double alpha, double beta) {
    // Bounds deep in one tail (Φ there is below ~1e-197): reflect into the upper tail and use
    // Robert's rejection sampler; the inverse CDF would lose its precision (or Φ underflow).
    if (alpha >= kTail || beta <= -kTail) {
      tail_ = true;
      flip_ = beta <= -kTail;
      lo_ = flip_ ? -beta : alpha;
      hi_ = flip_ ? -alpha : beta;
      lambda_ = 0.5 * (lo_ + std::sqrt(lo_ * lo_ + 4.0));
      return;
    }
    // Inverse CDF: p ~ U(Φ(α), Φ(β)). A p above 1/2 is handled as its complement q = 1 - p
    // (computed from Φ(-β) directly), so both tails keep their relative precision.
    pa_ = phi_cdf(alpha);
    qb_ = phi_cdf(-beta);
    if (beta <= 0.0) mass_ = phi_cdf(beta) - pa_;
    else if (alpha >= 0.0) mass_ = phi_cdf(-alpha) - qb_;
    else mass_ = 1.0 - pa_ - qb_;
  }

  double operator()(Generator& gen) const {
    if (tail_) {
      const double z = tail(gen);
      return flip_ ? -z : z;
    }
    const double u = gen.uniform01();
    const double p = pa_ + u * mass_;
    if (p <= 0.5) return phi_inv_lower(p);
    return -phi_inv_lower(qb_ + (1.0 - u) * mass_);
  }

 private:
  static constexpr double kTail = 30.0;

  // N(0, 1) on [lo_, hi_], lo_ >= kTail (Robert 1995): a uniform proposal when the interval is
  // narrower than 1/lo_, else an exponential one with the optimal rate; both accept with
  // probability > 1/3.
  double tail(Generator& gen) const {
    const double width = hi_ - lo_;
    for (;;) {
      const double u1 = gen.uniform01(), u2 = gen.uniform01();
      if (width < 1.0 / lo_) {
        const double z = lo_ + width * u1;
        if (u2 <= std::exp(-0.5 * (z - lo_) * (z + lo_))) return z;
      } else {
        const double z = lo_ - std::log1p(-u1) / lambda_;
        if (z <= hi_ && u2 <= std::exp(-0.5 * (z - lambda_) * (z - lambda_))) return z;
      }
    }
  }

  double pa_ = 0, qb_ = 0, mass_ = 0;
  bool tail_ = false, flip_ = false;
  double lo_ = 0, hi_ = 0, lambda_ = 0;
};

// ---- orthogonal ----
// Q of the thin QR decomposition of a tall row-major [m, n] matrix (m >= n), by Householder
// reflections H_k = I - 2 v vᵀ / vᵀv, with each column multiplied by sign(R_kk) so that
// diag(R) > 0: the unique Q of a full-rank matrix, whichever way the reflections went.
std::vector<double> orthonormal_q(std::vector<double> a, std::size_t m, std::size_t n) {
  std::vector<std::vector<double>> reflectors(n);  // v_k, acting on rows k..m-1
  std::vector<double> sign(n, 1.0), w(n);
  for (std::size_t k = 0; k < n; ++k) {
    double norm2 = 0;
    for (std::size_t i = k; i < m; ++i) norm2 += a[i * n + k] * a[i * n + k];
    const double norm = std::sqrt(norm2);
    // H_k maps the column A[k:, k] to alpha·e_1; alpha takes the sign opposite to A[k, k] so
    // that v_0 = A[k, k] - alpha does not cancel.
    const double alpha = a[k * n + k] > 0 ? -norm : norm;
    sign[k] = alpha < 0 ? -1.0 : 1.0;  // R_kk = alpha
    std::vector<double>& v = reflectors[k];
    v.assign(m - k, 0.0);
    for (std::size_t i = k; i < m; ++i) v[i - k] = a[i * n + k];
    v[0] -= alpha;
    double vv = 0;
    for (double x : v) vv += x * x;
    if (vv == 0.0) {  // a zero column: nothing to reflect (H_k = I)
      v.clear();
      continue;
    }
    // A[k:, k:] -= (2 / vᵀv) · v (vᵀ A[k:, k:]), row by row (row-major friendly)
    const double c = 2.0 / vv;
    std::fill(w.begin(), w.end(), 0.0);
    for (std::size_t i = k; i < m; ++i)
      for (std::size_t j = k; j < n; ++j) w[j] += v[i - k] * a[i * n + j];
    for (std::size_t i = k; i < m; ++i)
      for (std::size_t j = k; j < n; ++j) a[i * n + j] -= c * v[i - k] * w[j];
  }
  // Q = H_0 H_1 ... H_{n-1} [I_n; 0], applied right to left. Columns j < k of the partial
  // product are still e_j, which H_k (acting on rows >= k) leaves alone.
  std::vector<double> q(m * n, 0.0);
  for (std::size_t j = 0; j < n; ++j) q[j * n + j] = 1.0;
  for (std::size_t kk = n; kk-- > 0;) {
    const std::vector<double>& v = reflectors[kk];
    if (v.empty()) continue;
    double vv = 0;
    for (double x : v) vv += x * x;
    const double c = 2.0 / vv;
    std::fill(w.begin(), w.end(), 0.0);
    for (std::size_t i = kk; i < m; ++i)
      for (std::size_t j = kk; j < n; ++j) w[j] += v[i - kk] * q[i * n + j];
    for (std::size_t i = kk; i < m; ++i)
      for (std::size_t j = kk; j < n; ++j) q[i * n + j] -= c * v[i - kk] * w[j];
  }
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) q[i * n + j] *= sign[j];
  return q;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::conv:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      check_finite("calculate_gain(leaky_relu)", "the negative slope", param);
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu: return 3.0 / 4.0;
  }
  throw ValueError("calculate_gain: unknown Nonlinearity");
}

std::pair<std::size_t, std::size_t> fan_in_out(const Tensor& t) { return fans("fan_in_out", t); }

Tensor uniform_(Tensor t, Generator& gen, double a, double b) {
  check_floating("uniform_", t);
  check_finite("uniform_", "a", a);
  check_finite("uniform_", "b", b);
  if (a > b)
    throw ValueError(fmt::format("uniform_: needs a <= b, got a = {} > b = {} (tensor {} {})", a, b,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  return fill(t, [&](std::size_t) { return a + (b - a) * gen.uniform01(); }, a, b);
}
Tensor uniform_(Tensor t, double a, double b) { return uniform_(std::move(t), default_generator(), a, b); }

Tensor normal_(Tensor t, Generator& gen, double mean, double stddev) {
  check_floating("normal_", t);
  check_finite("normal_", "mean", mean);
  check_finite("normal_", "stddev", stddev);
  if (stddev < 0)
    throw ValueError(fmt::format("normal_: needs stddev >= 0, got {} (tensor {} {})", stddev,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  return fill(t, [&](std::size_t) { return mean + stddev * gen.normal(); });
}
Tensor normal_(Tensor t, double mean, double stddev) {
  return normal_(std::move(t), default_generator(), mean, stddev);
}

Tensor trunc_normal_(Tensor t, Generator& gen, double mean, double stddev, double a, double b) {
  check_floating("trunc_normal_", t);
  check_finite("trunc_normal_", "mean", mean);
  check_finite("trunc_normal_", "stddev", stddev);
  if (stddev < 0)
    throw ValueError(fmt::format("trunc_normal_: needs stddev >= 0, got {} (tensor {} {})", stddev,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  if (std::isnan(a) || std::isnan(b) || a > b)
    throw ValueError(fmt::format("trunc_normal_: needs a <= b, got a = {}, b = {} (tensor {} {})", a,
                                 b, dtype_name(t.dtype()), shape_str(t.shape())));
  // stddev = 0 or a = b: the limit distribution is the point of [a, b] nearest to the mean
  if (stddev == 0 || a == b) return fill(t, [&](std::size_t) { return std::clamp(mean, a, b); }, a, b);
  const StdTruncNormal z((a - mean) / stddev, (b - mean) / stddev);
  return fill(t, [&](std::size_t) { return mean + stddev * z(gen); }, a, b);
}
Tensor trunc_normal_(Tensor t, double mean, double stddev, double a, double b) {
  return trunc_normal_(std::move(t), default_generator(), mean, stddev, a, b);
}

Tensor constant_(Tensor t, double value) {
  check_floating("constant_", t);
  return fill(t, [&](std::size_t) { return value; });
}
Tensor ones_(Tensor t) {
  check_floating("ones_", t);
  return fill(t, [](std::size_t) { return 1.0; });
}
Tensor zeros_(Tensor t) {
  check_floating("zeros_", t);
  return fill(t, [](std::size_t) { return 0.0; });
}
Tensor eye_(Tensor t) {
  check_floating("eye_", t);
  if (t.dim() != 2)
    throw ShapeError(fmt::format("eye_: needs a 2-D tensor, got shape {} (rank {})",
                                 shape_str(t.shape()), t.dim()));
  const std::size_t cols = t.size(1);
  return fill(t, [&](std::size_t i) { return i / cols == i % cols ? 1.0 : 0.0; });
}

namespace {
void check_gain(const char* op, double gain) {
  check_finite(op, "gain", gain);
  if (gain < 0) throw ValueError(fmt::format("{}: needs gain >= 0, got {}", op, gain));
}
// kaiming's s = gain / √fan for the chosen fan
double kaiming_std(const char* op, const Tensor& t, double a, FanMode mode, Nonlinearity nl) {
  const auto [fan_in, fan_out] = fans(op, t);
  const std::size_t fan = mode == FanMode::fan_in ? fan_in : fan_out;
  return calculate_gain(nl, a) / std::sqrt(static_cast<double>(fan));
}
}  // namespace

Tensor xavier_uniform_(Tensor t, Generator& gen, double gain) {
  check_floating("xavier_uniform_", t);
  check_gain("xavier_uniform_", gain);
  const auto [fan_in, fan_out] = fans("xavier_uniform_", t);
  if (t.numel() == 0) return t;
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return fill(t, [&](std::size_t) { return -bound + 2.0 * bound * gen.uniform01(); }, -bound, bound);
}
Tensor xavier_uniform_(Tensor t, double gain) { return xavier_uniform_(std::move(t), default_generator(), gain); }

Tensor xavier_normal_(Tensor t, Generator& gen, double gain) {
  check_floating("xavier_normal_", t);
  check_gain("xavier_normal_", gain);
  const auto [fan_in, fan_out] = fans("xavier_normal_", t);
  if (t.numel() == 0) return t;
  const double stddev = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return fill(t, [&](std::size_t) { return stddev * gen.normal(); });
}
Tensor xavier_normal_(Tensor t, double gain) { return xavier_normal_(std::move(t), default_generator(), gain); }

Tensor kaiming_uniform_(Tensor t, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
  check_floating("kaiming_uniform_", t);
  if (t.numel() == 0) {
    fans("kaiming_uniform_", t);  // the rank check still applies
    return t;
  }
  const double bound = std::sqrt(3.0) * kaiming_std("kaiming_uniform_", t, a, mode, nonlinearity);
  return fill(t, [&](std::size_t) { return -bound + 2.0 * bound * gen.uniform01(); }, -bound, bound);
}
Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  return kaiming_uniform_(std::move(t), default_generator(), a, mode, nonlinearity);
}

Tensor kaiming_normal_(Tensor t, Generator& gen, double a, FanMode mode, Nonlinearity nonlinearity) {
  check_floating("kaiming_normal_", t);
  if (t.numel() == 0) {
    fans("kaiming_normal_", t);
    return t;
  }
  const double stddev = kaiming_std("kaiming_normal_", t, a, mode, nonlinearity);
  return fill(t, [&](std::size_t) { return stddev * gen.normal(); });
}
Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  return kaiming_normal_(std::move(t), default_generator(), a, mode, nonlinearity);
}

Tensor orthogonal_(Tensor t, Generator& gen, double gain) {
  check_floating("orthogonal_", t);
  check_finite("orthogonal_", "gain", gain);
  if (t.dim() < 2)
    throw ShapeError(fmt::format("orthogonal_: needs a tensor of rank >= 2, got shape {} (rank {})",
                                 shape_str(t.shape()), t.dim()));
  const std::size_t n = t.numel();
  if (n == 0) return t;
  // W as a [rows, cols] matrix (trailing dims flattened), filled from N(0, 1) row-major; a wide
  // one is factored as its transpose, so Q always comes from a tall matrix.
  const std::size_t rows = t.size(0), cols = n / rows;
  const bool wide = rows < cols;
  const std::size_t m = wide ? cols : rows, k = wide ? rows : cols;  // the tall [m, k] matrix
  std::vector<double> a(n);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) a[wide ? c * k + r : r * cols + c] = gen.normal();
  const std::vector<double> q = orthonormal_q(std::move(a), m, k);
  return fill(t, [&](std::size_t i) {
    const std::size_t r = i / cols, c = i % cols;
    return gain * (wide ? q[c * k + r] : q[r * cols + c]);
  });
}
Tensor orthogonal_(Tensor t, double gain) { return orthogonal_(std::move(t), default_generator(), gain); }

}  // namespace ag::nn::init
