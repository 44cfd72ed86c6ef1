#pragma once
// Gradient checking internals shared by gradcheck.cpp (entry points, finite differences, the
// Jacobian blocks and projections, properties of backward) and gradcheck_report.cpp (diagnoses and
// the failure report). Not installed. A Jacobian block J[o][t] is stored row-major as
// [output elem][input elem]; o indexes the outputs, t the differentiable inputs.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "ag/gradcheck.hpp"
#include "ag/random.hpp"

namespace ag::detail {

using Vec = std::vector<double>;

// ---- small helpers ------------------------------------------------------------------------------
inline double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (std::size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}

inline double max_abs(const Vec& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::abs(x));
  return m;
}

inline std::size_t count_nonfinite(const Vec& v) {
  return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }));
}

// Running max that keeps a NaN once seen.
inline void max_into(double& m, double v) {
  if (!std::isnan(m) && (std::isnan(v) || v > m)) m = v;
}

// Numbers in messages (gradcheck_report.cpp): 6 significant digits, "nan"; a factor c as 2.00.
std::string fmt_num(double x);
std::string fmt_factor(double c);

// ---- what a check finds -------------------------------------------------------------------------
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

// Fast mode: one random projection of every block, <vjp(u_o), v_t> against <u_o, J_ot v_t>.
struct Projection {
  std::vector<Vec> u;                // per output
  std::vector<Vec> v;                // per differentiable input
  std::vector<std::vector<Vec>> g;   // [o][t] = vjp(u_o) w.r.t. input t
  std::vector<std::vector<Vec>> d;   // [o][t] = J_ot v_t (central differences)
  double a(std::size_t o, std::size_t t) const { return dot(g[o][t], v[t]); }
  double n(std::size_t o, std::size_t t) const { return dot(u[o], d[o][t]); }
};

// ---- the checker --------------------------------------------------------------------------------
class Checker {
 public:
  Checker(const char* who, const GradcheckFn& f, const std::vector<Tensor>& inputs,
          const GradcheckOptions& opt, Labels labels);
  GradcheckResult run();

 private:
  // ---- evaluation (gradcheck.cpp) ----
  std::vector<Tensor> forward(const std::vector<Tensor>& leaves, bool first = false);
  std::vector<Vec> eval_numeric();
  std::vector<Vec> central_elem(std::size_t i, std::size_t k);
  std::vector<Vec> central_dir(std::size_t i, const Vec& dir);
  std::vector<Vec> difference(const std::vector<Vec>& plus, const std::vector<Vec>& minus) const;
  std::vector<Vec> vjp(std::size_t o, const Vec& u);

  bool close(double a, double n) const { return std::abs(a - n) <= opt_.atol + opt_.rtol * std::abs(n); }

  // Tolerance of a projection over an m×n block whose numerical value is `n`.
  double proj_tol(std::size_t m, std::size_t n, double num) const {
    return std::max(opt_.atol * std::sqrt(static_cast<double>(m) * static_cast<double>(n)) +
                        opt_.rtol * std::abs(num),
                    std::numeric_limits<double>::min());  // atol = 0 and num = 0: no 0/0
  }

  void note_errors(PairReport& p, double a, double n, bool failed) const;

  // ---- the checks (gradcheck.cpp) ----
  void check_properties();
  void full_mode();
  PairReport compare_full(std::size_t o, std::size_t t);
  void fast_mode();
  std::vector<Entry> localise(std::size_t o, std::size_t t, const Projection& pr);

  // ---- diagnoses and report (gradcheck_report.cpp) ----
  struct PairNames {  // the input and output of one Jacobian block, as the diagnoses name them
    const Shape& in_s;
    const Shape& out_s;
    std::size_t n, m;  // elements of the input, of the output
    std::string in_name, out_name;  // "label [shape]"
  };
  PairNames names_of(const PairReport& p) const;
  template <class MapA> bool matches(const Vec& A, const Vec& N, MapA map_a) const;
  void diagnose_full(PairReport& p);
  bool wrong_reduction_full(PairReport& p);
  bool wrong_reduction_fast(PairReport& p);
  void diagnose_fast(PairReport& p);
  void swapped_partials_full();
  void swapped_partials_fast();
  void diagnose_batch();
  std::string factor_text(double c, const Shape& in_s, const Shape& out_s, const std::string& in_name,
                          const std::string& out_name) const;
  std::string swapped_text(std::size_t t, std::size_t t2) const;
  std::string projection_summary(const PairReport& p, const Projection& pr) const;
  GradcheckResult finish();

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
  bool batch_probe_ = true;  // diagnose_batch may run a second check at batch size 1
};

}  // namespace ag::detail
