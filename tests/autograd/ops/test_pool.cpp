// Pooling ops (ag/ops/pool.hpp): max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d. Forward values
// against nested-loop references written here, in float32 and float64, over stride, padding,
// dilation, count_include_pad, batches and unbatched inputs; the tie rule, NaN, and the adjoint
// structure of the VJPs. Gradient correctness: tests/gradcheck/table_pool.cpp.
#include <cmath>
#include <limits>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::random_values;
using opt::vals;

namespace {

// Sliding windows over [P, H, W] planes: kernel, stride, padding, dilation per axis.
struct Win {
  int kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
};

long out_size(long n, int k, int s, int p, int d) { return (n + 2 * p - d * (k - 1) - 1) / s + 1; }

// max over the in-bounds taps (padding = -inf)
std::vector<double> ref_max(const std::vector<double>& x, std::size_t P, long H, long W, const Win& w, long& OH, long& OW) {
  OH = out_size(H, w.kh, w.sh, w.ph, w.dh), OW = out_size(W, w.kw, w.sw, w.pw, w.dw);
  std::vector<double> y(P * std::size_t(OH * OW));
  for (std::size_t p = 0; p < P; ++p)
    for (long oh = 0; oh < OH; ++oh)
      for (long ow = 0; ow < OW; ++ow) {
        double m = -std::numeric_limits<double>::infinity();
        for (long i = 0; i < w.kh; ++i)
          for (long j = 0; j < w.kw; ++j) {
            const long h = oh * w.sh - w.ph + i * w.dh, c = ow * w.sw - w.pw + j * w.dw;
            if (h >= 0 && h < H && c >= 0 && c < W) m = std::max(m, x[(p * H + h) * W + c]);
          }
        y[(p * OH + oh) * OW + ow] = m;
      }
  return y;
}

// mean of the window; divisor kh·kw (include_pad) or the in-bounds count
std::vector<double> ref_avg(const std::vector<double>& x, std::size_t P, long H, long W, const Win& w, bool include_pad,
                            long& OH, long& OW) {
  OH = out_size(H, w.kh, w.sh, w.ph, 1), OW = out_size(W, w.kw, w.sw, w.pw, 1);
  std::vector<double> y(P * std::size_t(OH * OW));
  for (std::size_t p = 0; p < P; ++p)
    for (long oh = 0; oh < OH; ++oh)
      for (long ow = 0; ow < OW; ++ow) {
        double s = 0;
        int n = 0;
        for (long i = 0; i < w.kh; ++i)
          for (long j = 0; j < w.kw; ++j) {
            const long h = oh * w.sh - w.ph + i, c = ow * w.sw - w.pw + j;
            if (h >= 0 && h < H && c >= 0 && c < W) {
              s += x[(p * H + h) * W + c];
              ++n;
            }
          }
        y[(p * OH + oh) * OW + ow] = s / (include_pad ? w.kh * w.kw : n);
      }
  return y;
}

double tol(ag::DType d) { return d == ag::f32 ? 2e-6 : 1e-12; }

}  // namespace

TEST_CASE("max_pool2d and max_pool1d: values against a nested-loop reference, float32 and float64") {
  struct Case {
    const char* what;
    ag::Shape xs;
    Win w;
  };
  const std::vector<Case> cases = {
      {"2×2, stride = kernel (default)", {2, 3, 6, 4}, {2, 2, 2, 2, 0, 0}},
      {"3×3 stride 2 padding 1", {2, 2, 7, 6}, {3, 3, 2, 2, 1, 1}},
      {"per axis (3, 2), stride (1, 2), padding (1, 0), dilation (2, 1)", {1, 2, 7, 7}, {3, 2, 1, 2, 1, 0, 2, 1}},
      {"odd size: the last row is dropped (floor)", {1, 1, 5, 5}, {2, 2, 2, 2, 0, 0}},
  };
  ag::Generator gen(21);
  for (const Case& c : cases) {
    INFO(c.what);
    const auto xv = random_values(ag::numel(c.xs), gen);
    long OH = 0, OW = 0;
    const auto want = ref_max(xv, c.xs[0] * c.xs[1], long(c.xs[2]), long(c.xs[3]), c.w, OH, OW);
    for (ag::DType d : opt::kDtypes) {
      const ag::Tensor x = make(xv, c.xs, d);
      const ag::Tensor y = ag::max_pool2d(x, ag::MaxPool2dOptions({c.w.kh, c.w.kw}).stride({c.w.sh, c.w.sw})
                                                   .padding({c.w.ph, c.w.pw}).dilation({c.w.dh, c.w.dw}));
      check(y, {c.xs[0], c.xs[1], std::size_t(OH), std::size_t(OW)}, want, tol(d));
      check(ag::max_pool2d(x, {c.w.kh, c.w.kw}, {c.w.sh, c.w.sw}, {c.w.ph, c.w.pw}, {c.w.dh, c.w.dw}), y.shape(), vals(y), 0.0);
      // unbatched [C, H, W]
      const ag::Tensor y0 = ag::select(y, 0, 0);
      check(ag::max_pool2d(ag::select(x, 0, 0), {c.w.kh, c.w.kw}, {c.w.sh, c.w.sw}, {c.w.ph, c.w.pw}, {c.w.dh, c.w.dw}),
            y0.shape(), vals(y0), 0.0);
    }
  }
  // the default stride is the kernel size
  const ag::Tensor x = ag::randn({2, 2, 6, 6}, gen, ag::f64);
  check(ag::max_pool2d(x, 3), {2, 2, 2, 2}, vals(ag::max_pool2d(x, 3, 3)), 0.0);
  // 1-d: a [N, C, L] input pooled like [N, C, 1, L]
  const auto xv = random_values(2 * 3 * 9, gen);
  long OH = 0, OW = 0;
  const auto want = ref_max(xv, 6, 1, 9, {1, 3, 1, 2, 0, 1, 1, 2}, OH, OW);
  for (ag::DType d : opt::kDtypes) {
    check(ag::max_pool1d(make(xv, {2, 3, 9}, d), 3, 2, 1, 2), {2, 3, std::size_t(OW)}, want, tol(d));
    check(ag::max_pool1d(make(xv, {2, 3, 9}, d), ag::MaxPool1dOptions(3).stride(2).padding(1).dilation(2)),
          {2, 3, std::size_t(OW)}, want, tol(d));
  }
  CHECK(ag::max_pool1d(make(xv, {6, 9}), 2).shape() == ag::Shape{6, 4});  // unbatched [C, L]
}

TEST_CASE("max_pool2d: ties send the gradient to the first maximum, overlapping windows add, NaN propagates") {
  // one window, all equal: the gradient goes to the first position only (PyTorch's rule)
  const ag::Tensor x = ag::full({1, 1, 2, 2}, 3.0, ag::f64, true);
  ag::sum(ag::max_pool2d(x, 2)).backward();
  check(x.grad(), {1, 1, 2, 2}, {1, 0, 0, 0}, 0.0);
  // overlapping windows (3×3, stride 1) sharing one maximum: its gradient is the sum of theirs
  const ag::Tensor z = make({0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 4, 4}, ag::f64, true);
  const ag::Tensor y = ag::max_pool2d(z, 3, 1);  // 2×2 windows; the left two hold the 9 at (2, 0)
  check(y, {1, 1, 2, 2}, {9, 0, 9, 0}, 0.0);
  ag::sum(y * make({1, 10, 100, 1000}, {1, 1, 2, 2}, ag::f64)).backward();
  // right windows have all zeros: the first zero of each window, (0, 1) and (1, 1), takes their gradient
  check(z.grad(), {1, 1, 4, 4}, {0, 10, 0, 0, 0, 1000, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0}, 0.0);
  // NaN wins its window
  const double nan = std::nan("");
  const ag::Tensor n = make({1, nan, 2, 5}, {1, 1, 2, 2}, ag::f64);
  CHECK(std::isnan(ag::max_pool2d(n, 2).item<double>()));
  // the first NaN takes the gradient, in the unrolled 2×2 windows, the general unpadded path (3×3)
  // and the padded path alike
  for (const ag::Shape& shape : {ag::Shape{1, 1, 2, 2}, ag::Shape{1, 1, 3, 3}}) {
    const std::size_t k = shape[2];
    for (std::size_t a = 0; a < k * k; ++a)
      for (std::size_t b = a + 1; b < k * k; ++b) {
        std::vector<double> v(k * k);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 3);  // ties too
        v[a] = v[b] = nan;
        for (int padded = 0; padded < 2; ++padded) {
          const ag::Tensor w = make(v, shape, ag::f64, true);
          const ag::Tensor y = padded ? ag::max_pool2d(w, static_cast<int>(k), 1, 1) : ag::max_pool2d(w, static_cast<int>(k));
          ag::sum(padded ? ag::slice(ag::slice(y, 2, 1, 2), 3, 1, 2) : y).backward();  // the window on the whole plane
          std::vector<double> want(k * k, 0.0);
          want[a] = 1;
          check(w.grad(), shape, want, 0.0);
        }
      }
  }
  // padding never wins: an all-negative window with padding still returns an input value
  const ag::Tensor neg = make({-5, -4, -3, -2}, {1, 1, 2, 2}, ag::f64);
  check(ag::max_pool2d(neg, 2, 1, 1), {1, 1, 3, 3}, {-5, -4, -4, -3, -2, -2, -3, -2, -2}, 0.0);
}

TEST_CASE("avg_pool2d and avg_pool1d: values against a reference, count_include_pad both ways, float32 and float64") {
  struct Case {
    const char* what;
    ag::Shape xs;
    Win w;
  };
  const std::vector<Case> cases = {
      {"2×2 (stride = kernel)", {2, 3, 4, 6}, {2, 2, 2, 2, 0, 0}},
      {"3×3 stride 2 padding 1", {2, 2, 7, 6}, {3, 3, 2, 2, 1, 1}},
      {"(3, 2) stride (1, 2) padding (1, 1)", {1, 2, 5, 7}, {3, 2, 1, 2, 1, 1}},
  };
  ag::Generator gen(22);
  for (const Case& c : cases)
    for (bool include : {true, false}) {
      INFO(c.what << (include ? ", count_include_pad" : ", excluding the padding"));
      const auto xv = random_values(ag::numel(c.xs), gen);
      long OH = 0, OW = 0;
      const auto want = ref_avg(xv, c.xs[0] * c.xs[1], long(c.xs[2]), long(c.xs[3]), c.w, include, OH, OW);
      for (ag::DType d : opt::kDtypes) {
        const ag::Tensor x = make(xv, c.xs, d);
        const ag::Tensor y = ag::avg_pool2d(
            x, ag::AvgPool2dOptions({c.w.kh, c.w.kw}).stride({c.w.sh, c.w.sw}).padding({c.w.ph, c.w.pw}).count_include_pad(include));
        check(y, {c.xs[0], c.xs[1], std::size_t(OH), std::size_t(OW)}, want, tol(d));
        check(ag::avg_pool2d(x, {c.w.kh, c.w.kw}, {c.w.sh, c.w.sw}, {c.w.ph, c.w.pw}, include), y.shape(), vals(y), 0.0);
      }
    }
  const auto xv = random_values(2 * 2 * 7, gen);
  long OH = 0, OW = 0;
  for (bool include : {true, false}) {
    const auto want = ref_avg(xv, 4, 1, 7, {1, 3, 1, 2, 0, 1}, include, OH, OW);
    for (ag::DType d : opt::kDtypes)
      check(ag::avg_pool1d(make(xv, {2, 2, 7}, d), 3, 2, 1, include), {2, 2, std::size_t(OW)}, want, tol(d));
  }
  const ag::Tensor x = ag::randn({3, 8}, gen, ag::f64);  // unbatched [C, L], default stride
  check(ag::avg_pool1d(x, 4), {3, 2}, vals(ag::avg_pool1d(x, ag::AvgPool1dOptions(4).stride(4))), 0.0);
}

TEST_CASE("adaptive_avg_pool2d: PyTorch's windows floor(i·H/out) .. ceil((i+1)·H/out), global pooling") {
  ag::Generator gen(23);
  const ag::Shape xs{2, 3, 7, 5};
  const auto xv = random_values(ag::numel(xs), gen);
  for (auto [oh_, ow_] : {std::pair<int, int>{3, 2}, {1, 1}, {7, 5}, {4, 7}}) {
    const long OH = oh_, OW = ow_, H = 7, W = 5;
    std::vector<double> want;
    for (std::size_t p = 0; p < 6; ++p)
      for (long i = 0; i < OH; ++i)
        for (long j = 0; j < OW; ++j) {
          const long h0 = i * H / OH, h1 = ((i + 1) * H + OH - 1) / OH, w0 = j * W / OW, w1 = ((j + 1) * W + OW - 1) / OW;
          double s = 0;
          for (long h = h0; h < h1; ++h)
            for (long w = w0; w < w1; ++w) s += xv[(p * H + h) * W + w];
          want.push_back(s / double((h1 - h0) * (w1 - w0)));
        }
    for (ag::DType d : opt::kDtypes)
      check(ag::adaptive_avg_pool2d(make(xv, xs, d), {oh_, ow_}), {2, 3, std::size_t(OH), std::size_t(OW)}, want, tol(d));
  }
  // global pooling = the mean over H and W; unbatched input
  const ag::Tensor x = make(xv, xs, ag::f64);
  check(ag::adaptive_avg_pool2d(x, 1), {2, 3, 1, 1}, vals(ag::mean(x, {2, 3})), 1e-12);
  check(ag::adaptive_avg_pool2d(ag::select(x, 0, 1), {3, 2}), {3, 3, 2}, vals(ag::select(ag::adaptive_avg_pool2d(x, {3, 2}), 0, 1)), 0.0);
}

TEST_CASE("pooling VJPs are adjoint pairs: <pool(x), g> = <x, pool's VJP(g)> for the average pools") {
  ag::Generator gen(24);
  const ag::Tensor x = ag::randn({2, 3, 7, 6}, gen, ag::f64).requires_grad_();
  for (int which = 0; which < 3; ++which) {
    const ag::Tensor y = which == 0 ? ag::avg_pool2d(x, 3, 2, 1, false)
                         : which == 1 ? ag::adaptive_avg_pool2d(x, {4, 4})
                                      : ag::avg_pool2d(x, {2, 3}, {1, 2});
    const ag::Tensor g = ag::randn(y.shape(), gen, ag::f64);
    const ag::Tensor dx = ag::grad({y}, {x}, {g})[0];
    CHECK(ag::sum(y * g).item<double>() == doctest::Approx(ag::sum(x * dx).item<double>()).epsilon(1e-12));
  }
}
