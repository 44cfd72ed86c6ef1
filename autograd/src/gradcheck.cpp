// Gradient checking (see ag/gradcheck.hpp). Not a hot path: plain loops over flat float64 values
// and the public ag API. A Jacobian block J[o][i] is stored row-major as [output elem][input elem].
#include "ag/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/autograd.hpp"
#include "ag/ops.hpp"
#include "ag/random.hpp"

namespace ag {
namespace {

using Vec = std::vector<double>;
using Perm = std::vector<std::size_t>;

// ---- small helpers ------------------------------------------------------------------------------
std::size_t numel_of(const Shape& s) {
  return std::accumulate(s.begin(), s.end(), std::size_t{1}, std::multiplies<>());
}

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

double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (std::size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}

double max_abs(const Vec& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::abs(x));
  return m;
}

// A private leaf with the same values (a real copy, never aliasing the caller's storage).
Tensor copy_leaf(const Tensor& x) {
  Tensor t(xt::xarray<double>(x.value<double>()), x.requires_grad());
  if (!x.name().empty()) t.set_name(x.name());
  return t;
}

std::vector<std::size_t> unravel(std::size_t flat_index, const Shape& s) {
  std::vector<std::size_t> idx(s.size());
  for (std::size_t d = s.size(); d-- > 0;) {
    idx[d] = flat_index % s[d];
    flat_index /= s[d];
  }
  return idx;
}

std::size_t ravel(const std::vector<std::size_t>& idx, const Shape& s) {
  std::size_t f = 0;
  for (std::size_t d = 0; d < s.size(); ++d) f = f * s[d] + idx[d];
  return f;
}

std::string multi_index(std::size_t flat_index, const Shape& s) {
  return fmt::format("[{}]", fmt::join(unravel(flat_index, s), ", "));
}

// Index with permuted axes: result r[d] = idx[perm[d]] (perm keeps the shape: s[perm[d]] == s[d]).
std::size_t permute_index(std::size_t flat_index, const Shape& s, const Perm& perm) {
  const auto idx = unravel(flat_index, s);
  std::vector<std::size_t> r(idx.size());
  for (std::size_t d = 0; d < idx.size(); ++d) r[d] = idx[perm[d]];
  return ravel(r, s);
}

// Non-identity axis permutations that leave the shape unchanged (ndim 2..4; none otherwise).
std::vector<Perm> shape_preserving_perms(const Shape& s) {
  std::vector<Perm> out;
  if (s.size() < 2 || s.size() > 4) return out;
  Perm p(s.size());
  std::iota(p.begin(), p.end(), std::size_t{0});
  while (std::next_permutation(p.begin(), p.end())) {
    bool keeps = true, moves_something = false;
    for (std::size_t d = 0; d < s.size(); ++d) {
      if (p[d] == d) continue;
      keeps = keeps && s[p[d]] == s[d];
      moves_something = moves_something || s[d] > 1;  // moving length-1 axes changes nothing
    }
    if (keeps && moves_something) out.push_back(p);
  }
  return out;
}

// The swap of the last two axes, if they have the same length (> 1); empty otherwise.
Perm last_two_swap(const Shape& s) {
  if (s.size() < 2 || s[s.size() - 1] != s[s.size() - 2] || s.back() < 2) return {};
  Perm p(s.size());
  std::iota(p.begin(), p.end(), std::size_t{0});
  std::swap(p[s.size() - 1], p[s.size() - 2]);
  return p;
}

// How many output elements each input element feeds when `in` broadcasts to `out` (0: it does not).
std::size_t broadcast_count(const Shape& in, const Shape& out) {
  if (in.size() > out.size()) return 0;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::size_t a = in[in.size() - 1 - k], b = out[out.size() - 1 - k];
    if (a != b && a != 1) return 0;
  }
  const std::size_t m = numel_of(out), n = numel_of(in);
  return (n > 0 && m > n) ? m / n : 0;
}

std::string fmt_num(double x) { return std::isnan(x) ? std::string("nan") : fmt::format("{:.6g}", x); }

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

std::size_t count_nonfinite(const Vec& v) {
  return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }));
}

// Running max that keeps a NaN once seen.
void max_into(double& m, double v) {
  if (!std::isnan(m) && (std::isnan(v) || v > m)) m = v;
}

std::string fmt_factor(double c) {
  return std::abs(c) >= 0.01 ? fmt::format("{:.2f}", c) : fmt::format("{:.3g}", c);
}

struct BackwardFailed {  // an ag::Error thrown by backward, carried to the report
  std::string message;
};

struct Entry {
  std::size_t j, k;  // output element, input element (flat)
  double a, n;       // analytical, numerical
};

struct PairReport {
  std::size_t o = 0, t = 0;  // output index, index into the differentiable inputs
  bool failed = false;
  std::size_t n_fail = 0, n_total = 0;
  double max_abs = 0.0, max_rel = 0.0;
  std::string summary;  // fast mode: the projections
  std::vector<Entry> worst;
  std::vector<std::string> diagnoses;
};

struct Labels {
  std::vector<std::string> inputs, outputs;
};

// ---- the checker ----------------------------------------------------------------------------------
class Checker {
 public:
  Checker(const char* who, const GradcheckFn& f, const std::vector<Tensor>& inputs,
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

  GradcheckResult run() {
    bool fast = opt_.mode == GradcheckOptions::Mode::fast;
    if (opt_.mode == GradcheckOptions::Mode::automatic) {
      for (const Shape& s : in_shapes_) fast = fast || numel_of(s) > opt_.fast_threshold;
      for (const Shape& s : out_shapes_) fast = fast || numel_of(s) > opt_.fast_threshold;
    }
    fast_ = fast;
    if (opt_.check_properties) check_properties();
    try {
      if (fast) fast_mode(); else full_mode();
    } catch (const BackwardFailed& e) {
      backward_error_ = e.message;
    }
    return finish();
  }

 private:
  // ---- evaluation ---------------------------------------------------------------------------------
  // f on `leaves` with recording on (f may itself differentiate, as in gradgradcheck).
  std::vector<Tensor> forward(const std::vector<Tensor>& leaves, bool first = false) {
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

  std::vector<Vec> eval_numeric() {
    std::vector<Tensor> outs = forward(ln_);
    std::vector<Vec> v;
    for (const Tensor& y : outs) v.push_back(flat(y));
    return v;
  }

  // (f(x + eps·e_k) - f(x - eps·e_k)) / (2 eps) for every output; x[k] restored exactly.
  std::vector<Vec> central_elem(std::size_t i, std::size_t k) {
    const double x0 = ln_[i].value<double>().data()[k];
    ln_[i].mutable_value<double>().data()[k] = x0 + opt_.eps;
    std::vector<Vec> plus = eval_numeric();
    ln_[i].mutable_value<double>().data()[k] = x0 - opt_.eps;
    std::vector<Vec> minus = eval_numeric();
    ln_[i].mutable_value<double>().data()[k] = x0;
    return difference(plus, minus);
  }

  // Directional derivative J·dir by central differences along dir; x restored exactly.
  std::vector<Vec> central_dir(std::size_t i, const Vec& dir) {
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

  std::vector<Vec> difference(const std::vector<Vec>& plus, const std::vector<Vec>& minus) const {
    std::vector<Vec> d(plus.size());
    for (std::size_t o = 0; o < plus.size(); ++o) {
      d[o].resize(plus[o].size());
      for (std::size_t j = 0; j < plus[o].size(); ++j)
        d[o][j] = (plus[o][j] - minus[o][j]) / (2.0 * opt_.eps);
    }
    return d;
  }

  // d<u, outs[o]>/d(x_i) for every differentiable input i (zeros where unused).
  std::vector<Vec> vjp(std::size_t o, const Vec& u) {
    std::vector<Vec> res;
    for (std::size_t i : diff_) res.emplace_back(numel_of(in_shapes_[i]), 0.0);
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

  bool close(double a, double n) const { return std::abs(a - n) <= opt_.atol + opt_.rtol * std::abs(n); }

  // Tolerance of a projection over an m×n block whose numerical value is `n`.
  double proj_tol(std::size_t m, std::size_t n, double num) const {
    return std::max(opt_.atol * std::sqrt(static_cast<double>(m) * static_cast<double>(n)) +
                        opt_.rtol * std::abs(num),
                    std::numeric_limits<double>::min());  // atol = 0 and num = 0: no 0/0
  }

  void note_errors(PairReport& p, double a, double n) const {
    const double err = std::abs(a - n);
    max_into(p.max_abs, err);
    if (!(std::abs(n) <= opt_.atol)) max_into(p.max_rel, err / std::abs(n));
  }

  // ---- properties of backward --------------------------------------------------------------------
  void check_properties() {
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
      return g.defined() ? flat(g) : Vec(numel_of(in_shapes_[i]), 0.0);
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

  // ---- full mode -----------------------------------------------------------------------------------
  void full_mode() {
    const std::size_t no = outs_.size(), nd = diff_.size();
    ana_.assign(no, std::vector<Vec>(nd));
    num_.assign(no, std::vector<Vec>(nd));
    for (std::size_t o = 0; o < no; ++o)
      for (std::size_t t = 0; t < nd; ++t)
        ana_[o][t].assign(numel_of(out_shapes_[o]) * numel_of(in_shapes_[diff_[t]]), 0.0);
    num_ = ana_;
    for (std::size_t o = 0; o < no; ++o) {
      const std::size_t m = numel_of(out_shapes_[o]);
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
      const std::size_t i = diff_[t], n = numel_of(in_shapes_[i]);
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

  PairReport compare_full(std::size_t o, std::size_t t) {
    PairReport p;
    p.o = o;
    p.t = t;
    const Vec& A = ana_[o][t];
    const Vec& N = num_[o][t];
    const std::size_t n = numel_of(in_shapes_[diff_[t]]);
    p.n_total = A.size();
    std::vector<Entry> bad;
    for (std::size_t e = 0; e < A.size(); ++e) {
      note_errors(p, A[e], N[e]);
      if (!close(A[e], N[e])) bad.push_back({e / n, e % n, A[e], N[e]});
    }
    p.n_fail = bad.size();
    p.failed = !bad.empty();
    if (!p.failed) return p;
    std::stable_sort(bad.begin(), bad.end(), [](const Entry& x, const Entry& y) {
      return err_key(x.a, x.n) > err_key(y.a, y.n);
    });
    if (bad.size() > opt_.max_rows) bad.resize(opt_.max_rows);
    p.worst = bad;
    const std::size_t bad_a = count_nonfinite(A), bad_n = count_nonfinite(N);
    if (bad_a + bad_n > 0) {
      p.diagnoses.push_back(nonfinite_text(bad_a, bad_n, "entries"));
      return p;
    }
    diagnose_full(p);
    return p;
  }

  // True when every entry of A (indexed through `map_a`) is within tolerance of N.
  template <class MapA> bool matches(const Vec& A, const Vec& N, MapA map_a) const {
    for (std::size_t e = 0; e < N.size(); ++e)
      if (!close(A[map_a(e)], N[e])) return false;
    return true;
  }

  void diagnose_full(PairReport& p) {
    const Vec& A = ana_[p.o][p.t];
    const Vec& N = num_[p.o][p.t];
    const std::size_t i = diff_[p.t];
    const Shape& in_s = in_shapes_[i];
    const Shape& out_s = out_shapes_[p.o];
    const std::size_t n = numel_of(in_s), m = numel_of(out_s);
    const std::string in_name = fmt::format("{} {}", labels_.inputs[i], shape_str(in_s));
    const std::string out_name = fmt::format("{} {}", labels_.outputs[p.o], shape_str(out_s));

    // 1. zero where it should not be
    std::size_t zero_bad = 0, n_bad = 0;
    for (std::size_t e = 0; e < A.size(); ++e) {
      if (close(A[e], N[e])) continue;
      ++n_bad;
      if (std::abs(A[e]) <= opt_.atol) ++zero_bad;
    }
    if (max_abs(A) <= opt_.atol) {
      p.diagnoses.push_back(fmt::format(
          "zero where it should not be: the analytical gradient of {} w.r.t. {} is 0 everywhere but "
          "the numerical one is not (a missing contribution: the VJP returns no gradient for this "
          "input, or the path is cut, e.g. by no_grad/detach)", out_name, in_name));
      return;
    }
    if (zero_bad == n_bad)
      p.diagnoses.push_back(fmt::format(
          "zero where it should not be: analytical is 0 at all {} failing entries while numerical is "
          "not (a missing contribution to those elements)", n_bad));

    // 2. sign flip / constant factor: A ≈ c·N with c = <A, N>/<N, N>
    const double nn = dot(N, N);
    bool factor_found = false;
    if (max_abs(N) > opt_.atol && zero_bad != n_bad) {
      const double c = dot(A, N) / nn;
      bool fits = true;
      for (std::size_t e = 0; fits && e < A.size(); ++e)
        fits = std::abs(A[e] - c * N[e]) <= opt_.atol + opt_.rtol * std::abs(c * N[e]);
      if (fits) {
        factor_found = true;
        p.diagnoses.push_back(factor_text(c, in_s, out_s, in_name, out_name));
      }
    }

    // 3. rows all equal: the analytical Jacobian does not depend on which output element is seeded
    if (m >= 2 && !factor_found) {
      bool rows_equal = true, num_rows_equal = true;
      for (std::size_t j = 1; j < m; ++j)
        for (std::size_t k = 0; k < n; ++k) {
          rows_equal = rows_equal && std::abs(A[j * n + k] - A[k]) <= opt_.atol;
          num_rows_equal = num_rows_equal && close(N[j * n + k], N[k]);
        }
      if (rows_equal && !num_rows_equal)
        p.diagnoses.push_back(
            "the analytical gradient is the same whichever output element is seeded: backward "
            "ignores grad_output (the VJP does not use g?)");
    }

    // 4. transposed: A[j, k] ≈ N[j, swap(k)]
    if (const Perm sw = last_two_swap(in_s); !sw.empty() && !factor_found) {
      if (matches(A, N, [&](std::size_t e) { return (e / n) * n + permute_index(e % n, in_s, sw); }))
        p.diagnoses.push_back(fmt::format(
            "transposed: analytical matches numerical with the last two axes of {} swapped", in_name));
    }

    // 5. output axes permuted: A[j, k] ≈ N[perm(j), k]; for a broadcast input, summed over the
    //    wrong axis.
    const std::size_t count = broadcast_count(in_s, out_s);
    bool perm_found = false;
    if (!factor_found) {
      for (const Perm& pm : shape_preserving_perms(out_s)) {
        // N[perm(j), k] == A[j, k]  <=>  A[perm^-1(j'), k] == N[j', k]
        Perm inv(pm.size());
        for (std::size_t d = 0; d < pm.size(); ++d) inv[pm[d]] = d;
        if (matches(A, N, [&](std::size_t e) { return permute_index(e / n, out_s, inv) * n + e % n; })) {
          perm_found = true;
          p.diagnoses.push_back(fmt::format(
              "{}: analytical matches numerical with the axes of {} permuted as ({})",
              count > 0 ? "summed over the wrong axis" : "grad_output read along the wrong axes",
              out_name, fmt::join(pm, ", ")));
          break;
        }
      }
    }

    // 6. a broadcast input whose gradient is right in total but spread over the wrong elements:
    //    with grad_output = ones (column sums of J) both agree.
    if (count > 0 && !factor_found && !perm_found) {
      bool sums_match = true;
      for (std::size_t k = 0; k < n; ++k) {
        double sa = 0.0, sn = 0.0;
        for (std::size_t j = 0; j < m; ++j) {
          sa += A[j * n + k];
          sn += N[j * n + k];
        }
        sums_match = sums_match && std::abs(sa - sn) <= opt_.atol * std::sqrt(double(m)) +
                                                            opt_.rtol * std::abs(sn);
      }
      if (sums_match)
        p.diagnoses.push_back(fmt::format(
            "broadcast reduced wrongly: {} is broadcast in {}; with grad_output = ones (the sums "
            "over the output) analytical and numerical agree, but not entry by entry: the VJP does "
            "not sum g over the broadcast axes (e.g. it takes n × one slice of g, which is right only "
            "when g is constant along them)", in_name, out_name));
    }
  }

  static std::string nonfinite_text(std::size_t bad_a, std::size_t bad_n, const char* what) {
    std::string s = "non-finite values:";
    if (bad_n > 0)
      s += fmt::format(" numerical has {} NaN/inf {} (the function is not finite at x ± eps: outside "
                       "its domain or at a pole; choose other inputs)", bad_n, what);
    if (bad_a > 0)
      s += fmt::format("{} analytical has {} NaN/inf {}{}", bad_n > 0 ? ";" : "", bad_a, what,
                       bad_n > 0 ? "" : " where numerical is finite (the VJP divides by zero or "
                                        "overflows?)");
    return s;
  }

  std::string factor_text(double c, const Shape& in_s, const Shape& out_s, const std::string& in_name,
                          const std::string& out_name) const {
    if (std::abs(c + 1.0) <= opt_.rtol)
      return "sign flipped: analytical = -numerical (analytical = -1.00 × numerical)";
    std::string s = fmt::format("off by a constant factor: analytical = {} × numerical", fmt_factor(c));
    const std::size_t count = broadcast_count(in_s, out_s);
    if (count > 1) {
      const double b = static_cast<double>(count);
      if (std::abs(c - b) <= opt_.rtol * b)
        s += fmt::format("; {} is how many times {} is broadcast in {}: a broadcast not reduced "
                         "correctly (the gradient was summed twice, or broadcast instead of reduced)",
                         count, in_name, out_name);
      else if (std::abs(c - 1.0 / b) <= opt_.rtol / b)
        s += fmt::format("; 1/{} where {} is broadcast {} times in {}: a mean instead of a sum over "
                         "the broadcast axes?", count, in_name, count, out_name);
    }
    return s;
  }

  // Swapped partials of one output: A w.r.t. input a ≈ N w.r.t. input b and vice versa.
  void swapped_partials_full() {
    for (PairReport& p : pairs_) {
      if (!p.failed) continue;
      for (const PairReport& q : pairs_) {
        if (&q == &p || !q.failed || q.o != p.o) continue;
        if (in_shapes_[diff_[p.t]] != in_shapes_[diff_[q.t]]) continue;
        const Vec& Ap = ana_[p.o][p.t];
        const Vec& Aq = ana_[q.o][q.t];
        if (matches(Ap, num_[q.o][q.t], [](std::size_t e) { return e; }) &&
            matches(Aq, num_[p.o][p.t], [](std::size_t e) { return e; }))
          p.diagnoses.push_back(swapped_text(p.t, q.t));
      }
    }
  }

  std::string swapped_text(std::size_t t, std::size_t t2) const {
    return fmt::format("swapped partials: the analytical gradient w.r.t. {} matches the numerical one "
                       "w.r.t. {} and vice versa (the VJP returns the partials in the wrong order, "
                       "e.g. {{g*a, g*b}} for a*b)", labels_.inputs[diff_[t]], labels_.inputs[diff_[t2]]);
  }

  // ---- fast mode -----------------------------------------------------------------------------------
  struct Projection {
    std::vector<Vec> u;                // per output
    std::vector<Vec> v;                // per differentiable input
    std::vector<std::vector<Vec>> g;   // [o][t] = vjp(u_o) w.r.t. input t
    std::vector<std::vector<Vec>> d;   // [o][t] = J_ot v_t (central differences)
    double a(std::size_t o, std::size_t t) const { return dot(g[o][t], v[t]); }
    double n(std::size_t o, std::size_t t) const { return dot(u[o], d[o][t]); }
  };

  void fast_mode() {
    const std::size_t no = outs_.size(), nd = diff_.size();
    const std::size_t np = std::max<std::size_t>(1, opt_.fast_projections);
    for (std::size_t q = 0; q < np; ++q) {
      Projection pr;
      for (std::size_t o = 0; o < no; ++o) pr.u.push_back(randn_vec(numel_of(out_shapes_[o]), gen_));
      for (std::size_t t = 0; t < nd; ++t) pr.v.push_back(randn_vec(numel_of(in_shapes_[diff_[t]]), gen_));
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
        const std::size_t m = numel_of(out_shapes_[o]), n = numel_of(in_shapes_[diff_[t]]);
        std::size_t worst = 0;
        double worst_ratio = -1.0;
        for (std::size_t q = 0; q < np; ++q) {
          const double a = proj_[q].a(o, t), nv = proj_[q].n(o, t);
          note_errors(p, a, nv);
          const double ratio = discrepancy(a, nv, proj_tol(m, n, nv));
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
          p.summary = fmt::format(
              "random projections differ in {} of {}: <vjp(u), v> = {} (analytical) vs <u, J v> = {} "
              "(numerical), abs err {} > tolerance {}", p.n_fail, np, fmt_num(pr.a(o, t)),
              fmt_num(pr.n(o, t)), fmt_num(std::abs(pr.a(o, t) - pr.n(o, t))),
              fmt_num(proj_tol(m, n, pr.n(o, t))));
          p.worst = localise(o, t, pr);
          std::size_t bad_a = 0, bad_n = 0;
          for (const Projection& q : proj_) {
            bad_a += !std::isfinite(q.a(o, t));
            bad_n += !std::isfinite(q.n(o, t));
          }
          if (bad_a + bad_n > 0)
            p.diagnoses.push_back(nonfinite_text(bad_a, bad_n, "projections"));
          else
            diagnose_fast(p);
        }
        pairs_.push_back(std::move(p));
      }
    // swapped partials from the projections: <g_t, v_t2> ≈ <u, J_t2 v_t2> and vice versa
    for (PairReport& p : pairs_) {
      if (!p.failed) continue;
      for (const PairReport& q : pairs_) {
        if (&q == &p || !q.failed || q.o != p.o || in_shapes_[diff_[p.t]] != in_shapes_[diff_[q.t]])
          continue;
        bool swapped = true;
        for (const Projection& pr : proj_) {
          const std::size_t m = numel_of(out_shapes_[p.o]), n = numel_of(in_shapes_[diff_[p.t]]);
          const double x1 = dot(pr.g[p.o][p.t], pr.v[q.t]), n1 = pr.n(p.o, q.t);
          const double x2 = dot(pr.g[p.o][q.t], pr.v[p.t]), n2 = pr.n(p.o, p.t);
          swapped = swapped && std::abs(x1 - n1) <= proj_tol(m, n, n1) &&
                    std::abs(x2 - n2) <= proj_tol(m, n, n2);
        }
        if (swapped) p.diagnoses.push_back(swapped_text(p.t, q.t));
      }
    }
  }

  // Finds the worst entries of a failing block without forming it: bisection over the input
  // elements (2 forwards per test, along v restricted to a range), then, for each input element
  // found, over the output elements (1 backward per test, u restricted to a range).
  std::vector<Entry> localise(std::size_t o, std::size_t t, const Projection& pr) {
    const std::size_t i = diff_[t];
    const std::size_t n = numel_of(in_shapes_[i]), m = numel_of(out_shapes_[o]);
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

  void diagnose_fast(PairReport& p) {
    const std::size_t i = diff_[p.t];
    const Shape& in_s = in_shapes_[i];
    const Shape& out_s = out_shapes_[p.o];
    const std::size_t m = numel_of(out_s), n = numel_of(in_s);
    const std::string in_name = fmt::format("{} {}", labels_.inputs[i], shape_str(in_s));
    const std::string out_name = fmt::format("{} {}", labels_.outputs[p.o], shape_str(out_s));
    auto all_proj = [&](auto analytical_of) {
      for (const Projection& pr : proj_) {
        const double nv = pr.n(p.o, p.t);
        if (std::abs(analytical_of(pr) - nv) > proj_tol(m, n, nv)) return false;
      }
      return true;
    };
    bool zero = true;
    for (const Projection& pr : proj_) zero = zero && max_abs(pr.g[p.o][p.t]) <= opt_.atol;
    if (zero) {
      p.diagnoses.push_back(fmt::format(
          "zero where it should not be: the analytical gradient of {} w.r.t. {} is 0 in every random "
          "projection but the numerical one is not (a missing contribution)", out_name, in_name));
      return;
    }
    if (!p.worst.empty() &&
        std::all_of(p.worst.begin(), p.worst.end(), [&](const Entry& e) { return std::abs(e.a) <= opt_.atol; }))
      p.diagnoses.push_back(
          "zero where it should not be: analytical is 0 at every failing entry found while "
          "numerical is not (a missing contribution to those elements)");
    // constant factor: needs >= 2 projections and the entries found to agree on c
    if (proj_.size() >= 2) {
      double an = 0.0, nn = 0.0;
      for (const Projection& pr : proj_) {
        an += pr.a(p.o, p.t) * pr.n(p.o, p.t);
        nn += pr.n(p.o, p.t) * pr.n(p.o, p.t);
      }
      const double c = nn > 0.0 ? an / nn : 0.0;
      bool fits = c != 0.0;
      for (const Projection& pr : proj_) {
        const double nv = pr.n(p.o, p.t);
        fits = fits && std::abs(pr.a(p.o, p.t) - c * nv) <= proj_tol(m, n, c * nv);
      }
      for (const Entry& e : p.worst)
        fits = fits && std::abs(e.a - c * e.n) <= opt_.atol + opt_.rtol * std::abs(c * e.n);
      if (fits) {
        p.diagnoses.push_back(factor_text(c, in_s, out_s, in_name, out_name));
        return;
      }
    }
    // transposed: <g∘swap, v> = <u, J v> when A[j, k] = N[j, swap(k)]
    if (const Perm sw = last_two_swap(in_s); !sw.empty()) {
      if (all_proj([&](const Projection& pr) {
            const Vec& g = pr.g[p.o][p.t];
            double s = 0.0;
            for (std::size_t k = 0; k < n; ++k) s += g[permute_index(k, in_s, sw)] * pr.v[p.t][k];
            return s;
          }))
        p.diagnoses.push_back(fmt::format(
            "transposed: analytical matches numerical with the last two axes of {} swapped", in_name));
    }
    // output axes permuted: A[j, k] = N[perm(j), k] gives <vjp(u), v> = Σ_j u_j (J v)[perm(j)]
    const std::size_t count = broadcast_count(in_s, out_s);
    for (const Perm& pm : shape_preserving_perms(out_s)) {
      bool all = true;
      for (const Projection& pr : proj_) {
        double s = 0.0;
        for (std::size_t j = 0; j < m; ++j) s += pr.u[p.o][j] * pr.d[p.o][p.t][permute_index(j, out_s, pm)];
        all = all && std::abs(pr.a(p.o, p.t) - s) <= proj_tol(m, n, s);
      }
      if (all) {
        p.diagnoses.push_back(fmt::format(
            "{}: analytical matches numerical with the axes of {} permuted as ({})",
            count > 0 ? "summed over the wrong axis" : "grad_output read along the wrong axes",
            out_name, fmt::join(pm, ", ")));
        break;
      }
    }
  }

  // ---- report --------------------------------------------------------------------------------------
  GradcheckResult finish() {
    GradcheckResult r;
    r.fast = fast_;
    for (const PairReport& p : pairs_) {
      max_into(r.max_abs_err, p.max_abs);
      max_into(r.max_rel_err, p.max_rel);
    }
    const bool pairs_ok = std::none_of(pairs_.begin(), pairs_.end(), [](const PairReport& p) { return p.failed; });
    r.ok = pairs_ok && property_failures_.empty() && backward_error_.empty();
    if (r.ok) return r;
    std::string s = fmt::format("{} failed (mode {}, eps {}, atol {}, rtol {})\n", who_,
                                fast_ ? "fast" : "full", opt_.eps, opt_.atol, opt_.rtol);
    for (const std::string& note : forward_notes_) s += fmt::format("{}\n", note);
    if (!backward_error_.empty()) s += fmt::format("{}\n", backward_error_);
    for (const PairReport& p : pairs_) {
      if (!p.failed) continue;
      const std::size_t i = diff_[p.t];
      s += fmt::format("{} {} w.r.t. {} {}: ", labels_.outputs[p.o], shape_str(out_shapes_[p.o]),
                       labels_.inputs[i], shape_str(in_shapes_[i]));
      if (fast_)
        s += p.summary + "\n";
      else
        s += fmt::format("{} of {} entries differ (max abs err {}, max rel err {})\n", p.n_fail,
                         p.n_total, fmt_num(p.max_abs), fmt_num(p.max_rel));
      for (const std::string& d : p.diagnoses) s += fmt::format("  diagnosis: {}\n", d);
      if (p.diagnoses.empty()) s += "  diagnosis: none recognised\n";
      if (p.worst.empty()) continue;
      s += fast_ ? "  worst entries found by bisection:\n" : "  worst entries:\n";
      s += fmt::format("  {:<14} {:<14} {:>14} {:>14} {:>12} {:>12}\n", "output idx", "input idx",
                       "analytical", "numerical", "abs err", "rel err");
      for (const Entry& e : p.worst) {
        const double err = std::abs(e.a - e.n);
        s += fmt::format("  {:<14} {:<14} {:>14} {:>14} {:>12} {:>12}\n",
                         multi_index(e.j, out_shapes_[p.o]), multi_index(e.k, in_shapes_[i]),
                         fmt_num(e.a), fmt_num(e.n), fmt_num(err),
                         e.n != 0.0 ? fmt_num(err / std::abs(e.n)) : std::string("inf"));
      }
    }
    if (!property_failures_.empty()) {
      s += "properties of backward:\n";
      for (const std::string& f : property_failures_) s += fmt::format("  - {}\n", f);
    }
    r.report = std::move(s);
    return r;
  }

  const char* who_;
  const GradcheckFn& f_;
  const GradcheckOptions& opt_;
  Labels labels_;
  Generator gen_;
  bool fast_ = false;
  std::vector<Tensor> originals_;
  std::vector<Shape> in_shapes_, out_shapes_;
  std::vector<std::size_t> diff_;  // indices of the inputs that require grad
  std::vector<Tensor> la_, ln_;    // private leaves: analytical graph / perturbed for differences
  std::vector<Tensor> outs_;       // outputs recorded from la_
  std::vector<std::vector<Vec>> ana_, num_;  // full mode blocks [o][t]
  std::vector<Projection> proj_;             // fast mode
  std::vector<PairReport> pairs_;
  std::vector<std::string> property_failures_;
  std::string backward_error_;
  std::vector<std::string> forward_notes_;  // non-finite outputs at x
};

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
