// Convolution ops (ag/ops/conv.hpp): unfold, fold, conv1d, conv2d, conv_transpose2d. Forward values
// against direct nested-loop references written here (independent of im2col), in float32 and
// float64, over stride, padding (ints, per axis, per side, "same", "valid"), dilation, groups
// (depthwise), 1×1 kernels, batches and unbatched inputs; the adjoint identities; gradients of the
// float32 path against float64. Gradient correctness itself: tests/gradcheck/table_conv.cpp.
#include <cmath>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::make;
using opt::random_values;
using opt::vals;

namespace {

// A 2-D convolution's arguments for the reference, per side: top, bottom, left, right.
struct Conv {
  int sh = 1, sw = 1, pt = 0, pb = 0, pl = 0, pr = 0, dh = 1, dw = 1, groups = 1;
};

// y[n, o, oh, ow] = b[o] + Σ_{c, i, j} w[o, c, i, j]·x[n, g·Cg + c, oh·sh - pt + i·dh, ow·sw - pl + j·dw]
// with g = o / (O/G); x [N, C, H, W], w [O, C/G, kh, kw]. Returns y and its shape.
std::vector<double> ref_conv2d(const std::vector<double>& x, const ag::Shape& xs, const std::vector<double>& w,
                               const ag::Shape& ws, const std::vector<double>& b, const Conv& p, ag::Shape& ys) {
  const long N = long(xs[0]), C = long(xs[1]), H = long(xs[2]), W = long(xs[3]);
  const long O = long(ws[0]), Cg = long(ws[1]), kh = long(ws[2]), kw = long(ws[3]);
  const long OH = (H + p.pt + p.pb - p.dh * (kh - 1) - 1) / p.sh + 1;
  const long OW = (W + p.pl + p.pr - p.dw * (kw - 1) - 1) / p.sw + 1;
  const long Og = O / p.groups;
  ys = {std::size_t(N), std::size_t(O), std::size_t(OH), std::size_t(OW)};
  std::vector<double> y(ag::numel(ys));
  for (long n = 0; n < N; ++n)
    for (long o = 0; o < O; ++o)
      for (long oh = 0; oh < OH; ++oh)
        for (long ow = 0; ow < OW; ++ow) {
          double acc = b.empty() ? 0.0 : b[o];
          const long g = o / Og;
          for (long c = 0; c < Cg; ++c)
            for (long i = 0; i < kh; ++i)
              for (long j = 0; j < kw; ++j) {
                const long ih = oh * p.sh - p.pt + i * p.dh, iw = ow * p.sw - p.pl + j * p.dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += w[((o * Cg + c) * kh + i) * kw + j] * x[((n * C + g * Cg + c) * H + ih) * W + iw];
              }
          y[((n * O + o) * OH + oh) * OW + ow] = acc;
        }
  (void)C;
  return y;
}

// The transposed convolution as a scatter: every input value x[n, ci, h, w] adds
// x·w[ci, co, i, j] at output (h·sh - ph + i·dh, w·sw - pw + j·dw) of channel g·Cog + co.
std::vector<double> ref_conv_transpose2d(const std::vector<double>& x, const ag::Shape& xs, const std::vector<double>& w,
                                         const ag::Shape& ws, const std::vector<double>& b, int s, int p, int op, int d,
                                         int groups, ag::Shape& ys) {
  const long N = long(xs[0]), Cin = long(xs[1]), H = long(xs[2]), W = long(xs[3]);
  const long Cog = long(ws[1]), kh = long(ws[2]), kw = long(ws[3]), Cout = Cog * groups, Cig = Cin / groups;
  const long OH = (H - 1) * s - 2 * p + d * (kh - 1) + op + 1, OW = (W - 1) * s - 2 * p + d * (kw - 1) + op + 1;
  ys = {std::size_t(N), std::size_t(Cout), std::size_t(OH), std::size_t(OW)};
  std::vector<double> y(ag::numel(ys), 0.0);
  for (long n = 0; n < N; ++n)
    for (long co = 0; co < Cout; ++co)
      for (long k = 0; k < OH * OW; ++k) y[(n * Cout + co) * OH * OW + k] = b.empty() ? 0.0 : b[co];
  for (long n = 0; n < N; ++n)
    for (long ci = 0; ci < Cin; ++ci)
      for (long h = 0; h < H; ++h)
        for (long x_w = 0; x_w < W; ++x_w)
          for (long co = 0; co < Cog; ++co)
            for (long i = 0; i < kh; ++i)
              for (long j = 0; j < kw; ++j) {
                const long oh = h * s - p + i * d, ow = x_w * s - p + j * d;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                const long c_out = (ci / Cig) * Cog + co;
                y[((n * Cout + c_out) * OH + oh) * OW + ow] +=
                    x[((n * Cin + ci) * H + h) * W + x_w] * w[((ci * Cog + co) * kh + i) * kw + j];
              }
  return y;
}

// unfold's definition: out[n, (c·kh + i)·kw + j, oh·OW + ow] = x[n, c, oh·s - p + i·d, ow·s - p + j·d].
std::vector<double> ref_unfold(const std::vector<double>& x, const ag::Shape& xs, int kh, int kw, int d, int p, int s,
                               ag::Shape& ys) {
  const long N = long(xs[0]), C = long(xs[1]), H = long(xs[2]), W = long(xs[3]);
  const long OH = (H + 2 * p - d * (kh - 1) - 1) / s + 1, OW = (W + 2 * p - d * (kw - 1) - 1) / s + 1;
  ys = {std::size_t(N), std::size_t(C * kh * kw), std::size_t(OH * OW)};
  std::vector<double> y(ag::numel(ys), 0.0);
  for (long n = 0; n < N; ++n)
    for (long c = 0; c < C; ++c)
      for (long i = 0; i < kh; ++i)
        for (long j = 0; j < kw; ++j)
          for (long oh = 0; oh < OH; ++oh)
            for (long ow = 0; ow < OW; ++ow) {
              const long ih = oh * s - p + i * d, iw = ow * s - p + j * d;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              y[((n * C * kh * kw) + (c * kh + i) * kw + j) * OH * OW + oh * OW + ow] = x[((n * C + c) * H + ih) * W + iw];
            }
  return y;
}

double tol(ag::DType d) { return d == ag::f32 ? 2e-5 : 1e-12; }

double dot(const ag::Tensor& a, const ag::Tensor& b) { return ag::sum(a * b).item<double>(); }

struct Case2d {
  const char* what;
  ag::Shape xs, ws;
  bool bias;
  ag::Conv2dOptions options;
  Conv ref;
};

}  // namespace

TEST_CASE("conv2d: values against a nested-loop reference (stride, padding, dilation, groups, 1×1, batch), float32 and float64") {
  const std::vector<Case2d> cases = {
      {"3×3, batch 2, bias", {2, 3, 5, 6}, {4, 3, 3, 3}, true, ag::Conv2dOptions(), {}},
      {"stride 2, padding 1", {2, 3, 7, 6}, {4, 3, 3, 3}, true, ag::Conv2dOptions().stride(2).padding(1),
       {2, 2, 1, 1, 1, 1, 1, 1, 1}},
      {"per-axis stride, padding, dilation", {1, 2, 6, 7}, {3, 2, 2, 3}, false,
       ag::Conv2dOptions().stride({2, 1}).padding({1, 2}).dilation({2, 1}), {2, 1, 1, 1, 2, 2, 2, 1, 1}},
      {"groups 2", {2, 4, 5, 5}, {6, 2, 3, 3}, true, ag::Conv2dOptions().groups(2), {1, 1, 0, 0, 0, 0, 1, 1, 2}},
      {"depthwise with multiplier 2, padding 1", {2, 3, 6, 6}, {6, 1, 3, 3}, true,
       ag::Conv2dOptions().groups(3).padding(1), {1, 1, 1, 1, 1, 1, 1, 1, 3}},
      {"1×1", {2, 5, 4, 3}, {3, 5, 1, 1}, true, ag::Conv2dOptions(), {}},
      {"1×1 stride 2", {2, 5, 5, 5}, {3, 5, 1, 1}, false, ag::Conv2dOptions().stride(2), {2, 2, 0, 0, 0, 0, 1, 1, 1}},
      {"\"same\" with an even kernel and dilation (extra padding at the end)", {1, 2, 5, 5}, {3, 2, 4, 2}, true,
       ag::Conv2dOptions().padding("same").dilation({1, 2}), {1, 1, 1, 2, 1, 1, 1, 2, 1}},
      {"\"valid\"", {2, 2, 4, 5}, {2, 2, 2, 2}, false, ag::Conv2dOptions().padding("valid"), {}},
      {"padding per side", {1, 2, 4, 5}, {2, 2, 3, 2}, true, ag::Conv2dOptions().padding(ag::Padding<2>::sides({0, 2, 1, 0})),
       {1, 1, 0, 2, 1, 0, 1, 1, 1}},
      {"large image (one GEMM per sample), groups 2, padding 1", {2, 4, 90, 90}, {4, 2, 3, 3}, true,
       ag::Conv2dOptions().padding(1).groups(2), {1, 1, 1, 1, 1, 1, 1, 1, 2}},
      {"large image, 1×1 (no im2col)", {2, 3, 40, 50}, {2, 3, 1, 1}, true, ag::Conv2dOptions(), {}},
  };
  ag::Generator gen(7);
  for (const Case2d& c : cases) {
    INFO(c.what);
    const auto xv = random_values(ag::numel(c.xs), gen), wv = random_values(ag::numel(c.ws), gen);
    const auto bv = c.bias ? random_values(c.ws[0], gen) : std::vector<double>();
    ag::Shape ys;
    const auto want = ref_conv2d(xv, c.xs, wv, c.ws, bv, c.ref, ys);
    for (ag::DType d : opt::kDtypes) {
      const ag::Tensor x = make(xv, c.xs, d), w = make(wv, c.ws, d);
      const ag::Tensor b = c.bias ? make(bv, {c.ws[0]}, d) : ag::Tensor();
      const ag::Tensor y = ag::conv2d(x, w, b, c.options);
      CHECK(y.dtype() == d);
      check(y, ys, want, tol(d));
    }
  }
}

TEST_CASE("conv2d: the plain-argument overload, unbatched input, and an empty batch") {
  ag::Generator gen(8);
  const ag::Tensor x = ag::randn({2, 3, 6, 5}, gen, ag::f64), w = ag::randn({4, 3, 3, 3}, gen, ag::f64);
  const ag::Tensor b = ag::randn({4}, gen, ag::f64);
  const ag::Tensor y = ag::conv2d(x, w, b, ag::Conv2dOptions().stride({2, 1}).padding(1).dilation(1).groups(1));
  check(ag::conv2d(x, w, b, {2, 1}, 1), y.shape(), vals(y), 0.0);
  check(ag::conv2d(x, w, b, {2, 1}, {1, 1}, 1, 1), y.shape(), vals(y), 0.0);
  // [C, H, W] in, [O, OH, OW] out: the first sample's result
  const ag::Tensor y0 = ag::select(y, 0, 0);
  check(ag::conv2d(ag::select(x, 0, 0), w, b, {2, 1}, 1), y0.shape(), vals(y0), 0.0);
  // no samples: an empty output of the right shape
  CHECK(ag::conv2d(ag::zeros({0, 3, 6, 5}, ag::f64), w, b).shape() == ag::Shape{0, 4, 4, 3});
  // no bias = zero bias
  const ag::Tensor nb = ag::conv2d(x, w), zb = ag::conv2d(x, w, ag::zeros({4}, ag::f64));
  check(nb, zb.shape(), vals(zb), 0.0);
}

TEST_CASE("conv1d: values against the reference (stride, padding, dilation, groups, \"same\"), float32 and float64") {
  struct Case1d {
    const char* what;
    ag::Shape xs, ws;
    ag::Conv1dOptions options;
    Conv ref;  // along W only
  };
  const std::vector<Case1d> cases = {
      {"plain", {2, 3, 9}, {4, 3, 3}, ag::Conv1dOptions(), {}},
      {"stride 2, padding 1, dilation 2", {2, 3, 9}, {4, 3, 3}, ag::Conv1dOptions().stride(2).padding(1).dilation(2),
       {1, 2, 0, 0, 1, 1, 1, 2, 1}},
      {"groups 3 (depthwise)", {1, 3, 7}, {3, 1, 2}, ag::Conv1dOptions().groups(3), {1, 1, 0, 0, 0, 0, 1, 1, 3}},
      {"\"same\", even kernel", {2, 2, 6}, {3, 2, 4}, ag::Conv1dOptions().padding("same"), {1, 1, 0, 0, 1, 2, 1, 1, 1}},
      {"per side", {1, 2, 5}, {2, 2, 2}, ag::Conv1dOptions().padding(ag::Padding<1>::sides({2, 1})), {1, 1, 0, 0, 2, 1, 1, 1, 1}},
  };
  ag::Generator gen(9);
  for (const Case1d& c : cases) {
    INFO(c.what);
    const auto xv = random_values(ag::numel(c.xs), gen), wv = random_values(ag::numel(c.ws), gen);
    const auto bv = random_values(c.ws[0], gen);
    ag::Shape ys;
    const auto want = ref_conv2d(xv, {c.xs[0], c.xs[1], 1, c.xs[2]}, wv, {c.ws[0], c.ws[1], 1, c.ws[2]}, bv, c.ref, ys);
    for (ag::DType d : opt::kDtypes) {
      const ag::Tensor y = ag::conv1d(make(xv, c.xs, d), make(wv, c.ws, d), make(bv, {c.ws[0]}, d), c.options);
      check(y, {ys[0], ys[1], ys[3]}, want, tol(d));
    }
  }
  // the plain overload and an unbatched input
  const ag::Tensor x = ag::randn({2, 3, 9}, gen, ag::f64), w = ag::randn({4, 3, 3}, gen, ag::f64);
  const ag::Tensor y = ag::conv1d(x, w, {}, ag::Conv1dOptions().stride(2).padding(1));
  check(ag::conv1d(x, w, {}, 2, 1), y.shape(), vals(y), 0.0);
  const ag::Tensor y1 = ag::select(y, 0, 1);
  check(ag::conv1d(ag::select(x, 0, 1), w, {}, 2, 1), y1.shape(), vals(y1), 0.0);
}

TEST_CASE("conv_transpose2d: values against a scatter reference (stride, padding, output_padding, groups, dilation)") {
  struct CaseT {
    const char* what;
    ag::Shape xs, ws;
    int s, p, op, d, groups;
  };
  const std::vector<CaseT> cases = {
      {"stride 1", {2, 3, 3, 4}, {3, 2, 2, 3}, 1, 0, 0, 1, 1},
      {"stride 2, padding 1, output_padding 1", {2, 4, 3, 3}, {4, 3, 3, 3}, 2, 1, 1, 1, 1},
      {"groups 2, stride 2", {1, 4, 3, 4}, {4, 2, 2, 3}, 2, 0, 0, 1, 2},
      {"dilation 2, output_padding 1 < dilation", {1, 2, 4, 3}, {2, 2, 2, 2}, 1, 1, 1, 2, 1},
      {"1×1, stride 3", {2, 3, 2, 2}, {3, 2, 1, 1}, 3, 0, 2, 1, 1},
  };
  ag::Generator gen(10);
  for (const CaseT& c : cases) {
    INFO(c.what);
    const auto xv = random_values(ag::numel(c.xs), gen), wv = random_values(ag::numel(c.ws), gen);
    const auto bv = random_values(c.ws[1] * std::size_t(c.groups), gen);
    ag::Shape ys;
    const auto want = ref_conv_transpose2d(xv, c.xs, wv, c.ws, bv, c.s, c.p, c.op, c.d, c.groups, ys);
    for (ag::DType d : opt::kDtypes) {
      const ag::Tensor y = ag::conv_transpose2d(make(xv, c.xs, d), make(wv, c.ws, d), make(bv, {ys[1]}, d),
                                                ag::ConvTranspose2dOptions().stride(c.s).padding(c.p).output_padding(c.op).dilation(c.d).groups(c.groups));
      check(y, ys, want, tol(d));
      const ag::Tensor plain = ag::conv_transpose2d(make(xv, c.xs, d), make(wv, c.ws, d), make(bv, {ys[1]}, d), c.s, c.p,
                                                    c.op, c.groups, c.d);
      check(plain, ys, vals(y), 0.0);
    }
  }
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d in the input: <conv2d(u, w), v> = <u, conv_transpose2d(v, w)>") {
  ag::Generator gen(12);
  struct G {
    ag::Shape us, ws;
    int s, p, d, groups;
  };
  for (const G& c : {G{{2, 4, 7, 6}, {6, 2, 3, 2}, 2, 1, 1, 2}, G{{1, 3, 8, 8}, {3, 1, 3, 3}, 1, 2, 2, 3},
                     G{{2, 2, 5, 5}, {4, 2, 1, 1}, 2, 0, 1, 1}}) {
    const ag::Tensor u = ag::randn(c.us, gen, ag::f64), w = ag::randn(c.ws, gen, ag::f64);
    const ag::Tensor cu = ag::conv2d(u, w, {}, c.s, c.p, c.d, c.groups);
    const ag::Tensor v = ag::randn(cu.shape(), gen, ag::f64);
    // the transposed conv's output size is u's when output_padding makes up the strided remainder
    const int rem_h = int((c.us[2] + 2 * c.p - c.d * (c.ws[2] - 1) - 1) % c.s);
    const int rem_w = int((c.us[3] + 2 * c.p - c.d * (c.ws[3] - 1) - 1) % c.s);
    const ag::Tensor tv = ag::conv_transpose2d(v, w, {}, ag::ConvTranspose2dOptions().stride(c.s).padding(c.p).dilation(c.d)
                                                            .groups(c.groups).output_padding({rem_h, rem_w}));
    REQUIRE(tv.shape() == u.shape());
    CHECK(dot(cu, v) == doctest::Approx(dot(u, tv)).epsilon(1e-12));
  }
}

TEST_CASE("unfold: values against the definition, fold is its adjoint (<unfold(x), y> = <x, fold(y)>)") {
  ag::Generator gen(13);
  struct U {
    ag::Shape xs;
    int kh, kw, d, p, s;
  };
  for (const U& c : {U{{2, 3, 5, 6}, 2, 3, 1, 0, 1}, U{{1, 2, 7, 7}, 3, 3, 2, 1, 2}, U{{2, 1, 4, 4}, 1, 1, 1, 1, 3},
                     U{{1, 2, 6, 5}, 2, 2, 1, 2, 2}}) {
    const auto xv = random_values(ag::numel(c.xs), gen);
    ag::Shape ys;
    const auto want = ref_unfold(xv, c.xs, c.kh, c.kw, c.d, c.p, c.s, ys);
    for (ag::DType d : opt::kDtypes) check(ag::unfold(make(xv, c.xs, d), {c.kh, c.kw}, c.d, c.p, c.s), ys, want, tol(d));
    const ag::Tensor x = make(xv, c.xs);
    const ag::Tensor x64 = x.to(ag::f64);
    const ag::Tensor y = ag::randn(ys, gen, ag::f64);
    const ag::Tensor fy = ag::fold(y, {int(c.xs[2]), int(c.xs[3])}, {c.kh, c.kw}, c.d, c.p, c.s);
    REQUIRE(fy.shape() == c.xs);
    CHECK(dot(ag::unfold(x64, {c.kh, c.kw}, c.d, c.p, c.s), y) == doctest::Approx(dot(x64, fy)).epsilon(1e-12));
    // unbatched: [C, H, W] <-> [C·kh·kw, L]
    const ag::Tensor u0 = ag::unfold(ag::select(x64, 0, 0), {c.kh, c.kw}, c.d, c.p, c.s);
    check(u0, {ys[1], ys[2]}, vals(ag::select(ag::unfold(x64, {c.kh, c.kw}, c.d, c.p, c.s), 0, 0)), 0.0);
    const ag::Tensor f0 = ag::fold(ag::select(y, 0, 0), {int(c.xs[2]), int(c.xs[3])}, {c.kh, c.kw}, c.d, c.p, c.s);
    check(f0, {c.xs[1], c.xs[2], c.xs[3]}, vals(ag::select(fy, 0, 0)), 1e-15);
  }
  // fold of non-overlapping blocks is the inverse of unfold
  const ag::Tensor x = ag::randn({2, 3, 4, 6}, gen, ag::f64);
  check(ag::fold(ag::unfold(x, 2, 1, 0, 2), {4, 6}, 2, 1, 0, 2), x.shape(), vals(x), 0.0);
}

TEST_CASE("conv ops: float32 gradients agree with float64 (the float kernels of every backward)") {
  ag::Generator gen(14);
  const ag::Tensor x64 = ag::randn({3, 4, 9, 8}, gen, ag::f64), w64 = ag::randn({6, 2, 3, 3}, gen, ag::f64);
  const ag::Tensor b64 = ag::randn({6}, gen, ag::f64);
  const auto opts = ag::Conv2dOptions().stride(2).padding(1).groups(2);
  const ag::Tensor u64 = ag::randn(ag::conv2d(x64, w64, b64, opts).shape(), gen, ag::f64);
  auto grads = [&](ag::DType d) {
    ag::Tensor x = x64.to(d).requires_grad_(), w = w64.to(d).requires_grad_(), b = b64.to(d).requires_grad_();
    const ag::Tensor y = ag::conv2d(x, w, b, opts);
    return ag::grad({ag::sum(y * u64.to(d))}, {x, w, b});
  };
  const auto g32 = grads(ag::f32), g64 = grads(ag::f64);
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(g32[i].dtype() == ag::f32);
    check(g32[i], g64[i].shape(), vals(g64[i]), 1e-4);
  }
  // conv_transpose2d's backward (its input gradient is conv2d's forward)
  auto tgrads = [&](ag::DType d) {
    ag::Tensor x = x64.to(d).requires_grad_(), w = ag::reshape(w64, {4, 3, 3, 3}).to(d).requires_grad_();
    const ag::Tensor y = ag::conv_transpose2d(x, w, {}, 2, 1, 1);
    return ag::grad({ag::sum(ag::square(y))}, {x, w});
  };
  const auto t32 = tgrads(ag::f32), t64 = tgrads(ag::f64);
  for (std::size_t i = 0; i < 2; ++i) check(t32[i], t64[i].shape(), vals(t64[i]), 1e-3);
}

TEST_CASE("conv2d: second derivative through create_graph (a Hessian-vector product against finite differences)") {
  // f(x) = Σ conv2d(x, w)²: ∇f = 2·convᵀ(conv(x, w), w), linear in x, so ∇f(x + h·v) - ∇f(x) = h·Hv.
  ag::Generator gen(15);
  const ag::Tensor w = ag::randn({3, 2, 2, 3}, gen, ag::f64);
  const ag::Tensor x0 = ag::randn({2, 2, 5, 6}, gen, ag::f64), v = ag::randn({2, 2, 5, 6}, gen, ag::f64);
  auto gradient = [&](const ag::Tensor& xv, bool graph) {
    ag::Tensor x = xv.detach().requires_grad_();
    const ag::Tensor y = ag::conv2d(x, w, {}, 2, 1, 1);
    return std::make_pair(x, ag::grad({ag::sum(ag::square(y))}, {x}, {}, graph, graph)[0]);
  };
  auto [x, g] = gradient(x0, true);
  const ag::Tensor hv = ag::grad({ag::sum(g * v)}, {x})[0];
  const ag::Tensor fd = gradient(x0 + v, false).second - gradient(x0, false).second;
  check(hv, x0.shape(), vals(fd), 1e-10);
}
