// ag::gradcheck on correct ops (must pass) and on deliberately wrong VJPs written with ag::record
// (must fail, with the right diagnosis in the report).
#include <cmath>

#include <doctest/doctest.h>

#include "ag/doctest_gradcheck.hpp"
#include "gradcheck/test_checker_util.hpp"

using namespace gc_test;

// ---- correct ops pass ----------------------------------------------------------------------------
TEST_CASE("gradcheck: add, mul, matmul, exp pass, with max errors and an empty report") {
  const Tensor a = input({2, 3}, 1), b = input({2, 3}, 2), w = input({3, 4}, 3);
  CHECK_GRADCHECK([](const Tensors& x) { return x[0] + x[1]; }, {a, b});
  CHECK_GRADCHECK([](const Tensors& x) { return x[0] * x[1]; }, {a, b});
  CHECK_GRADCHECK([](const Tensors& x) { return ag::matmul(x[0], x[1]); }, {a, w});
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& x) { return ag::exp(x[0]); }, {a});
  CHECK(r.ok);
  CHECK(r.report.empty());
  CHECK(r.max_abs_err < 1e-7);  // central differences of exp at eps 1e-6: ~1e-10
  CHECK(r.max_rel_err < 1e-6);
}

TEST_CASE("gradcheck: sum over axes, broadcasting and a composition pass") {
  const Tensor x = input({3, 4}, 4), b = input({4}, 5), c = input({2, 3, 4}, 6);
  CHECK_GRADCHECK([](const Tensors& v) { return ag::sum(v[0] * v[0], {0}); }, {x});
  CHECK_GRADCHECK([](const Tensors& v) { return ag::sum(v[0], {-1, 0}, true); }, {c});
  CHECK_GRADCHECK([](const Tensors& v) { return ag::sum(v[0], {1}); }, {c});
  CHECK_GRADCHECK([](const Tensors& v) { return v[0] * v[1]; }, {x, b});  // b broadcast over rows
  CHECK_GRADCHECK(
      [](const Tensors& v) {
        Tensor h = ag::tanh(ag::matmul(v[0], ag::transpose(v[0]))) + ag::sigmoid(v[0]).sum();
        return ag::log(1.0 + ag::exp(h)) / (v[1].sum() * v[1].sum() + 1.0);
      },
      {x, b});
}

TEST_CASE("gradcheck: several outputs, and inputs that do not require grad") {
  const Tensor a = input({2, 2}, 7), b = input({2, 2}, 8);
  const Tensor c = input({2, 2}, 9, -1.0, 1.0, /*requires_grad=*/false);
  CHECK_GRADCHECK(
      [](const Tensors& x) { return Tensors{x[0] * x[1], ag::exp(x[0]) * x[2], ag::sum(x[2])}; },
      {a, b, c});
  // The caller's tensors are untouched: values, no .grad.
  const Tensor a_before(xt::xarray<double>(a.value<double>()));
  ag::gradcheck([](const Tensors& x) { return ag::sin(x[0]); }, {a});
  CHECK(a.value<double>() == a_before.value<double>());
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("gradcheck: float32 inputs or outputs are a DtypeError naming .to(ag::f64)") {
  Tensor x32 = ag::ones({2, 2});
  x32.requires_grad_();
  try {
    ag::gradcheck([](const Tensors& x) { return ag::exp(x[0]); }, {x32});
    FAIL("expected a DtypeError");
  } catch (const ag::DtypeError& e) {
    CHECK(contains(e.what(), "input 0 is float32 [2, 2]"));
    CHECK(contains(e.what(), ".to(ag::f64)"));
  }
  const Tensor x = input({2}, 1);
  CHECK_THROWS_AS(ag::gradcheck([](const Tensors& v) { return v[0].to(ag::f32); }, {x}), ag::DtypeError);
  const Tensor c = input({2}, 1, -1.0, 1.0, false);
  CHECK_THROWS_AS(ag::gradcheck([](const Tensors& v) { return v[0] * 2.0; }, {c}), ag::ValueError);
}

// ---- wrong VJPs are caught and diagnosed ----------------------------------------------------------
TEST_CASE("gradcheck: a sign flip is diagnosed, with the worst entry first in the table") {
  const Tensor x = input({2, 3}, 11);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return exp_sign_flipped(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "sign flipped: analytical = -numerical"), r.report);
  CHECK(contains(r.report, "6 of 36 entries differ"));  // the diagonal of a 6×6 Jacobian
  // |analytical - numerical| = 2·exp(x_k) on the diagonal: largest at the largest x.
  const std::string idx = argmax_index(x);
  const std::string row = first_table_row(r.report);
  CHECK_MESSAGE(row.rfind("  " + idx, 0) == 0, row);
  CHECK_MESSAGE(row.find(idx, 3 + idx.size()) != std::string::npos, row);  // same input index
  CHECK(r.max_abs_err > 1.0);
}

TEST_CASE("gradcheck: a factor of 2 is diagnosed as 'analytical = 2.00 × numerical'") {
  const Tensor x = input({3}, 12);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return sin_times_two(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "off by a constant factor: analytical = 2.00 × numerical"), r.report);
}

TEST_CASE("gradcheck: swapped partials of a binary op ({g*a, g*b} for a*b)") {
  const Tensor a = input({2, 3}, 13), b = input({2, 3}, 14);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return mul_swapped(v[0], v[1]); }, {a, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "swapped partials: the analytical gradient w.r.t. input 0 matches the "
                                   "numerical one w.r.t. input 1"), r.report);
  CHECK(contains(r.report, "w.r.t. input 1 matches the numerical one w.r.t. input 0"));
}

TEST_CASE("gradcheck: a missing partial is diagnosed as zero where it should not be") {
  const Tensor a = input({2, 2}, 15), b = input({2, 2}, 16);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return mul_missing_b(v[0], v[1]); }, {a, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "output 0 [2, 2] w.r.t. input 1 [2, 2]: 4 of 16 entries differ"), r.report);
  CHECK(contains(r.report, "zero where it should not be"));
  CHECK_FALSE(contains(r.report, "w.r.t. input 0 [2, 2]:"));  // input 0 is right
}

TEST_CASE("gradcheck: a bias gradient summed over the wrong axis (missing unbroadcast)") {
  const Tensor x = input({3, 3}, 17), b = input({3}, 18);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return add_bias_wrong_axis(v[0], v[1]); }, {x, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "w.r.t. input 1 [3]: 12 of 27 entries differ"), r.report);
  CHECK(contains(r.report, "summed over the wrong axis: analytical matches numerical with the axes of "
                           "output 0 [3, 3] permuted as (1, 0)"));
}

// Issue 14 item 1: partials that vary by position (mul, hypot) hide the wrong axis from the
// permutation test that recognises it for add.
TEST_CASE("gradcheck: a mul bias gradient summed over the wrong axis names the input and both axes") {
  const Tensor a = input({3, 3}, 26), b = input({3}, 27);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return mul_bias_wrong_axis(v[0], v[1]); }, {a, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "reduced over the wrong axis: input 1 [3] is broadcast along axis 0 of "
                                   "output 0 [3, 3], so its gradient is g·∂y/∂x summed over axis 0; "
                                   "analytical matches g·∂y/∂x summed over axis 1 instead\n"), r.report);
  CHECK_FALSE(contains(r.report, "none recognised"));
  CHECK_FALSE(contains(r.report, "w.r.t. input 0 [3, 3]:"));
  // add keeps its diagnosis and gains the same one
  const Tensor x = input({3, 3}, 17), c = input({3}, 18);
  const ag::GradcheckResult ra =
      ag::gradcheck([](const Tensors& v) { return add_bias_wrong_axis(v[0], v[1]); }, {x, c});
  CHECK_MESSAGE(contains(ra.report, "permuted as (1, 0)"), ra.report);
  CHECK(contains(ra.report, "reduced over the wrong axis: input 1 [3] is broadcast along axis 0"));
}

TEST_CASE("gradcheck: a user's hypot with its broadcast gradient summed over the wrong axis") {
  const Tensor a = input({3, 3}, 28, 0.5, 1.5), b = input({3}, 29, 0.5, 1.5);
  CHECK_GRADCHECK([](const Tensors& v) { return ag::sqrt(v[0] * v[0] + v[1] * v[1]); }, {a, b});
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return hypot_wrong_axis(v[0], v[1]); }, {a, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "reduced over the wrong axis: input 1 [3] is broadcast along axis 0 of "
                                   "output 0 [3, 3]"), r.report);
  CHECK(contains(r.report, "summed over axis 1 instead"));
  CHECK_FALSE(contains(r.report, "none recognised"));
}

TEST_CASE("gradcheck: a broadcast gradient summed over the wrong axis and broadcast back (non-square)") {
  const Tensor a = input({2, 3}, 30), b = input({3}, 31);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return mul_bias_summed_back(v[0], v[1]); }, {a, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "reduced over the wrong axis: input 1 [3] is broadcast along axis 0 of "
                                   "output 0 [2, 3], so its gradient is g·∂y/∂x summed over axis 0; "
                                   "analytical matches g·∂y/∂x summed over axis 1 instead, broadcast "
                                   "back to the shape of g (which the engine then sums over axis 0)"),
                r.report);
  CHECK_FALSE(contains(r.report, "none recognised"));
}

TEST_CASE("gradcheck: a broadcast gradient reduced twice is off by the broadcast count") {
  const Tensor x = input({4, 3}, 19), b = input({3}, 20);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return add_bias_reduced_twice(v[0], v[1]); }, {x, b});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "analytical = 4.00 × numerical; 4 is how many times input 1 [3] is "
                                   "broadcast in output 0 [4, 3]"), r.report);
}

TEST_CASE("gradcheck: a broadcast gradient taken from one slice instead of summed") {
  const Tensor x = input({2, 3}, 24), b = input({3}, 25);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return add_bias_first_row(v[0], v[1]); }, {x, b});
  REQUIRE_FALSE(r.ok);
  // J_b[(i, j), k] = [j == k]; the VJP gives 2·[i == 0]·[j == k]: 2 instead of 1 for i = 0, 0 for i = 1.
  CHECK_MESSAGE(contains(r.report, "w.r.t. input 1 [3]: 6 of 18 entries differ"), r.report);
  CHECK(contains(r.report, "broadcast reduced wrongly: input 1 [3] is broadcast in output 0 [2, 3]; "
                           "with grad_output = ones (the sums over the output) analytical and "
                           "numerical agree"));
}

TEST_CASE("gradcheck: a VJP that ignores grad_output") {
  const Tensor x = input({2, 3}, 21);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return add_one_ignores_g(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "a zero grad_output gives a nonzero gradient for input 0 (max |grad| = 1)"),
                r.report);
  CHECK(contains(r.report, "the same whichever output element is seeded: backward ignores grad_output"));
}

// Issue 14 item 2: the failing entries of a VJP that ignores g are where numerical is 0; the
// errors in the summary line and the result must include them, not only the entries that pass.
TEST_CASE("gradcheck: the errors of a VJP that ignores grad_output are those of its failing entries") {
  const Tensor x = input({2, 3}, 21);
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return add_one_ignores_g(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "output 0 [2, 3] w.r.t. input 0 [2, 3]: 30 of 36 entries differ (max abs "
                                   "err 1, max rel err inf)"), r.report);
  CHECK(r.max_abs_err == doctest::Approx(1.0));
  CHECK(r.max_rel_err > 1.0);
  ag::GradcheckOptions fast;
  fast.mode = ag::GradcheckOptions::Mode::fast;
  const ag::GradcheckResult rf = ag::gradcheck([](const Tensors& v) { return add_one_ignores_g(v[0]); }, {x}, fast);
  REQUIRE_FALSE(rf.ok);
  CHECK_MESSAGE(rf.max_rel_err > 0.1, rf.report);
}

TEST_CASE("gradcheck: a transposed gradient") {
  const Tensor x = input({2, 3}, 22), w = input({3, 3}, 23);
  const ag::GradcheckResult r =
      ag::gradcheck([](const Tensors& v) { return matmul_transposed_dw(v[0], v[1]); }, {x, w});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "output 0 [2, 3] w.r.t. input 1 [3, 3]"), r.report);
  CHECK(contains(r.report, "transposed: analytical matches numerical with the last two axes of input 1 "
                           "[3, 3] swapped"));
  CHECK_FALSE(contains(r.report, "w.r.t. input 0 [2, 3]:"));
}

TEST_CASE("gradcheck: NaN outside the domain fails with a non-finite diagnosis (full and fast)") {
  const Tensor x = ag::Tensor({0.5, -0.25, 2.0}, ag::f64, true);  // log is NaN at -0.25
  const ag::GradcheckResult r = ag::gradcheck([](const Tensors& v) { return ag::log(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  CHECK_MESSAGE(contains(r.report, "output 0 [3] has 1 non-finite value(s) at the given inputs"), r.report);
  CHECK(contains(r.report, "non-finite values: numerical has 3 NaN/inf entries"));  // row [1] of J
  CHECK(std::isnan(r.max_abs_err));
  ag::GradcheckOptions fast;
  fast.mode = ag::GradcheckOptions::Mode::fast;
  const ag::GradcheckResult rf = ag::gradcheck([](const Tensors& v) { return ag::log(v[0]); }, {x}, fast);
  REQUIRE_FALSE(rf.ok);  // a NaN projection must not pass
  CHECK_MESSAGE(contains(rf.report, "non-finite values"), rf.report);
}
