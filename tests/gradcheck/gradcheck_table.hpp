#pragma once
// The op table behind the gradcheck suite. One row = one public op under one set of input
// shapes, expanded by GRADCHECK_ROW into its own doctest TEST_CASE (doctest 2.4.9's SUBCASE
// loops over tables are unreliable) that runs ag::gradcheck and ag::gradgradcheck in float64,
// and checks that first-order backward gives the same result with and without create_graph.
//
//   GRADCHECK_ROW(softmax, "axis 0 and -1",
//                 gct::row([](const gct::Ts& x) -> gct::Ts { return {ag::softmax(x[0], 0), ...}; },
//                          {gct::any({3, 4})}));
//
// A row may return several outputs (one per shape case: same shapes, broadcasting, 0-d) so one
// TEST_CASE covers them all. Inputs come from a domain that keeps finite differences away from
// kinks (positive for log/sqrt, nonzero for abs/relu, spread = distinct values for max/clamp).
// Every row registers its op name; test_gradcheck_table_meta.cpp fails when an op declared in
// ag/ops.hpp has no row and is not listed as non-differentiable.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "ag/ag.hpp"
#include "ag/doctest_gradcheck.hpp"

namespace gct {

using Ts = std::vector<ag::Tensor>;

// ---- input domains --------------------------------------------------------------------------------
enum class Kind { uniform, nonzero, spread };

struct Input {
  ag::Shape shape;
  Kind kind = Kind::uniform;
  double lo = -1.5, hi = 1.5;  // uniform range; nonzero: magnitudes in [lo, hi]
  bool requires_grad = true;
};

inline Input any(ag::Shape s) { return {std::move(s), Kind::uniform, -1.5, 1.5}; }
inline Input uniform(ag::Shape s, double lo, double hi) { return {std::move(s), Kind::uniform, lo, hi}; }
inline Input positive(ag::Shape s) { return {std::move(s), Kind::uniform, 0.5, 2.0}; }
// |x| in [0.2, 1.5] with a random sign: at least 0.2 from the kink at 0
inline Input nonzero(ag::Shape s) { return {std::move(s), Kind::nonzero, 0.2, 1.5}; }
// distinct values in (-1.5, 1.5), pairwise at least 2.4/n apart and none within 0.45/n of 0:
// no ties for max/min, no kink at 0 (n = number of elements)
inline Input spread(ag::Shape s) { return {std::move(s), Kind::spread, -1.5, 1.5}; }
inline Input constant(Input in) {  // not differentiated (requires_grad false)
  in.requires_grad = false;
  return in;
}

inline std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

inline ag::Tensor make_input(const Input& in, ag::Generator& gen) {
  std::size_t n = 1;
  for (std::size_t d : in.shape) n *= d;
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
  return ag::Tensor(std::move(v), in.requires_grad);
}

// ---- rows ------------------------------------------------------------------------------------------------
struct Row {
  ag::GradcheckFn f;
  std::vector<Input> inputs;
  ag::GradcheckOptions options{};
  bool gradgrad = true;

  Row& tol(double atol, double rtol) {
    options.atol = atol;
    options.rtol = rtol;
    return *this;
  }
  Row& eps(double e) {
    options.eps = e;
    return *this;
  }
  Row& first_order_only() {  // for ops whose 2nd derivative is checked elsewhere or undefined
    gradgrad = false;
    return *this;
  }
};

// f returns one Tensor or a vector of them.
template <class F> Row row(F f, std::vector<Input> inputs) {
  Row r;
  if constexpr (std::is_same_v<std::decay_t<std::invoke_result_t<F&, const Ts&>>, ag::Tensor>)
    r.f = [f](const Ts& x) -> Ts { return {f(x)}; };
  else
    r.f = f;
  r.inputs = std::move(inputs);
  return r;
}

// Ops may run a fused first-order VJP and an ag-op one under create_graph; gradgradcheck only
// checks the latter's own derivatives, so the two first-order results are compared here.
inline void check_create_graph_agrees(const Row& r, const Ts& xs, ag::Generator& gen) {
  Ts wrt;
  for (const ag::Tensor& x : xs)
    if (x.requires_grad()) wrt.push_back(x);
  const Ts outs = r.f(xs);
  Ts us;
  for (const ag::Tensor& y : outs) us.push_back(ag::randn(y.shape(), gen, ag::f64));
  const Ts plain = ag::grad(outs, wrt, us, true, false, true);
  const Ts graph = ag::grad(outs, wrt, us, true, true, true);
  REQUIRE(plain.size() == graph.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    REQUIRE(plain[i].defined() == graph[i].defined());
    if (!plain[i].defined()) continue;
    const auto& a = plain[i].value<double>();
    const auto& b = graph[i].value<double>();
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k)
      worst = std::max(worst, std::abs(a.data()[k] - b.data()[k]) / (1.0 + std::abs(a.data()[k])));
    CHECK_MESSAGE(worst <= 1e-10, "input " << i << ": backward with and without create_graph differ by " << worst);
  }
}

inline void run(const std::string& name, const Row& r) {
  ag::Generator gen(fnv1a(name));  // each row its own reproducible inputs
  Ts xs;
  for (const Input& in : r.inputs) xs.push_back(make_input(in, gen));
  CHECK_GRADCHECK(r.f, xs, r.options);
  if (!r.gradgrad) return;
  CHECK_GRADGRADCHECK(r.f, xs, r.options);
  check_create_graph_agrees(r, xs, gen);
}

// ---- coverage registry ---------------------------------------------------------------------------------------
inline std::multiset<std::string>& covered() {
  static std::multiset<std::string> ops;
  return ops;
}
inline bool cover(const char* op) {
  covered().insert(op);
  return true;
}

// Every row, by its test name, for suites that run another check over the whole table (the
// functional transforms' jvp against jacobian·t). The row is built when asked for.
struct RegisteredRow {
  std::string name;
  Row (*make)();
};
inline std::vector<RegisteredRow>& registered_rows() {
  static std::vector<RegisteredRow> rows;
  return rows;
}
inline bool register_row(const char* op, const char* name, Row (*make)()) {
  cover(op);
  registered_rows().push_back({name, make});
  return true;
}

// A float64 tensor with the given values (index arrays, masks); never differentiated.
inline ag::Tensor values(std::vector<double> v, const ag::Shape& s) {
  xt::xarray<double> a = xt::xarray<double>::from_shape(s);
  std::copy(v.begin(), v.end(), a.begin());
  return ag::Tensor(std::move(a));
}

}  // namespace gct

#define GCT_CAT2_(a, b) a##b
#define GCT_CAT_(a, b) GCT_CAT2_(a, b)
// One TEST_CASE named "gradcheck <op>: <label>" running the row built by the trailing expression.
#define GRADCHECK_ROW(op, label, ...) GCT_ROW_(op, label, GCT_CAT_(gct_row_, __COUNTER__), __VA_ARGS__)
#define GCT_ROW_(op, label, id, ...)                                                                 \
  static ::gct::Row GCT_CAT_(id, _make)() { return __VA_ARGS__; }                                  \
  static const bool GCT_CAT_(id, _registered) =                                                      \
      ::gct::register_row(#op, "gradcheck " #op ": " label, &GCT_CAT_(id, _make));                  \
  TEST_CASE("gradcheck " #op ": " label) { ::gct::run("gradcheck " #op ": " label, GCT_CAT_(id, _make)()); }

// Row bodies shared by the family tables.
// A binary op on inputs a, b [2,3]; c [2,1]; d [3]; e 0-d: same shapes, broadcast both ways, 0-d.
#define GCT_BINARY_CASES(op) \
  [](const ::gct::Ts& x) -> ::gct::Ts { return {op(x[0], x[1]), op(x[2], x[3]), op(x[4], x[0])}; }
// A unary op on a [2,3] and a 0-d input drawn from `domain`.
#define GCT_UNARY_ROW(op, domain)                                                                    \
  GRADCHECK_ROW(op, "[2,3] and 0-d",                                                                 \
                ::gct::row([](const ::gct::Ts& x) -> ::gct::Ts { return {ag::op(x[0]), ag::op(x[1])}; }, \
                           {::gct::domain({2, 3}), ::gct::domain({})}))
// The same with a label and extra arguments after the input (", 0.3" for a slope).
#define GCT_UNARY_WITH(op, domain, label, ...)                                                       \
  GRADCHECK_ROW(op, label,                                                                           \
                ::gct::row([](const ::gct::Ts& x) -> ::gct::Ts {                                     \
                  return {ag::op(x[0] __VA_ARGS__), ag::op(x[1] __VA_ARGS__)};                       \
                }, {::gct::domain({2, 3}), ::gct::domain({})}))
