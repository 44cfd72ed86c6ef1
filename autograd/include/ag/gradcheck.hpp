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
// wrongly, swapped partials, right only at batch size 1 (the check is repeated with the inputs'
// leading axis cut to length 1: a VJP that misses a reduction over the batch axis passes there). Cost in full mode: 2 calls of f per input element, 1 backward per output
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
  // When the check fails, repeat it with the inputs' leading axis (of a length B > 1 taken from
  // an input of rank >= 2) cut to 1, to diagnose a VJP right only at batch size 1. Turn it off
  // when the leading axes are not batch axes and f must not see other shapes.
  bool diagnose_batch = true;
};

// One entry of a Jacobian block: ∂ output[output_element] / ∂ input[input_element] (flat,
// row-major element indices).
struct GradcheckEntry {
  std::size_t output = 0, input = 0;  // output index, input index (position in the inputs passed)
  std::size_t output_element = 0, input_element = 0;
  double analytical = 0.0, numerical = 0.0;
};

// The Jacobian block of one output w.r.t. one input that requires grad, as data.
struct GradcheckBlock {
  std::size_t output = 0, input = 0;  // output index, input index (position in the inputs passed)
  Shape output_shape, input_shape;
  bool ok = true;
  std::size_t failed = 0, compared = 0;  // entries (full mode) or projections (fast mode)
  double max_abs_err = 0.0, max_rel_err = 0.0;
  // Full mode: the whole blocks, row-major [output element][input element], i.e.
  // analytical[j·numel(input) + k] = ∂ output[j] / ∂ input[k] from backward, numerical from
  // central differences. Empty in fast mode (only projections were computed).
  std::vector<double> analytical, numerical;
  std::vector<GradcheckEntry> worst;   // failing blocks: worst entries, largest error first
                                       // (fast mode: those found by bisection); at most max_rows
  std::vector<std::string> diagnoses;  // failing blocks: what the report says about the error
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0.0;  // over all compared entries (fast mode: over the projections)
  double max_rel_err = 0.0;  // |ana - num| / |num| over entries with |num| > atol and over every
                             // failing entry (inf where num = 0)
  std::string report;        // empty when ok; otherwise per failing pair: table + diagnosis
  bool fast = false;         // the Jacobians were compared by random projections (fast mode)
  // Every (output, differentiable input) block, output-major, failing or not; and the failed
  // properties of backward (check_properties), one sentence each.
  std::vector<GradcheckBlock> blocks;
  std::vector<std::string> property_failures;
  explicit operator bool() const noexcept { return ok; }
  // The block of output `output` w.r.t. input `input` (position in the inputs passed); nullptr
  // when that input does not require grad or the index is out of range.
  const GradcheckBlock* block(std::size_t output, std::size_t input) const noexcept {
    for (const GradcheckBlock& b : blocks)
      if (b.output == output && b.input == input) return &b;
    return nullptr;
  }
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

// Forward/reverse consistency: for random u (one per output) and t (one per input that requires
// grad), <u, J·t> with J·t from ag::jvp must equal <vjp(u), t> = Σ_i <(uᵀJ)_i, t_i> from ag::vjp.
// jvp runs the VJP of the VJP (double-VJP identity), so this checks that every VJP on the path is
// linear in its cotangent and recorded with ag ops: a VJP that detaches or reads g outside the
// tape gives a wrong J·t while backward stays right. No finite differences: any float dtype.
// A trial passes when |fwd - rev| <= atol + rtol·scale, scale = Σ|u|·|J·t| + Σ|vjp(u)|·|t|
// (elementwise), so cancellation in the sums does not make it fail. Inputs that do not require
// grad are held fixed; outputs that are not floating (indices, masks) are ignored.
struct JvpVjpOptions {
  std::size_t trials = 2;
  double atol = 1e-12, rtol = 1e-9;  // float64; for float32 use rtol ~1e-4
  std::uint64_t seed = 0;
};
struct JvpVjpTrial {
  double forward = 0.0;  // Σ_o <u_o, (J·t)_o>, from ag::jvp
  double reverse = 0.0;  // Σ_i <vjp(u)_i, t_i>, from ag::vjp
  double tolerance = 0.0;
  bool ok = true;
};
struct JvpVjpResult {
  bool ok = true;
  double max_abs_err = 0.0;  // max |forward - reverse| over the trials
  std::vector<JvpVjpTrial> trials;
  // Empty when ok; otherwise the failing trials and, for the worst one, the (output, input) pairs
  // whose terms <u_o, J_oi t_i> and <(u_oᵀ J_oi), t_i> differ.
  std::string report;
  explicit operator bool() const noexcept { return ok; }
};
JvpVjpResult check_jvp_vjp(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                           const JvpVjpOptions& options = {});
JvpVjpResult check_jvp_vjp(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                           const JvpVjpOptions& options = {});

}  // namespace ag
