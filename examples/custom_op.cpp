// Two ops defined in user code with the API the built-in ops use (ag::record / ag::op): a Huber
// loss and the swish activation. Each forward sits next to its VJP; the VJPs are written with ag
// ops, so create_graph differentiates them again. They are tested the way tapegrad tests its own
// ops, with the installed per-op table (ag/testing/op_table.hpp): one row per op, each run through
// gradcheck and gradgradcheck in float64, the create_graph and jvp/vjp consistency checks,
// broadcast cases and (swish) a comparison with the composed form x·sigmoid(x); then a
// completeness check over this library's list of ops. Two deliberately wrong VJPs show what the
// checks report. Exits non-zero when a check does not give the expected result.
#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ag/ag.hpp>
#include <ag/gradcheck.hpp>           // not part of ag.hpp
#include <ag/testing/op_table.hpp>     // the per-op test table (doctest users: ag/doctest_op_table.hpp)

namespace {

// Huber loss, elementwise on d = pred - target (pred and target broadcast):
//   L = 0.5·d²                  where |d| <= delta
//   L = delta·(|d| - 0.5·delta) elsewhere
// dL/dpred = d inside, delta·sign(d) outside; dL/dtarget = -dL/dpred.
ag::Tensor huber(const ag::Tensor& pred, const ag::Tensor& target, double delta) {
  ag::Tensor loss, inside;
  {
    ag::NoGradGuard no_grad;  // the forward is computed without recording
    const ag::Tensor d = pred - target;
    inside = ag::abs(d) <= delta;  // 0/1 mask (no history)
    loss = ag::where(inside, 0.5 * ag::square(d), delta * (ag::abs(d) - 0.5 * delta));
  }
  // Saved for the VJP: delta and the mask, by capture. Both are constants to create_graph, which
  // is right: the mask is piecewise constant. d is recomputed from the inputs with ag ops, so its
  // history is recorded under create_graph. The gradient has the broadcast shape of d; the engine
  // sums it back to each input's shape.
  return ag::record("huber", {pred, target}, loss,
                    [inside, delta](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
                      const ag::Tensor d = c.input(0) - c.input(1);
                      const ag::Tensor gd = g * ag::where(inside, d, delta * ag::sign(d));
                      return {c.needs_grad(0) ? gd : ag::Tensor(),
                              c.needs_grad(1) ? -gd : ag::Tensor()};
                    });
}

// swish(x) = x·σ(x);  d/dx = σ + x·σ·(1 - σ) = σ + y·(1 - σ)  with y = swish(x).
// ag::op runs the forward lambda without recording. keep_output saves y for c.output(). σ is
// recomputed in the VJP from c.input(0): a σ captured from the forward would have no history, and
// the second derivative would miss dσ/dx.
ag::Tensor swish(const ag::Tensor& x) {
  return ag::op(
      "swish", {x}, [&] { return x * ag::sigmoid(x); },
      [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
        const ag::Tensor s = ag::sigmoid(c.input(0));
        return {g * (s + c.output() * (1.0 - s))};
      },
      ag::keep_output);
}

// Two wrong VJPs, for the checker to catch. Swish with a sign error: σ - y·(1 - σ).
ag::Tensor swish_wrong(const ag::Tensor& x) {
  return ag::op(
      "swish_wrong", {x}, [&] { return x * ag::sigmoid(x); },
      [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
        const ag::Tensor s = ag::sigmoid(c.input(0));
        return {g * (s - c.output() * (1.0 - s))};
      },
      ag::keep_output);
}

// Huber (the forward reused, not recorded) whose VJP forgets the minus of dL/dtarget.
ag::Tensor huber_wrong(const ag::Tensor& pred, const ag::Tensor& target, double delta) {
  const ag::Tensor loss = ag::no_grad([&] { return huber(pred, target, delta); });
  return ag::record("huber_wrong", {pred, target}, loss,
                    [delta](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
                      const ag::Tensor gd = g * ag::clamp(c.input(0) - c.input(1), -delta, delta);
                      return {gd, gd};
                    });
}

using namespace ag::testing;

// The op library's table. Inputs are drawn from domains away from the kinks: Huber's |d| = delta = 1
// (one output per branch: |d| >= 1.8 and |d| <= 0.6), none for swish. target [4] broadcasts
// against pred [2, 4]; .broadcast also checks it as [1] and 0-d.
Row huber_row() {
  return row([](const Tensors& x) -> Tensors { return {huber(x[0], x[1], 1.0), huber(x[2], x[3], 1.0)}; },
             {uniform({2, 4}, 2.2, 3.0), uniform({4}, -0.4, 0.4), uniform({2, 4}, -0.3, 0.3), uniform({4}, -0.3, 0.3)})
      .broadcast({1, 3});
}
Row swish_row() {
  return row([](const Tensors& x) -> Tensors { return {swish(x[0]), swish(x[1])}; }, {any({2, 4}), any({})})
      .against([](const Tensors& x) -> Tensors { return {x[0] * ag::sigmoid(x[0]), x[1] * ag::sigmoid(x[1])}; });
}
// The same rows over the wrong VJPs, for the checks to catch.
Row swish_wrong_row() { return row([](const Tensors& x) { return swish_wrong(x[0]); }, {any({2, 4})}); }
Row huber_wrong_row() {
  return row([](const Tensors& x) { return huber_wrong(x[0], x[1], 1.0); }, {uniform({2, 4}, -0.3, 0.3), uniform({4}, -0.3, 0.3)});
}

bool print_result(const std::string& what, const ag::GradcheckResult& r) {
  fmt::print("{:<34} {}  max abs err {:.1e}  max rel err {:.1e}\n", what, r.ok ? "ok  " : "FAIL",
             r.max_abs_err, r.max_rel_err);
  if (!r) fmt::print("{}", r.report);
  return r.ok;
}

bool print_row(const RowResult& r) {
  fmt::print("{:<28} {}\n", r.name, r.ok() ? "ok" : "FAIL");
  for (const RowCheck& c : r.checks) fmt::print("  {:<46} {}\n", c.what, c.ok ? "ok" : "FAIL");
  if (!r.ok()) fmt::print("{}", r.report());
  return r.ok();
}

// A wrong VJP must fail the row; prints the failing checks and the first lines of each report.
bool print_caught(const RowResult& r, int lines) {
  fmt::print("\n{}: {}\n", r.name, r.ok() ? "passed (the checks missed the error)" : "caught");
  for (const RowCheck& c : r.checks) {
    if (c.ok) continue;
    fmt::print("  [{}]\n", c.what);
    std::istringstream report(c.report);
    std::string line;
    for (int i = 0; i < lines && std::getline(report, line); ++i) fmt::print("    {}\n", line);
  }
  return !r.ok();
}

}  // namespace

int main() {
  using Inputs = std::vector<ag::Tensor>;
  // pred - target = [[-3, -0.3, -0.8, 1.5], [0.4, -1.4, 1.1, -0.3]]: both branches of the Huber
  // loss, every |d| at least 0.1 away from the kinks at |d| = delta = 1 (finite differences and
  // second derivatives are meaningless across them). target [4] broadcasts against pred [2, 4].
  const ag::Tensor pred({{-2.5, -0.7, 0.3, 1.6}, {0.9, -1.8, 2.2, -0.2}}, ag::f64, true);
  const ag::Tensor target({0.5, -0.4, 1.1, 0.1}, ag::f64, true);
  const ag::Tensor x({{-4.0, -1.2, -0.1, 0.4}, {0.8, 1.5, 2.7, 5.0}}, ag::f64, true);

  // gradcheck: backward against central differences. gradgradcheck: the same for the backward
  // pass itself, through create_graph (second derivatives). f takes the inputs, returns the output.
  const auto huber_fn = [](const Inputs& in) { return huber(in[0], in[1], 1.0); };
  const auto swish_fn = [](const Inputs& in) { return swish(in[0]); };
  bool ok = true;
  ok &= print_result("gradcheck(huber)", ag::gradcheck(huber_fn, {pred, target}));
  ok &= print_result("gradgradcheck(huber)", ag::gradgradcheck(huber_fn, {pred, target}));
  ok &= print_result("gradcheck(swish)", ag::gradcheck(swish_fn, {x}));
  ok &= print_result("gradgradcheck(swish)", ag::gradgradcheck(swish_fn, {x}));

  // A large input: fast mode compares random projections <u, J v> with <vjp(u), v> instead of
  // whole Jacobians (automatic above 2048 elements; forced here, with a tighter atol).
  ag::Generator gen(3);
  const ag::Tensor big = ag::randn({200, 100}, gen, ag::f64).requires_grad_();
  ag::GradcheckOptions options;
  options.mode = ag::GradcheckOptions::Mode::fast;
  options.atol = 1e-7;
  ok &= print_result("gradcheck(swish, [200, 100], fast)", ag::gradcheck(swish_fn, {big}, options));

  // The same ops as a library tests its ops: a table with one row per op, registered under the
  // op's name; check_row runs every check the row asks for (inputs drawn from its domains).
  register_row("huber", "huber: both branches, target broadcast", &huber_row);
  register_row("swish", "swish: [2,4] and 0-d, against x·sigmoid(x)", &swish_row);
  fmt::print("\n");
  for (const RegisteredRow& r : registered_rows()) ok &= print_row(check_row(r.name, r.make()));
  // Completeness: every op of the library has a row (non-differentiable ones would be exempt).
  const std::set<std::string> my_ops = {"huber", "swish"};
  for (const std::string& problem : completeness_problems(my_ops, /*exempt=*/{})) {
    fmt::print("table incomplete: {}\n", problem);
    ok = false;
  }

  // One backward through the op, against hand-computed values: sum(L) = 2.5 + 0.045 + 0.32 + 1 +
  // 0.08 + 0.9 + 0.6 + 0.045 = 5.49; dL/dpred = d clipped to [-1, 1]; dL/dtarget [4] is minus the
  // column sums of that [2, 4] gradient (summed back to target's shape by the engine).
  const ag::Tensor total = ag::sum(huber(pred, target, 1.0));
  total.backward();
  fmt::print("\nsum(huber(pred, target)) = {:.6f}\nd/dpred = {}\nd/dtarget = {}\n", total.item(),
             pred.grad(), target.grad());
  const ag::Tensor want_pred({{-1.0, -0.3, -0.8, 1.0}, {0.4, -1.0, 1.0, -0.3}}, ag::f64);
  const ag::Tensor want_target({0.6, 1.3, -0.2, -0.7}, ag::f64);
  const auto max_diff = [](const ag::Tensor& a, const ag::Tensor& b) {
    return ag::max(ag::abs(a - b)).item();
  };
  ok &= std::abs(total.item() - 5.49) < 1e-12 && max_diff(pred.grad(), want_pred) < 1e-12 &&
        max_diff(target.grad(), want_target) < 1e-12;

  // The checks must catch the wrong VJPs. The report gives the worst entries and, where it
  // recognises the error, a diagnosis; the same numbers are data in GradcheckResult::blocks.
  ok &= print_caught(check_row("swish_wrong", swish_wrong_row()), 6);
  ok &= print_caught(check_row("huber_wrong", huber_wrong_row()), 6);
  const ag::GradcheckResult wrong = ag::gradcheck([](const Inputs& in) { return swish_wrong(in[0]); }, {x});
  const ag::GradcheckEntry& e = wrong.blocks.at(0).worst.at(0);
  fmt::print("\nworst entry of gradcheck(swish_wrong): d output[{}] / d input[{}] = {:.6f} (analytical) vs {:.6f} "
             "(numerical)\n", e.output_element, e.input_element, e.analytical, e.numerical);
  ok &= !wrong.ok && std::abs(e.analytical - e.numerical) > 0.1;

  if (!ok) {
    fmt::print(stderr, "custom_op: a gradient check did not give the expected result\n");
    return 1;
  }
  return 0;
}
