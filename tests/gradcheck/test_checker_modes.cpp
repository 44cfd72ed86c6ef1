// ag::gradcheck fast mode (random projections + bisection), gradgradcheck, a whole model, the
// property checks of backward, and the doctest macros.
#include <memory>

#include <doctest/doctest.h>

#include "ag/doctest_gradcheck.hpp"
#include "gradcheck/test_checker_util.hpp"

using namespace gc_test;

namespace {

// sin whose VJP is wrong at a single element (as a boundary-case bug would be): the gradient at
// `bad` gets an extra 3·g.
Tensor sin_wrong_at(const Tensor& x, std::size_t bad_row, std::size_t bad_col) {
  Tensor y = ag::no_grad([&] { return ag::sin(x); });
  Tensor bump = ag::zeros(x.shape(), ag::f64);
  bump.mutable_value<double>()(bad_row, bad_col) = 3.0;
  return ag::record("sin_wrong_at", {x}, y, [bump](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {g * ag::cos(c.input(0)) + g * bump};
  });
}

// x² whose VJP computes 2x without recording (a constant): right first derivative, but the VJP is
// not differentiable in x, so second derivatives through it are missing.
Tensor square_flat_vjp(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return x * x; });
  return ag::record("square_flat_vjp", {x}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    Tensor two_x = ag::no_grad([&] { return 2.0 * c.input(0); });
    return {g * two_x};
  });
}

// exp whose VJP drifts a little on every call (hidden state).
Tensor exp_drifting(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return ag::exp(x); });
  auto calls = std::make_shared<int>(0);
  return ag::record("exp_drifting", {x}, y, [calls](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    ++*calls;
    return {g * c.output() * (1.0 + 1e-3 * *calls)};
  }, ag::keep_output);
}

// a·c where the VJP writes c's .grad itself (c does not require grad) instead of returning it.
Tensor mul_writes_grad(const Tensor& a, const Tensor& c) {
  Tensor y = ag::no_grad([&] { return a * c; });
  return ag::record("mul_writes_grad", {a, c}, y, [](const ag::VjpContext& ctx, const Tensor& g) -> ag::Grads {
    Tensor constant = ctx.input(1);
    constant.set_grad(g * ctx.input(0));
    return {g * ctx.input(1), Tensor()};
  });
}

// A VJP returning a 0-d gradient for a [2, 3] input: the engine rejects it during backward.
Tensor exp_bad_shape(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return ag::exp(x); });
  return ag::record("exp_bad_shape", {x}, y, [](const ag::VjpContext&, const Tensor& g) -> ag::Grads {
    return {ag::sum(g)};
  });
}

// The 2-layer MLP: tanh(x·W1ᵀ + b1)·W2ᵀ + b2 with x fixed.
Tensor mlp(const Tensors& p) {
  const Tensor h = ag::tanh(ag::matmul_t(p[4], p[0], false, true) + p[1]);
  return ag::matmul_t(h, p[2], false, true) + p[3];
}

}  // namespace

// ---- fast mode -----------------------------------------------------------------------------------
TEST_CASE("gradcheck fast mode: a correct 100x100 op passes by random projections") {
  const Tensor w = input({100, 100}, 31), x = input({100, 8}, 32);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return ag::tanh(ag::matmul(v[0], v[1])); }, {w, x});
  CHECK(r.fast);  // 10000 elements > fast_threshold: chosen automatically
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.max_abs_err < 1e-4);
}

TEST_CASE("gradcheck fast mode: a wrong 100x100 VJP is caught, diagnosed and localised") {
  const Tensor x = input({100, 100}, 33);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return sin_times_two(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  CHECK(r.fast);
  CHECK_MESSAGE(contains(r.report, "mode fast"), r.report);
  CHECK(contains(r.report, "random projections differ in 2 of 2"));
  CHECK(contains(r.report, "analytical = 2.00 × numerical"));
  // The entries found are diagonal entries of an elementwise op: output index == input index.
  const std::string row = first_table_row(r.report);
  REQUIRE(row.size() > 30);
  CHECK_MESSAGE(row.substr(2, 14) == row.substr(17, 14), row);
}

TEST_CASE("gradcheck fast mode: bisection finds a single wrong element") {
  const Tensor x = input({100, 100}, 34);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return sin_wrong_at(v[0], 37, 58); }, {x});
  REQUIRE_FALSE(r.ok);
  const std::string row = first_table_row(r.report);
  CHECK_MESSAGE(row.rfind("  [37, 58]", 0) == 0, r.report);  // output index
  CHECK_MESSAGE(row.substr(17, 8) == "[37, 58]", r.report);   // input index
  // analytical - numerical = 3 exactly there (the bump), the only failing entry
  CHECK(contains(row, " 3 "));
  CHECK(contains(r.report, "worst entries found by bisection"));
}

TEST_CASE("gradcheck fast mode: sign flip, transposed and swapped partials from projections") {
  ag::GradcheckOptions fast;
  fast.mode = ag::GradcheckOptions::Mode::fast;
  const Tensor x = input({4, 5}, 35);
  const ag::GradcheckResult r1 = ag::gradcheck([](const Tensors& v) { return exp_sign_flipped(v[0]); }, {x}, fast);
  CHECK(r1.fast);
  CHECK_MESSAGE(contains(r1.report, "sign flipped"), r1.report);

  const Tensor a = input({3, 50}, 36), w = input({50, 50}, 37);  // w: 2500 elements, fast
  const ag::GradcheckResult r2 =
      ag::gradcheck([](const Tensors& v) { return matmul_transposed_dw(v[0], v[1]); }, {a, w});
  CHECK(r2.fast);
  CHECK_MESSAGE(contains(r2.report, "transposed: analytical matches numerical with the last two axes of "
                                    "input 1 [50, 50] swapped"), r2.report);

  const Tensor p = input({50, 50}, 38), q = input({50, 50}, 39);
  const ag::GradcheckResult r3 = ag::gradcheck([](const Tensors& v) { return mul_swapped(v[0], v[1]); }, {p, q});
  CHECK(r3.fast);
  CHECK_MESSAGE(contains(r3.report, "swapped partials"), r3.report);
}

TEST_CASE("gradcheck fast mode: a broadcast gradient summed over the wrong axis, from projections") {
  const Tensor a = input({50, 50}, 40), b = input({50}, 41);  // 2500 output elements: fast
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return mul_bias_wrong_axis(v[0], v[1]); }, {a, b});
  REQUIRE_FALSE(r.ok);
  CHECK(r.fast);
  CHECK_MESSAGE(contains(r.report, "reduced over the wrong axis: input 1 [50] is broadcast along axis 0 of "
                                   "output 0 [50, 50], so its gradient is g·∂y/∂x summed over axis 0; "
                                   "analytical matches g·∂y/∂x summed over axis 1 instead\n"), r.report);
}

// ---- gradgradcheck ---------------------------------------------------------------------------------
TEST_CASE("gradgradcheck: correct ops pass") {
  const Tensor a = input({2, 3}, 41), b = input({2, 3}, 42), w = input({3, 2}, 43);
  CHECK_GRADGRADCHECK([](const Tensors& x) { return x[0] * x[1]; }, {a, b});
  CHECK_GRADGRADCHECK([](const Tensors& x) { return ag::exp(x[0]) / (1.0 + x[1] * x[1]); }, {a, b});
  CHECK_GRADGRADCHECK([](const Tensors& x) { return ag::sum(ag::tanh(ag::matmul(x[0], x[1]))); }, {a, w});
  CHECK_GRADGRADCHECK([](const Tensors& x) { return Tensors{ag::sigmoid(x[0]), ag::sum(x[0] * x[1], {1})}; },
                      {a, b});
}

TEST_CASE("gradgradcheck: a VJP that is not differentiable passes gradcheck but not gradgradcheck") {
  const Tensor x = input({3}, 44);
  auto f = [](const Tensors& v) { return square_flat_vjp(v[0]); };
  CHECK_GRADCHECK(f, {x});
  const ag::GradcheckResult r = ag::gradgradcheck(f, {x});
  REQUIRE_FALSE(r.ok);
  // d(vjp)/dx = 2u·I numerically, 0 analytically; d(vjp)/du = 2x is right.
  CHECK_MESSAGE(contains(r.report, "gradgradcheck failed"), r.report);
  CHECK(contains(r.report, "d(<u0, output 0>)/d(input 0) [3] w.r.t. input 0 [3]"));
  CHECK(contains(r.report, "zero where it should not be"));
  CHECK_FALSE(contains(r.report, "w.r.t. input 1 (grad_output u0 of output 0) [3]:"));
}

// ---- a whole model -----------------------------------------------------------------------------------
TEST_CASE("gradcheck and gradgradcheck on a 2-layer MLP (W1, b1, W2, b2, x fixed)") {
  Tensor w1 = input({4, 3}, 51), b1 = input({4}, 52), w2 = input({2, 4}, 53), b2 = input({2}, 54);
  w1.set_name("W1");
  const Tensor x = input({5, 3}, 55, -2.0, 2.0, /*requires_grad=*/false);
  CHECK_GRADCHECK(mlp, {w1, b1, w2, b2, x});
  CHECK_GRADGRADCHECK([](const Tensors& p) { return ag::mean(ag::square(mlp(p))); }, {w1, b1, w2, b2, x});
  // A bug in one layer is pinned to its parameter.
  const ag::GradcheckResult r = ag::gradcheck(
      [](const Tensors& p) {
        const Tensor h = sin_times_two(ag::matmul_t(p[4], p[0], false, true) + p[1]);
        return ag::matmul_t(h, p[2], false, true) + p[3];
      },
      {w1, b1, w2, b2, x});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "w.r.t. input 0 'W1' [4, 3]"), r.report);
  CHECK(contains(r.report, "w.r.t. input 1 [4]"));
  CHECK_FALSE(contains(r.report, "w.r.t. input 2 [2, 4]"));  // W2 and b2 see only the right forward
  CHECK_FALSE(contains(r.report, "w.r.t. input 3 [2]"));
}

// ---- properties of backward ----------------------------------------------------------------------------
TEST_CASE("gradcheck properties: nondeterministic backward, .grad on a no-grad input, bad shapes") {
  const Tensor x = input({2, 3}, 61);
  const ag::GradcheckResult r1 = ag::gradcheck([](const Tensors& v) { return exp_drifting(v[0]); }, {x});
  REQUIRE_FALSE(r1.ok);
  CHECK_MESSAGE(contains(r1.report, "backward is not deterministic: two runs with the same grad_output "
                                    "differ for input 0"), r1.report);

  const Tensor c = input({2, 3}, 62, -1.0, 1.0, /*requires_grad=*/false);
  const ag::GradcheckResult r2 = ag::gradcheck([](const Tensors& v) { return mul_writes_grad(v[0], v[1]); }, {x, c});
  REQUIRE_FALSE(r2.ok);
  CHECK_MESSAGE(contains(r2.report, "input 1 does not require grad but received a .grad after backward"),
                r2.report);
  CHECK_FALSE(contains(r2.report, "entries differ"));  // the values themselves are right

  const ag::GradcheckResult r3 = ag::gradcheck([](const Tensors& v) { return exp_bad_shape(v[0]); }, {x});
  REQUIRE_FALSE(r3.ok);
  CHECK_MESSAGE(contains(r3.report, "backward of output 0 threw: exp_bad_shape: the VJP returned a gradient "
                                    "of shape [] for input 0 of shape [2, 3]"), r3.report);
}

// ---- doctest glue ----------------------------------------------------------------------------------------
TEST_CASE("doctest glue: REQUIRE_GRADCHECK with options passes on a correct op") {
  ag::GradcheckOptions opt;
  opt.atol = 1e-7;
  opt.check_properties = false;
  const Tensor x = input({3, 2}, 71);
  REQUIRE_GRADCHECK([](const Tensors& v) { return ag::sum(ag::exp(v[0]), {0}); }, {x}, opt);
  REQUIRE_GRADGRADCHECK([](const Tensors& v) { return ag::sum(ag::exp(v[0]), {0}); }, {x}, opt);
}

// This test is expected to fail: CHECK_GRADCHECK must fail (and print the report) on a wrong VJP.
TEST_CASE("doctest glue: CHECK_GRADCHECK fails on a wrong VJP" * doctest::should_fail()) {
  const Tensor x = input({2}, 72);
  CHECK_GRADCHECK([](const Tensors& v) { return sin_times_two(v[0]); }, {x});
}
