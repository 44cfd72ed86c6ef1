// check_jvp_vjp (ag/gradcheck.hpp): <u, J·t> from ag::jvp against <vjp(u), t> from ag::vjp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ag/functional.hpp"
#include "ag/gradcheck.hpp"
#include "ag/ops.hpp"
#include "ag/random.hpp"

namespace ag {
namespace {

// Σ a·b and Σ |a|·|b| over two tensors of the same shape (undefined: zero).
struct Dot {
  double value = 0.0, scale = 0.0;
  Dot& operator+=(const Dot& o) {
    value += o.value;
    scale += o.scale;
    return *this;
  }
};
Dot dot(const Tensor& a, const Tensor& b) {
  Dot d;
  if (!a.defined() || !b.defined()) return d;
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t k = 0; k < x.size() && k < y.size(); ++k) {
    d.value += x[k] * y[k];
    d.scale += std::abs(x[k] * y[k]);
  }
  return d;
}

class JvpVjp {
 public:
  JvpVjp(const GradcheckFn& f, const std::vector<Tensor>& inputs) : f_(f), xs_(inputs) {
    for (std::size_t i = 0; i < xs_.size(); ++i) {
      if (!xs_[i].defined()) throw ValueError(fmt::format("check_jvp_vjp: input {} is undefined", i));
      if (!xs_[i].requires_grad()) continue;
      if (!is_floating(xs_[i].dtype()))
        throw DtypeError(fmt::format("check_jvp_vjp: input {} requires grad but is {}", i, dtype_name(xs_[i].dtype())));
      diff_.push_back(i);
      dx_.push_back(xs_[i].detach());
    }
    if (diff_.empty())
      throw ValueError("check_jvp_vjp: no input requires grad; mark the inputs to check with requires_grad_()");
  }

  // f of the differentiable inputs (the others fixed); floating outputs only.
  std::vector<Tensor> operator()(const std::vector<Tensor>& v) const {
    std::vector<Tensor> all = xs_;
    for (std::size_t k = 0; k < diff_.size(); ++k) all[diff_[k]] = v[k];
    std::vector<Tensor> out;
    for (const Tensor& y : f_(all))
      if (y.defined() && is_floating(y.dtype())) out.push_back(y);
    return out;
  }

  const std::vector<Tensor>& dx() const { return dx_; }
  const std::vector<std::size_t>& diff() const { return diff_; }

 private:
  const GradcheckFn& f_;
  std::vector<Tensor> xs_;
  std::vector<std::size_t> diff_;
  std::vector<Tensor> dx_;
};

}  // namespace

JvpVjpResult check_jvp_vjp(const GradcheckFn& f, const std::vector<Tensor>& inputs, const JvpVjpOptions& options) {
  const JvpVjp g(f, inputs);
  auto fn = [&g](const std::vector<Tensor>& v) { return g(v); };
  const FunctionalOptions lenient{/*create_graph=*/false, /*strict=*/false};
  Generator gen(options.seed ^ 0x5851f42d4c957f2dULL);
  const std::vector<Tensor>& dx = g.dx();
  const std::size_t n_out = no_grad([&] { return fn(dx); }).size();
  if (n_out == 0) throw ValueError("check_jvp_vjp: f returns no floating output");

  JvpVjpResult r;
  std::size_t worst = 0;
  double worst_err = 0.0;
  std::vector<std::vector<Tensor>> us, ts;
  for (std::size_t q = 0; q < std::max<std::size_t>(1, options.trials); ++q) {
    std::vector<Tensor> t;
    for (const Tensor& x : dx) t.push_back(randn(x.shape(), gen, x.dtype()));
    const auto fwd = jvp(fn, dx, t, lenient);
    std::vector<Tensor> u;
    for (const Tensor& y : fwd.outputs) u.push_back(randn(y.shape(), gen, y.dtype()));
    const auto rev = vjp(fn, dx, u, lenient);
    Dot a, b;
    for (std::size_t o = 0; o < u.size(); ++o) a += dot(u[o], fwd.jvp[o]);
    for (std::size_t i = 0; i < t.size(); ++i) b += dot(rev.vjp[i], t[i]);
    JvpVjpTrial trial;
    trial.forward = a.value;
    trial.reverse = b.value;
    trial.tolerance = options.atol + options.rtol * (a.scale + b.scale);
    const double err = std::abs(a.value - b.value);
    trial.ok = err <= trial.tolerance;  // false for NaN too
    if (!std::isnan(r.max_abs_err) && (std::isnan(err) || err > r.max_abs_err)) r.max_abs_err = err;
    if (!trial.ok) {
      const double key = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
      if (r.ok || key > worst_err) {
        worst = q;
        worst_err = key;
      }
      r.ok = false;
    }
    r.trials.push_back(trial);
    us.push_back(std::move(u));
    ts.push_back(std::move(t));
  }
  if (r.ok) return r;

  std::string s = fmt::format("check_jvp_vjp failed (atol {}, rtol {})\n", options.atol, options.rtol);
  for (std::size_t q = 0; q < r.trials.size(); ++q) {
    const JvpVjpTrial& tr = r.trials[q];
    if (tr.ok) continue;
    s += fmt::format("trial {}: <u, J·t> = {:.10g} (jvp) vs <vjp(u), t> = {:.10g} (vjp), abs err {:.3g} > tolerance {:.3g}\n",
                     q, tr.forward, tr.reverse, std::abs(tr.forward - tr.reverse), tr.tolerance);
  }
  // The worst trial split by (output, input): t on one input at a time, u on one output at a time.
  const std::vector<Tensor>& u = us[worst];
  const std::vector<Tensor>& t = ts[worst];
  std::vector<std::vector<Dot>> fwd(u.size(), std::vector<Dot>(t.size())), rev = fwd;
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::vector<Tensor> ti;
    for (std::size_t k = 0; k < t.size(); ++k) ti.push_back(k == i ? t[k] : zeros_like(t[k]));
    const auto j = jvp(fn, dx, ti, lenient);
    for (std::size_t o = 0; o < u.size(); ++o) fwd[o][i] = dot(u[o], j.jvp[o]);
  }
  for (std::size_t o = 0; o < u.size(); ++o) {
    std::vector<Tensor> uo;
    for (std::size_t k = 0; k < u.size(); ++k) uo.push_back(k == o ? u[k] : zeros_like(u[k]));
    const auto v = vjp(fn, dx, uo, lenient);
    for (std::size_t i = 0; i < t.size(); ++i) rev[o][i] = dot(v.vjp[i], t[i]);
  }
  std::size_t listed = 0;
  for (std::size_t o = 0; o < u.size(); ++o)
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double tol = options.atol + options.rtol * (fwd[o][i].scale + rev[o][i].scale);
      const double err = std::abs(fwd[o][i].value - rev[o][i].value);
      if (err <= tol) continue;
      ++listed;
      const Shape& in_s = inputs[g.diff()[i]].shape();
      s += fmt::format("  output {} w.r.t. input {} {}: <u, J·t> = {:.10g}, <vjp(u), t> = {:.10g}{}\n", o,
                       g.diff()[i], shape_str(in_s), fwd[o][i].value, rev[o][i].value,
                       fwd[o][i].scale == 0.0 && rev[o][i].scale != 0.0
                           ? " (jvp gives 0: the VJP's result does not depend on its cotangent through "
                             "the tape; is g detached or used outside ag ops?)"
                           : "");
    }
  if (listed == 0) s += "  no single (output, input) pair differs on its own\n";
  r.report = std::move(s);
  return r;
}

JvpVjpResult check_jvp_vjp(const GradcheckFn1& f, const std::vector<Tensor>& inputs, const JvpVjpOptions& options) {
  GradcheckFn lifted = [&f](const std::vector<Tensor>& x) { return std::vector<Tensor>{f(x)}; };
  return check_jvp_vjp(lifted, inputs, options);
}

}  // namespace ag
