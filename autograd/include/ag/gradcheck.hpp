#pragma once
// Gradient checking: analytical derivatives (backward) against central finite differences in
// float64, with a report that says where and how a gradient is wrong.
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
  // elements only when that fails. Auto: used when an input has more than fast_threshold elements.
  enum class Mode { full, fast, automatic } mode = Mode::automatic;
  std::size_t fast_threshold = 2048;
  std::uint64_t seed = 0;       // random projections and grad_outputs
  std::size_t max_rows = 8;     // worst elements printed per failing (output, input) pair
  bool check_properties = true;  // shape/dtype, linearity in grad_output, determinism, no-grad inputs
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0.0;  // over all compared entries
  double max_rel_err = 0.0;
  std::string report;        // empty when ok; otherwise per failing pair: table + diagnosis
  explicit operator bool() const noexcept { return ok; }
};

// f takes the inputs and returns one or more outputs. Inputs must be float64 (convert with
// .to(ag::f64)); those with requires_grad are checked, the others must receive no gradient.
using GradcheckFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
using GradcheckFn1 = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
GradcheckResult gradcheck(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// The same check applied to the backward pass itself (through create_graph): second derivatives.
GradcheckResult gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});
GradcheckResult gradgradcheck(const GradcheckFn1& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace ag
