#pragma once
// Gradient checking: analytical derivatives (backward) against central finite differences in
// float64, with a report that says where and how a gradient is wrong.
//
//   auto r = ag::gradcheck([](const std::vector<ag::Tensor>& x) { return ag::exp(x[0]) * x[1]; },
//                          {a, b});          // a, b: float64, requires_grad on those to check
//   if (!r) std::cout << r.report;
//
// What is checked, for every (output, input) pair with the input requiring grad:
//   J_num[j, k] = (f(x + eps·e_k)[j] - f(x - eps·e_k)[j]) / (2·eps)   (inputs perturbed in place on
//   private copies and restored exactly) against J_ana[j, k] = (vjp of f at one-hot e_j)[k]; an entry
//   passes when |J_ana - J_num| <= atol + rtol·|J_num|. Fast mode compares random projections
//   <u, J v> (J v by central differences along v) with <vjp(u), v> instead, and only when a
//   projection fails searches (bisection over input, then output elements) for the worst entries.
// With check_properties it also checks that backward is linear in grad_output (zero in -> zero
// out, 2u -> twice), deterministic, gives gradients with the inputs' shapes and dtypes, agrees
// with Tensor::backward, and leaves .grad undefined on inputs that do not require grad.
// A failing (output, input) pair is reported with its worst entries (multi-indices, analytical,
// numerical, abs and rel err) and, where recognised, a diagnosis: non-finite values, zero where it
// should not be, sign flipped, off by a constant factor (naming the broadcast count when it is
// one), backward ignoring grad_output, transposed (the input's last two axes), output axes
// permuted (a broadcast gradient summed over the wrong axis), a broadcast input's partials reduced
// over the wrong axis (naming the axes it should be and was reduced over), a broadcast reduced
// wrongly, swapped partials. Cost in full mode: 2 calls of f per input element, 1 backward per output
// element; fast mode: 2 calls of f per input and 1 backward per output, per projection.
//
// Kinks: finite differences are meaningless across a non-differentiable point (relu/abs at 0,
// max ties, sqrt/log at 0). Callers choose inputs at least a few eps away from such points; the
// checker does not detect them. f must be deterministic and must not keep state between calls.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

struct GradcheckOptions {
  double eps = 1e-6;   // central-difference step
  double atol = 1e-5;  // pass when |analytical - numerical| <= atol + rtol·|numerical|
  double rtol = 1e-3;
  // Fast mode compares random projections <u, J v> with <vjp(u), v> and localises the failing
  // elements only when that fails. Auto: used when an input or an output has more than
  // fast_threshold elements. A projection over an m×n Jacobian passes when
  // |<vjp(u), v> - <u, J v>| <= atol·sqrt(m·n) + rtol·|<u, J v>| (u, v standard normal).
  enum class Mode { full, fast, automatic } mode = Mode::automatic;
  std::size_t fast_threshold = 2048;
  std::size_t fast_projections = 2;  // independent (u, v) pairs per check; >= 2 lets the report
                                     // name a constant factor with confidence
  std::uint64_t seed = 0;       // random projections and grad_outputs
  std::size_t max_rows = 8;     // worst elements printed per failing (output, input) pair
  bool check_properties = true;  // shape/dtype, linearity in grad_output, determinism, no-grad inputs
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0.0;  // over all compared entries (fast mode: over the projections)
  double max_rel_err = 0.0;  // |ana - num| / |num| over entries with |num| > atol and over every
                             // failing entry (inf where num = 0)
  std::string report;        // empty when ok; otherwise per failing pair: table + diagnosis
  bool fast = false;         // the Jacobians were compared by random projections (fast mode)
  explicit operator bool() const noexcept { return ok; }
};

// f takes the inputs and returns one or more outputs. Inputs must be float64 (convert with
// .to(ag::f64)); those with requires_grad are checked, the others must receive no gradient.
// Outputs must be float64 too. f receives private copies of the inputs (leaves with the same
// requires_grad), never the caller's tensors. Errors thrown by f propagate; errors thrown by
// backward (e.g. a VJP returning a gradient of the wrong shape) make the check fail with the
// message in the report.
using GradcheckFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
using GradcheckFn1 = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
GradcheckResult gradcheck(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// The same check applied to the backward pass itself (through create_graph): second derivatives.
// Checks h(x..., u...) = vjp_f(x)(u) = ag::grad(f(x), x, u, create_graph=true) with gradcheck, where
// one u per differentiable output of f is an extra input (standard normal, from options.seed).
// Outputs of h are "d<u, f>/d(input i)"; inputs past those of f are the u's.
GradcheckResult gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});
GradcheckResult gradgradcheck(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace ag
