// nn::init (torch.nn.init): in place on the same handle, moments against each formula on large
// tensors, seeding, orthogonal_ against the QR it stands for, fans, and the error messages.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;
namespace init = ag::nn::init;
using init::FanMode;
using init::Nonlinearity;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;
  std::size_t n = 0;
};

Stats stats_of(const ag::Tensor& t) {
  const std::vector<double> v = values(t);
  Stats s;
  s.n = v.size();
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(s.n);
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(s.n));
  return s;
}

// The sample mean within 4 standard errors of `mean`, the sample std within `rel` of `std`.
void check_moments(const Stats& s, double mean, double std, double rel = 0.02) {
  CHECK_MESSAGE(std::abs(s.mean - mean) <= 4 * std / std::sqrt(static_cast<double>(s.n)),
                "mean " << s.mean << ", want " << mean);
  CHECK(s.std == doctest::Approx(std).epsilon(rel));
}

// Mean and std of N(mu, sigma²) conditioned on [a, b] (the truncated-normal formulas).
std::pair<double, double> trunc_moments(double mu, double sigma, double a, double b) {
  const double al = (a - mu) / sigma, be = (b - mu) / sigma;
  auto pdf = [](double x) { return std::isinf(x) ? 0.0 : std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); };
  auto cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  auto xpdf = [&](double x) { return std::isinf(x) ? 0.0 : x * pdf(x); };
  const double z = al > 0 ? cdf(-al) - cdf(-be) : cdf(be) - cdf(al);
  const double m = (pdf(al) - pdf(be)) / z;
  const double var = 1 + (xpdf(al) - xpdf(be)) / z - m * m;
  return {mu + sigma * m, sigma * std::sqrt(var)};
}

ag::Tensor param(const ag::Shape& shape, ag::DType d = ag::f64) { return ag::zeros(shape, d, /*requires_grad*/ true); }

// (WᵀW or WWᵀ) - I, the largest entry, for a [rows, cols] matrix given row-major.
double gram_error(const std::vector<double>& w, std::size_t rows, std::size_t cols, double gain = 1) {
  const bool tall = rows >= cols;
  const std::size_t k = tall ? cols : rows, len = tall ? rows : cols;
  auto at = [&](std::size_t vec, std::size_t i) { return tall ? w[i * cols + vec] : w[vec * cols + i]; };
  double err = 0;
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t q = 0; q < k; ++q) {
      double dot = 0;
      for (std::size_t i = 0; i < len; ++i) dot += at(p, i) * at(q, i);
      err = std::max(err, std::abs(dot - (p == q ? gain * gain : 0.0)));
    }
  return err;
}

}  // namespace

TEST_CASE("nn::init: calculate_gain has torch.nn.init's values") {
  CHECK(init::calculate_gain(Nonlinearity::linear) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::conv) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::sigmoid) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::tanh) == 5.0 / 3.0);
  CHECK(init::calculate_gain(Nonlinearity::relu) == std::sqrt(2.0));
  CHECK(init::calculate_gain(Nonlinearity::selu) == 0.75);
  // leaky_relu: √(2 / (1 + slope²)), slope 0.01 by default; param is ignored by the others
  CHECK(init::calculate_gain(Nonlinearity::leaky_relu) == std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  CHECK(init::calculate_gain(Nonlinearity::leaky_relu, 0.0) == std::sqrt(2.0));
  CHECK(init::calculate_gain(Nonlinearity::leaky_relu, 0.2) == std::sqrt(2.0 / 1.04));
  CHECK(init::calculate_gain(Nonlinearity::relu, 0.2) == std::sqrt(2.0));
  CHECK(contains(error_of<ag::ValueError>([] { init::calculate_gain(Nonlinearity::leaky_relu, NAN); }),
                 "calculate_gain"));
}

TEST_CASE("nn::init: fan_in_out reads [in, out] for rank 2 and [out, in, k...] from rank 3") {
  // rank 2: Dense's [in, out]
  CHECK(init::fan_in_out(ag::zeros({3, 5})) == std::pair<std::size_t, std::size_t>{3, 5});
  nn::Dense d(7, 4);
  CHECK(init::fan_in_out(d.weight()) == std::pair<std::size_t, std::size_t>{7, 4});
  // rank 4: a conv weight [out 16, in 8, 3, 3]: receptive field 9
  CHECK(init::fan_in_out(ag::zeros({16, 8, 3, 3})) == std::pair<std::size_t, std::size_t>{72, 144});
  // rank 3: [out 4, in 2, k 5]
  CHECK(init::fan_in_out(ag::zeros({4, 2, 5}, ag::i64)) == std::pair<std::size_t, std::size_t>{10, 20});
  std::string msg = error_of<ag::ShapeError>([] { init::fan_in_out(ag::zeros({5})); });
  CHECK(contains(msg, "fan_in_out"));
  CHECK(contains(msg, "[5]"));
  CHECK(contains(error_of<ag::ShapeError>([] { init::fan_in_out(ag::scalar(1.0)); }), "rank 0"));
  CHECK(contains(error_of<ag::ValueError>([] { init::fan_in_out(ag::Tensor()); }), "undefined"));
}

TEST_CASE("nn::init: every initialiser fills the same handle in place, a parameter stays a leaf") {
  ag::Generator gen(1);
  const std::vector<std::pair<const char*, std::function<ag::Tensor(ag::Tensor)>>> inits = {
      {"uniform_", [&](ag::Tensor t) { return init::uniform_(t, gen, -1, 1); }},
      {"normal_", [&](ag::Tensor t) { return init::normal_(t, gen, 0.5, 2); }},
      {"trunc_normal_", [&](ag::Tensor t) { return init::trunc_normal_(t, gen); }},
      {"constant_", [](ag::Tensor t) { return init::constant_(t, 0.25); }},
      {"ones_", [](ag::Tensor t) { return init::ones_(t); }},
      {"zeros_", [](ag::Tensor t) { return init::zeros_(t); }},
      {"eye_", [](ag::Tensor t) { return init::eye_(t); }},
      {"xavier_uniform_", [&](ag::Tensor t) { return init::xavier_uniform_(t, gen); }},
      {"xavier_normal_", [&](ag::Tensor t) { return init::xavier_normal_(t, gen); }},
      {"kaiming_uniform_", [&](ag::Tensor t) { return init::kaiming_uniform_(t, gen); }},
      {"kaiming_normal_", [&](ag::Tensor t) { return init::kaiming_normal_(t, gen); }},
      {"orthogonal_", [&](ag::Tensor t) { return init::orthogonal_(t, gen); }},
  };
  for (const auto& [name, f] : inits)
    for (ag::DType d : {ag::f32, ag::f64}) {
      CAPTURE(name);
      CAPTURE(d);
      ag::Tensor w = init::constant_(param({6, 4}, d), 9.0);  // 9 is never a result below
      const std::uint64_t v0 = w.version();
      ag::Tensor r = f(w);
      CHECK(r.id() == w.id());  // the same tensor, not a copy
      CHECK(w.shape() == ag::Shape{6, 4});
      CHECK(w.dtype() == d);
      CHECK(w.is_leaf());
      CHECK(w.requires_grad());
      CHECK(std::string(w.op_name()).empty());
      CHECK(w.version() == v0 + 1);
      const std::vector<double> v = values(w);
      CHECK(std::none_of(v.begin(), v.end(), [](double x) { return x == 9.0; }));
    }
}

TEST_CASE("nn::init: parameters from const accessors, a backward over the old values is refused") {
  nn::Dense d(5, 3);
  const std::vector<double> before = values(d.weight());
  init::kaiming_uniform_(d.weight());  // Dense::weight() is a const accessor: the handle suffices
  CHECK(values(d.weight()) != before);
  for (auto& p : d.parameters()) init::zeros_(p);
  CHECK(values(d.bias()) == std::vector<double>{0, 0, 0});
  CHECK(values(d.weight()) == std::vector<double>(15, 0.0));
  CHECK(d.weight().requires_grad());

  // y saved w for its VJP; re-initialising w bumps the version, so the backward refuses
  ag::Tensor w = param({2, 2});
  ag::Tensor y = (w * w).sum();
  init::normal_(w);
  CHECK_THROWS_AS(y.backward(), ag::GradError);
  // and a fresh graph after the init works
  ag::Tensor y2 = (w * w).sum();
  y2.backward();
  CHECK(w.grad().defined());
}

TEST_CASE("nn::init: uniform_ and normal_ match their moments on 256x512") {
  ag::Generator gen(2);
  for (ag::DType d : {ag::f32, ag::f64}) {
    CAPTURE(d);
    ag::Tensor u = init::uniform_(param({256, 512}, d), gen, -0.5, 1.5);
    Stats s = stats_of(u);
    CHECK(s.min >= -0.5);
    CHECK(s.max <= 1.5);
    CHECK(s.min < -0.49);
    CHECK(s.max > 1.49);
    check_moments(s, 0.5, 2.0 / std::sqrt(12.0));  // U(a, b): σ = (b - a) / √12

    ag::Tensor n = init::normal_(param({256, 512}, d), gen, -3, 0.5);
    check_moments(stats_of(n), -3, 0.5);
  }
  // defaults: U(0, 1), N(0, 1); bounds that float32 cannot hold exactly stay respected
  ag::Generator g(3);
  check_moments(stats_of(init::uniform_(param({256, 512}), g)), 0.5, 1 / std::sqrt(12.0));
  check_moments(stats_of(init::normal_(param({256, 512}), g)), 0, 1);
  Stats s = stats_of(init::uniform_(param({256, 512}, ag::f32), g, -0.1, 0.1));
  CHECK(s.min >= -0.1);
  CHECK(s.max <= 0.1);
  // normal_ with std 0 is the mean; uniform_ with a = b is that value
  CHECK(values(init::normal_(param({3}), g, 1.5, 0)) == std::vector<double>(3, 1.5));
  CHECK(values(init::uniform_(param({3}), g, 2, 2)) == std::vector<double>(3, 2.0));
}

TEST_CASE("nn::init: trunc_normal_ stays in [a, b] with the truncated normal's moments") {
  ag::Generator gen(4);
  struct Case {
    double mean, std, a, b;
  };
  const Case cases[] = {
      {0, 1, -2, 2},          // the default
      {1, 2, 0, 5},           // asymmetric
      {0, 0.02, -0.04, 0.04}, // ViT-style
      {0, 1, 5, 6},           // upper tail: inverse CDF on the complement
      {0, 1, -6, -5},         // lower tail
      {0, 1, 1, kInf},        // one-sided
      {2, 1, -kInf, kInf},    // no truncation: N(2, 1)
  };
  for (const Case& c : cases)
    for (ag::DType d : {ag::f32, ag::f64}) {
      CAPTURE(c.mean);
      CAPTURE(c.a);
      CAPTURE(c.b);
      CAPTURE(d);
      ag::Tensor t = init::trunc_normal_(param({256, 512}, d), gen, c.mean, c.std, c.a, c.b);
      const Stats s = stats_of(t);
      CHECK(s.min >= c.a);
      CHECK(s.max <= c.b);
      const auto [mean, std] = trunc_moments(c.mean, c.std, c.a, c.b);
      check_moments(s, mean, std);
    }
  // beyond 30σ (Φ underflows there): rejection sampling; the mean of N(0,1) on [α, α+1] for a
  // large α is α + 1/α - 2/α³ + ..., its std about 1/α
  ag::Tensor far = init::trunc_normal_(param({128, 128}), gen, 0, 1, 40, 41);
  Stats s = stats_of(far);
  CHECK(s.min >= 40);
  CHECK(s.max <= 41);
  check_moments(s, 40 + 1 / 40.0 - 2 / std::pow(40.0, 3), 1 / 40.0, 0.05);
  s = stats_of(init::trunc_normal_(param({128, 128}), gen, 0, 1, -41, -40));
  check_moments(s, -(40 + 1 / 40.0 - 2 / std::pow(40.0, 3)), 1 / 40.0, 0.05);
  s = stats_of(init::trunc_normal_(param({128, 128}), gen, 0, 1, 40, 40.001));  // narrow
  CHECK(s.min >= 40);
  CHECK(s.max <= 40.001);
  // degenerate: std 0 gives the point of [a, b] nearest the mean; a = b gives a
  CHECK(values(init::trunc_normal_(param({2}), gen, 5, 0, -1, 1)) == std::vector<double>{1, 1});
  CHECK(values(init::trunc_normal_(param({2}), gen, 0, 1, 0.5, 0.5)) == std::vector<double>{0.5, 0.5});
}

TEST_CASE("nn::init: xavier_* and kaiming_* have the documented scale") {
  ag::Generator gen(5);
  const double n_xavier = std::sqrt(2.0 / (256 + 512));
  SUBCASE("xavier_uniform_: bound gain·√(6 / (fan_in + fan_out))") {
    const double bound = 1.5 * std::sqrt(6.0 / 768);
    const Stats s = stats_of(init::xavier_uniform_(param({256, 512}), gen, 1.5));
    CHECK(s.min >= -bound);
    CHECK(s.max <= bound);
    CHECK(s.max > 0.999 * bound);
    check_moments(s, 0, bound / std::sqrt(3.0));
  }
  SUBCASE("xavier_normal_: std gain·√(2 / (fan_in + fan_out)), conv fans for rank 4") {
    check_moments(stats_of(init::xavier_normal_(param({256, 512}, ag::f32), gen)), 0, n_xavier);
    // [out 32, in 16, 3, 3]: fan_in 144, fan_out 288
    check_moments(stats_of(init::xavier_normal_(param({32, 16, 3, 3}), gen, 2)), 0,
                  2 * std::sqrt(2.0 / 432), 0.05);
  }
  SUBCASE("kaiming_normal_: std gain / √fan") {
    // default: leaky_relu with a = 0, i.e. √2, over fan_in = shape[0] = 256
    check_moments(stats_of(init::kaiming_normal_(param({256, 512}), gen)), 0, std::sqrt(2.0 / 256));
    check_moments(stats_of(init::kaiming_normal_(param({256, 512}), gen, 0, FanMode::fan_out)), 0,
                  std::sqrt(2.0 / 512));
    check_moments(stats_of(init::kaiming_normal_(param({256, 512}), gen, 0.2)), 0,
                  std::sqrt(2.0 / 1.04) / 16);
    check_moments(stats_of(init::kaiming_normal_(param({256, 512}), gen, 0.2, FanMode::fan_in,
                                                 Nonlinearity::tanh)),
                  0, (5.0 / 3) / 16);
    // conv [64, 32, 3, 3]: fan_in 288
    check_moments(stats_of(init::kaiming_normal_(param({64, 32, 3, 3}, ag::f32), gen, 0,
                                                 FanMode::fan_in, Nonlinearity::relu)),
                  0, std::sqrt(2.0 / 288));
  }
  SUBCASE("kaiming_uniform_: bound √3·gain / √fan") {
    const double bound = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(512.0);
    const Stats s = stats_of(init::kaiming_uniform_(param({256, 512}), gen, 0, FanMode::fan_out));
    CHECK(s.min >= -bound);
    CHECK(s.max <= bound);
    CHECK(s.max > 0.999 * bound);
    check_moments(s, 0, bound / std::sqrt(3.0));
    const double sel = std::sqrt(3.0) * 0.75 / std::sqrt(256.0);
    const Stats t = stats_of(init::kaiming_uniform_(param({256, 512}, ag::f32), gen, 0,
                                                    FanMode::fan_in, Nonlinearity::selu));
    CHECK(t.max <= sel);
    CHECK(t.max > 0.999 * sel);
  }
}

TEST_CASE("nn::init: on a Dense weight, kaiming/xavier_uniform_ reproduce Init::he/glorot_uniform") {
  // The fan layout: Dense stores [in, out] and fan_in = in, as PyTorch's fan_in for Linear.
  ag::Generator g1(6), g2(6), g3(7), g4(7);
  nn::Dense he(64, 32, g1, true, nn::Init::he_uniform, ag::f64);
  nn::Dense d(64, 32, g3, true, nn::Init::zeros, ag::f64);
  init::kaiming_uniform_(d.weight(), g2);
  check_values(d.weight(), {64, 32}, values(he.weight()), 1e-12);
  nn::Dense gl(64, 32, g4, true, nn::Init::glorot_uniform, ag::f64);
  ag::Generator g5(7);
  init::xavier_uniform_(d.weight(), g5);
  check_values(d.weight(), {64, 32}, values(gl.weight()), 1e-12);
}

TEST_CASE("nn::init: the same seed gives the same values") {
  using Fn = std::function<ag::Tensor(ag::Tensor, ag::Generator&)>;
  const std::vector<std::pair<const char*, Fn>> inits = {
      {"uniform_", [](ag::Tensor t, ag::Generator& g) { return init::uniform_(t, g); }},
      {"normal_", [](ag::Tensor t, ag::Generator& g) { return init::normal_(t, g); }},
      {"trunc_normal_", [](ag::Tensor t, ag::Generator& g) { return init::trunc_normal_(t, g); }},
      {"xavier_uniform_", [](ag::Tensor t, ag::Generator& g) { return init::xavier_uniform_(t, g); }},
      {"xavier_normal_", [](ag::Tensor t, ag::Generator& g) { return init::xavier_normal_(t, g); }},
      {"kaiming_uniform_", [](ag::Tensor t, ag::Generator& g) { return init::kaiming_uniform_(t, g); }},
      {"kaiming_normal_", [](ag::Tensor t, ag::Generator& g) { return init::kaiming_normal_(t, g); }},
      {"orthogonal_", [](ag::Tensor t, ag::Generator& g) { return init::orthogonal_(t, g); }},
  };
  for (const auto& [name, f] : inits) {
    CAPTURE(name);
    ag::Generator a(42), b(42), c(43);
    const std::vector<double> va = values(f(param({8, 6}), a));
    CHECK(values(f(param({8, 6}), b)) == va);
    CHECK(values(f(param({8, 6}), c)) != va);
    // float32 gets the float64 draws rounded
    ag::Generator e(42);
    const std::vector<float> vf = f(param({8, 6}, ag::f32), e).to_vector<float>();
    for (std::size_t i = 0; i < va.size(); ++i) CHECK(vf[i] == static_cast<float>(va[i]));
  }
  // the overloads without a Generator draw from the global one
  ag::manual_seed(8);
  const std::vector<double> k1 = values(init::kaiming_normal_(param({8, 6})));
  const std::vector<double> o1 = values(init::orthogonal_(param({8, 6})));
  ag::manual_seed(8);
  CHECK(values(init::kaiming_normal_(param({8, 6}))) == k1);
  CHECK(values(init::orthogonal_(param({8, 6}))) == o1);
}

TEST_CASE("nn::init: orthogonal_ gives orthonormal columns (tall) or rows (wide)") {
  ag::Generator gen(9);
  struct Case {
    ag::Shape shape;
    std::size_t rows, cols;
  };
  const Case cases[] = {{{128, 64}, 128, 64}, {{64, 128}, 64, 128}, {{48, 48}, 48, 48},
                        {{16, 4, 3, 3}, 16, 36}, {{40, 2, 3}, 40, 6}, {{1, 5}, 1, 5}, {{5, 1}, 5, 1}};
  for (const Case& c : cases) {
    CAPTURE(ag::shape_str(c.shape));
    CHECK(gram_error(values(init::orthogonal_(param(c.shape), gen)), c.rows, c.cols) < 1e-12);
    CHECK(gram_error(values(init::orthogonal_(param(c.shape, ag::f32), gen)), c.rows, c.cols) < 1e-5);
    CHECK(gram_error(values(init::orthogonal_(param(c.shape), gen, 2.0)), c.rows, c.cols, 2.0) < 1e-12);
  }
  // a square Q is orthogonal both ways
  const std::vector<double> q = values(init::orthogonal_(param({32, 32}), gen));
  std::vector<double> qt(q.size());
  for (std::size_t i = 0; i < 32; ++i)
    for (std::size_t j = 0; j < 32; ++j) qt[j * 32 + i] = q[i * 32 + j];
  CHECK(gram_error(qt, 32, 32) < 1e-12);
}

TEST_CASE("nn::init: orthogonal_ is the Q of A = QR with diag(R) > 0 (A the normal draws)") {
  // R = QᵀA must be upper triangular with a positive diagonal: that pins Q down uniquely (the
  // sign convention PyTorch applies), not just any orthonormal basis.
  for (const auto& [rows, cols] : {std::pair<std::size_t, std::size_t>{24, 10}, {10, 24}}) {
    CAPTURE(rows);
    ag::Generator g1(10), g2(10);
    const std::vector<double> w = values(init::orthogonal_(param({rows, cols}), g1));
    std::vector<double> a(rows * cols);  // the draws orthogonal_ made, row-major [rows, cols]
    for (double& x : a) x = g2.normal();
    // the tall matrix that was factored: A itself, or Aᵀ for a wide one (then Q = Wᵀ)
    const bool wide = rows < cols;
    const std::size_t m = wide ? cols : rows, k = wide ? rows : cols;
    auto A = [&](std::size_t i, std::size_t j) { return wide ? a[j * cols + i] : a[i * cols + j]; };
    auto Q = [&](std::size_t i, std::size_t j) { return wide ? w[j * cols + i] : w[i * cols + j]; };
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t j = 0; j < k; ++j) {
        double r = 0;  // R[i][j] = Σ_l Q[l][i] A[l][j]
        for (std::size_t l = 0; l < m; ++l) r += Q(l, i) * A(l, j);
        if (i > j) CHECK(std::abs(r) < 1e-12);
        if (i == j) CHECK(r > 0);
      }
  }
}

TEST_CASE("nn::init: eye_, constant_, ones_, zeros_") {
  for (ag::DType d : {ag::f32, ag::f64}) {
    CAPTURE(d);
    check_values(init::eye_(param({3, 3}, d)), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
    check_values(init::eye_(param({2, 4}, d)), {2, 4}, {1, 0, 0, 0, 0, 1, 0, 0});
    check_values(init::eye_(param({3, 2}, d)), {3, 2}, {1, 0, 0, 1, 0, 0});
    check_values(init::constant_(param({2, 2, 2}, d), -0.5), {2, 2, 2}, std::vector<double>(8, -0.5));
    check_values(init::ones_(param({4}, d)), {4}, {1, 1, 1, 1});
    check_values(init::zeros_(init::ones_(param({2, 3}, d))), {2, 3}, std::vector<double>(6, 0));
    check_values(init::constant_(param({}, d), 3), {}, {3});  // 0-d
  }
}

TEST_CASE("nn::init: zero-element tensors are left as they are") {
  ag::Generator gen(11);
  ag::Tensor e = param({0, 5});
  const std::uint64_t v0 = e.version();
  init::kaiming_uniform_(e, gen);
  init::xavier_normal_(e, gen);
  init::orthogonal_(e, gen);
  init::normal_(e, gen);
  init::eye_(e);
  CHECK(e.version() == v0);
  CHECK(e.shape() == ag::Shape{0, 5});
  // the rank rule still holds
  CHECK_THROWS_AS(init::kaiming_uniform_(param({0}), gen), ag::ShapeError);
}

TEST_CASE("nn::init: errors name the function and the shape or dtype") {
  ag::Generator gen(12);
  // integer and bool tensors: DtypeError
  std::string msg = error_of<ag::DtypeError>([&] { init::normal_(ag::zeros({2, 3}, ag::i64), gen); });
  CHECK(contains(msg, "normal_"));
  CHECK(contains(msg, "int64"));
  CHECK(contains(msg, "[2, 3]"));
  msg = error_of<ag::DtypeError>([&] { init::kaiming_uniform_(ag::zeros({4, 4}, ag::i32), gen); });
  CHECK(contains(msg, "kaiming_uniform_"));
  CHECK(contains(msg, "int32"));
  CHECK(contains(error_of<ag::DtypeError>([] { init::zeros_(ag::zeros({2}, ag::bool_)); }), "bool"));
  CHECK(contains(error_of<ag::DtypeError>([] { init::eye_(ag::zeros({2, 2}, ag::u8)); }), "eye_"));
  // fan-based inits on rank < 2: ShapeError
  msg = error_of<ag::ShapeError>([&] { init::kaiming_normal_(param({5}), gen); });
  CHECK(contains(msg, "kaiming_normal_"));
  CHECK(contains(msg, "[5]"));
  msg = error_of<ag::ShapeError>([&] { init::xavier_uniform_(param({}), gen); });
  CHECK(contains(msg, "xavier_uniform_"));
  CHECK(contains(msg, "[]"));
  CHECK(contains(error_of<ag::ShapeError>([&] { init::orthogonal_(param({7}), gen); }), "orthogonal_"));
  CHECK(contains(error_of<ag::ShapeError>([] { init::eye_(param({2, 2, 2})); }), "[2, 2, 2]"));
  // bad values: ValueError
  msg = error_of<ag::ValueError>([&] { init::normal_(param({2, 2}), gen, 0, -1); });
  CHECK(contains(msg, "normal_"));
  CHECK(contains(msg, "-1"));
  msg = error_of<ag::ValueError>([&] { init::uniform_(param({2, 2}), gen, 1, 0); });
  CHECK(contains(msg, "uniform_"));
  CHECK(contains(msg, "a <= b"));
  CHECK(contains(error_of<ag::ValueError>([&] { init::trunc_normal_(param({2}), gen, 0, 1, 2, -2); }),
                 "trunc_normal_"));
  CHECK(contains(error_of<ag::ValueError>([&] { init::trunc_normal_(param({2}), gen, 0, -0.1); }),
                 "trunc_normal_"));
  CHECK(contains(error_of<ag::ValueError>([&] { init::trunc_normal_(param({2}), gen, 0, 1, NAN, 1); }),
                 "trunc_normal_"));
  CHECK(contains(error_of<ag::ValueError>([&] { init::uniform_(param({2}), gen, -kInf, 0); }),
                 "finite"));
  CHECK(contains(error_of<ag::ValueError>([&] { init::xavier_normal_(param({2, 2}), gen, -1); }),
                 "xavier_normal_"));
  // undefined tensors: ValueError naming the function
  for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"uniform_", [&] { init::uniform_(ag::Tensor(), gen); }},
           {"kaiming_uniform_", [&] { init::kaiming_uniform_(ag::Tensor(), gen); }},
           {"orthogonal_", [&] { init::orthogonal_(ag::Tensor(), gen); }},
           {"constant_", [&] { init::constant_(ag::Tensor(), 1); }}}) {
    msg = error_of<ag::ValueError>(f);
    CHECK_MESSAGE(contains(msg, name), msg);
    CHECK_MESSAGE(contains(msg, "undefined"), msg);
  }
}
