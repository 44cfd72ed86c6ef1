// The checker's data and the installed op-table harness: Jacobian blocks in GradcheckResult, the
// "right only at batch size 1" diagnosis, check_jvp_vjp, check_fused, check_row (broadcast cases,
// references) and completeness_problems. Deliberately wrong VJPs must be caught.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/testing/op_table.hpp"
#include "gradcheck/test_checker_util.hpp"

using namespace gc_test;
namespace agt = ag::testing;

namespace {

// ---- deliberately wrong ops for the new checks ----------------------------------------------------
// y = x·W (x [B, n], W [n, m]) whose VJP for W multiplies the batch sums: (Σ_b x_b)ᵀ(Σ_b g_b)
// instead of Σ_b x_bᵀ g_b. Equal when B = 1.
Tensor linear_product_of_sums(const Tensor& x, const Tensor& w) {
  Tensor y = ag::no_grad([&] { return ag::matmul(x, w); });
  return ag::record("linear_product_of_sums", {x, w}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {ag::matmul_t(g, c.input(1), false, true),
            ag::matmul_t(ag::sum(c.input(0), {0}, true), ag::sum(g, {0}, true), true, false)};
  });
}

// The same whose VJP for W uses the first sample only: x_0ᵀ g_0.
Tensor linear_first_sample(const Tensor& x, const Tensor& w) {
  Tensor y = ag::no_grad([&] { return ag::matmul(x, w); });
  return ag::record("linear_first_sample", {x, w}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {ag::matmul_t(g, c.input(1), false, true),
            ag::matmul_t(ag::slice(c.input(0), 0, 0, 1), ag::slice(g, 0, 0, 1), true, false)};
  });
}

// x² whose VJP detaches g: backward is right, but the VJP is not differentiable in g, so jvp (the
// VJP of the VJP) sees no dependence on the tangent.
Tensor square_detached_g(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return x * x; });
  return ag::record("square_detached_g", {x}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {2.0 * g.detach() * c.input(0)};
  });
}

// x² whose VJP is right at first order but three times too large under create_graph.
Tensor square_wrong_create_graph(const Tensor& x) {
  Tensor y = ag::no_grad([&] { return x * x; });
  return ag::record("square_wrong_create_graph", {x}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {(c.create_graph() ? 6.0 : 2.0) * g * c.input(0)};
  });
}

// swish(x) = x·σ(x), fused: the VJP g·(σ + y·(1 - σ)) with σ recomputed from the input (right at
// every order), and a variant that captures σ from the forward (no history: the second derivative
// misses dσ/dx).
Tensor swish_fused(const Tensor& x) {
  return ag::op(
      "swish_fused", {x}, [&] { return x * ag::sigmoid(x); },
      [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
        const Tensor s = ag::sigmoid(c.input(0));
        return {g * (s + c.output() * (1.0 - s))};
      },
      ag::keep_output);
}
Tensor swish_captured_sigma(const Tensor& x) {
  const Tensor s = ag::no_grad([&] { return ag::sigmoid(x); });
  Tensor y = ag::no_grad([&] { return x * s; });
  return ag::record("swish_captured_sigma", {x}, y, [s](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    return {g * (s + c.input(0) * s * (1.0 - s))};
  });
}
Tensor swish_composed(const Tensor& x) { return x * ag::sigmoid(x); }

// a·b whose VJP for b averages over the axes b is broadcast along instead of summing: right when
// a and b have the same shape.
Tensor mul_mean_over_broadcast(const Tensor& a, const Tensor& b) {
  Tensor y = ag::no_grad([&] { return a * b; });
  return ag::record("mul_mean_over_broadcast", {a, b}, y, [](const ag::VjpContext& c, const Tensor& g) -> ag::Grads {
    const Tensor gb = ag::sum_to(g * c.input(0), c.input(1).shape());
    const double copies = static_cast<double>(g.numel()) / static_cast<double>(c.input(1).numel());
    return {g * c.input(1), gb / copies};
  });
}

bool has(const std::vector<std::string>& v, const std::string& what) {
  for (const std::string& s : v)
    if (contains(s, what)) return true;
  return false;
}

}  // namespace

// ---- Jacobians as data ----------------------------------------------------------------------------
TEST_CASE("gradcheck result: every block as data, with the analytical and numerical Jacobians") {
  const Tensor x = input({2, 3}, 1), w = input({2, 3}, 2), k = input({3}, 3, -1.0, 1.0, false);
  const auto r = ag::gradcheck([](const Tensors& v) -> Tensors { return {v[0] * v[1] + v[2], ag::sum(v[0])}; }, {x, w, k});
  REQUIRE(r.ok);
  REQUIRE(r.blocks.size() == 4);  // 2 outputs × 2 differentiable inputs; k (input 2) has none
  CHECK(r.block(0, 2) == nullptr);
  CHECK(r.block(2, 0) == nullptr);
  const ag::GradcheckBlock* b = r.block(0, 1);  // ∂(x·w + k)/∂w = diag(x)
  REQUIRE(b != nullptr);
  CHECK(b->ok);
  CHECK(b->output_shape == ag::Shape{2, 3});
  CHECK(b->input_shape == ag::Shape{2, 3});
  CHECK(b->compared == 36);
  REQUIRE(b->analytical.size() == 36);
  REQUIRE(b->numerical.size() == 36);
  const std::vector<double> xv = x.to_vector<double>();
  for (std::size_t j = 0; j < 6; ++j)
    for (std::size_t kk = 0; kk < 6; ++kk) {
      CHECK(b->analytical[j * 6 + kk] == (j == kk ? xv[j] : 0.0));  // exact: backward multiplies g·x
      CHECK(std::abs(b->numerical[j * 6 + kk] - (j == kk ? xv[j] : 0.0)) < 1e-8);
    }
  const ag::GradcheckBlock* s = r.block(1, 0);  // ∂sum(x)/∂x = ones [1 × 6]
  REQUIRE(s != nullptr);
  CHECK(s->output_shape == ag::Shape{});
  for (double a : s->analytical) CHECK(a == 1.0);
  CHECK(s->worst.empty());
  CHECK(s->diagnoses.empty());
}

TEST_CASE("gradcheck result: a failing block's worst entries and diagnoses are structured") {
  const Tensor x = input({2, 2}, 4);
  const auto r = ag::gradcheck([](const Tensors& v) { return sin_times_two(v[0]); }, {x});
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.blocks.size() == 1);
  const ag::GradcheckBlock& b = r.blocks[0];
  CHECK_FALSE(b.ok);
  CHECK(b.failed == 4);  // the 4 diagonal entries (the off-diagonal ones are 0 on both sides)
  REQUIRE(b.worst.size() == 4);
  const std::vector<double> xv = x.to_vector<double>();
  double previous = 1e300;
  for (const ag::GradcheckEntry& e : b.worst) {
    CHECK(e.output == 0);
    CHECK(e.input == 0);
    CHECK(e.output_element == e.input_element);
    CHECK(e.analytical == doctest::Approx(2.0 * std::cos(xv[e.input_element])).epsilon(1e-12));
    CHECK(e.numerical == doctest::Approx(std::cos(xv[e.input_element])).epsilon(1e-7));
    const double err = std::abs(e.analytical - e.numerical);
    CHECK(err <= previous);  // largest error first
    previous = err;
  }
  CHECK(has(b.diagnoses, "off by a constant factor: analytical = 2.00 × numerical"));
  CHECK(b.max_abs_err == doctest::Approx(r.max_abs_err));
}

TEST_CASE("gradcheck result: fast mode gives blocks without the full Jacobians, property failures as data") {
  ag::GradcheckOptions o;
  o.mode = ag::GradcheckOptions::Mode::fast;
  const auto r = ag::gradcheck([](const Tensors& v) { return sin_times_two(v[0]); }, {input({30, 4}, 5)}, o);
  REQUIRE_FALSE(r.ok);
  CHECK(r.fast);
  REQUIRE(r.blocks.size() == 1);
  CHECK(r.blocks[0].analytical.empty());
  CHECK(r.blocks[0].compared == o.fast_projections);
  REQUIRE_FALSE(r.blocks[0].worst.empty());
  const ag::GradcheckEntry& e = r.blocks[0].worst[0];
  CHECK(e.analytical == doctest::Approx(2.0 * e.numerical).epsilon(1e-5));

  const auto p = ag::gradcheck([](const Tensors& v) { return add_one_ignores_g(v[0]); }, {input({3}, 6)});
  REQUIRE_FALSE(p.ok);
  CHECK_FALSE(p.property_failures.empty());
}

// ---- right only at batch size 1 -------------------------------------------------------------------
TEST_CASE("gradcheck diagnosis: a VJP right only at batch size 1 (product of batch sums)") {
  const Tensor x = input({4, 3}, 7), w = input({3, 2}, 8);
  // the op itself is right at batch size 1
  CHECK(ag::gradcheck([](const Tensors& v) { return linear_product_of_sums(v[0], v[1]); },
                      {input({1, 3}, 7), w}).ok);
  const auto r = ag::gradcheck([](const Tensors& v) { return linear_product_of_sums(v[0], v[1]); }, {x, w});
  REQUIRE_FALSE(r.ok);
  const ag::GradcheckBlock* bw = r.block(0, 1);
  REQUIRE(bw != nullptr);
  CHECK_FALSE(bw->ok);
  CHECK(has(bw->diagnoses, "right only at batch size 1: with the leading axis of input 0 [4, 3] cut from 4 to 1"));
  CHECK(r.block(0, 0)->ok);  // x's gradient is right
  CHECK(contains(r.report, "diagnosis: right only at batch size 1"));
  CHECK_FALSE(contains(r.report, "none recognised"));
  // the probe is an option; without it the block has no diagnosis (f never sees batch size 1)
  ag::GradcheckOptions o;
  o.diagnose_batch = false;
  int calls_at_batch_one = 0;
  const auto off = ag::gradcheck(
      [&](const Tensors& v) {
        if (v[0].shape()[0] == 1) ++calls_at_batch_one;
        return linear_product_of_sums(v[0], v[1]);
      },
      {x, w}, o);
  REQUIRE_FALSE(off.ok);
  CHECK(off.block(0, 1)->diagnoses.empty());
  CHECK(calls_at_batch_one == 0);
}

TEST_CASE("gradcheck diagnosis: a VJP right only at batch size 1 (first sample only), not for other bugs") {
  const Tensor x = input({3, 2}, 9), w = input({2, 2}, 10);
  const auto r = ag::gradcheck([](const Tensors& v) { return linear_first_sample(v[0], v[1]); }, {x, w});
  REQUIRE_FALSE(r.ok);
  CHECK(has(r.block(0, 1)->diagnoses, "right only at batch size 1"));
  // the missing samples show up as zeros too
  CHECK(has(r.block(0, 1)->diagnoses, "zero where it should not be"));
  // a VJP wrong at every batch size gets no such diagnosis
  const auto t = ag::gradcheck([](const Tensors& v) { return matmul_transposed_dw(v[0], v[1]); }, {x, w});
  REQUIRE_FALSE(t.ok);
  CHECK_FALSE(contains(t.report, "batch size 1"));
  const auto s = ag::gradcheck([](const Tensors& v) { return exp_sign_flipped(v[0]); }, {x});
  REQUIRE_FALSE(s.ok);
  CHECK_FALSE(contains(s.report, "batch size 1"));
}

// ---- forward/reverse consistency -------------------------------------------------------------------
TEST_CASE("check_jvp_vjp: <u, J·t> = <vjp(u), t> on correct ops, with the values") {
  const Tensor x = input({2, 3}, 11), w = input({3, 4}, 12), b = input({4}, 13, -1.0, 1.0, false);
  const auto r = ag::check_jvp_vjp(
      [](const Tensors& v) -> Tensors { return {ag::tanh(ag::matmul(v[0], v[1]) + v[2]), ag::sum(ag::exp(v[0]))}; },
      {x, w, b});
  CHECK_MESSAGE(r.ok, r.report);
  REQUIRE(r.trials.size() == 2);
  for (const ag::JvpVjpTrial& t : r.trials) {
    CHECK(t.ok);
    CHECK(std::abs(t.forward) > 1e-3);  // a real number, not 0 = 0
    CHECK(std::abs(t.forward - t.reverse) <= t.tolerance);
    CHECK(t.tolerance < 1e-7);
  }
  // closed form for f = Σ x² (one output): <u, J·t> = u·Σ 2x·t
  const Tensor y = input({5}, 14);
  const auto q = ag::check_jvp_vjp([](const Tensors& v) { return ag::sum(v[0] * v[0]); }, {y});
  REQUIRE(q.ok);
  CHECK(q.max_abs_err < 1e-12);
}

TEST_CASE("check_jvp_vjp: catches a VJP that detaches g and one whose create_graph path is wrong") {
  const Tensor x = input({2, 3}, 15);
  // both are right at first order
  CHECK(ag::gradcheck([](const Tensors& v) { return square_detached_g(v[0]); }, {x}).ok);
  CHECK(ag::gradcheck([](const Tensors& v) { return square_wrong_create_graph(v[0]); }, {x}).ok);

  const auto d = ag::check_jvp_vjp([](const Tensors& v) { return square_detached_g(v[0]); }, {x});
  REQUIRE_FALSE(d.ok);
  for (const ag::JvpVjpTrial& t : d.trials) {
    CHECK(t.forward == 0.0);  // jvp sees no dependence on t
    CHECK(std::abs(t.reverse) > 1e-3);
  }
  CHECK(contains(d.report, "output 0 w.r.t. input 0 [2, 3]"));
  CHECK(contains(d.report, "jvp gives 0"));

  const auto c = ag::check_jvp_vjp([](const Tensors& v) { return square_wrong_create_graph(v[0]); }, {x});
  REQUIRE_FALSE(c.ok);
  for (const ag::JvpVjpTrial& t : c.trials) CHECK(t.forward == doctest::Approx(3.0 * t.reverse).epsilon(1e-10));
}

// ---- fused against composed --------------------------------------------------------------------------
TEST_CASE("check_fused: a fused swish equals its composition to second order, a captured σ is caught at second order") {
  const Tensor x = input({2, 3}, 16, -2.0, 2.0);
  const auto ok = agt::check_fused([](const Tensors& v) -> Tensors { return {swish_fused(v[0])}; },
                                   [](const Tensors& v) -> Tensors { return {swish_composed(v[0])}; }, {x});
  CHECK_MESSAGE(ok.ok, ok.report);
  CHECK(ok.value_err < 1e-14);
  CHECK(ok.grad_err < 1e-14);
  CHECK(ok.grad2_err < 1e-12);

  const auto bad = agt::check_fused([](const Tensors& v) -> Tensors { return {swish_captured_sigma(v[0])}; },
                                    [](const Tensors& v) -> Tensors { return {swish_composed(v[0])}; }, {x});
  REQUIRE_FALSE(bad.ok);
  CHECK(bad.value_err < 1e-14);  // the values and first derivatives agree
  CHECK(bad.grad_err < 1e-14);
  CHECK(bad.grad2_err > 1e-2);  // the second derivative misses dσ/dx
  CHECK(contains(bad.report, "second order w.r.t. differentiable input 0"));
  CHECK(x.grad().defined() == false);  // the caller's input untouched
}

// ---- rows ----------------------------------------------------------------------------------------------
TEST_CASE("check_row: the checks a row runs, all passing for ag::mul with broadcast cases and a reference") {
  const agt::Row r = agt::row([](const Tensors& v) { return ag::mul(v[0], v[1]); }, {agt::any({2, 3}), agt::nonzero({2, 3})})
                         .broadcast()
                         .against([](const Tensors& v) { return ag::exp(ag::log(ag::abs(v[1]))) * ag::sign(v[1]) * v[0]; });
  const agt::RowResult res = agt::check_row("harness mul", r);
  CHECK_MESSAGE(res.ok(), res.report());
  std::vector<std::string> names;
  for (const agt::RowCheck& c : res.checks) names.push_back(c.what);
  CHECK(names == std::vector<std::string>{"gradcheck", "gradgradcheck", "backward with and without create_graph agree",
                                          "jvp/vjp consistency", "broadcast input 0 as [3]", "broadcast input 0 as [2, 1]",
                                          "broadcast input 0 as []", "broadcast input 1 as [3]",
                                          "broadcast input 1 as [2, 1]", "broadcast input 1 as []",
                                          "against the composed reference"});
}

TEST_CASE("check_row: a VJP wrong only under broadcasting fails the broadcast cases only") {
  const agt::Row r = agt::row([](const Tensors& v) { return mul_mean_over_broadcast(v[0], v[1]); },
                              {agt::any({2, 3}), agt::any({2, 3})})
                         .first_order_only()
                         .broadcast({1});
  const agt::RowResult res = agt::check_row("harness mul_mean_over_broadcast", r);
  CHECK_FALSE(res.ok());
  for (const agt::RowCheck& c : res.checks) {
    CAPTURE(c.what);
    if (c.what == "broadcast input 1 as [3]") {  // b feeds 2 outputs: half its gradient
      CHECK_FALSE(c.ok);
      CHECK(contains(c.report, "off by a constant factor: analytical = 0.50 × numerical"));
    } else if (c.what == "broadcast input 1 as [2, 1]") {  // 3 outputs: a third
      CHECK_FALSE(c.ok);
      CHECK(contains(c.report, "off by a constant factor: analytical = 0.33 × numerical"));
    } else if (c.what == "broadcast input 1 as []") {
      CHECK_FALSE(c.ok);
    } else {
      CHECK(c.ok);  // same shapes: right
    }
  }
  CHECK(contains(res.report(), "harness mul_mean_over_broadcast [broadcast input 1 as [3]]"));
}

TEST_CASE("check_row: wrong second derivatives and a wrong create_graph path are caught by their checks") {
  const agt::RowResult a = agt::check_row("harness square_wrong_create_graph",
                                          agt::row([](const Tensors& v) { return square_wrong_create_graph(v[0]); },
                                                   {agt::any({3})}));
  CHECK_FALSE(a.ok());
  // gradgradcheck differentiates the create_graph path against finite differences of itself, so
  // a create_graph path that is self-consistent but differs from first order passes it: the
  // create_graph comparison and the jvp/vjp check (jvp runs through create_graph) catch it.
  for (const agt::RowCheck& c : a.checks) {
    CAPTURE(c.what);
    CHECK(c.ok == (c.what == "gradcheck" || c.what == "gradgradcheck"));
  }
  const agt::RowResult b =
      agt::check_row("harness swish_captured_sigma",
                     agt::row([](const Tensors& v) { return swish_captured_sigma(v[0]); }, {agt::any({2, 2})})
                         .against([](const Tensors& v) { return swish_composed(v[0]); }));
  for (const agt::RowCheck& c : b.checks) {
    CAPTURE(c.what);
    const bool second_order = c.what == "gradgradcheck" || c.what == "against the composed reference";
    CHECK(c.ok == !second_order);
  }
}

TEST_CASE("op table: input domains keep their promises") {
  ag::Generator gen(17);
  const auto nz = agt::make_input(agt::nonzero({50}), gen).to_vector<double>();
  for (double v : nz) CHECK((std::abs(v) >= 0.2 && std::abs(v) <= 1.5));
  const auto pos = agt::make_input(agt::positive({50}), gen).to_vector<double>();
  for (double v : pos) CHECK((v >= 0.5 && v < 2.0));
  std::vector<double> sp = agt::make_input(agt::spread({4, 5}), gen).to_vector<double>();
  std::sort(sp.begin(), sp.end());
  for (std::size_t k = 1; k < sp.size(); ++k) CHECK(sp[k] - sp[k - 1] >= 2.4 / 20 * 0.8);
  for (double v : sp) CHECK(std::abs(v) >= 0.45 / 20 * 0.9);
  CHECK_FALSE(agt::make_input(agt::constant(agt::any({2})), gen).requires_grad());
  CHECK(agt::make_input(agt::any({2}), gen).dtype() == ag::f64);
  CHECK(agt::values({1, 2, 3, 4}, {2, 2}).to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK_THROWS_AS(agt::values({1, 2, 3}, {2, 2}), ag::ShapeError);
}

TEST_CASE("op table: completeness_problems over a user's list of ops") {
  auto& rows = agt::registered_rows();
  const std::size_t before = rows.size();
  static agt::Row (*make)() = [] { return agt::row([](const Tensors& v) { return v[0]; }, {agt::any({1})}); };
  agt::register_row("harness_op_a", "harness row a", make);
  agt::register_row("harness_op_b", "harness row b", make);
  // only this test's rows count here: the library's own rows are removed from a copy of the list
  const std::vector<agt::RegisteredRow> saved(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(before));
  rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(before));
  CHECK(agt::completeness_problems({"harness_op_a", "harness_op_b", "harness_eq"}, {"harness_eq"}).empty());
  const auto p = agt::completeness_problems({"harness_op_a", "harness_op_c"}, {"harness_op_b", "harness_gone"});
  CHECK(p == std::vector<std::string>{
                 "op 'harness_op_c' has no gradcheck row (and is not listed as non-differentiable)",
                 "a row for 'harness_op_b', which is not in the list of ops",
                 "'harness_gone' is listed as non-differentiable but is not in the list of ops",
                 "'harness_op_b' is listed as non-differentiable but is not in the list of ops"});
  CHECK(agt::covered_ops() == std::multiset<std::string>{"harness_op_a", "harness_op_b"});
  rows.clear();
  rows.insert(rows.end(), saved.begin(), saved.end());
  CHECK(rows.size() == before);
}

TEST_CASE("op table: declared_ops reads a user's header") {
  const std::string header =
      "#pragma once\n"
      "namespace my {\n"
      "ag::Tensor huber(const ag::Tensor& a, const ag::Tensor& b, double delta);  // elementwise\n"
      "Tensor swish(const Tensor& x);\n"
      "// Tensor commented_out(const Tensor& x);\n"
      "std::pair<Tensor, Tensor> two(const Tensor& x);\n"
      "}\n";
  CHECK(agt::declared_ops(header) == std::set<std::string>{"swish"});
  CHECK(agt::declared_ops(header, {"ag::Tensor", "std::pair<Tensor, Tensor>"}) ==
        std::set<std::string>{"huber", "swish", "two"});
  CHECK_THROWS_AS(agt::declared_ops_in("/nonexistent/folder"), ag::ValueError);
}
