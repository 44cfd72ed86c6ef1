#pragma once
// A per-op test table for libraries of ops built on tapegrad (the one tapegrad runs on itself).
// One row = one op under one set of input shapes; check_row runs, in float64:
//   - ag::gradcheck and ag::gradgradcheck (first and second derivatives against central differences),
//   - first-order backward with and without create_graph (a fused first-order VJP against the
//     ag-op one that second order differentiates),
//   - forward/reverse consistency <u, J·t> (ag::jvp) = <vjp(u), t> (ag::vjp) for random u, t,
//   - where the row asks for it (.broadcast()): each chosen input again with broadcast shapes
//     (leading axis dropped, last axis of length 1, 0-d), through gradcheck and gradgradcheck,
//   - where the row gives a reference (.against(composed)): the op against that composition of
//     other ops, values and first and second derivatives (check_fused).
// Rows register under their op's name; completeness_problems compares the registered names with
// the user's list of ops (declared_ops reads the names off a header's text).
//
//   using namespace ag::testing;
//   Row r = row([](const Tensors& x) { return my::swish(x[0]); }, {any({2, 3})})
//               .against([](const Tensors& x) { return x[0] * ag::sigmoid(x[0]); });
//   RowResult res = check_row("swish", r);          // res.ok(), res.report()
//
// With doctest, ag/doctest_op_table.hpp turns each row into a TEST_CASE (AG_OP_ROW) and adds the
// completeness test (AG_OP_TABLE_COMPLETE). Inputs come from domains that keep finite differences
// away from kinks: positive for log/sqrt, nonzero for abs/relu, spread (distinct, no ties) for
// max/sort. Each row's inputs are drawn from a generator seeded by its name: reproducible.
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "ag/gradcheck.hpp"
#include "ag/random.hpp"
#include "ag/tensor.hpp"

namespace ag::testing {

using Tensors = std::vector<Tensor>;

// ---- input domains --------------------------------------------------------------------------------
enum class Kind { uniform, nonzero, spread };

struct Input {
  Shape shape;
  Kind kind = Kind::uniform;
  double lo = -1.5, hi = 1.5;  // uniform: the range; nonzero: the magnitudes' range
  bool requires_grad = true;
};

inline Input any(Shape s) { return {std::move(s), Kind::uniform, -1.5, 1.5}; }  // uniform in [-1.5, 1.5)
inline Input uniform(Shape s, double lo, double hi) { return {std::move(s), Kind::uniform, lo, hi}; }
inline Input positive(Shape s) { return {std::move(s), Kind::uniform, 0.5, 2.0}; }  // in [0.5, 2)
// |x| in [0.2, 1.5] with a random sign: at least 0.2 from the kink at 0
inline Input nonzero(Shape s) { return {std::move(s), Kind::nonzero, 0.2, 1.5}; }
// distinct values in (-1.5, 1.5), pairwise at least 2.4/n apart and none within 0.45/n of 0: no
// ties for max/min/sort, no kink at 0 (n = number of elements)
inline Input spread(Shape s) { return {std::move(s), Kind::spread, -1.5, 1.5}; }
inline Input constant(Input in) {  // an input that is not differentiated (requires_grad false)
  in.requires_grad = false;
  return in;
}

// A float64 leaf drawn from the domain (requires_grad as the Input says).
Tensor make_input(const Input& in, Generator& gen);
// A float64 tensor with the given values, row-major (index arrays, masks); never differentiated.
Tensor values(const std::vector<double>& v, const Shape& s);
// The seed of a row's generator: FNV-1a of its name.
std::uint64_t seed_of(const std::string& name);

// ---- rows -------------------------------------------------------------------------------------------
struct Row {
  GradcheckFn f;              // the op under test: inputs -> one or more outputs
  std::vector<Input> inputs;
  GradcheckOptions options{};
  bool gradgrad = true;       // gradgradcheck (and the create_graph comparison)
  bool jvp_vjp = true;        // the forward/reverse consistency check
  bool broadcast_cases = false;
  std::vector<std::size_t> broadcast_inputs;  // empty with broadcast_cases: every differentiable input
  GradcheckFn reference;      // the composed form the op must agree with (empty: none)
  JvpVjpOptions jvp_options{};  // tolerances of the jvp/vjp check (the seed comes from the row's name)

  Row& tol(double atol, double rtol) {
    options.atol = atol;
    options.rtol = rtol;
    return *this;
  }
  Row& eps(double e) {
    options.eps = e;
    return *this;
  }
  Row& first_order_only() {  // for ops whose second derivative is checked elsewhere or undefined
    gradgrad = false;
    return *this;
  }
  Row& jvp_tol(double atol, double rtol) {  // e.g. for rows that round through float32
    jvp_options.atol = atol;
    jvp_options.rtol = rtol;
    return *this;
  }
  Row& no_jvp_vjp() {
    jvp_vjp = false;
    return *this;
  }
  // Also check the op with broadcast shapes of these inputs (default: every differentiable one):
  // each in turn with its leading axis dropped, its last axis of length 1 and 0-d, the others
  // as given. For ops that broadcast their operands (elementwise binary ops).
  Row& broadcast(std::vector<std::size_t> which = {}) {
    broadcast_cases = true;
    broadcast_inputs = std::move(which);
    return *this;
  }
  // The op must equal this composition of other ops: values, first and second derivatives.
  template <class F> Row& against(F composed);
};

namespace detail {
template <class F> GradcheckFn as_list_fn(F f) {
  if constexpr (std::is_same_v<std::decay_t<std::invoke_result_t<F&, const Tensors&>>, Tensor>)
    return [f](const Tensors& x) -> Tensors { return {f(x)}; };
  else
    return GradcheckFn(std::move(f));
}
}  // namespace detail

// f takes the inputs (const std::vector<Tensor>&) and returns one Tensor or a vector of them.
template <class F> Row row(F f, std::vector<Input> inputs) {
  Row r;
  r.f = detail::as_list_fn(std::move(f));
  r.inputs = std::move(inputs);
  return r;
}
template <class F> Row& Row::against(F composed) {
  reference = detail::as_list_fn(std::move(composed));
  return *this;
}

// ---- checking a row ------------------------------------------------------------------------------
struct RowCheck {
  std::string what;    // "gradcheck", "gradgradcheck", "create_graph agrees", "jvp/vjp",
                       // "broadcast input 1 [3]", "against reference", ...
  bool ok = true;
  std::string report;  // empty when ok
};
struct RowResult {
  std::string name;
  std::vector<RowCheck> checks;
  bool ok() const noexcept;
  std::string report() const;  // the failing checks' reports, each under its name
};
// Runs every check the row asks for, with inputs drawn from a generator seeded by `name`.
RowResult check_row(const std::string& name, const Row& r);

// ---- fused op against a composition --------------------------------------------------------------
struct FusedOptions {
  double atol = 1e-10, rtol = 1e-8;  // |a - b| <= atol + rtol·|b|, b from the composition
  std::uint64_t seed = 0;            // the random cotangents u, w
};
struct FusedResult {
  bool ok = true;
  double value_err = 0.0;   // max |fused - composed| over the outputs' values
  double grad_err = 0.0;    // ... over vjp(u) = ∂<u, f>/∂x (first order, no create_graph)
  double grad_cg_err = 0.0; // ... over the same under create_graph
  double grad2_err = 0.0;   // ... over ∂<w, vjp(u)>/∂x and ∂<w, vjp(u)>/∂u (second order)
  std::string report;       // empty when ok: which comparison failed, where and by how much
  explicit operator bool() const noexcept { return ok; }
};
// fused and composed take the same inputs (those with requires_grad are differentiated) and
// return the same number of outputs of the same shapes. Inputs are copied: the caller's tensors
// and their .grad are not touched.
FusedResult check_fused(const GradcheckFn& fused, const GradcheckFn& composed, const Tensors& inputs,
                        const FusedOptions& options = {});

// ---- registry and completeness -------------------------------------------------------------------
struct RegisteredRow {
  std::string op;    // the op's name, as in the user's list of ops
  std::string name;  // the row's name (the test case's)
  Row (*make)();     // builds the row
};
// Every row registered in this program (AG_OP_ROW registers at static initialisation).
std::vector<RegisteredRow>& registered_rows();
void register_row(const std::string& op, const std::string& name, Row (*make)());
// The op names with at least one row, each as often as it has rows.
std::multiset<std::string> covered_ops();

// Names of the functions a header declares that return Tensor, std::vector<Tensor> or one of
// `extra_return_types` (comments are skipped; operators and other declarations are not listed).
std::set<std::string> declared_ops(const std::string& header_text,
                                   const std::vector<std::string>& extra_return_types = {});
// declared_ops over every *.hpp file in a folder (not recursive); throws ValueError when it cannot
// be read.
std::set<std::string> declared_ops_in(const std::string& folder,
                                      const std::vector<std::string>& extra_return_types = {});
// Empty when every op in `ops` has a registered row or is in `exempt` (non-differentiable ops);
// otherwise one sentence per problem: an op without a row, an exempt op with a row, a row or an
// exemption for a name that is not in `ops`.
std::vector<std::string> completeness_problems(const std::set<std::string>& ops,
                                               const std::set<std::string>& exempt = {});

}  // namespace ag::testing
