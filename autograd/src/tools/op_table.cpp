// The per-op test table (ag/testing/op_table.hpp): input domains, the checks of one row, the
// fused-against-composed comparison, the registry and the completeness check.
#include "ag/testing/op_table.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <utility>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/autograd.hpp"
#include "ag/ops.hpp"

namespace ag::testing {

// ---- input domains --------------------------------------------------------------------------------
std::uint64_t seed_of(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

Tensor make_input(const Input& in, Generator& gen) {
  const std::size_t n = ag::numel(in.shape);
  xt::xarray<double> v = xt::xarray<double>::from_shape(in.shape);
  if (in.kind == Kind::spread) {
    std::vector<std::size_t> perm(n);
    for (std::size_t i = 0; i < n; ++i) perm[i] = i;
    for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[gen.below(i)]);  // Fisher-Yates
    const double w = (in.hi - in.lo) / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i)
      v.data()[i] = in.lo + w * (static_cast<double>(perm[i]) + 0.25 + 0.2 * (gen.uniform01() - 0.5));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const double u = in.lo + (in.hi - in.lo) * gen.uniform01();
      v.data()[i] = in.kind == Kind::nonzero && gen.uniform01() < 0.5 ? -u : u;
    }
  }
  return Tensor(std::move(v), in.requires_grad);
}

Tensor values(const std::vector<double>& v, const Shape& s) {
  if (v.size() != ag::numel(s))
    throw ShapeError(fmt::format("ag::testing::values: {} values for shape {}", v.size(), shape_str(s)));
  xt::xarray<double> a = xt::xarray<double>::from_shape(s);
  std::copy(v.begin(), v.end(), a.begin());
  return Tensor(std::move(a));
}

// ---- checking a row ------------------------------------------------------------------------------
namespace {

// |a - b| <= atol + rtol·|b| elementwise; returns the max |a - b| and, through `bad`, whether any
// entry (or the shapes) disagreed. Undefined tensors count as zeros of the other's shape.
double compare(const Tensor& a, const Tensor& b, double atol, double rtol, bool& bad, std::string& where,
               const std::string& what) {
  if (!a.defined() && !b.defined()) return 0.0;
  if (a.defined() && b.defined() && a.shape() != b.shape()) {
    bad = true;
    where += fmt::format("  {}: shapes differ, {} vs {}\n", what, shape_str(a.shape()), shape_str(b.shape()));
    return std::numeric_limits<double>::infinity();
  }
  const std::vector<double> x = a.defined() ? a.to_vector<double>() : std::vector<double>(b.numel(), 0.0);
  const std::vector<double> y = b.defined() ? b.to_vector<double>() : std::vector<double>(a.numel(), 0.0);
  double worst = 0.0;
  std::size_t worst_k = 0, n_bad = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double e = std::abs(x[k] - y[k]);
    const bool ok = e <= atol + rtol * std::abs(y[k]);
    if (!ok) ++n_bad;
    if (!ok && (std::isnan(e) || e >= worst)) {
      worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
      worst_k = k;
    } else if (ok) {
      worst = std::max(worst, e);
    }
  }
  if (n_bad > 0) {
    bad = true;
    where += fmt::format("  {}: {} of {} entries differ; worst at flat index {}: {} (fused) vs {} (composed)\n",
                         what, n_bad, x.size(), worst_k, x[worst_k], y[worst_k]);
  }
  return worst;
}

Tensor leaf_copy(const Tensor& x) {
  Tensor t = x.detach();
  if (x.requires_grad()) t.requires_grad_();
  return t;
}

// Broadcast variants of a shape: leading axis dropped, last axis of length 1, 0-d (distinct,
// different from the shape itself).
std::vector<Shape> broadcast_variants(const Shape& s) {
  std::vector<Shape> v;
  auto add = [&](Shape c) {
    if (c != s && std::find(v.begin(), v.end(), c) == v.end()) v.push_back(std::move(c));
  };
  if (!s.empty()) add(Shape(s.begin() + 1, s.end()));
  if (!s.empty() && s.back() > 1) {
    Shape c = s;
    c.back() = 1;
    add(c);
  }
  add({});
  return v;
}

template <class Fn> RowCheck guarded(const std::string& what, Fn&& fn) {
  RowCheck c;
  c.what = what;
  try {
    fn(c);
  } catch (const std::exception& e) {
    c.ok = false;
    c.report = fmt::format("threw: {}\n", e.what());
  }
  return c;
}

}  // namespace

bool RowResult::ok() const noexcept {
  return std::all_of(checks.begin(), checks.end(), [](const RowCheck& c) { return c.ok; });
}

std::string RowResult::report() const {
  std::string s;
  for (const RowCheck& c : checks)
    if (!c.ok) s += fmt::format("{} [{}]:\n{}", name, c.what, c.report);
  return s;
}

RowResult check_row(const std::string& name, const Row& r) {
  RowResult res;
  res.name = name;
  Generator gen(seed_of(name));
  Tensors xs;
  for (const Input& in : r.inputs) xs.push_back(make_input(in, gen));

  res.checks.push_back(guarded("gradcheck", [&](RowCheck& c) {
    const GradcheckResult g = gradcheck(r.f, xs, r.options);
    c.ok = g.ok;
    c.report = g.report;
  }));
  if (r.gradgrad) {
    res.checks.push_back(guarded("gradgradcheck", [&](RowCheck& c) {
      const GradcheckResult g = gradgradcheck(r.f, xs, r.options);
      c.ok = g.ok;
      c.report = g.report;
    }));
    // Ops may run a fused first-order VJP and an ag-op one under create_graph; gradgradcheck only
    // checks the latter's own derivatives, so the two first-order results are compared here.
    res.checks.push_back(guarded("backward with and without create_graph agree", [&](RowCheck& c) {
      Tensors wrt;
      for (const Tensor& x : xs)
        if (x.requires_grad()) wrt.push_back(x);
      const Tensors outs = r.f(xs);
      Tensors us;
      for (const Tensor& y : outs) us.push_back(randn(y.shape(), gen, f64));
      const Tensors plain = grad(outs, wrt, us, true, false, true);
      const Tensors graph = grad(outs, wrt, us, true, true, true);
      for (std::size_t i = 0; i < plain.size() && i < graph.size(); ++i) {
        if (plain[i].defined() != graph[i].defined()) {
          c.ok = false;
          c.report += fmt::format("  input {}: a gradient with one and none with the other\n", i);
          continue;
        }
        if (!plain[i].defined()) continue;
        const std::vector<double> a = plain[i].to_vector<double>(), b = graph[i].to_vector<double>();
        double worst = 0.0;
        for (std::size_t k = 0; k < a.size() && k < b.size(); ++k)
          worst = std::max(worst, std::abs(a[k] - b[k]) / (1.0 + std::abs(a[k])));
        if (!(worst <= 1e-10)) {
          c.ok = false;
          c.report += fmt::format("  input {}: backward with and without create_graph differ by {:.3g}\n", i, worst);
        }
      }
    }));
  }
  if (r.jvp_vjp) {
    res.checks.push_back(guarded("jvp/vjp consistency", [&](RowCheck& c) {
      JvpVjpOptions o = r.jvp_options;
      o.seed = seed_of(name);
      const JvpVjpResult j = check_jvp_vjp(r.f, xs, o);
      c.ok = j.ok;
      c.report = j.report;
    }));
  }
  if (r.broadcast_cases) {
    std::vector<std::size_t> which = r.broadcast_inputs;
    if (which.empty())
      for (std::size_t i = 0; i < r.inputs.size(); ++i)
        if (r.inputs[i].requires_grad) which.push_back(i);
    for (std::size_t i : which) {
      if (i >= r.inputs.size()) {
        res.checks.push_back({fmt::format("broadcast input {}", i), false, "no such input in the row\n"});
        continue;
      }
      for (const Shape& s : broadcast_variants(r.inputs[i].shape)) {
        Input in = r.inputs[i];
        in.shape = s;
        Tensors bx = xs;
        bx[i] = make_input(in, gen);
        res.checks.push_back(guarded(fmt::format("broadcast input {} as {}", i, shape_str(s)), [&](RowCheck& c) {
          const GradcheckResult g = gradcheck(r.f, bx, r.options);
          c.ok = g.ok;
          c.report = g.report;
          if (c.ok && r.gradgrad) {
            const GradcheckResult g2 = gradgradcheck(r.f, bx, r.options);
            c.ok = g2.ok;
            c.report = g2.report;
          }
        }));
      }
    }
  }
  if (r.reference) {
    res.checks.push_back(guarded("against the composed reference", [&](RowCheck& c) {
      FusedOptions o;
      o.seed = seed_of(name);
      const FusedResult fr = check_fused(r.f, r.reference, xs, o);
      c.ok = fr.ok;
      c.report = fr.report;
    }));
  }
  return res;
}

// ---- fused op against a composition --------------------------------------------------------------
FusedResult check_fused(const GradcheckFn& fused, const GradcheckFn& composed, const Tensors& inputs,
                        const FusedOptions& options) {
  FusedResult res;
  std::string where;
  bool bad = false;
  const double atol = options.atol, rtol = options.rtol;
  Tensors xs, wrt;
  for (const Tensor& x : inputs) {
    xs.push_back(leaf_copy(x));
    if (x.requires_grad()) wrt.push_back(xs.back());
  }
  EnableGradGuard record;
  const Tensors ya = fused(xs), yb = composed(xs);
  if (ya.size() != yb.size())
    throw ValueError(fmt::format("check_fused: the fused function returns {} outputs, the composed one {}",
                                 ya.size(), yb.size()));
  Generator gen(options.seed ^ 0x2545f4914f6cdd1dULL);
  Tensors ra, rb, us;  // the floating outputs that depend on the inputs, and their cotangents
  for (std::size_t o = 0; o < ya.size(); ++o) {
    res.value_err = std::max(res.value_err, compare(ya[o], yb[o], atol, rtol, bad, where,
                                                    fmt::format("value of output {}", o)));
    if (!ya[o].defined() || !is_floating(ya[o].dtype())) continue;
    if (!ya[o].requires_grad() && !(yb[o].defined() && yb[o].requires_grad())) continue;
    ra.push_back(ya[o]);
    rb.push_back(yb[o]);
    us.push_back(randn(ya[o].shape(), gen, ya[o].dtype()).requires_grad_());
  }
  if (!wrt.empty() && !ra.empty()) {
    auto vjp_of = [&](const Tensors& roots, bool create_graph) {
      Tensors live, seeds;
      for (std::size_t q = 0; q < roots.size(); ++q)
        if (roots[q].requires_grad()) {
          live.push_back(roots[q]);
          seeds.push_back(us[q]);
        }
      if (live.empty()) return Tensors(wrt.size());
      return grad(live, wrt, seeds, /*retain_graph=*/true, create_graph, /*allow_unused=*/true);
    };
    const Tensors ga = vjp_of(ra, false), gb = vjp_of(rb, false);
    for (std::size_t i = 0; i < wrt.size(); ++i)
      res.grad_err = std::max(res.grad_err, compare(ga[i], gb[i], atol, rtol, bad, where,
                                                    fmt::format("vjp(u) w.r.t. differentiable input {}", i)));
    const Tensors ca = vjp_of(ra, true), cb = vjp_of(rb, true);
    for (std::size_t i = 0; i < wrt.size(); ++i)
      res.grad_cg_err = std::max(res.grad_cg_err, compare(ca[i], cb[i], atol, rtol, bad, where,
                                                          fmt::format("vjp(u) under create_graph w.r.t. differentiable input {}", i)));
    // second order: s = Σ_i <w_i, vjp(u)_i>, differentiated w.r.t. the inputs and the u's
    Tensors wrt2 = wrt;
    wrt2.insert(wrt2.end(), us.begin(), us.end());
    Tensors ws;
    for (const Tensor& x : wrt) ws.push_back(randn(x.shape(), gen, x.dtype()));
    auto second = [&](const Tensors& g) -> Tensors {
      Tensor s;
      for (std::size_t i = 0; i < g.size(); ++i) {
        if (!g[i].defined() || !g[i].requires_grad()) continue;
        const Tensor term = sum(g[i] * ws[i]);
        s = s.defined() ? s + term : term;
      }
      if (!s.defined()) return Tensors(wrt2.size());
      return grad({s}, wrt2, {}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
    };
    const Tensors ha = second(ca), hb = second(cb);
    for (std::size_t i = 0; i < wrt2.size(); ++i)
      res.grad2_err = std::max(res.grad2_err,
                               compare(ha[i], hb[i], atol, rtol, bad, where,
                                       i < wrt.size() ? fmt::format("second order w.r.t. differentiable input {}", i)
                                                      : fmt::format("second order w.r.t. cotangent u{}", i - wrt.size())));
  }
  res.ok = !bad;
  if (bad)
    res.report = fmt::format("check_fused: the fused op differs from the composed one (atol {}, rtol {})\n{}", atol,
                             rtol, where);
  return res;
}

// ---- registry and completeness -------------------------------------------------------------------
std::vector<RegisteredRow>& registered_rows() {
  static std::vector<RegisteredRow> rows;
  return rows;
}

void register_row(const std::string& op, const std::string& name, Row (*make)()) {
  registered_rows().push_back({op, name, make});
}

std::multiset<std::string> covered_ops() {
  std::multiset<std::string> ops;
  for (const RegisteredRow& r : registered_rows()) ops.insert(r.op);
  return ops;
}

std::set<std::string> declared_ops(const std::string& header_text, const std::vector<std::string>& extra_return_types) {
  std::string code;
  std::istringstream in(header_text);
  for (std::string line; std::getline(in, line);) code += line.substr(0, line.find("//")) + "\n";
  std::string types = R"(Tensor|std::vector<Tensor>)";
  for (const std::string& t : extra_return_types) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    types += "|" + std::regex_replace(t, special, R"(\$&)");
  }
  const std::regex decl(R"((?:^|\n)\s*(?:inline\s+)?(?:)" + types + R"()\s+([A-Za-z_]\w*)\s*\()");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(code.begin(), code.end(), decl); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

std::set<std::string> declared_ops_in(const std::string& folder, const std::vector<std::string>& extra_return_types) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(folder)) throw ValueError(fmt::format("declared_ops_in: '{}' is not a folder", folder));
  std::set<std::string> all;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".hpp") continue;
    std::ifstream f(entry.path());
    if (!f) throw ValueError(fmt::format("declared_ops_in: cannot read '{}'", entry.path().string()));
    std::stringstream text;
    text << f.rdbuf();
    const std::set<std::string> here = declared_ops(text.str(), extra_return_types);
    all.insert(here.begin(), here.end());
  }
  return all;
}

std::vector<std::string> completeness_problems(const std::set<std::string>& ops, const std::set<std::string>& exempt) {
  const std::multiset<std::string> rows = covered_ops();
  std::vector<std::string> problems;
  for (const std::string& op : ops) {
    const bool has_row = rows.count(op) > 0, is_exempt = exempt.count(op) > 0;
    if (!has_row && !is_exempt)
      problems.push_back(fmt::format("op '{}' has no gradcheck row (and is not listed as non-differentiable)", op));
    if (has_row && is_exempt)
      problems.push_back(fmt::format("op '{}' has a row but is listed as non-differentiable", op));
  }
  for (auto it = rows.begin(); it != rows.end(); it = rows.upper_bound(*it))
    if (ops.count(*it) == 0) problems.push_back(fmt::format("a row for '{}', which is not in the list of ops", *it));
  for (const std::string& op : exempt)
    if (ops.count(op) == 0) problems.push_back(fmt::format("'{}' is listed as non-differentiable but is not in the list of ops", op));
  return problems;
}

}  // namespace ag::testing
