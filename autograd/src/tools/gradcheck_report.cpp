// Gradient checking, the report side (see ag/gradcheck.hpp): the diagnoses that say how a failing
// Jacobian block is wrong (non-finite values, zero, sign flip or constant factor, grad_output
// ignored, transposed, output axes permuted, reduced over the wrong axis, broadcast reduced wrongly,
// swapped partials) and the failure report with its worst-entries table. The numbers come from
// gradcheck.cpp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "ag/autograd.hpp"
#include "ag/ops.hpp"
#include "core/internal.hpp"
#include "tools/gradcheck_internal.hpp"

namespace ag::detail {
namespace {

using Perm = std::vector<std::size_t>;

std::size_t ravel(const std::vector<std::size_t>& idx, const Shape& s) {
  std::size_t f = 0;
  for (std::size_t d = 0; d < s.size(); ++d) f = f * s[d] + idx[d];
  return f;
}

std::string multi_index(std::size_t flat_index, const Shape& s) { return shape_str(unravel_index(flat_index, s)); }

// Index with permuted axes: result r[d] = idx[perm[d]] (perm keeps the shape: s[perm[d]] == s[d]).
std::size_t permute_index(std::size_t flat_index, const Shape& s, const Perm& perm) {
  const auto idx = unravel_index(flat_index, s);
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
  const std::size_t m = ag::numel(out), n = ag::numel(in);
  return (n > 0 && m > n) ? m / n : 0;
}

// Output axes (longer than 1) along which `in` is broadcast in `out`: the axes its gradient must be
// summed over. Assumes `in` broadcasts to `out` (broadcast_count > 0).
std::vector<std::size_t> broadcast_axes(const Shape& in, const Shape& out) {
  const std::size_t off = out.size() - in.size();
  std::vector<std::size_t> axes;
  for (std::size_t d = 0; d < out.size(); ++d)
    if (out[d] > 1 && (d < off || in[d - off] == 1)) axes.push_back(d);
  return axes;
}

// Flat index of the input element that output multi-index `idx` reads when input axis a is read
// from output axis from[a] (length-1 input axes read index 0).
std::size_t read_index(const Shape& idx, const Shape& in, const std::vector<std::size_t>& from) {
  std::size_t f = 0;
  for (std::size_t a = 0; a < in.size(); ++a) f = f * in[a] + (in[a] == 1 ? 0 : idx[from[a]]);
  return f;
}

std::vector<std::size_t> aligned_axes(const Shape& in, const Shape& out) {  // numpy: on the right
  std::vector<std::size_t> from(in.size());
  std::iota(from.begin(), from.end(), out.size() - in.size());
  return from;
}

// Flat index of the element of `in` that output element j reads under broadcasting.
std::size_t source_index(std::size_t j, const Shape& in, const Shape& out) {
  return read_index(unravel_index(j, out), in, aligned_axes(in, out));
}

std::string axes_text(const std::vector<std::size_t>& axes) {
  if (axes.empty()) return "no axis";
  if (axes.size() == 1) return fmt::format("axis {}", axes[0]);
  return fmt::format("axes ({})", fmt::join(axes, ", "));
}

// A wrong reduction of the partials D[j] of a broadcast input (D[j]: output element j w.r.t. the
// input element it reads): land(j, add) calls add(k, c) for each input element k that receives
// c·D[j]·g[j]. The right one lands D[j] on src(j) only.
struct WrongReduction {
  std::vector<std::size_t> axes;  // the output axes reduced instead of broadcast_axes
  bool broadcast_back = false;
  std::function<void(std::size_t, const std::function<void(std::size_t, double)>&)> land;
};

// The wrong reductions tested, until `test` returns true:
//   reduced over other axes, the result taken as the gradient: input axis a is read from another
//     output axis of the same length (a square shape hides it: [3, 3] * [3] summed over axis 1);
//   reduced over a wrong set of axes S' and broadcast back to g's shape, which the engine then
//     sums over the right axes: j lands on src(j2) for every j2 that agrees with j outside S'.
bool for_each_wrong_reduction(const Shape& in, const Shape& out,
                              const std::function<bool(const WrongReduction&)>& test) {
  const std::size_t r = out.size(), m = ag::numel(out), n = ag::numel(in);
  if (r > 6) return false;
  const std::vector<std::size_t> right = aligned_axes(in, out);
  std::vector<std::size_t> from = right;
  std::vector<bool> used(r, false);
  std::function<bool(std::size_t)> assign = [&](std::size_t a) -> bool {
    if (a == in.size()) {
      if (from == right) return false;
      WrongReduction w;
      for (std::size_t d = 0; d < r; ++d)
        if (out[d] > 1 && !used[d]) w.axes.push_back(d);
      w.land = [&](std::size_t j, const std::function<void(std::size_t, double)>& add) {
        add(read_index(unravel_index(j, out), in, from), 1.0);
      };
      return test(w);
    }
    if (in[a] == 1) return assign(a + 1);
    for (std::size_t d = 0; d < r; ++d) {
      if (used[d] || out[d] != in[a]) continue;
      used[d] = true;
      from[a] = d;
      const bool found = assign(a + 1);
      used[d] = false;
      from[a] = right[a];
      if (found) return true;
    }
    return false;
  };
  if (assign(0)) return true;

  std::size_t should_mask = 0, long_mask = 0;
  for (std::size_t d : broadcast_axes(in, out)) should_mask |= std::size_t{1} << d;
  for (std::size_t d = 0; d < r; ++d)
    if (out[d] > 1) long_mask |= std::size_t{1} << d;
  for (std::size_t mask = 1; mask < (std::size_t{1} << r); ++mask) {
    if ((mask & ~long_mask) != 0 || mask == should_mask) continue;
    // fibre(j): j's multi-index without the axes of S'; hits[fibre, k] = #{j2 in it : src(j2) == k}
    std::vector<std::size_t> fibre(m, 0);
    std::size_t n_fibres = 1;
    for (std::size_t d = 0; d < r; ++d)
      if (!(mask >> d & 1)) n_fibres *= out[d];
    Vec hits(n_fibres * n, 0.0);
    for (std::size_t j = 0; j < m; ++j) {
      const Shape idx = unravel_index(j, out);
      for (std::size_t d = 0; d < r; ++d)
        if (!(mask >> d & 1)) fibre[j] = fibre[j] * out[d] + idx[d];
      hits[fibre[j] * n + read_index(idx, in, right)] += 1.0;
    }
    WrongReduction w;
    w.broadcast_back = true;
    for (std::size_t d = 0; d < r; ++d)
      if (mask >> d & 1) w.axes.push_back(d);
    w.land = [&](std::size_t j, const std::function<void(std::size_t, double)>& add) {
      for (std::size_t k = 0; k < n; ++k)
        if (const double c = hits[fibre[j] * n + k]; c != 0.0) add(k, c);
    };
    if (test(w)) return true;
  }
  return false;
}

std::string wrong_reduction_text(const Shape& in_s, const Shape& out_s, const std::string& in_name,
                                 const std::string& out_name, const WrongReduction& w) {
  const std::string should = axes_text(broadcast_axes(in_s, out_s));
  return fmt::format(
      "reduced over the wrong axis: {} is broadcast along {} of {}, so its gradient is g·∂y/∂x "
      "summed over {}; analytical matches g·∂y/∂x summed over {} instead{}", in_name, should,
      out_name, should, axes_text(w.axes),
      w.broadcast_back ? ", broadcast back to the shape of g (which the engine then sums over " + should + ")" : "");
}

std::string nonfinite_text(std::size_t bad_a, std::size_t bad_n, const char* what) {
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

}  // namespace

// ---- numbers in messages ------------------------------------------------------------------------
std::string fmt_num(double x) { return std::isnan(x) ? std::string("nan") : fmt::format("{:.6g}", x); }

std::string fmt_factor(double c) {
  return std::abs(c) >= 0.01 ? fmt::format("{:.2f}", c) : fmt::format("{:.3g}", c);
}

// ---- full mode: diagnoses from the whole blocks -------------------------------------------------
// True when every entry of A (indexed through `map_a`) is within tolerance of N.
template <class MapA> bool Checker::matches(const Vec& A, const Vec& N, MapA map_a) const {
  for (std::size_t e = 0; e < N.size(); ++e)
    if (!close(A[map_a(e)], N[e])) return false;
  return true;
}

Checker::PairNames Checker::names_of(const PairReport& p) const {
  const std::size_t i = diff_[p.t];
  const Shape& in_s = in_shapes_[i];
  const Shape& out_s = out_shapes_[p.o];
  return {in_s, out_s, ag::numel(in_s), ag::numel(out_s),
          fmt::format("{} {}", labels_.inputs[i], shape_str(in_s)),
          fmt::format("{} {}", labels_.outputs[p.o], shape_str(out_s))};
}

// A failing block A (analytical) against N (numerical): the first patterns that fit, in order.
void Checker::diagnose_full(PairReport& p) {
  const Vec& A = ana_[p.o][p.t];
  const Vec& N = num_[p.o][p.t];
  const std::size_t bad_a = count_nonfinite(A), bad_n = count_nonfinite(N);
  if (bad_a + bad_n > 0) {
    p.diagnoses.push_back(nonfinite_text(bad_a, bad_n, "entries"));
    return;
  }
  const PairNames pn = names_of(p);
  const Shape& in_s = pn.in_s;
  const Shape& out_s = pn.out_s;
  const std::size_t n = pn.n, m = pn.m;
  const std::string& in_name = pn.in_name;
  const std::string& out_name = pn.out_name;

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

  // 6. a broadcast input whose gradient is the right partials reduced over the wrong axes
  const bool reduction_found = count > 0 && !factor_found && wrong_reduction_full(p);

  // 7. a broadcast input whose gradient is right in total but spread over the wrong elements:
  //    with grad_output = ones (column sums of J) both agree.
  if (count > 0 && !factor_found && !perm_found && !reduction_found) {
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

// A broadcast input whose numerical block is "diagonal" (output element j depends on the input only
// through the element src(j) it reads, with partial D[j] = N[j, src(j)]: add, mul, hypot, ...) and
// whose analytical block is those partials reduced wrongly (see for_each_wrong_reduction).
bool Checker::wrong_reduction_full(PairReport& p) {
  const Vec& A = ana_[p.o][p.t];
  const Vec& N = num_[p.o][p.t];
  const PairNames pn = names_of(p);
  const std::size_t n = pn.n, m = pn.m;
  Vec D(m);
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t src = source_index(j, pn.in_s, pn.out_s);
    D[j] = N[j * n + src];
    for (std::size_t k = 0; k < n; ++k)
      if (k != src && std::abs(N[j * n + k]) > opt_.atol) return false;  // not elementwise in it
  }
  if (max_abs(D) <= opt_.atol) return false;
  return for_each_wrong_reduction(pn.in_s, pn.out_s, [&](const WrongReduction& w) {
    Vec E(m * n, 0.0);
    for (std::size_t j = 0; j < m; ++j)
      w.land(j, [&](std::size_t k, double c) { E[j * n + k] += c * D[j]; });
    if (!matches(A, E, [](std::size_t e) { return e; })) return false;
    p.diagnoses.push_back(wrong_reduction_text(pn.in_s, pn.out_s, pn.in_name, pn.out_name, w));
    return true;
  });
}

std::string Checker::factor_text(double c, const Shape& in_s, const Shape& out_s,
                                 const std::string& in_name, const std::string& out_name) const {
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
void Checker::swapped_partials_full() {
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

std::string Checker::swapped_text(std::size_t t, std::size_t t2) const {
  return fmt::format("swapped partials: the analytical gradient w.r.t. {} matches the numerical one "
                     "w.r.t. {} and vice versa (the VJP returns the partials in the wrong order, "
                     "e.g. {{g*a, g*b}} for a*b)", labels_.inputs[diff_[t]], labels_.inputs[diff_[t2]]);
}

// ---- fast mode: diagnoses from the projections and the entries found ----------------------------
void Checker::diagnose_fast(PairReport& p) {
  std::size_t bad_a = 0, bad_n = 0;
  for (const Projection& q : proj_) {
    bad_a += !std::isfinite(q.a(p.o, p.t));
    bad_n += !std::isfinite(q.n(p.o, p.t));
  }
  if (bad_a + bad_n > 0) {
    p.diagnoses.push_back(nonfinite_text(bad_a, bad_n, "projections"));
    return;
  }
  const PairNames pn = names_of(p);
  const Shape& in_s = pn.in_s;
  const Shape& out_s = pn.out_s;
  const std::size_t n = pn.n, m = pn.m;
  const std::string& in_name = pn.in_name;
  const std::string& out_name = pn.out_name;
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
  if (count > 0) wrong_reduction_fast(p);
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

// The wrong reductions of wrong_reduction_full, from the projections: the partials are D = J·1
// (central differences along ones; exact when the input enters elementwise), and a reduction fits
// when <vjp(u), v> = Σ_j u_j D[j] Σ_k c_jk v_k for every projection and the entries found agree.
bool Checker::wrong_reduction_fast(PairReport& p) {
  const PairNames pn = names_of(p);
  const std::size_t n = pn.n, m = pn.m;
  const Vec D = central_dir(diff_[p.t], Vec(n, 1.0))[p.o];
  if (max_abs(D) <= opt_.atol) return false;
  return for_each_wrong_reduction(pn.in_s, pn.out_s, [&](const WrongReduction& w) {
    for (const Projection& pr : proj_) {
      const Vec& u = pr.u[p.o];
      const Vec& v = pr.v[p.t];
      double s = 0.0;
      for (std::size_t j = 0; j < m; ++j) w.land(j, [&](std::size_t k, double c) { s += u[j] * D[j] * c * v[k]; });
      if (std::abs(pr.a(p.o, p.t) - s) > proj_tol(m, n, s)) return false;
    }
    for (const Entry& e : p.worst) {
      double want = 0.0;
      w.land(e.j, [&](std::size_t k, double c) { want += k == e.k ? c * D[e.j] : 0.0; });
      if (!close(e.a, want)) return false;
    }
    p.diagnoses.push_back(wrong_reduction_text(pn.in_s, pn.out_s, pn.in_name, pn.out_name, w));
    return true;
  });
}

// Swapped partials from the projections: <g_t, v_t2> ≈ <u, J_t2 v_t2> and vice versa.
void Checker::swapped_partials_fast() {
  for (PairReport& p : pairs_) {
    if (!p.failed) continue;
    for (const PairReport& q : pairs_) {
      if (&q == &p || !q.failed || q.o != p.o || in_shapes_[diff_[p.t]] != in_shapes_[diff_[q.t]])
        continue;
      bool swapped = true;
      for (const Projection& pr : proj_) {
        const std::size_t m = ag::numel(out_shapes_[p.o]), n = ag::numel(in_shapes_[diff_[p.t]]);
        const double x1 = dot(pr.g[p.o][p.t], pr.v[q.t]), n1 = pr.n(p.o, q.t);
        const double x2 = dot(pr.g[p.o][q.t], pr.v[p.t]), n2 = pr.n(p.o, p.t);
        swapped = swapped && std::abs(x1 - n1) <= proj_tol(m, n, n1) &&
                  std::abs(x2 - n2) <= proj_tol(m, n, n2);
      }
      if (swapped) p.diagnoses.push_back(swapped_text(p.t, q.t));
    }
  }
}

// ---- report -------------------------------------------------------------------------------------
// The one-line result of a failing pair in fast mode, from its worst projection `pr`.
std::string Checker::projection_summary(const PairReport& p, const Projection& pr) const {
  const std::size_t o = p.o, t = p.t;
  const std::size_t m = ag::numel(out_shapes_[o]), n = ag::numel(in_shapes_[diff_[t]]);
  return fmt::format(
      "random projections differ in {} of {}: <vjp(u), v> = {} (analytical) vs <u, J v> = {} "
      "(numerical), abs err {} > tolerance {}", p.n_fail, p.n_total, fmt_num(pr.a(o, t)),
      fmt_num(pr.n(o, t)), fmt_num(std::abs(pr.a(o, t) - pr.n(o, t))),
      fmt_num(proj_tol(m, n, pr.n(o, t))));
}

// Right only at batch size 1: the same check with the inputs' leading axis (of length B > 1) cut
// to length 1. A failing block that passes there has a VJP that handles one sample but not a
// batch: typically a reduction over the batch axis that is missing (the first sample's term only,
// a product of batch sums where a sum of products is due) or done twice. Candidate B: the leading
// lengths of the inputs of rank >= 2, in order; every input (any rank) with that leading length is
// cut; the first B under which a failing block passes is reported.
void Checker::diagnose_batch() {
  if (!batch_probe_ || !opt_.diagnose_batch || std::none_of(pairs_.begin(), pairs_.end(), [](const PairReport& p) { return p.failed; }))
    return;
  std::vector<std::size_t> batch_sizes;
  for (const Shape& s : in_shapes_)
    if (s.size() >= 2 && s[0] > 1 && std::find(batch_sizes.begin(), batch_sizes.end(), s[0]) == batch_sizes.end())
      batch_sizes.push_back(s[0]);
  GradcheckOptions o = opt_;
  o.check_properties = false;
  for (std::size_t b : batch_sizes) {
    std::vector<Tensor> cut;
    std::vector<std::string> cut_names;
    for (std::size_t i = 0; i < originals_.size(); ++i) {
      const Tensor& x = originals_[i];
      if (in_shapes_[i].empty() || in_shapes_[i][0] != b) {
        cut.push_back(x);
        continue;
      }
      Tensor one = no_grad([&] { return slice(x, 0, 0, 1); });
      cut.push_back(Tensor(xt::xarray<double>(one.value<double>()), x.requires_grad()));
      cut_names.push_back(fmt::format("{} {}", labels_.inputs[i], shape_str(in_shapes_[i])));
    }
    std::vector<PairReport> at_one;
    try {
      Checker sub(who_, f_, cut, o, labels_);
      sub.batch_probe_ = false;
      sub.run();
      if (sub.out_shapes_.size() != out_shapes_.size() || !sub.backward_error_.empty()) continue;
      at_one = std::move(sub.pairs_);
    } catch (const std::exception&) {
      continue;  // f does not take batch size 1 (or another length-b axis was cut)
    }
    if (at_one.size() != pairs_.size()) continue;
    bool found = false;
    for (std::size_t q = 0; q < pairs_.size(); ++q) {
      if (!pairs_[q].failed || at_one[q].failed) continue;
      found = true;
      pairs_[q].diagnoses.push_back(fmt::format(
          "right only at batch size 1: with the leading axis of {} cut from {} to 1 this block "
          "passes; at batch size {} it does not (a reduction over the batch axis missing or done "
          "twice: the VJP uses one sample's term, multiplies batch sums where it should sum "
          "per-sample products, or sums an already summed gradient)",
          fmt::join(cut_names, ", "), b, b));
    }
    if (found) return;
  }
}

GradcheckResult Checker::finish() {
  GradcheckResult r;
  r.fast = fast_;
  r.property_failures = property_failures_;
  for (const PairReport& p : pairs_) {
    GradcheckBlock b;
    b.output = p.o;
    b.input = diff_[p.t];
    b.output_shape = out_shapes_[p.o];
    b.input_shape = in_shapes_[b.input];
    b.ok = !p.failed;
    b.failed = p.n_fail;
    b.compared = p.n_total;
    b.max_abs_err = p.max_abs;
    b.max_rel_err = p.max_rel;
    if (!fast_ && p.o < ana_.size() && p.t < ana_[p.o].size()) {
      b.analytical = ana_[p.o][p.t];
      b.numerical = num_[p.o][p.t];
    }
    for (const Entry& e : p.worst) b.worst.push_back({p.o, b.input, e.j, e.k, e.a, e.n});
    b.diagnoses = p.diagnoses;
    r.blocks.push_back(std::move(b));
  }
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

}  // namespace ag::detail
