// Property tests: random shapes (0-d, size-1 and size-0 axes included), random broadcast pairs for
// every binary op, and random compositions of 3-6 ops, each checked with ag::gradcheck in float64.
//
// Reproducible and tunable from the environment:
//   TAPEGRAD_PROPERTY_SEED=<n>   base seed (default 20240611); case i uses seed base + i
//   TAPEGRAD_PROPERTY_CASES=<n>  compositions to check (default 100); broadcast pairs per binary op
//                                scale with it (n/4, at least 4)
// A failure prints the case's seed, the composition (every step with its shape) and the input
// shapes; rerun just that case with TAPEGRAD_PROPERTY_SEED=<case seed> TAPEGRAD_PROPERTY_CASES=1,
// e.g. OPENBLAS_NUM_THREADS=1 build/tests/test_gradcheck -tc='property:*'.
//
// Input domains avoid kinks and singularities: log/sqrt/reciprocal/pow only see values kept away
// from 0 by construction (x² + 0.5, sigmoid(x) + 0.25), divisors and pow bases are positive,
// maximum/minimum operands sit on two interleaved grids (|a - b| >= 0.16), and no composition
// uses abs/relu/clamp/max. Magnitudes are kept moderate (growing ops only on |x| < 3).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/gradcheck.hpp"

namespace {

using ag::Tensor;
using Tensors = std::vector<Tensor>;

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  return (end != nullptr && *end == '\0') ? n : fallback;
}
std::uint64_t base_seed() { return env_u64("TAPEGRAD_PROPERTY_SEED", 20240611); }
std::size_t num_cases() { return static_cast<std::size_t>(env_u64("TAPEGRAD_PROPERTY_CASES", 100)); }

std::string shape_of(const Tensor& t) { return ag::shape_str(t.shape()); }

std::size_t numel_of(const ag::Shape& s) {
  std::size_t n = 1;
  for (std::size_t d : s) n *= d;
  return n;
}

// ---- random shapes and values -------------------------------------------------------------------
struct Rng {
  ag::Generator gen;
  explicit Rng(std::uint64_t seed) : gen(seed) {}
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(gen.below(n)); }
  bool chance(double p) { return gen.uniform01() < p; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * gen.uniform01(); }
  // a dimension: 0 rarely (empty tensors), 1 often (broadcasting), else 2-3
  std::size_t dim() {
    const double u = gen.uniform01();
    return u < 0.06 ? 0 : u < 0.3 ? 1 : 2 + below(2);
  }
  ag::Shape shape(std::size_t max_rank = 3) {
    ag::Shape s(below(max_rank + 1));
    for (auto& d : s) d = dim();
    return s;
  }
};

enum class Domain { any, positive, nonzero, grid_even, grid_odd };

// Values in [-1.5, 1.5] (any), [0.5, 2] (positive), |x| in [0.3, 1.5] (nonzero); grid_even is
// 0.4·k + noise and grid_odd 0.4·k + 0.2 + noise (k in -3..3, |noise| <= 0.02), so an even and an
// odd value are at least 0.16 apart: no ties or near-ties for maximum/minimum.
Tensor make_values(const ag::Shape& s, Domain d, Rng& r, bool requires_grad = true) {
  xt::xarray<double> v = xt::xarray<double>::from_shape(s);
  for (std::size_t i = 0; i < v.size(); ++i) {
    double x = 0;
    switch (d) {
      case Domain::any: x = r.uniform(-1.5, 1.5); break;
      case Domain::positive: x = r.uniform(0.5, 2.0); break;
      case Domain::nonzero: x = r.uniform(0.3, 1.5) * (r.chance(0.5) ? -1 : 1); break;
      case Domain::grid_even:
      case Domain::grid_odd:
        x = 0.4 * (static_cast<double>(r.below(7)) - 3.0) + (d == Domain::grid_odd ? 0.2 : 0.0) +
            r.uniform(-0.02, 0.02);
        break;
    }
    v.data()[i] = x;
  }
  return Tensor(std::move(v), requires_grad);
}

// numpy broadcasting, written independently of the library
ag::Shape broadcast(const ag::Shape& a, const ag::Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  ag::Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// An operand shape broadcast-compatible with `full`: a random suffix of it with some axes set to 1.
ag::Shape operand_of(const ag::Shape& full, Rng& r) {
  const std::size_t rank = r.below(full.size() + 1);
  ag::Shape s(full.end() - static_cast<std::ptrdiff_t>(rank), full.end());
  for (auto& d : s)
    if (r.chance(0.35)) d = 1;
  return s;
}

ag::GradcheckOptions options() {
  ag::GradcheckOptions o;
  o.mode = ag::GradcheckOptions::Mode::full;
  return o;
}

std::string shapes_text(const Tensors& xs) {
  std::string s;
  for (std::size_t i = 0; i < xs.size(); ++i)
    s += (i ? ", " : "") + std::string("x") + std::to_string(i) + " " + shape_of(xs[i]) +
         (xs[i].requires_grad() ? "" : " (no grad)");
  return s;
}

// ---- binary ops under random broadcast pairs ------------------------------------------------------
struct BinaryOp {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> f;
  Domain da, db;
};

const std::vector<BinaryOp>& binary_ops() {
  static const std::vector<BinaryOp> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return ag::add(a, b); }, Domain::any, Domain::any},
      {"sub", [](const Tensor& a, const Tensor& b) { return ag::sub(a, b); }, Domain::any, Domain::any},
      {"mul", [](const Tensor& a, const Tensor& b) { return ag::mul(a, b); }, Domain::any, Domain::any},
      {"div", [](const Tensor& a, const Tensor& b) { return ag::div(a, b); }, Domain::any, Domain::nonzero},
      {"pow", [](const Tensor& a, const Tensor& b) { return ag::pow(a, b); }, Domain::positive, Domain::any},
      {"maximum", [](const Tensor& a, const Tensor& b) { return ag::maximum(a, b); }, Domain::grid_even,
       Domain::grid_odd},
      {"minimum", [](const Tensor& a, const Tensor& b) { return ag::minimum(a, b); }, Domain::grid_odd,
       Domain::grid_even},
      {"operator+", [](const Tensor& a, const Tensor& b) { return a + b; }, Domain::any, Domain::any},
      {"operator-", [](const Tensor& a, const Tensor& b) { return a - b; }, Domain::any, Domain::any},
      {"operator*", [](const Tensor& a, const Tensor& b) { return a * b; }, Domain::any, Domain::any},
      {"operator/", [](const Tensor& a, const Tensor& b) { return a / b; }, Domain::any, Domain::nonzero},
  };
  return ops;
}

// Tensor-scalar forms: s is drawn per case; the domain is the tensor's.
struct ScalarOp {
  const char* name;
  std::function<Tensor(const Tensor&, double)> f;
  Domain d;
  double lo, hi;  // range of the scalar
};

const std::vector<ScalarOp>& scalar_ops() {
  static const std::vector<ScalarOp> ops = {
      {"add(a, s)", [](const Tensor& a, double s) { return ag::add(a, s); }, Domain::any, -2, 2},
      {"mul(a, s)", [](const Tensor& a, double s) { return ag::mul(a, s); }, Domain::any, -2, 2},
      {"rsub(s, a)", [](const Tensor& a, double s) { return ag::rsub(s, a); }, Domain::any, -2, 2},
      {"rdiv(s, a)", [](const Tensor& a, double s) { return ag::rdiv(s, a); }, Domain::nonzero, -2, 2},
      {"pow(a, p)", [](const Tensor& a, double p) { return ag::pow(a, p); }, Domain::positive, -2.5, 2.5},
      {"pow(s, b)", [](const Tensor& b, double s) { return ag::pow(s, b); }, Domain::any, 0.3, 3},
      {"a / s", [](const Tensor& a, double s) { return a / s; }, Domain::any, 0.5, 2},
      {"s - a", [](const Tensor& a, double s) { return s - a; }, Domain::any, -2, 2},
  };
  return ops;
}

// ---- random compositions ----------------------------------------------------------------------------
// A program: inputs (float64 leaves) and steps, each mapping the current tensor (and the inputs,
// for binary steps) to the next. Built by running every candidate step on the concrete inputs,
// so shape-dependent choices (axes, matmul partners) are always valid and values stay moderate.
struct Program {
  Tensors inputs;
  std::vector<std::function<Tensor(const Tensor&, const Tensors&)>> steps;
  std::vector<std::string> text;  // "sin -> [2, 3]"
  Tensor run(const Tensors& x) const {
    Tensor t = x[0];
    for (const auto& s : steps) t = s(t, x);
    return t;
  }
  std::string describe() const {
    std::string s = "x0 " + shape_of(inputs[0]);
    for (const auto& t : text) s += "\n  -> " + t;
    return s;
  }
};

using Step = std::function<Tensor(const Tensor&, const Tensors&)>;

std::string axes_text(const std::vector<int>& axes) {
  std::string s = "[";
  for (std::size_t i = 0; i < axes.size(); ++i) s += (i ? ", " : "") + std::to_string(axes[i]);
  return s + "]";
}

// Random non-empty subset of the axes of a rank-n tensor (some given as negative numbers).
std::vector<int> random_axes(std::size_t n, Rng& r) {
  std::vector<int> axes;
  for (std::size_t k = 0; k < n; ++k)
    if (r.chance(0.5)) axes.push_back(r.chance(0.3) ? static_cast<int>(k) - static_cast<int>(n) : static_cast<int>(k));
  if (axes.empty()) axes.push_back(static_cast<int>(r.below(n)));
  return axes;
}

// One candidate step for the current value `cur`: a name and a Step, or nothing when the chosen
// family does not apply. `fresh` adds an input (returns its index).
struct Candidate {
  std::string name;
  Step step;
};

Candidate pick_step(const Tensor& cur, Program& p, Rng& r) {
  const ag::Shape s = cur.shape();
  const std::size_t n = s.size();
  double max_abs = 0;
  for (double v : cur.value<double>()) max_abs = std::max(max_abs, std::abs(v));
  const bool small = max_abs < 3.0;  // growing ops (exp, square, matmul, sums) only on small values
  auto fresh = [&](const ag::Shape& shape, Domain d) {
    p.inputs.push_back(make_values(shape, d, r, !r.chance(0.15)));
    return p.inputs.size() - 1;
  };
  auto input_name = [&](std::size_t i) {
    return "x" + std::to_string(i) + " " + shape_of(p.inputs[i]) + (p.inputs[i].requires_grad() ? "" : " (no grad)");
  };

  switch (r.below(8)) {
    case 0: {  // smooth unary ops, defined everywhere
      static const std::vector<std::pair<const char*, Tensor (*)(const Tensor&)>> unary = {
          {"sin", ag::sin},         {"cos", ag::cos},   {"tanh", ag::tanh},
          {"sigmoid", ag::sigmoid}, {"neg", ag::neg},   {"softplus", ag::softplus},
          {"gelu", ag::gelu},       {"exp", ag::exp},   {"square", ag::square},
          {"expm1", ag::expm1}};
      const auto& [name, f] = unary[r.below(unary.size())];
      if (!small && (std::string(name) == "exp" || std::string(name) == "square" || std::string(name) == "expm1"))
        return {"tanh", [](const Tensor& t, const Tensors&) { return ag::tanh(t); }};
      return {name, [f = f](const Tensor& t, const Tensors&) { return f(t); }};
    }
    case 1: {  // ops with a restricted domain, fed values kept away from their singularity
      switch (r.below(5)) {
        case 0: return {"log(x² + 0.5)", [](const Tensor& t, const Tensors&) { return ag::log(ag::square(t) + 0.5); }};
        case 1: return {"sqrt(sigmoid(x) + 0.25)", [](const Tensor& t, const Tensors&) { return ag::sqrt(ag::sigmoid(t) + 0.25); }};
        case 2: return {"reciprocal(x² + 0.5)", [](const Tensor& t, const Tensors&) { return ag::reciprocal(ag::square(t) + 0.5); }};
        case 3: return {"log1p(sigmoid(x))", [](const Tensor& t, const Tensors&) { return ag::log1p(ag::sigmoid(t)); }};
        default: {
          const double e = r.uniform(-2, 2);
          return {"pow(x² + 0.5, " + std::to_string(e) + ")",
                  [e](const Tensor& t, const Tensors&) { return ag::pow(ag::square(t) + 0.5, e); }};
        }
      }
    }
    case 2: {  // binary with a fresh input of a broadcast-compatible shape (may add a leading axis)
      ag::Shape other = operand_of(s, r);
      if (n < 4 && other.size() == n && r.chance(0.25)) other.insert(other.begin(), 2);  // adds an axis
      switch (r.below(5)) {
        case 0: {
          const std::size_t i = fresh(other, Domain::any);
          return {"add(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return t + x[i]; }};
        }
        case 1: {
          const std::size_t i = fresh(other, Domain::any);
          return {"sub(" + input_name(i) + ", _)", [i](const Tensor& t, const Tensors& x) { return x[i] - t; }};
        }
        case 2: {
          const std::size_t i = fresh(other, Domain::any);
          return {"mul(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return t * x[i]; }};
        }
        case 3: {
          const std::size_t i = fresh(other, Domain::positive);
          return {"div(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return ag::div(t, x[i]); }};
        }
        default: {
          const std::size_t i = fresh(other, Domain::positive);
          return {"pow(" + input_name(i) + ", tanh(_))",
                  [i](const Tensor& t, const Tensors& x) { return ag::pow(x[i], ag::tanh(t)); }};
        }
      }
    }
    case 3: {  // reductions
      if (!small) return {"sigmoid", [](const Tensor& t, const Tensors&) { return ag::sigmoid(t); }};
      if (n == 0 || r.chance(0.15))
        return {"sum()", [](const Tensor& t, const Tensors&) { return ag::sum(t); }};
      const std::vector<int> axes = random_axes(n, r);
      const bool keep = r.chance(0.5);
      std::size_t reduced = 1;
      for (int a : axes) reduced *= s[static_cast<std::size_t>(a < 0 ? a + static_cast<int>(n) : a)];
      const std::string k = keep ? ", keepdims" : "";
      switch (r.below(4)) {
        case 0:
          return {"sum(" + axes_text(axes) + k + ")",
                  [axes, keep](const Tensor& t, const Tensors&) { return ag::sum(t, axes, keep); }};
        case 1:
          if (reduced == 0) break;  // mean over nothing is a ValueError (documented)
          return {"mean(" + axes_text(axes) + k + ")",
                  [axes, keep](const Tensor& t, const Tensors&) { return ag::mean(t, axes, keep); }};
        case 2:
          if (reduced == 0) break;  // logsumexp over nothing is -inf
          return {"logsumexp(" + axes_text(axes) + k + ")",
                  [axes, keep](const Tensor& t, const Tensors&) { return ag::logsumexp(t, axes, keep); }};
        default: {
          if (reduced < 2) break;  // unbiased variance needs two elements
          const bool unbiased = r.chance(0.5);
          return {std::string("var(") + axes_text(axes) + (unbiased ? ", unbiased" : ", biased") + k + ")",
                  [axes, unbiased, keep](const Tensor& t, const Tensors&) { return ag::var(t, axes, unbiased, keep); }};
        }
      }
      return {"sum()", [](const Tensor& t, const Tensors&) { return ag::sum(t); }};
    }
    case 4: {  // softmax / log_softmax along an axis
      // along an axis of size >= 2 (over a size-1 axis softmax is constant: no gradient to test)
      std::vector<int> wide;
      for (std::size_t k = 0; k < n; ++k)
        if (s[k] >= 2) wide.push_back(static_cast<int>(k));
      if (wide.empty()) return {"cos", [](const Tensor& t, const Tensors&) { return ag::cos(t); }};
      const int axis = wide[r.below(wide.size())] - (r.chance(0.3) ? static_cast<int>(n) : 0);
      if (r.chance(0.5))
        return {"softmax(" + std::to_string(axis) + ")", [axis](const Tensor& t, const Tensors&) { return ag::softmax(t, axis); }};
      return {"log_softmax(" + std::to_string(axis) + ")",
              [axis](const Tensor& t, const Tensors&) { return ag::log_softmax(t, axis); }};
    }
    case 5: {  // reshape / transpose / permute / squeeze / unsqueeze
      switch (r.below(6)) {
        case 0:
          return {"reshape([-1])", [](const Tensor& t, const Tensors&) { return ag::reshape(t, {-1}); }};
        case 1: {  // reversed dims, with the first given as -1 when the tensor is not empty
          std::vector<std::ptrdiff_t> to(s.rbegin(), s.rend());
          if (!to.empty() && numel_of(s) > 0) to[0] = -1;
          std::string txt = "reshape([";
          for (std::size_t i = 0; i < to.size(); ++i) txt += (i ? ", " : "") + std::to_string(to[i]);
          return {txt + "])", [to](const Tensor& t, const Tensors&) { return ag::reshape(t, to); }};
        }
        case 2:
          if (n < 2) break;
          {
            const int d0 = static_cast<int>(r.below(n)), d1 = static_cast<int>(r.below(n));
            return {"transpose(" + std::to_string(d0) + ", " + std::to_string(d1) + ")",
                    [d0, d1](const Tensor& t, const Tensors&) { return ag::transpose(t, d0, d1); }};
          }
        case 3: {
          std::vector<int> perm(n);
          for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<int>(i);
          for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[r.below(i)]);
          return {"permute(" + axes_text(perm) + ")", [perm](const Tensor& t, const Tensors&) { return ag::permute(t, perm); }};
        }
        case 4:
          if (n >= 4) break;
          {
            const int axis = static_cast<int>(r.below(n + 1));
            return {"unsqueeze(" + std::to_string(axis) + ")",
                    [axis](const Tensor& t, const Tensors&) { return ag::unsqueeze(t, axis); }};
          }
        default:
          return {"squeeze()", [](const Tensor& t, const Tensors&) { return ag::squeeze(t); }};
      }
      return {"transpose()", [](const Tensor& t, const Tensors&) { return ag::transpose(t); }};
    }
    case 6: {  // matmul with a fresh operand whose shape fits
      if (n == 0 || !small) return {"tanh", [](const Tensor& t, const Tensors&) { return ag::tanh(t); }};
      const std::size_t k = 1 + r.below(3);
      switch (r.below(4)) {
        case 0: {  // cur · W [last, k]
          const std::size_t i = fresh({s[n - 1], k}, Domain::any);
          return {"matmul(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return ag::matmul(t, x[i]); }};
        }
        case 1: {  // cur · v [last] (removes the last axis; 1-D · 1-D is a dot product)
          const std::size_t i = fresh({s[n - 1]}, Domain::any);
          return {"matmul(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return ag::matmul(t, x[i]); }};
        }
        case 2: {  // W [k, rows] · cur, cur at least 2-D (batched over cur's leading axes)
          if (n < 2) break;
          const std::size_t i = fresh({k, s[n - 2]}, Domain::any);
          return {"matmul(" + input_name(i) + ", _)", [i](const Tensor& t, const Tensors& x) { return ag::matmul(x[i], t); }};
        }
        default: {  // batched: cur [.., m, last] · W [2, last, k], batch axes broadcast
          if (n != 2) break;  // batch axis [2] against none
          const std::size_t i = fresh({2, s[n - 1], k}, Domain::any);
          return {"matmul(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return ag::matmul(t, x[i]); }};
        }
      }
      const std::size_t i = fresh({s[n - 1]}, Domain::any);
      return {"matmul(_, " + input_name(i) + ")", [i](const Tensor& t, const Tensors& x) { return ag::matmul(t, x[i]); }};
    }
    default: {  // fan-out: the current value used twice (gradients accumulate)
      if (!small) return {"sin", [](const Tensor& t, const Tensors&) { return ag::sin(t); }};
      return {"_ * tanh(_)", [](const Tensor& t, const Tensors&) { return t * ag::tanh(t); }};
    }
  }
}

Program random_program(std::uint64_t seed) {
  Rng r(seed);
  Program p;
  ag::Shape s0 = r.shape();
  p.inputs.push_back(make_values(s0, Domain::any, r));
  const std::size_t steps = 3 + r.below(4);
  Tensor cur = p.inputs[0].detach();
  while (p.steps.size() < steps) {
    const std::size_t inputs_before = p.inputs.size();
    Candidate c = pick_step(cur, p, r);
    Tensor next;
    {
      ag::NoGradGuard ng;
      Tensors detached;
      for (const auto& x : p.inputs) detached.push_back(x.detach());
      try {
        next = c.step(cur, detached);
      } catch (const std::exception& e) {  // say where: the program so far and the failing step
        throw std::runtime_error(std::string(e.what()) + "\n  program so far: " + p.describe() +
                                 "\n  -> " + c.name + " on " + shape_of(cur) + "\n  inputs: " +
                                 shapes_text(p.inputs));
      }
    }
    // keep programs cheap to check: at most rank 4 and 48 elements; otherwise drop the step
    if (next.dim() > 4 || next.numel() > 48) {
      p.inputs.resize(inputs_before);
      continue;
    }
    p.steps.push_back(c.step);
    p.text.push_back(c.name + " -> " + shape_of(next));
    cur = next;
  }
  return p;
}

}  // namespace

TEST_CASE("property: every differentiable binary op under random broadcast pairs") {
  const std::uint64_t seed = base_seed();
  const std::size_t per_op = std::max<std::size_t>(4, num_cases() / 4);
  std::size_t checked = 0, empty = 0, scalar = 0;
  for (std::size_t o = 0; o < binary_ops().size(); ++o) {
    const BinaryOp& op = binary_ops()[o];
    for (std::size_t c = 0; c < per_op; ++c) {
      const std::uint64_t case_seed = seed + 1000 * (o + 1) + c;
      Rng r(case_seed);
      const ag::Shape full = r.shape();
      ag::Shape sa = operand_of(full, r), sb = operand_of(full, r);
      if (r.chance(0.5)) sa = full; else sb = full;  // one operand usually has every axis
      const Tensor a = make_values(sa, op.da, r), b = make_values(sb, op.db, r);
      INFO("TAPEGRAD_PROPERTY_SEED=" << seed << ": " << op.name << "(a " << shape_of(a) << ", b "
           << shape_of(b) << "), case seed " << case_seed);
      const ag::Shape want = broadcast(sa, sb);
      const Tensor y = op.f(a, b);
      CHECK(y.shape() == want);
      CHECK(y.dtype() == ag::f64);
      // the same op with the operands broadcast explicitly first gives the same values
      const Tensor y2 = op.f(ag::broadcast_to(a, want), ag::broadcast_to(b, want));
      CHECK(y2.value<double>() == y.value<double>());
      const ag::GradcheckResult res = ag::gradcheck(
          [f = op.f](const Tensors& x) { return f(x[0], x[1]); }, {a, b}, options());
      CHECK_MESSAGE(res.ok, res.report);
      ++checked;
      empty += numel_of(want) == 0;
      scalar += want.empty();
    }
  }
  // the generator does reach the interesting shapes
  CHECK(checked == binary_ops().size() * per_op);
  CHECK(empty > 0);
  CHECK(scalar > 0);
}

TEST_CASE("property: tensor-scalar forms of the binary ops on random shapes") {
  const std::uint64_t seed = base_seed();
  const std::size_t per_op = std::max<std::size_t>(4, num_cases() / 8);
  for (std::size_t o = 0; o < scalar_ops().size(); ++o) {
    const ScalarOp& op = scalar_ops()[o];
    for (std::size_t c = 0; c < per_op; ++c) {
      const std::uint64_t case_seed = seed + 50000 + 1000 * o + c;
      Rng r(case_seed);
      const Tensor a = make_values(r.shape(), op.d, r);
      const double s = r.uniform(op.lo, op.hi);
      INFO("TAPEGRAD_PROPERTY_SEED=" << seed << ": " << op.name << " with a " << shape_of(a) << ", s = " << s
           << ", case seed " << case_seed);
      const Tensor y = op.f(a, s);
      CHECK(y.shape() == a.shape());
      const ag::GradcheckResult res =
          ag::gradcheck([f = op.f, s](const Tensors& x) { return f(x[0], s); }, {a}, options());
      CHECK_MESSAGE(res.ok, res.report);
    }
  }
}

TEST_CASE("property: comparisons and where broadcast like the arithmetic ops") {
  const std::uint64_t seed = base_seed();
  const std::size_t cases = std::max<std::size_t>(8, num_cases() / 2);
  for (std::size_t c = 0; c < cases; ++c) {
    const std::uint64_t case_seed = seed + 90000 + c;
    Rng r(case_seed);
    const ag::Shape full = r.shape();
    const ag::Shape sa = operand_of(full, r), sb = full, sc = operand_of(full, r);
    // values -1 or +1, so that equal and unequal pairs both occur
    const Tensor a = ag::sign(make_values(sa, Domain::any, r, false));
    const Tensor b = ag::sign(make_values(sb, Domain::any, r, false));
    INFO("TAPEGRAD_PROPERTY_SEED=" << seed << ": a " << shape_of(a) << ", b " << shape_of(b) << ", case seed "
         << case_seed);
    const ag::Shape want = broadcast(sa, sb);
    const Tensor lt = ag::lt(a, b), ge = ag::ge(a, b), eq = ag::eq(a, b), ne = ag::ne(a, b),
                 gt = ag::gt(a, b), le = ag::le(a, b);
    for (const Tensor* t : {&lt, &ge, &eq, &ne, &gt, &le}) {
      CHECK(t->shape() == want);
      CHECK_FALSE(t->requires_grad());
    }
    if (numel_of(want) > 0) {
      for (const Tensor* t : {&lt, &ge, &eq, &ne, &gt, &le}) CHECK(t->dtype() == ag::bool_);
      auto v = [](const Tensor& t) { return t.to_xarray<double>(); };
      CHECK(xt::all(xt::equal(v(lt) + v(ge), 1.0)));
      CHECK(xt::all(xt::equal(v(eq) + v(ne), 1.0)));
      CHECK(xt::all(xt::equal(v(lt) + v(eq) + v(gt), 1.0)));
      CHECK(xt::all(xt::equal(v(le), 1.0 - v(gt))));
    }
    // where(cond, x, y) with three broadcast shapes: gradient flows to the selected branch
    const Tensor cond = ag::lt(a, b);
    const Tensor x = make_values(sc, Domain::any, r), y = make_values(sa, Domain::any, r);
    const ag::Shape wshape = broadcast(broadcast(want, sc), sa);
    const Tensor w = ag::where(cond, x, y);
    CHECK(w.shape() == broadcast(broadcast(cond.shape(), sc), sa));
    const ag::GradcheckResult res = ag::gradcheck(
        [cond](const Tensors& v) { return ag::where(cond, v[0], v[1]); }, {x, y}, options());
    CHECK_MESSAGE(res.ok, res.report);
  }
}

TEST_CASE("property: random compositions of 3-6 ops pass gradcheck") {
  const std::uint64_t seed = base_seed();
  const std::size_t cases = num_cases();
  std::size_t total_steps = 0, empty_outputs = 0;
  for (std::size_t c = 0; c < cases; ++c) {
    const std::uint64_t case_seed = seed + c;
    Program p;
    try {
      p = random_program(case_seed);
    } catch (const std::exception& e) {
      // building runs every step on concrete values: an op that throws on valid input is a bug
      FAIL_CHECK("case seed " << case_seed << " (TAPEGRAD_PROPERTY_SEED=" << seed << ", case " << c
                              << "): building the program threw: " << std::string(e.what()));
      continue;
    }
    total_steps += p.steps.size();
    const std::string where = "case seed " + std::to_string(case_seed) + " (TAPEGRAD_PROPERTY_SEED=" +
                              std::to_string(seed) + ", case " + std::to_string(c) + "; rerun with " +
                              "TAPEGRAD_PROPERTY_SEED=" + std::to_string(case_seed) +
                              " TAPEGRAD_PROPERTY_CASES=1)\n  inputs: " + shapes_text(p.inputs) +
                              "\n  program: " + p.describe();
    INFO(where);
    ag::GradcheckResult res;
    try {
      res = ag::gradcheck([&p](const Tensors& x) { return p.run(x); }, p.inputs, options());
    } catch (const std::exception& e) {
      FAIL_CHECK("gradcheck threw: " << std::string(e.what()));
      continue;
    }
    CHECK_MESSAGE(res.ok, res.report);
    empty_outputs += p.run(p.inputs).numel() == 0;
  }
  CHECK(total_steps >= 3 * cases);
  MESSAGE("property compositions: " << cases << " cases, " << total_steps << " steps, " << empty_outputs
                                    << " with an empty output; TAPEGRAD_PROPERTY_SEED=" << seed);
}

// The property test has teeth: the same random programs with a sign-flipped VJP (a custom op
// recorded with ag::record) appended fail gradcheck, and the report says so.
TEST_CASE("property: a wrong VJP spliced into random compositions is caught") {
  const std::uint64_t seed = base_seed();
  auto bad_neg = [](const Tensor& t, const Tensors&) {
    Tensor y = ag::no_grad([&] { return ag::neg(t); });
    return ag::record("bad_neg", {t}, y, [](const ag::VjpContext&, const Tensor& g) -> ag::Grads { return {g}; });
  };
  std::size_t caught = 0;
  const std::size_t cases = 12;
  for (std::size_t c = 0; c < cases; ++c) {
    Program p = random_program(seed + c);
    p.steps.push_back(bad_neg);
    const ag::GradcheckResult res = ag::gradcheck([&p](const Tensors& x) { return p.run(x); }, p.inputs, options());
    caught += !res.ok;
  }
  // a program whose output does not depend on its inputs (e.g. a sum of softmax) cannot show it
  CHECK(caught >= cases * 3 / 4);
}
