// Two ops defined in user code with the API the built-in ops use (ag::record / ag::op): a Huber
// loss and the swish activation. Each forward sits next to its VJP; the VJPs are written with ag
// ops, so create_graph differentiates them again. Both are checked with ag::gradcheck (first
// derivatives) and ag::gradgradcheck (second derivatives) in float64; two deliberately wrong VJPs
// show what the checker reports. Exits non-zero when a check does not give the expected result.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <ag/ag.hpp>
#include <ag/gradcheck.hpp>  // not part of ag.hpp

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

bool print_result(const std::string& what, const ag::GradcheckResult& r) {
  fmt::print("{:<34} {}  max abs err {:.1e}  max rel err {:.1e}\n", what, r.ok ? "ok  " : "FAIL",
             r.max_abs_err, r.max_rel_err);
  if (!r) fmt::print("{}", r.report);
  return r.ok;
}

// A wrong VJP must fail the check; prints the first lines of the report.
bool print_caught(const std::string& what, const ag::GradcheckResult& r, int lines) {
  fmt::print("\n{}: {}\n", what, r.ok ? "passed (the checker missed the error)" : "caught");
  std::istringstream report(r.report);
  std::string line;
  for (int i = 0; i < lines && std::getline(report, line); ++i) fmt::print("  {}\n", line);
  return !r.ok;
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

  // The checker must catch the wrong VJPs. Its report gives the worst entries and, where it
  // recognises the error, a diagnosis.
  ok &= print_caught("gradcheck(swish_wrong)",
                     ag::gradcheck([](const Inputs& in) { return swish_wrong(in[0]); }, {x}), 9);
  ok &= print_caught("gradcheck(huber_wrong)",
                     ag::gradcheck([](const Inputs& in) { return huber_wrong(in[0], in[1], 1.0); },
                                   {pred, target}),
                     9);

  if (!ok) {
    fmt::print(stderr, "custom_op: a gradient check did not give the expected result\n");
    return 1;
  }
  return 0;
}
