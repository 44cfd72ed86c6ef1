// Gradient checking (see ag/gradcheck.hpp): the entry points and the checking flow — central
// differences, the full Jacobians, the random projections of fast mode with the bisection that
// localises a failure, and the properties of backward. The diagnoses and the failure report are in
// gradcheck_report.cpp. Not a hot path: plain loops over flat float64 values and the public ag API.
#include "ag/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/autograd.hpp"
#include "ag/ops.hpp"
#include "ag/random.hpp"
#include "tools/gradcheck_internal.hpp"

namespace ag {
namespace detail {
namespace {

Vec flat(const Tensor& t) {
  const auto& a = t.value<double>();
  return Vec(a.data(), a.data() + a.size());
}

Tensor from_flat(const Vec& v, const Shape& shape) {
  Tensor t = zeros(shape, f64);
  std::copy(v.begin(), v.end(), t.mutable_value<double>().data());
  return t;
}

Vec randn_vec(std::size_t n, Generator& gen) {
  Vec v(n);
  for (double& x : v) x = gen.normal();
  return v;
}

// A private leaf with the same values (a real copy, never aliasing the caller's storage).
Tensor copy_leaf(const Tensor& x) {
  Tensor t(xt::xarray<double>(x.value<double>()), x.requires_grad());
  if (!x.name().empty()) t.set_name(x.name());
  return t;
}

// |a - n| / tol, with a non-finite value on either side counted as an infinite discrepancy.
double discrepancy(double a, double n, double tol) {
  const double r = std::abs(a - n) / tol;
  return std::isnan(r) ? std::numeric_limits<double>::infinity() : r;
}

// Sort key of an entry: its abs error, non-finite ones first.
double err_key(double a, double n) {
  const double e = std::abs(a - n);
  return std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
}

}  // namespace

// ---- setup --------------------------------------------------------------------------------------
Checker::Checker(const char* who, const GradcheckFn& f, const std::vector<Tensor>& inputs,
                 const GradcheckOptions& opt, Labels labels)
    : who_(who), f_(f), opt_(opt), labels_(std::move(labels)), gen_(opt.seed) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) throw ValueError(fmt::format("{}: input {} is undefined", who_, i));
    if (x.dtype() != f64)
      throw DtypeError(fmt::format("{}: input {} is {} {}; gradcheck needs float64 inputs (convert "
                                   "with .to(ag::f64))", who_, i, dtype_name(x.dtype()),
                                   shape_str(x.shape())));
    in_shapes_.push_back(x.shape());
    if (x.requires_grad()) diff_.push_back(i);
    originals_.push_back(x);
  }
  if (diff_.empty())
    throw ValueError(fmt::format("{}: no input requires grad; mark the inputs to check with "
                                 "requires_grad_()", who_));
  if (labels_.inputs.size() != inputs.size()) {
    labels_.inputs.clear();
    for (std::size_t i = 0; i < inputs.size(); ++i)
      labels_.inputs.push_back(inputs[i].name().empty()
                                   ? fmt::format("input {}", i)
                                   : fmt::format("input {} '{}'", i, inputs[i].name()));
  }
  for (const Tensor& x : inputs) la_.push_back(copy_leaf(x));
  for (const Tensor& x : inputs) ln_.push_back(copy_leaf(x));
  outs_ = forward(la_, /*first=*/true);
  if (labels_.outputs.size() != outs_.size()) {
    labels_.outputs.clear();
    for (std::size_t o = 0; o < outs_.size(); ++o) labels_.outputs.push_back(fmt::format("output {}", o));
  }
  for (std::size_t o = 0; o < outs_.size(); ++o)
    if (const std::size_t bad = count_nonfinite(flat(outs_[o])); bad > 0)
      forward_notes_.push_back(fmt::format(
          "{} {} has {} non-finite value(s) at the given inputs: the function is not defined there "
          "(choose inputs inside its domain)", labels_.outputs[o], shape_str(out_shapes_[o]), bad));
}

GradcheckResult Checker::run() {
  bool fast = opt_.mode == GradcheckOptions::Mode::fast;
  if (opt_.mode == GradcheckOptions::Mode::automatic) {
    for (const Shape& s : in_shapes_) fast = fast || ag::numel(s) > opt_.fast_threshold;
    for (const Shape& s : out_shapes_) fast = fast || ag::numel(s) > opt_.fast_threshold;
  }
  fast_ = fast;
  if (opt_.check_properties) check_properties();
  try {
    if (fast) fast_mode(); else full_mode();
  } catch (const BackwardFailed& e) {
    backward_error_ = e.message;
  }
  if (backward_error_.empty()) diagnose_batch();
  return finish();
}

// ---- evaluation ---------------------------------------------------------------------------------
// f on `leaves` with recording on (f may itself differentiate, as in gradgradcheck).
std::vector<Tensor> Checker::forward(const std::vector<Tensor>& leaves, bool first) {
  EnableGradGuard record;
  std::vector<Tensor> outs = f_(leaves);
  if (first) {
    if (outs.empty()) throw ValueError(fmt::format("{}: the function returned no outputs", who_));
    for (std::size_t o = 0; o < outs.size(); ++o) {
      if (!outs[o].defined())
        throw ValueError(fmt::format("{}: output {} of the function is undefined", who_, o));
      if (outs[o].dtype() != f64)
        throw DtypeError(fmt::format("{}: output {} is {} {}; the function must compute in float64 "
                                     "(convert with .to(ag::f64))", who_, o,
                                     dtype_name(outs[o].dtype()), shape_str(outs[o].shape())));
      out_shapes_.push_back(outs[o].shape());
    }
    return outs;
  }
  bool same = outs.size() == out_shapes_.size();
  for (std::size_t o = 0; same && o < outs.size(); ++o)
    same = outs[o].defined() && outs[o].dtype() == f64 && outs[o].shape() == out_shapes_[o];
  if (!same)
    throw ValueError(fmt::format("{}: the function returned different outputs (count, shape or "
                                 "dtype) on another call; it must be deterministic", who_));
  return outs;
}

std::vector<Vec> Checker::eval_numeric() {
  std::vector<Tensor> outs = forward(ln_);
  std::vector<Vec> v;
  for (const Tensor& y : outs) v.push_back(flat(y));
  return v;
}

// (f(x + eps·e_k) - f(x - eps·e_k)) / (2 eps) for every output; x[k] restored exactly.
std::vector<Vec> Checker::central_elem(std::size_t i, std::size_t k) {
  const double x0 = ln_[i].value<double>().data()[k];
  ln_[i].mutable_value<double>().data()[k] = x0 + opt_.eps;
  std::vector<Vec> plus = eval_numeric();
  ln_[i].mutable_value<double>().data()[k] = x0 - opt_.eps;
  std::vector<Vec> minus = eval_numeric();
  ln_[i].mutable_value<double>().data()[k] = x0;
  return difference(plus, minus);
}

// Directional derivative J·dir by central differences along dir; x restored exactly.
std::vector<Vec> Checker::central_dir(std::size_t i, const Vec& dir) {
  const Vec x0 = flat(ln_[i]);
  auto shift = [&](double h) {
    double* x = ln_[i].mutable_value<double>().data();
    for (std::size_t k = 0; k < x0.size(); ++k) x[k] = x0[k] + h * dir[k];
  };
  shift(opt_.eps);
  std::vector<Vec> plus = eval_numeric();
  shift(-opt_.eps);
  std::vector<Vec> minus = eval_numeric();
  std::copy(x0.begin(), x0.end(), ln_[i].mutable_value<double>().data());
  return difference(plus, minus);
}

std::vector<Vec> Checker::difference(const std::vector<Vec>& plus,
                                     const std::vector<Vec>& minus) const {
  std::vector<Vec> d(plus.size());
  for (std::size_t o = 0; o < plus.size(); ++o) {
    d[o].resize(plus[o].size());
    for (std::size_t j = 0; j < plus[o].size(); ++j)
      d[o][j] = (plus[o][j] - minus[o][j]) / (2.0 * opt_.eps);
  }
  return d;
}

// d<u, outs[o]>/d(x_i) for every differentiable input i (zeros where unused).
std::vector<Vec> Checker::vjp(std::size_t o, const Vec& u) {
  std::vector<Vec> res;
  for (std::size_t i : diff_) res.emplace_back(ag::numel(in_shapes_[i]), 0.0);
  if (!outs_[o].requires_grad()) return res;
  std::vector<Tensor> xs;
  for (std::size_t i : diff_) xs.push_back(la_[i]);
  std::vector<Tensor> gs;
  try {
    gs = grad({outs_[o]}, xs, {from_flat(u, out_shapes_[o])}, /*retain_graph=*/true,
              /*create_graph=*/false, /*allow_unused=*/true);
  } catch (const Error& e) {
    throw BackwardFailed{fmt::format("backward of {} threw: {}", labels_.outputs[o], e.what())};
  }
  for (std::size_t t = 0; t < diff_.size(); ++t) {
    if (!gs[t].defined()) continue;
    const std::size_t i = diff_[t];
    if (gs[t].dtype() != f64 || gs[t].shape() != in_shapes_[i])
      throw BackwardFailed{fmt::format("backward of {} gave a {} {} gradient for {} {} (float64)",
                                       labels_.outputs[o], dtype_name(gs[t].dtype()),
                                       shape_str(gs[t].shape()), labels_.inputs[i],
                                       shape_str(in_shapes_[i]))};
    res[t] = flat(gs[t]);
  }
  return res;
}

// The relative error counts entries with |n| > atol (below, it is noise over noise for a right
// gradient) and every failing entry: a failure where numerical is 0 has relative error inf, so the
// summary of a failing check never looks better than its worst failing entry.
void Checker::note_errors(PairReport& p, double a, double n, bool failed) const {
  const double err = std::abs(a - n);
  max_into(p.max_abs, err);
  if (failed || !(std::abs(n) <= opt_.atol)) max_into(p.max_rel, err / std::abs(n));
}

// ---- properties of backward ---------------------------------------------------------------------
void Checker::check_properties() {
  std::vector<Tensor> lp;
  for (const Tensor& x : originals_) lp.push_back(copy_leaf(x));
  std::vector<Tensor> outs = forward(lp);
  std::vector<Tensor> ys, u, zero, two_u, xs;
  for (std::size_t o = 0; o < outs.size(); ++o) {
    if (!outs[o].requires_grad()) continue;
    ys.push_back(outs[o]);
    Vec r = randn_vec(outs[o].numel(), gen_);
    u.push_back(from_flat(r, out_shapes_[o]));
    for (double& x : r) x *= 2.0;
    two_u.push_back(from_flat(r, out_shapes_[o]));
    zero.push_back(zeros(out_shapes_[o], f64));
  }
  if (ys.empty()) return;  // nothing depends on the inputs: the Jacobian check covers it
  for (std::size_t i : diff_) xs.push_back(lp[i]);
  auto flat_or_zero = [&](const Tensor& g, std::size_t i) {
    return g.defined() ? flat(g) : Vec(ag::numel(in_shapes_[i]), 0.0);
  };
  try {
    auto run = [&](const std::vector<Tensor>& seeds) {
      return grad(ys, xs, seeds, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
    };
    const std::vector<Tensor> g1 = run(u), g2 = run(u), gz = run(zero), g2u = run(two_u);
    for (std::size_t t = 0; t < diff_.size(); ++t) {
      const std::size_t i = diff_[t];
      const std::string& name = labels_.inputs[i];
      bool shapes_ok = true;
      for (const Tensor* g : {&g1[t], &g2[t], &gz[t], &g2u[t]}) {
        if (g->defined() && (g->dtype() != f64 || g->shape() != in_shapes_[i])) {
          property_failures_.push_back(fmt::format(
              "the gradient for {} is {} {}, but the input is float64 {}", name,
              dtype_name(g->dtype()), shape_str(g->shape()), shape_str(in_shapes_[i])));
          shapes_ok = false;
          break;
        }
      }
      if (!shapes_ok) continue;
      const Vec a1 = flat_or_zero(g1[t], i), a2 = flat_or_zero(g2[t], i);
      const Vec az = flat_or_zero(gz[t], i), a2u = flat_or_zero(g2u[t], i);
      if (const std::size_t bad = count_nonfinite(a1) + count_nonfinite(az) + count_nonfinite(a2u); bad > 0) {
        property_failures_.push_back(fmt::format(
            "backward gives non-finite (NaN/inf) gradients for {}; linearity and determinism not "
            "checked", name));
        continue;
      }
      if (max_abs(az) > opt_.atol)
        property_failures_.push_back(fmt::format(
            "backward is not linear in grad_output: a zero grad_output gives a nonzero gradient "
            "for {} (max |grad| = {}); the VJP ignores g or adds a term that does not scale "
            "with it", name, fmt_num(max_abs(az))));
      bool twice = true;
      for (std::size_t k = 0; k < a1.size(); ++k) twice = twice && close(a2u[k], 2.0 * a1[k]);
      if (!twice) {
        const double c = dot(a1, a1) > 0.0 ? dot(a2u, a1) / dot(a1, a1) : 0.0;
        property_failures_.push_back(fmt::format(
            "backward is not linear in grad_output: grad_output 2u gives {} × the gradient of u "
            "for {} (expected 2.00)", fmt_factor(c), name));
      }
      double diff = 0.0;
      for (std::size_t k = 0; k < a1.size(); ++k) diff = std::max(diff, std::abs(a1[k] - a2[k]));
      if (diff > 1e-12 * (1.0 + max_abs(a1)))
        property_failures_.push_back(fmt::format(
            "backward is not deterministic: two runs with the same grad_output differ for {} by up "
            "to {}", name, fmt_num(diff)));
    }
    // Tensor::backward must fill .grad with the same values, and nothing on no-grad inputs.
    backward(ys, u, /*retain_graph=*/false, /*create_graph=*/false);
    for (std::size_t i = 0; i < lp.size(); ++i) {
      const Tensor g = lp[i].grad();
      const auto t = std::find(diff_.begin(), diff_.end(), i) - diff_.begin();
      if (!originals_[i].requires_grad()) {
        if (g.defined())
          property_failures_.push_back(fmt::format(
              "{} does not require grad but received a .grad after backward", labels_.inputs[i]));
        continue;
      }
      if (g.defined() && (g.dtype() != f64 || g.shape() != in_shapes_[i])) continue;  // reported
      const Vec want = flat_or_zero(g1[t], i), got = flat_or_zero(g, i);
      double diff = 0.0;
      for (std::size_t k = 0; k < want.size(); ++k) diff = std::max(diff, std::abs(want[k] - got[k]));
      if (diff > opt_.atol + opt_.rtol * max_abs(want))
        property_failures_.push_back(fmt::format(
            "Tensor::backward and ag::grad disagree for {} (max difference {})", labels_.inputs[i],
            fmt_num(diff)));
    }
  } catch (const Error& e) {
    property_failures_.push_back(fmt::format("backward threw: {}", e.what()));
  }
}

// ---- full mode ----------------------------------------------------------------------------------
void Checker::full_mode() {
  const std::size_t no = outs_.size(), nd = diff_.size();
  ana_.assign(no, std::vector<Vec>(nd));
  num_.assign(no, std::vector<Vec>(nd));
  for (std::size_t o = 0; o < no; ++o)
    for (std::size_t t = 0; t < nd; ++t)
      ana_[o][t].assign(ag::numel(out_shapes_[o]) * ag::numel(in_shapes_[diff_[t]]), 0.0);
  num_ = ana_;
  for (std::size_t o = 0; o < no; ++o) {
    const std::size_t m = ag::numel(out_shapes_[o]);
    if (!outs_[o].requires_grad()) continue;  // analytical block stays zero
    for (std::size_t j = 0; j < m; ++j) {
      Vec u(m, 0.0);
      u[j] = 1.0;
      const std::vector<Vec> g = vjp(o, u);
      for (std::size_t t = 0; t < nd; ++t)
        std::copy(g[t].begin(), g[t].end(), ana_[o][t].begin() + j * g[t].size());
    }
  }
  for (std::size_t t = 0; t < nd; ++t) {
    const std::size_t i = diff_[t], n = ag::numel(in_shapes_[i]);
    for (std::size_t k = 0; k < n; ++k) {
      const std::vector<Vec> col = central_elem(i, k);
      for (std::size_t o = 0; o < no; ++o)
        for (std::size_t j = 0; j < col[o].size(); ++j) num_[o][t][j * n + k] = col[o][j];
    }
  }
  for (std::size_t o = 0; o < no; ++o)
    for (std::size_t t = 0; t < nd; ++t) pairs_.push_back(compare_full(o, t));
  swapped_partials_full();
}

PairReport Checker::compare_full(std::size_t o, std::size_t t) {
  PairReport p;
  p.o = o;
  p.t = t;
  const Vec& A = ana_[o][t];
  const Vec& N = num_[o][t];
  const std::size_t n = ag::numel(in_shapes_[diff_[t]]);
  p.n_total = A.size();
  std::vector<Entry> bad;
  for (std::size_t e = 0; e < A.size(); ++e) {
    const bool failed = !close(A[e], N[e]);
    note_errors(p, A[e], N[e], failed);
    if (failed) bad.push_back({e / n, e % n, A[e], N[e]});
  }
  p.n_fail = bad.size();
  p.failed = !bad.empty();
  if (!p.failed) return p;
  std::stable_sort(bad.begin(), bad.end(), [](const Entry& x, const Entry& y) {
    return err_key(x.a, x.n) > err_key(y.a, y.n);
  });
  if (bad.size() > opt_.max_rows) bad.resize(opt_.max_rows);
  p.worst = bad;
  diagnose_full(p);
  return p;
}

// ---- fast mode ----------------------------------------------------------------------------------
void Checker::fast_mode() {
  const std::size_t no = outs_.size(), nd = diff_.size();
  const std::size_t np = std::max<std::size_t>(1, opt_.fast_projections);
  for (std::size_t q = 0; q < np; ++q) {
    Projection pr;
    for (std::size_t o = 0; o < no; ++o) pr.u.push_back(randn_vec(ag::numel(out_shapes_[o]), gen_));
    for (std::size_t t = 0; t < nd; ++t) pr.v.push_back(randn_vec(ag::numel(in_shapes_[diff_[t]]), gen_));
    pr.d.assign(no, std::vector<Vec>(nd));
    for (std::size_t t = 0; t < nd; ++t) {
      std::vector<Vec> d = central_dir(diff_[t], pr.v[t]);
      for (std::size_t o = 0; o < no; ++o) pr.d[o][t] = std::move(d[o]);
    }
    for (std::size_t o = 0; o < no; ++o) pr.g.push_back(vjp(o, pr.u[o]));
    proj_.push_back(std::move(pr));
  }
  for (std::size_t o = 0; o < no; ++o)
    for (std::size_t t = 0; t < nd; ++t) {
      PairReport p;
      p.o = o;
      p.t = t;
      const std::size_t m = ag::numel(out_shapes_[o]), n = ag::numel(in_shapes_[diff_[t]]);
      std::size_t worst = 0;
      double worst_ratio = -1.0;
      for (std::size_t q = 0; q < np; ++q) {
        const double a = proj_[q].a(o, t), nv = proj_[q].n(o, t);
        const double ratio = discrepancy(a, nv, proj_tol(m, n, nv));
        note_errors(p, a, nv, ratio > 1.0);
        if (ratio > 1.0) ++p.n_fail;
        if (ratio > worst_ratio) {
          worst_ratio = ratio;
          worst = q;
        }
      }
      p.n_total = np;
      p.failed = p.n_fail > 0;
      if (p.failed) {
        const Projection& pr = proj_[worst];
        p.summary = projection_summary(p, pr);
        p.worst = localise(o, t, pr);
        diagnose_fast(p);
      }
      pairs_.push_back(std::move(p));
    }
  swapped_partials_fast();
}

// Finds the worst entries of a failing block without forming it: bisection over the input
// elements (2 forwards per test, along v restricted to a range), then, for each input element
// found, over the output elements (1 backward per test, u restricted to a range).
std::vector<Entry> Checker::localise(std::size_t o, std::size_t t, const Projection& pr) {
  const std::size_t i = diff_[t];
  const std::size_t n = ag::numel(in_shapes_[i]), m = ag::numel(out_shapes_[o]);
  const Vec& u = pr.u[o];
  const Vec& v = pr.v[t];
  const Vec& g = pr.g[o][t];
  auto ratio_in = [&](std::size_t lo, std::size_t hi) {
    Vec dir(n, 0.0);
    double a = 0.0;
    for (std::size_t k = lo; k < hi; ++k) {
      dir[k] = v[k];
      a += g[k] * v[k];
    }
    const double nv = dot(u, central_dir(i, dir)[o]);
    return discrepancy(a, nv, proj_tol(m, hi - lo, nv));
  };
  struct Range {
    std::size_t lo, hi;
    double ratio;
  };
  std::vector<Range> stack{{0, n, std::numeric_limits<double>::infinity()}};
  std::vector<std::size_t> found;
  std::size_t budget = 64 * (opt_.max_rows + 1);
  while (!stack.empty() && found.size() < opt_.max_rows && budget > 0) {
    const Range r = stack.back();
    stack.pop_back();
    if (r.hi - r.lo == 1) {
      if (r.ratio > 1.0) found.push_back(r.lo);
      continue;
    }
    const std::size_t mid = r.lo + (r.hi - r.lo) / 2;
    Range left{r.lo, mid, ratio_in(r.lo, mid)}, right{mid, r.hi, ratio_in(mid, r.hi)};
    budget -= std::min<std::size_t>(budget, 2);
    if (left.ratio > right.ratio) std::swap(left, right);  // right = larger, explored first
    // Follow failing halves; if the failure is spread so thin that neither half fails alone,
    // follow the larger one anyway.
    if (left.ratio > 1.0) stack.push_back(left);
    if (right.ratio > 1.0 || left.ratio <= 1.0) stack.push_back(right);
  }
  std::vector<Entry> entries;
  for (std::size_t k : found) {
    const Vec col = central_elem(i, k)[o];
    std::size_t lo = 0, hi = m;
    while (hi - lo > 1) {  // follow the half of the outputs with the larger discrepancy
      const std::size_t mid = lo + (hi - lo) / 2;
      double best = -1.0;
      std::size_t best_lo = lo, best_hi = mid;
      for (auto [a_lo, a_hi] : {std::pair{lo, mid}, std::pair{mid, hi}}) {
        Vec us(m, 0.0);
        double nv = 0.0;
        for (std::size_t j = a_lo; j < a_hi; ++j) {
          us[j] = u[j];
          nv += u[j] * col[j];
        }
        const double av = vjp(o, us)[t][k];
        const double ratio = discrepancy(av, nv, proj_tol(a_hi - a_lo, 1, nv));
        if (ratio > best) {
          best = ratio;
          best_lo = a_lo;
          best_hi = a_hi;
        }
      }
      lo = best_lo;
      hi = best_hi;
    }
    Vec e(m, 0.0);
    e[lo] = 1.0;
    entries.push_back({lo, k, vjp(o, e)[t][k], col[lo]});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
    return err_key(x.a, x.n) > err_key(y.a, y.n);
  });
  return entries;
}

}  // namespace detail

namespace {

using detail::Checker;
using detail::copy_leaf;
using detail::from_flat;
using detail::Labels;
using detail::randn_vec;
using detail::Vec;

GradcheckFn lift(const GradcheckFn1& f) {
  return [f](const std::vector<Tensor>& x) { return std::vector<Tensor>{f(x)}; };
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  return Checker("gradcheck", f, inputs, options, {}).run();
}

GradcheckResult gradcheck(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  return gradcheck(lift(f), inputs, options);
}

GradcheckResult gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  std::vector<std::size_t> diff;
  std::vector<Tensor> probe;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) throw ValueError(fmt::format("gradgradcheck: input {} is undefined", i));
    if (x.dtype() != f64)
      throw DtypeError(fmt::format("gradgradcheck: input {} is {} {}; gradcheck needs float64 inputs "
                                   "(convert with .to(ag::f64))", i, dtype_name(x.dtype()),
                                   shape_str(x.shape())));
    if (x.requires_grad()) diff.push_back(i);
    probe.push_back(copy_leaf(x));
  }
  if (diff.empty())
    throw ValueError("gradgradcheck: no input requires grad; mark the inputs to check with requires_grad_()");
  std::vector<Tensor> outs;
  {
    EnableGradGuard record;
    outs = f(probe);
  }
  // One grad_output u per output that depends on the inputs: extra inputs of h, checked too.
  std::vector<std::size_t> ys;
  Generator gen(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<Tensor> all(inputs.begin(), inputs.end());
  Labels labels;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    labels.inputs.push_back(inputs[i].name().empty() ? fmt::format("input {}", i)
                                                     : fmt::format("input {} '{}'", i, inputs[i].name()));
  for (std::size_t o = 0; o < outs.size(); ++o) {
    if (!outs[o].defined() || outs[o].dtype() != f64)
      throw DtypeError(fmt::format("gradgradcheck: output {} must be a defined float64 tensor", o));
    if (!outs[o].requires_grad()) continue;
    ys.push_back(o);
    Vec u = randn_vec(outs[o].numel(), gen);
    Tensor ut = from_flat(u, outs[o].shape());
    ut.requires_grad_();
    all.push_back(ut);
    labels.inputs.push_back(fmt::format("input {} (grad_output u{} of output {})", all.size() - 1,
                                        ys.size() - 1, o));
  }
  if (ys.empty())
    throw ValueError("gradgradcheck: no output depends on an input that requires grad");
  std::string u_sum;
  for (std::size_t q = 0; q < ys.size(); ++q)
    u_sum += fmt::format("{}<u{}, output {}>", q ? " + " : "", q, ys[q]);
  for (std::size_t i : diff) labels.outputs.push_back(fmt::format("d({})/d(input {})", u_sum, i));

  const std::size_t n_in = inputs.size();
  GradcheckFn h = [f, n_in, ys, diff](const std::vector<Tensor>& xu) {
    std::vector<Tensor> xs(xu.begin(), xu.begin() + static_cast<std::ptrdiff_t>(n_in));
    EnableGradGuard record;
    std::vector<Tensor> y = f(xs);
    std::vector<Tensor> roots, seeds, wrt;
    for (std::size_t q = 0; q < ys.size(); ++q) {
      roots.push_back(y.at(ys[q]));
      seeds.push_back(xu[n_in + q]);
    }
    for (std::size_t i : diff) wrt.push_back(xs[i]);
    std::vector<Tensor> gs = grad(roots, wrt, seeds, /*retain_graph=*/true, /*create_graph=*/true,
                                  /*allow_unused=*/true);
    for (std::size_t t = 0; t < gs.size(); ++t)
      if (!gs[t].defined()) gs[t] = zeros_like(wrt[t]);
    return gs;
  };
  return Checker("gradgradcheck", h, all, options, std::move(labels)).run();
}

GradcheckResult gradgradcheck(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  return gradgradcheck(lift(f), inputs, options);
}

}  // namespace ag
