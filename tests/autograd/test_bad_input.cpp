// Bad-input catalogue (core): every binary op with mismatched shapes and with mixed dtypes, matmul
// (plain and batched), autograd misuse (backward twice, non-scalar backward, grad of a tensor that
// does not require grad, allow_unused), and bad arguments to the shape and indexing ops. Each case
// must raise the documented ag:: exception type (errors.hpp / README "Errors"), with a message
// naming the op and the shapes or dtypes, and must leave the user's tensors as they were (values,
// versions, .grad) and record nothing. test_errors.cpp has the worked single cases; this file is
// the table that covers every op.
#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

using ag::Tensor;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

enum class Kind { shape, dtype, grad, index, value };
std::string kind_name(Kind k) {
  switch (k) {
    case Kind::shape: return "ShapeError";
    case Kind::dtype: return "DtypeError";
    case Kind::grad: return "GradError";
    case Kind::index: return "IndexError";
    default: return "ValueError";
  }
}

// Runs f; returns the message if it threw exactly the expected kind, and fails the check otherwise.
std::string expect_error(Kind kind, const std::function<void()>& f) {
  try {
    f();
  } catch (const ag::ShapeError& e) {
    if (kind == Kind::shape) return e.what();
    FAIL_CHECK("expected " << kind_name(kind) << ", got ShapeError: " << std::string(e.what()));
    return "";
  } catch (const ag::DtypeError& e) {
    if (kind == Kind::dtype) return e.what();
    FAIL_CHECK("expected " << kind_name(kind) << ", got DtypeError: " << std::string(e.what()));
    return "";
  } catch (const ag::GradError& e) {
    if (kind == Kind::grad) return e.what();
    FAIL_CHECK("expected " << kind_name(kind) << ", got GradError: " << std::string(e.what()));
    return "";
  } catch (const ag::IndexError& e) {
    if (kind == Kind::index) return e.what();
    FAIL_CHECK("expected " << kind_name(kind) << ", got IndexError: " << std::string(e.what()));
    return "";
  } catch (const ag::ValueError& e) {
    if (kind == Kind::value) return e.what();
    FAIL_CHECK("expected " << kind_name(kind) << ", got ValueError: " << std::string(e.what()));
    return "";
  } catch (const std::exception& e) {
    FAIL_CHECK("expected " << kind_name(kind) << ", got another exception: " << std::string(e.what()));
    return "";
  }
  FAIL_CHECK("expected " << kind_name(kind) << ", nothing was thrown");
  return "";
}

void check_parts(const std::string& msg, const std::vector<std::string>& parts) {
  INFO("message: " << msg);
  for (const auto& p : parts) CHECK_MESSAGE(contains(msg, p), "missing '" << p << "'");
}

// What a failed op must not change: the operands' values, versions and .grad, and the tape.
struct Unchanged {
  std::vector<Tensor> ts;
  std::vector<xt::xarray<double>> values;
  std::vector<std::uint64_t> versions;
  std::vector<bool> had_grad;
  std::size_t live;
  explicit Unchanged(std::vector<Tensor> t) : ts(std::move(t)), live(ag::live_node_count()) {
    for (const auto& x : ts) {
      values.push_back(x.to_xarray<double>());
      versions.push_back(x.version());
      had_grad.push_back(x.grad().defined());
    }
  }
  void check() const {
    CHECK(ag::live_node_count() == live);  // nothing was recorded
    for (std::size_t i = 0; i < ts.size(); ++i) {
      CHECK(ts[i].to_xarray<double>() == values[i]);
      CHECK(ts[i].version() == versions[i]);
      CHECK(ts[i].grad().defined() == had_grad[i]);
    }
  }
};

using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
struct BinaryRow {
  const char* name;  // the op name the message must contain
  Binary f;
};

// Every binary tensor-tensor op in ag/ops.hpp (the operators map onto these names).
const std::vector<BinaryRow>& binary_rows() {
  static const std::vector<BinaryRow> rows = {
      {"add", [](const Tensor& a, const Tensor& b) { return ag::add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return ag::sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return ag::mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return ag::div(a, b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return ag::pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return ag::maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return ag::minimum(a, b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return ag::eq(a, b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ag::ne(a, b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return ag::lt(a, b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return ag::le(a, b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return ag::gt(a, b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ag::ge(a, b); }},
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {"where", [](const Tensor& a, const Tensor& b) { return ag::where(ag::ones({1}, a.dtype()), a, b); }},
      {"matmul", [](const Tensor& a, const Tensor& b) { return ag::matmul(a, b); }},
  };
  return rows;
}

}  // namespace

TEST_CASE("bad input: every binary op with shapes that do not broadcast raises ShapeError naming op and shapes") {
  struct Pair {
    ag::Shape a, b;
  };
  // [2, 3] vs [4, 3]: same rank; [2, 3] vs [2]: trailing axis; [2, 1, 3] vs [4, 2]; 0-size vs 2
  const std::vector<Pair> pairs = {{{2, 3}, {4, 3}}, {{2, 3}, {2}}, {{2, 1, 3}, {4, 2}}, {{0, 3}, {2, 3}}};
  for (const BinaryRow& row : binary_rows()) {
    if (std::string(row.name) == "matmul") continue;  // its own rules: next test
    for (const Pair& p : pairs) {
      for (bool grad : {false, true}) {
        for (bool swap : {false, true}) {
          Tensor a = ag::full(p.a, 0.5, ag::f64, grad), b = ag::full(p.b, 1.5, ag::f64, grad);
          if (swap) std::swap(a, b);
          INFO(std::string(row.name) << "(" << ag::shape_str(a.shape()) << ", " << ag::shape_str(b.shape()) << ")"
                        << (grad ? " requires_grad" : ""));
          const Unchanged before({a, b});
          const std::string msg = expect_error(Kind::shape, [&] { row.f(a, b); });
          check_parts(msg, {std::string(row.name), ag::shape_str(a.shape()), ag::shape_str(b.shape())});
          before.check();
        }
      }
    }
  }
}

TEST_CASE("bad input: where with a condition that does not broadcast raises ShapeError") {
  const Tensor x = ag::ones({2, 3}, ag::f64, true), y = ag::zeros({2, 3}, ag::f64, true);
  const Unchanged before({x, y});
  const std::string msg = expect_error(Kind::shape, [&] { ag::where(ag::ones({4}), x, y); });
  check_parts(msg, {"where", "[4]", "[2, 3]"});
  before.check();
}

TEST_CASE("bad input: matmul (1-D, 2-D, batched, matmul_t) with mismatched shapes raises ShapeError") {
  struct Case {
    ag::Shape a, b;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {{2, 3}, {2, 3}, {"[2, 3]"}},                           // inner 3 vs 2
      {{3}, {4}, {"[3]", "[4]"}},                             // dot of different lengths
      {{2, 3}, {4}, {"[2, 3]", "[4]"}},                       // matrix · vector
      {{4}, {3, 2}, {"[4]", "[3, 2]"}},                       // vector · matrix
      {{5, 2, 3}, {5, 4, 2}, {"[5, 2, 3]", "[5, 4, 2]"}},     // batched, inner
      {{2, 2, 3}, {3, 3, 4}, {"[2]", "[3]"}},                 // batch axes do not broadcast
      {{}, {3}, {"[]", "[3]"}},                               // 0-d operand
      {{3}, {}, {"[3]", "[]"}},
  };
  for (const Case& c : cases) {
    for (ag::DType d : {ag::f32, ag::f64}) {
      const Tensor a = ag::ones(c.a, d, true), b = ag::ones(c.b, d, true);
      INFO("matmul(" << ag::shape_str(c.a) << ", " << ag::shape_str(c.b) << ") " << ag::dtype_name(d));
      const Unchanged before({a, b});
      const std::string msg = expect_error(Kind::shape, [&] { ag::matmul(a, b); });
      std::vector<std::string> parts = c.parts;
      parts.push_back("matmul");
      check_parts(msg, parts);
      before.check();
    }
  }
  // the batch case that is fine: [2, 1, 2, 3] · [4, 3, 2] -> [2, 4, 2, 2]
  CHECK(ag::matmul(ag::ones({2, 1, 2, 3}), ag::ones({4, 3, 2})).shape() == ag::Shape{2, 4, 2, 2});
  // matmul_t: the transposed inner dimensions must agree too
  const Tensor a = ag::ones({2, 3}), b = ag::ones({2, 4});
  check_parts(expect_error(Kind::shape, [&] { ag::matmul_t(a, b, false, true); }), {"matmul", "[2, 3]", "[2, 4]"});
  CHECK(ag::matmul_t(a, b, true, false).shape() == ag::Shape{3, 4});
  check_parts(expect_error(Kind::shape, [&] { ag::matmul_t(ag::ones({3}), b, false, false); }), {"matmul_t", "[3]"});
}

TEST_CASE("bad input: every binary op with float32 and float64 operands raises DtypeError naming op and dtypes") {
  for (const BinaryRow& row : binary_rows()) {
    for (bool grad : {false, true}) {
      for (bool f32_first : {true, false}) {
        // same shapes, so only the dtype is wrong (matmul: [2, 2] · [2, 2])
        const Tensor f = ag::full({2, 2}, 0.5, ag::f32, grad), d = ag::full({2, 2}, 1.5, ag::f64, grad);
        const Tensor& a = f32_first ? f : d;
        const Tensor& b = f32_first ? d : f;
        INFO(std::string(row.name) << "(" << ag::dtype_name(a.dtype()) << ", " << ag::dtype_name(b.dtype()) << ")"
                      << (grad ? " requires_grad" : ""));
        const Unchanged before({a, b});
        const std::string msg = expect_error(Kind::dtype, [&] { row.f(a, b); });
        check_parts(msg, {std::string(row.name), "float32", "float64", "[2, 2]"});
        before.check();
      }
    }
  }
  // also when the shapes would broadcast: the dtype is reported, whatever else is wrong too
  check_parts(expect_error(Kind::dtype, [] { ag::add(ag::ones({2, 3}), ag::ones({3}, ag::f64)); }),
              {"add", "float32", "float64"});
}

TEST_CASE("bad input: backward twice without retain_graph raises GradError and keeps the first gradient") {
  Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  Tensor y = ag::sum(ag::exp(x) * x);
  y.backward();
  const xt::xarray<double> g1 = x.grad().to_xarray<double>();
  const std::string msg = expect_error(Kind::grad, [&] { y.backward(); });
  check_parts(msg, {"retain_graph", "already freed"});
  CHECK((contains(msg, "'mul'") || contains(msg, "'exp'") || contains(msg, "'sum'")));  // names an op
  CHECK(x.grad().to_xarray<double>() == g1);  // not accumulated again, not cleared
  // ag::grad through the freed graph: the same error
  check_parts(expect_error(Kind::grad, [&] { ag::grad({y}, {x}); }), {"retain_graph"});
  // with retain_graph the second backward accumulates
  Tensor z = ag::sum(ag::exp(x) * x);
  x.zero_grad();
  z.backward({}, true);
  z.backward();
  CHECK(x.grad().to_xarray<double>() == 2.0 * g1);
}

TEST_CASE("bad input: backward of a non-scalar without a gradient raises GradError naming the shape") {
  for (const ag::Shape& s : {ag::Shape{2, 3}, ag::Shape{2}, ag::Shape{0}}) {
    Tensor x = ag::ones(s, ag::f64, true);
    Tensor y = x * 2.0;
    INFO("y " << ag::shape_str(s));
    check_parts(expect_error(Kind::grad, [&] { y.backward(); }), {"not a scalar", ag::shape_str(s)});
    check_parts(expect_error(Kind::grad, [&] { ag::grad({y}, {x}); }), {"not a scalar", ag::shape_str(s)});
    CHECK_FALSE(x.grad().defined());
    // the graph was not consumed: the right call works afterwards
    y.backward(ag::ones(s, ag::f64));
    CHECK(x.grad().shape() == s);
  }
  // a gradient of the wrong shape or dtype names both
  Tensor x = ag::ones({2, 3}, ag::f64, true);
  Tensor y = x * 2.0;
  check_parts(expect_error(Kind::grad, [&] { y.backward(ag::ones({3, 2}, ag::f64)); }), {"[3, 2]", "[2, 3]"});
  check_parts(expect_error(Kind::grad, [&] { y.backward(ag::ones({2, 3}, ag::f32)); }), {"float32", "float64"});
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("bad input: grad and backward of tensors that do not require grad raise GradError") {
  Tensor x = ag::ones({2}, ag::f64, true), c = ag::ones({3}, ag::f64);
  Tensor y = ag::sum(x * x);
  // an input that does not require grad
  check_parts(expect_error(Kind::grad, [&] { ag::grad({y}, {c}); }), {"grad", "input 0", "[3]", "does not require grad"});
  check_parts(expect_error(Kind::grad, [&] { ag::grad({y}, {x, c}); }), {"input 1", "[3]"});
  // an output that does not require grad (constant, or computed under NoGradGuard)
  check_parts(expect_error(Kind::grad, [&] { ag::sum(c).backward(); }), {"backward", "does not require grad"});
  Tensor detached = ag::no_grad([&] { return ag::sum(x * x); });
  check_parts(expect_error(Kind::grad, [&] { detached.backward(); }), {"does not require grad"});
  check_parts(expect_error(Kind::grad, [&] { ag::grad({ag::sum(c * c)}, {x}); }), {"grad", "output 0"});
  // none of that touched x or consumed y's graph
  CHECK_FALSE(x.grad().defined());
  const auto g = ag::grad({y}, {x});
  CHECK(g[0].to_xarray<double>() == xt::xarray<double>{2.0, 2.0});
}

TEST_CASE("bad input: allow_unused, both ways") {
  Tensor x = ag::ones({2}, ag::f64, true), unused = ag::ones({2, 3}, ag::f64, true);
  Tensor y = ag::sum(ag::square(x));
  // without allow_unused: GradError naming the input and its shape; the graph is still usable
  const std::string msg = expect_error(Kind::grad, [&] { ag::grad({y}, {x, unused}, {}, true); });
  check_parts(msg, {"input 1", "[2, 3]", "allow_unused"});
  // with allow_unused: an undefined gradient for it, the right one for x
  const auto g = ag::grad({y}, {x, unused}, {}, true, false, true);
  REQUIRE(g.size() == 2);
  CHECK(g[0].to_xarray<double>() == xt::xarray<double>{2.0, 2.0});
  CHECK_FALSE(g[1].defined());
  // allow_unused does not hide a used input: both defined
  Tensor z = ag::sum(x * ag::sum(unused));
  const auto g2 = ag::grad({z}, {x, unused}, {}, false, false, true);
  CHECK(g2[0].defined());
  CHECK(g2[1].defined());
  CHECK(g2[1].shape() == ag::Shape{2, 3});
  CHECK_FALSE(x.grad().defined());  // ag::grad never touches .grad
  CHECK_FALSE(unused.grad().defined());
}

TEST_CASE("bad input: shape and indexing ops with bad arguments raise the documented type naming op and shape") {
  const Tensor x = ag::ones({2, 3}, ag::f64, true);
  struct Row {
    const char* what;
    Kind kind;
    std::function<void()> f;
    std::vector<std::string> parts;
  };
  const std::vector<Row> rows = {
      {"concat of different widths", Kind::shape, [&] { ag::concat({x, ag::ones({2, 4}, ag::f64)}, 0); }, {"concat", "[2, 3]", "[2, 4]"}},
      {"concat of mixed dtypes", Kind::dtype, [&] { ag::concat({x, ag::ones({2, 3})}, 0); }, {"concat", "float32", "float64"}},
      {"concat of nothing", Kind::value, [] { ag::concat({}, 0); }, {"concat"}},
      {"stack of different shapes", Kind::shape, [&] { ag::stack({x, ag::ones({3, 2}, ag::f64)}); }, {"stack", "[2, 3]", "[3, 2]"}},
      {"split into non-dividing sections", Kind::shape, [&] { ag::split(x, std::size_t{2}, 1); }, {"split", "[2, 3]"}},
      {"split sizes not summing to the axis", Kind::shape, [&] { ag::split(x, {1, 1}, 1); }, {"split", "[2, 3]"}},
      {"slice with step 0", Kind::value, [&] { ag::slice(x, 1, 0, 2, 0); }, {"slice", "step"}},
      {"slice on a bad axis", Kind::shape, [&] { ag::slice(x, 2, 0, 1); }, {"slice", "2"}},
      {"select out of range", Kind::index, [&] { ag::select(x, 1, 3); }, {"select", "3", "[2, 3]"}},
      {"select below range", Kind::index, [&] { ag::select(x, 0, -3); }, {"select", "-3", "[2, 3]"}},
      {"squeeze of a size-3 axis", Kind::shape, [&] { ag::squeeze(x, {1}); }, {"squeeze", "[2, 3]"}},
      {"unsqueeze out of range", Kind::shape, [&] { ag::unsqueeze(x, 4); }, {"unsqueeze", "4"}},
      {"flatten with start > end", Kind::shape, [&] { ag::flatten(x, 1, 0); }, {"flatten", "[2, 3]"}},
      {"expand to a smaller shape", Kind::shape, [&] { ag::expand(x, {3}); }, {"[2, 3]", "[3]"}},
      {"softmax on a bad axis", Kind::shape, [&] { ag::softmax(x, 2); }, {"softmax", "2"}},
      {"log_softmax on a bad axis", Kind::shape, [&] { ag::log_softmax(x, -3); }, {"log_softmax", "-3"}},
      {"index_select out of range", Kind::index, [&] { ag::index_select(x, 1, {0, 3}); }, {"index_select", "3", "[2, 3]"}},
      {"index_select fractional index", Kind::index, [&] { ag::index_select(x, 0, Tensor({0.5})); }, {"index_select", "0.5"}},
      {"index_select negative index", Kind::index, [&] { ag::index_select(x, 0, Tensor({-1.0})); }, {"index_select", "-1"}},
      {"take_along_axis out of range", Kind::index, [&] { ag::take_along_axis(x, ag::full({2, 1}, 3.0, ag::f64), 1); }, {"take_along_axis", "3"}},
      {"take_along_axis of another rank", Kind::shape, [&] { ag::take_along_axis(x, ag::zeros({2}, ag::f64), 1); }, {"take_along_axis", "[2, 3]", "[2]"}},
      {"one_hot index >= classes", Kind::index, [] { ag::one_hot({0, 4}, 4); }, {"one_hot", "4"}},
      {"max of an empty tensor", Kind::value, [] { ag::max(ag::zeros({0, 3})); }, {"max", "[0, 3]"}},
      {"argmax of an empty tensor", Kind::value, [] { ag::argmax(ag::zeros({0})); }, {"argmax", "[0]"}},
      {"unbiased var of one element", Kind::value, [] { ag::var(ag::ones({1, 3}), {0}); }, {"var", "[1, 3]"}},
      {"clamp with lo > hi", Kind::value, [&] { ag::clamp(x, 1.0, 0.0); }, {"clamp", "[2, 3]"}},
      {"reshape to a wrong size", Kind::shape, [&] { ag::reshape(x, {5}); }, {"reshape", "[2, 3]", "[5]"}},
      {"permute with a repeated axis", Kind::shape, [&] { ag::permute(x, {0, 0}); }, {"permute", "[0, 0]", "2 axes"}},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.what));
    const Unchanged before({x});
    check_parts(expect_error(r.kind, r.f), r.parts);
    before.check();
  }
}

TEST_CASE("bad input: rearranging, ordering and einsum ops with bad arguments raise the documented type naming op and shape") {
  const Tensor x = ag::ones({2, 3}, ag::f64, true);
  const Tensor v = ag::ones({3}, ag::f64, true);
  const Tensor s = ag::scalar(1.0, ag::f64, true);
  const Tensor u;  // undefined
  struct Row {
    const char* what;
    Kind kind;
    std::function<void()> f;
    std::vector<std::string> parts;
  };
  const std::size_t huge = std::size_t{1} << 40;
  const std::vector<Row> rows = {
      {"flip on a bad axis", Kind::shape, [&] { ag::flip(x, {2}); }, {"flip", "axis 2", "2-d"}},
      {"flip with a repeated axis", Kind::shape, [&] { ag::flip(x, {1, -1}); }, {"flip", "repeated", "[1, -1]"}},
      {"roll on a bad axis", Kind::shape, [&] { ag::roll(x, 1, -3); }, {"roll", "-3"}},
      {"roll with more shifts than axes", Kind::value, [&] { ag::roll(x, {1, 2}, {0}); }, {"roll", "[1, 2]", "[0]", "[2, 3]"}},
      {"tile to more elements than can exist", Kind::shape, [&] { ag::tile(x, {huge, huge}); }, {"tile", "2^60"}},
      {"repeat_interleave on a bad axis", Kind::shape, [&] { ag::repeat_interleave(x, 2, 2); }, {"repeat_interleave", "axis 2"}},
      {"repeat_interleave of a 0-d tensor", Kind::shape, [&] { ag::repeat_interleave(s, 2, 0); }, {"repeat_interleave", "0-d"}},
      {"triu of a vector", Kind::shape, [&] { ag::triu(v); }, {"triu", "[3]", "2 dims"}},
      {"tril of a 0-d tensor", Kind::shape, [&] { ag::tril(s, 1); }, {"tril", "[]"}},
      {"diag of a 3-D tensor", Kind::shape, [] { ag::diag(ag::ones({2, 2, 2})); }, {"diag", "[2, 2, 2]"}},
      {"diag of a 0-d tensor", Kind::shape, [&] { ag::diag(s); }, {"diag", "[]"}},
      {"sort on a bad axis", Kind::shape, [&] { ag::sort(x, 2); }, {"sort", "axis 2"}},
      {"sort of a 0-d tensor", Kind::shape, [&] { ag::sort(s); }, {"sort", "0-d"}},
      {"argsort on a bad axis", Kind::shape, [&] { ag::argsort(x, -3, true); }, {"argsort", "-3"}},
      {"topk with k > the axis' size", Kind::value, [&] { ag::topk(x, 4); }, {"topk", "k = 4", "[2, 3]", "size 3"}},
      {"topk on a bad axis", Kind::shape, [&] { ag::topk(x, 1, 2); }, {"topk", "axis 2"}},
      {"max_with_indices over an empty axis", Kind::value, [] { ag::max_with_indices(ag::zeros({2, 0}), 1); }, {"max_with_indices", "[2, 0]"}},
      {"min_with_indices on a bad axis", Kind::shape, [&] { ag::min_with_indices(x, 2); }, {"min_with_indices", "axis 2"}},
      {"max(x, axis) on a bad axis", Kind::shape, [&] { ag::max(x, 5); }, {"max", "axis 5"}},
      {"min(x, axis) over an empty axis", Kind::value, [] { ag::min(ag::zeros({0}), 0); }, {"min", "[0]"}},
      {"einsum with an ellipsis", Kind::value, [&] { ag::einsum("...ij,jk", {x, x}); }, {"einsum", "\"...ij,jk\"", "ellipsis"}},
      {"einsum with a digit", Kind::value, [&] { ag::einsum("i1,jk", {x, x}); }, {"einsum", "'1'", "\"i1,jk\""}},
      {"einsum with two arrows", Kind::value, [&] { ag::einsum("ij->j->i", {x}); }, {"einsum", "->", "\"ij->j->i\""}},
      {"einsum with fewer operands than subscripts", Kind::value, [&] { ag::einsum("ij,jk->ik", {x}); }, {"einsum", "2 operand", "1 tensor"}},
      {"einsum without operands", Kind::value, [] { ag::einsum("", {}); }, {"einsum", "no operands"}},
      {"einsum subscripts for another rank", Kind::shape, [&] { ag::einsum("ijk->i", {x}); }, {"einsum", "[2, 3]", "\"ijk\""}},
      {"einsum letter with two sizes", Kind::shape, [&] { ag::einsum("ij,jk->ik", {x, x}); }, {"einsum", "'j'", "size 3", "size 2", "[2, 3]"}},
      {"einsum diagonal of a non-square matrix", Kind::shape, [&] { ag::einsum("ii->i", {x}); }, {"einsum", "'i'", "[2, 3]"}},
      {"einsum output letter in no operand", Kind::value, [&] { ag::einsum("ij->k", {x}); }, {"einsum", "'k'", "\"ij->k\""}},
      {"einsum output letter twice", Kind::value, [&] { ag::einsum("ij->ii", {x}); }, {"einsum", "'i'", "more than once"}},
      {"einsum of mixed dtypes", Kind::dtype, [&] { ag::einsum("ij,jk", {x, ag::ones({3, 2})}); }, {"einsum", "float32", "float64"}},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.what));
    const Unchanged before({x, v, s});
    check_parts(expect_error(r.kind, r.f), r.parts);
    before.check();
  }
  // undefined tensors: ValueError naming the op
  const std::vector<std::pair<const char*, std::function<void()>>> undefined = {
      {"flip", [&] { ag::flip(u, {0}); }},
      {"roll", [&] { ag::roll(u, 1, 0); }},
      {"roll", [&] { ag::roll(u, 1); }},
      {"tile", [&] { ag::tile(u, {2}); }},
      {"repeat_interleave", [&] { ag::repeat_interleave(u, 2, 0); }},
      {"triu", [&] { ag::triu(u); }},
      {"tril", [&] { ag::tril(u); }},
      {"diag", [&] { ag::diag(u); }},
      {"sort", [&] { ag::sort(u); }},
      {"argsort", [&] { ag::argsort(u); }},
      {"topk", [&] { ag::topk(u, 1); }},
      {"max_with_indices", [&] { ag::max_with_indices(u, 0); }},
      {"min_with_indices", [&] { ag::min_with_indices(u, 0); }},
      {"max", [&] { ag::max(u, 0); }},
      {"einsum", [&] { ag::einsum("i", {u}); }},
      {"einsum", [&] { ag::einsum("i,i", {v, u}); }},
  };
  for (const auto& row : undefined) {
    INFO(row.first);  // (INFO is a lambda: no structured binding in it, clang rejects that in C++17)
    check_parts(expect_error(Kind::value, row.second), {row.first, "undefined"});
  }
}

TEST_CASE("bad input: shapes whose element count overflows raise ShapeError naming the op (creation, reshape, broadcast)") {
  // Each of these once wrapped the shape product to 0 (so numel() == 0, sum() == 0, eye a segfault)
  // or overflowed xtensor's signed strides (UBSan). ag::numel is the one checked product.
  constexpr std::size_t k32 = std::size_t{1} << 32;
  const Tensor empty = ag::zeros({0}, ag::f64);
  const Tensor one = ag::ones({1, 1}, ag::f64);
  struct Row {
    const char* op;
    std::function<void()> f;
  };
  const std::vector<Row> rows = {
      {"eye", [] { ag::eye(k32); }},
      {"zeros", [] { ag::zeros({k32, k32}); }},
      {"ones", [] { ag::ones({k32, k32}, ag::f64); }},
      {"full", [] { ag::full({k32, k32}, 2.0); }},
      {"randn", [] { ag::randn({k32, k32}); }},
      {"rand", [] { ag::rand({k32, k32}); }},
      {"uniform", [] { ag::uniform({k32, k32}, 0.0, 1.0); }},
      {"linspace", [] { ag::linspace(0.0, 1.0, std::size_t(-1)); }},
      {"zeros", [] { ag::zeros({0, k32, k32}); }},  // no elements, but the strides overflow
      {"reshape", [&] { ag::reshape(empty, {static_cast<std::ptrdiff_t>(k32), static_cast<std::ptrdiff_t>(k32)}); }},
      {"reshape", [&] { ag::reshape(empty, {0, static_cast<std::ptrdiff_t>(k32), static_cast<std::ptrdiff_t>(k32)}); }},
      {"broadcast_to", [&] { ag::broadcast_to(one, {std::size_t{1} << 33, std::size_t{1} << 31}); }},
      {"broadcast_to", [&] { ag::sum(ag::broadcast_to(one, {std::size_t{1} << 33, std::size_t{1} << 31})); }},
      {"add", [] { ag::add(ag::zeros({k32, 1, 0}), ag::zeros({1, k32, 0})); }},
      {"linear", [] { ag::linear(ag::zeros({std::size_t{1} << 60, 0}), ag::zeros({0, 16}), ag::zeros({16})); }},
      {"matmul", [] { ag::matmul(ag::zeros({k32, 0}), ag::zeros({0, k32})); }},
      {"matmul", [] { ag::matmul(ag::zeros({2, k32, 0}), ag::zeros({0, k32})); }},
      {"one_hot", [] { ag::one_hot(std::vector<std::size_t>{0, 1}, std::size_t(1) << 62); }},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.op));
    check_parts(expect_error(Kind::shape, r.f), {r.op, "too many elements"});
  }
  CHECK(ag::numel({3, 0, 5}) == 0);
  CHECK(ag::numel({}) == 1);
  CHECK(ag::numel({std::size_t{1} << 30, std::size_t{1} << 30}) == std::size_t{1} << 60);
}

TEST_CASE("bad input: arange with more elements than can exist raises ValueError instead of returning []") {
  // The count was cast from double to size_t out of range (undefined; it gave 0 elements).
  for (double stop : {1e30, 2e19, std::ldexp(1.0, 61)}) {
    INFO(stop);
    check_parts(expect_error(Kind::value, [&] { ag::arange(0.0, stop); }), {"arange", "elements"});
  }
  CHECK(ag::arange(0.0, 5.0).numel() == 5);
  CHECK(ag::arange(5.0, 0.0).numel() == 0);  // an empty range stays empty
}

TEST_CASE("bad input: the special, scan and misc ops (erf .. masked_fill) raise the documented type naming op and shape") {
  const Tensor x = ag::ones({2, 3}, ag::f64, true);
  const Tensor u;  // undefined
  struct Row {
    const char* what;
    Kind kind;
    std::function<void()> f;
    std::vector<std::string> parts;
  };
  const std::vector<Row> rows = {
      {"erf of an undefined tensor", Kind::value, [&] { ag::erf(u); }, {"erf", "undefined"}},
      {"erfc of an undefined tensor", Kind::value, [&] { ag::erfc(u); }, {"erfc", "undefined"}},
      {"gelu of an undefined tensor", Kind::value, [&] { ag::gelu(u); }, {"gelu", "undefined"}},
      {"gelu tanh of an undefined tensor", Kind::value, [&] { ag::gelu(u, ag::GeluApprox::tanh); }, {"gelu", "undefined"}},
      {"log_sigmoid of an undefined tensor", Kind::value, [&] { ag::log_sigmoid(u); }, {"log_sigmoid", "undefined"}},
      {"softplus of an undefined tensor", Kind::value, [&] { ag::softplus(u, 2.0); }, {"softplus", "undefined"}},
      {"softplus with beta 0", Kind::value, [&] { ag::softplus(x, 0.0); }, {"softplus", "beta", "[2, 3]"}},
      {"softplus with beta NaN", Kind::value, [&] { ag::softplus(x, std::nan("")); }, {"softplus", "beta", "[2, 3]"}},
      {"prod of an undefined tensor", Kind::value, [&] { ag::prod(u); }, {"prod", "undefined"}},
      {"prod on a bad axis", Kind::shape, [&] { ag::prod(x, {2}); }, {"prod", "axis 2", "[2, 3]"}},
      {"prod on a bad negative axis", Kind::shape, [&] { ag::prod(x, {-3}, true); }, {"prod", "-3", "[2, 3]"}},
      {"prod with a repeated axis", Kind::shape, [&] { ag::prod(x, {1, -1}); }, {"prod", "repeated"}},
      {"cumsum of an undefined tensor", Kind::value, [&] { ag::cumsum(u, 0); }, {"cumsum", "undefined"}},
      {"cumsum on a bad axis", Kind::shape, [&] { ag::cumsum(x, 2); }, {"cumsum", "axis 2", "[2, 3]"}},
      {"cumsum on a bad negative axis", Kind::shape, [&] { ag::cumsum(x, -3); }, {"cumsum", "-3", "[2, 3]"}},
      {"cumsum of a 0-d tensor", Kind::shape, [] { ag::cumsum(ag::scalar(1.0, ag::f64), 0); }, {"cumsum", "0-d", "[]"}},
      {"cumprod of an undefined tensor", Kind::value, [&] { ag::cumprod(u, 0); }, {"cumprod", "undefined"}},
      {"cumprod on a bad axis", Kind::shape, [&] { ag::cumprod(x, 2); }, {"cumprod", "axis 2", "[2, 3]"}},
      {"cumprod on a bad negative axis", Kind::shape, [&] { ag::cumprod(x, -3); }, {"cumprod", "-3", "[2, 3]"}},
      {"norm of an undefined tensor", Kind::value, [&] { ag::norm(u, 3.0); }, {"norm", "undefined"}},
      {"norm with p < 1", Kind::value, [&] { ag::norm(x, 0.5); }, {"norm", "p", "0.5", "[2, 3]"}},
      {"norm with p = 0", Kind::value, [&] { ag::norm_p(x, 0.0, {1}); }, {"norm", "p", "[2, 3]"}},
      {"norm with p NaN", Kind::value, [&] { ag::norm(x, std::nan(""), {0}); }, {"norm", "p", "[2, 3]"}},
      {"norm with p = -inf", Kind::value, [&] { ag::norm(x, -HUGE_VAL); }, {"norm", "p", "[2, 3]"}},
      {"norm on a bad axis", Kind::shape, [&] { ag::norm(x, 3.0, {2}); }, {"norm", "axis 2", "[2, 3]"}},
      {"inf-norm of an empty group", Kind::value, [] { ag::norm(ag::zeros({2, 0}), HUGE_VAL, {1}); }, {"norm", "[2, 0]"}},
      {"outer of a 2-D tensor", Kind::shape, [&] { ag::outer(x, ag::ones({3}, ag::f64)); }, {"outer", "[2, 3]", "[3]"}},
      {"outer with a 2-D second operand", Kind::shape, [&] { ag::outer(ag::ones({3}, ag::f64), x); }, {"outer", "[3]", "[2, 3]"}},
      {"outer of 0-d tensors", Kind::shape, [] { ag::outer(ag::scalar(1.0), ag::scalar(2.0)); }, {"outer", "[]"}},
      {"outer of mixed dtypes", Kind::dtype, [] { ag::outer(ag::ones({2}), ag::ones({3}, ag::f64)); }, {"outer", "float32", "float64"}},
      {"outer with an undefined operand", Kind::value, [&] { ag::outer(u, ag::ones({3})); }, {"outer", "undefined"}},
      {"masked_fill with a mask that does not broadcast", Kind::shape, [&] { ag::masked_fill(x, ag::ones({4}), 0.0); }, {"masked_fill", "[4]", "[2, 3]"}},
      {"masked_fill with a mask larger than x", Kind::shape, [&] { ag::masked_fill(ag::ones({3}, ag::f64), ag::ones({2, 3}), 0.0); }, {"masked_fill", "[2, 3]", "[3]"}},
      {"masked_fill with a column mask of the wrong length", Kind::shape, [&] { ag::masked_fill(x, ag::ones({3, 1}), 1.0); }, {"masked_fill", "[3, 1]", "[2, 3]"}},
      {"masked_fill with an undefined mask", Kind::value, [&] { ag::masked_fill(x, u, 0.0); }, {"masked_fill", "undefined"}},
      {"masked_fill of an undefined tensor", Kind::value, [&] { ag::masked_fill(u, ag::ones({3}), 0.0); }, {"masked_fill", "undefined"}},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.what));
    const Unchanged before({x});
    check_parts(expect_error(r.kind, r.f), r.parts);
    before.check();
  }
}

TEST_CASE("bad input: convolution ops (conv1d, conv2d, conv_transpose2d, unfold, fold) name the op and every shape") {
  const Tensor x = ag::ones({1, 3, 5, 5}, ag::f64, true);
  const Tensor w = ag::ones({4, 3, 3, 3}, ag::f64, true);
  const Tensor b = ag::ones({4}, ag::f64, true);
  const Tensor x1 = ag::ones({2, 3, 7}, ag::f64, true);
  const Tensor w1 = ag::ones({4, 3, 2}, ag::f64, true);
  const Tensor u;  // undefined
  const std::string xs = "[1, 3, 5, 5]", ws = "[4, 3, 3, 3]", bs = "[4]";
  struct Row {
    const char* what;
    Kind kind;
    std::function<void()> f;
    std::vector<std::string> parts;
  };
  const std::vector<Row> rows = {
      {"conv2d of a 2-D input", Kind::shape, [&] { ag::conv2d(ag::ones({3, 5}, ag::f64), w); }, {"conv2d", "[3, 5]", ws}},
      {"conv2d of a 5-D input", Kind::shape, [&] { ag::conv2d(ag::ones({1, 1, 3, 5, 5}, ag::f64), w); }, {"conv2d", "[1, 1, 3, 5, 5]", ws}},
      {"conv2d with a 3-D weight", Kind::shape, [&] { ag::conv2d(x, ag::ones({4, 3, 3}, ag::f64)); }, {"conv2d", xs, "[4, 3, 3]"}},
      {"conv2d with a channel mismatch", Kind::shape, [&] { ag::conv2d(x, ag::ones({4, 2, 3, 3}, ag::f64)); }, {"conv2d", xs, "[4, 2, 3, 3]", "3 channels"}},
      {"conv2d with groups not dividing the input channels", Kind::shape, [&] { ag::conv2d(x, ag::ones({4, 1, 3, 3}, ag::f64), {}, 1, 0, 1, 2); }, {"conv2d", "groups = 2", xs, "[4, 1, 3, 3]"}},
      {"conv2d with groups not dividing the output channels", Kind::shape, [&] { ag::conv2d(ag::ones({1, 4, 5, 5}, ag::f64), ag::ones({3, 2, 3, 3}, ag::f64), {}, 1, 0, 1, 2); }, {"conv2d", "groups = 2", "[1, 4, 5, 5]", "[3, 2, 3, 3]"}},
      {"conv2d with groups 0", Kind::value, [&] { ag::conv2d(x, w, b, 1, 0, 1, 0); }, {"conv2d", "groups", xs, ws, bs}},
      {"conv2d with a kernel larger than the input", Kind::shape, [&] { ag::conv2d(ag::ones({1, 3, 2, 2}, ag::f64), w); }, {"conv2d", "larger than the padded input", "[1, 3, 2, 2]", ws}},
      {"conv2d with a dilated kernel larger than the padded input", Kind::shape, [&] { ag::conv2d(x, w, b, 1, 1, 4); }, {"conv2d", "larger than the padded input", xs, ws, bs}},
      {"conv2d with stride 0", Kind::value, [&] { ag::conv2d(x, w, b, 0); }, {"conv2d", "stride", xs, ws, bs}},
      {"conv2d with a negative stride", Kind::value, [&] { ag::conv2d(x, w, b, {1, -2}); }, {"conv2d", "stride", "(1, -2)", xs, ws}},
      {"conv2d with dilation 0", Kind::value, [&] { ag::conv2d(x, w, b, 1, 0, 0); }, {"conv2d", "dilation", xs, ws}},
      {"conv2d with negative padding", Kind::value, [&] { ag::conv2d(x, w, b, 1, -1); }, {"conv2d", "padding", xs, ws}},
      {"conv2d \"same\" with stride 2", Kind::value, [&] { ag::conv2d(x, w, b, 2, "same"); }, {"conv2d", "\"same\"", "stride", xs, ws}},
      {"conv2d with an unknown padding string", Kind::value, [&] { ag::conv2d(x, w, b, 1, "full"); }, {"conv2d", "\"full\"", xs, ws}},
      {"conv2d with a bias of the wrong length", Kind::shape, [&] { ag::conv2d(x, w, ag::ones({3}, ag::f64)); }, {"conv2d", "bias", "[3]", xs, ws}},
      {"conv2d with mixed dtypes", Kind::dtype, [&] { ag::conv2d(x, ag::ones({4, 3, 3, 3})); }, {"conv2d", "float32", "float64"}},
      {"conv2d of an undefined input", Kind::value, [&] { ag::conv2d(u, w); }, {"conv2d", "undefined"}},
      {"conv2d with an undefined weight", Kind::value, [&] { ag::conv2d(x, u); }, {"conv2d", "undefined"}},
      {"conv1d of a 4-D input", Kind::shape, [&] { ag::conv1d(x, w1); }, {"conv1d", xs, "[4, 3, 2]"}},
      {"conv1d with a channel mismatch", Kind::shape, [&] { ag::conv1d(ag::ones({2, 2, 7}, ag::f64), w1); }, {"conv1d", "[2, 2, 7]", "[4, 3, 2]"}},
      {"conv1d with a kernel larger than the input", Kind::shape, [&] { ag::conv1d(ag::ones({2, 3, 1}, ag::f64), w1); }, {"conv1d", "larger", "[2, 3, 1]", "[4, 3, 2]"}},
      {"conv1d with stride 0", Kind::value, [&] { ag::conv1d(x1, w1, {}, 0); }, {"conv1d", "stride", "[2, 3, 7]", "[4, 3, 2]"}},
      {"conv1d \"same\" with stride 3", Kind::value, [&] { ag::conv1d(x1, w1, {}, ag::Conv1dOptions().stride(3).padding("same")); }, {"conv1d", "\"same\"", "[2, 3, 7]"}},
      {"conv_transpose2d with a channel mismatch", Kind::shape, [&] { ag::conv_transpose2d(x, ag::ones({4, 3, 3, 3}, ag::f64)); }, {"conv_transpose2d", xs, ws}},
      {"conv_transpose2d with groups not dividing the channels", Kind::shape, [&] { ag::conv_transpose2d(x, ag::ones({3, 1, 3, 3}, ag::f64), {}, 1, 0, 0, 2); }, {"conv_transpose2d", "groups = 2", xs}},
      {"conv_transpose2d with output_padding >= stride and dilation", Kind::value, [&] { ag::conv_transpose2d(x, ag::ones({3, 2, 3, 3}, ag::f64), {}, 2, 0, 2); }, {"conv_transpose2d", "output_padding", xs, "[3, 2, 3, 3]"}},
      {"conv_transpose2d with stride 0", Kind::value, [&] { ag::conv_transpose2d(x, ag::ones({3, 2, 3, 3}, ag::f64), {}, 0); }, {"conv_transpose2d", "stride", xs}},
      {"conv_transpose2d with padding trimming everything", Kind::shape, [&] { ag::conv_transpose2d(ag::ones({1, 3, 1, 1}, ag::f64), ag::ones({3, 2, 1, 1}, ag::f64), {}, 1, 1); }, {"conv_transpose2d", "[1, 3, 1, 1]", "[3, 2, 1, 1]"}},
      {"conv_transpose2d with a bias of the wrong length", Kind::shape, [&] { ag::conv_transpose2d(x, ag::ones({3, 2, 3, 3}, ag::f64), ag::ones({3}, ag::f64)); }, {"conv_transpose2d", "bias", "[3]", xs}},
      {"unfold of a 2-D input", Kind::shape, [&] { ag::unfold(ag::ones({5, 5}, ag::f64), 2); }, {"unfold", "[5, 5]"}},
      {"unfold with a kernel larger than the padded input", Kind::shape, [&] { ag::unfold(x, 6); }, {"unfold", "larger", xs}},
      {"unfold with stride 0", Kind::value, [&] { ag::unfold(x, 2, 1, 0, 0); }, {"unfold", "stride", xs}},
      {"fold with rows not a multiple of the kernel", Kind::shape, [&] { ag::fold(ag::ones({1, 5, 4}, ag::f64), {3, 3}, 2); }, {"fold", "[1, 5, 4]", "rows"}},
      {"fold with the wrong number of blocks", Kind::shape, [&] { ag::fold(ag::ones({1, 4, 5}, ag::f64), {3, 3}, 2); }, {"fold", "[1, 4, 5]", "blocks"}},
      {"fold of a 4-D input", Kind::shape, [&] { ag::fold(x, {3, 3}, 2); }, {"fold", xs}},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.what));
    const Unchanged before({x, w, b, x1, w1});
    check_parts(expect_error(r.kind, r.f), r.parts);
    before.check();
  }
}

TEST_CASE("bad input: pooling ops and pad name the op and the shape") {
  const Tensor x = ag::ones({1, 2, 5, 5}, ag::f64, true);
  const Tensor x1 = ag::ones({2, 3, 6}, ag::f64, true);
  const Tensor u;
  const std::string xs = "[1, 2, 5, 5]";
  struct Row {
    const char* what;
    Kind kind;
    std::function<void()> f;
    std::vector<std::string> parts;
  };
  const std::vector<Row> rows = {
      {"max_pool2d of a 2-D input", Kind::shape, [] { ag::max_pool2d(ag::ones({5, 5}, ag::f64), 2); }, {"max_pool2d", "[5, 5]"}},
      {"max_pool2d of a 5-D input", Kind::shape, [] { ag::max_pool2d(ag::ones({1, 1, 1, 5, 5}, ag::f64), 2); }, {"max_pool2d", "[1, 1, 1, 5, 5]"}},
      {"max_pool2d with a window larger than the input", Kind::shape, [&] { ag::max_pool2d(x, 6); }, {"max_pool2d", "larger", xs}},
      {"max_pool2d with a dilated window larger than the padded input", Kind::shape, [&] { ag::max_pool2d(x, 2, 1, 1, 7); }, {"max_pool2d", "larger", xs}},
      {"max_pool2d with stride 0", Kind::value, [&] { ag::max_pool2d(x, 2, 0); }, {"max_pool2d", "stride", xs}},
      {"max_pool2d with a negative stride", Kind::value, [&] { ag::max_pool2d(x, 2, {1, -1}); }, {"max_pool2d", "stride", xs}},
      {"max_pool2d with kernel 0", Kind::value, [&] { ag::max_pool2d(x, 0); }, {"max_pool2d", "kernel_size", xs}},
      {"max_pool2d with padding over half the kernel", Kind::value, [&] { ag::max_pool2d(x, 2, 2, 2); }, {"max_pool2d", "padding", xs}},
      {"max_pool2d with dilation 0", Kind::value, [&] { ag::max_pool2d(x, 2, 2, 0, 0); }, {"max_pool2d", "dilation", xs}},
      {"max_pool2d of an integer tensor", Kind::dtype, [] { ag::max_pool2d(ag::zeros({1, 1, 2, 2}, ag::i64), 2); }, {"max_pool2d"}},
      {"max_pool2d of an undefined tensor", Kind::value, [&] { ag::max_pool2d(u, 2); }, {"max_pool2d", "undefined"}},
      {"max_pool1d of a 4-D input", Kind::shape, [&] { ag::max_pool1d(x, 2); }, {"max_pool1d", xs}},
      {"max_pool1d with stride 0", Kind::value, [&] { ag::max_pool1d(x1, 2, 0); }, {"max_pool1d", "stride", "[2, 3, 6]"}},
      {"avg_pool2d with a window larger than the input", Kind::shape, [&] { ag::avg_pool2d(x, {2, 7}); }, {"avg_pool2d", "larger", xs}},
      {"avg_pool2d with stride 0", Kind::value, [&] { ag::avg_pool2d(x, 2, 0); }, {"avg_pool2d", "stride", xs}},
      {"avg_pool2d with negative padding", Kind::value, [&] { ag::avg_pool2d(x, 2, 2, -1); }, {"avg_pool2d", "padding", xs}},
      {"avg_pool1d of a 2-D input window larger", Kind::shape, [] { ag::avg_pool1d(ag::ones({3, 2}, ag::f64), 3); }, {"avg_pool1d", "larger", "[3, 2]"}},
      {"avg_pool1d of a 1-D input", Kind::shape, [] { ag::avg_pool1d(ag::ones({4}, ag::f64), 2); }, {"avg_pool1d", "[4]"}},
      {"adaptive_avg_pool2d to size 0", Kind::value, [&] { ag::adaptive_avg_pool2d(x, {0, 2}); }, {"adaptive_avg_pool2d", "output_size", xs}},
      {"adaptive_avg_pool2d of an empty image", Kind::shape, [] { ag::adaptive_avg_pool2d(ag::ones({1, 2, 0, 3}, ag::f64), 1); }, {"adaptive_avg_pool2d", "[1, 2, 0, 3]"}},
      {"adaptive_avg_pool2d of a 2-D input", Kind::shape, [] { ag::adaptive_avg_pool2d(ag::ones({3, 3}, ag::f64), 1); }, {"adaptive_avg_pool2d", "[3, 3]"}},
      {"pad with an odd-length list", Kind::value, [&] { ag::pad(x, {1, 1, 1}); }, {"pad", "[1, 1, 1]", xs}},
      {"pad of more axes than x has", Kind::value, [&] { ag::pad(x1, {1, 1, 1, 1, 1, 1, 1, 1}); }, {"pad", "[2, 3, 6]"}},
      {"pad cropping below size 0", Kind::shape, [&] { ag::pad(x, {-3, -3}); }, {"pad", xs, "-1"}},
      {"pad with an unknown mode", Kind::value, [&] { ag::pad(x, {1, 1}, "mirror"); }, {"pad", "\"mirror\"", xs}},
      {"pad reflect as wide as the axis", Kind::shape, [&] { ag::pad(x, {5, 0}, "reflect"); }, {"pad", "reflect", xs}},
      {"pad circular wider than the axis", Kind::shape, [&] { ag::pad(x, {0, 6}, "circular"); }, {"pad", "circular", xs}},
      {"pad reflect with a negative pad", Kind::value, [&] { ag::pad(x, {-1, 0}, "reflect"); }, {"pad", "reflect", xs}},
      {"pad of an undefined tensor", Kind::value, [&] { ag::pad(u, {1, 1}); }, {"pad", "undefined"}},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.what));
    const Unchanged before({x, x1});
    check_parts(expect_error(r.kind, r.f), r.parts);
    before.check();
  }
}

TEST_CASE("bad input: scaled_dot_product_attention names the op and every shape") {
  const Tensor q = ag::ones({2, 3, 4}, ag::f64, true);
  const Tensor k = ag::ones({2, 5, 4}, ag::f64, true);
  const Tensor v = ag::ones({2, 5, 6}, ag::f64, true);
  const std::string qs = "[2, 3, 4]", ks = "[2, 5, 4]", vs = "[2, 5, 6]";
  const auto sdpa = [](const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& m = Tensor(), double p = 0.0,
                       bool causal = false) { ag::scaled_dot_product_attention(a, b, c, m, p, causal); };
  struct Row {
    const char* what;
    Kind kind;
    std::function<void()> f;
    std::vector<std::string> parts;
  };
  const std::vector<Row> rows = {
      {"a 1-D q", Kind::shape, [&] { sdpa(ag::ones({4}, ag::f64), k, v); }, {"scaled_dot_product_attention", "[4]", ks, vs}},
      {"a 1-D v", Kind::shape, [&] { sdpa(q, k, ag::ones({6}, ag::f64)); }, {"scaled_dot_product_attention", qs, ks, "[6]"}},
      {"E of q and k differ", Kind::shape, [&] { sdpa(q, ag::ones({2, 5, 3}, ag::f64), v); }, {"scaled_dot_product_attention", "last dim E", qs, "[2, 5, 3]", vs}},
      {"S of k and v differ", Kind::shape, [&] { sdpa(q, k, ag::ones({2, 4, 6}, ag::f64)); }, {"scaled_dot_product_attention", "keys S", qs, ks, "[2, 4, 6]"}},
      {"batch dims that do not broadcast", Kind::shape, [&] { sdpa(q, ag::ones({3, 5, 4}, ag::f64), ag::ones({3, 5, 6}, ag::f64)); }, {"scaled_dot_product_attention", "broadcast", qs, "[3, 5, 4]", "[3, 5, 6]"}},
      {"a mask of the wrong shape", Kind::shape, [&] { sdpa(q, k, v, ag::ones({3, 4}, ag::f64)); }, {"scaled_dot_product_attention", "attn_mask [3, 4]", "[2, 3, 5]", qs, ks, vs}},
      {"an integer mask", Kind::dtype, [&] { sdpa(q, k, v, ag::ones({3, 5}, ag::i64)); }, {"scaled_dot_product_attention", "int64", qs, ks, vs, "[3, 5]"}},
      {"a float32 mask with float64 q", Kind::dtype, [&] { sdpa(q, k, v, ag::ones({3, 5}, ag::f32)); }, {"scaled_dot_product_attention", "float32", qs, "[3, 5]"}},
      {"a mask and is_causal", Kind::value, [&] { sdpa(q, k, v, ag::ones({3, 5}, ag::bool_), 0.0, true); }, {"scaled_dot_product_attention", "not both", qs, ks, vs, "[3, 5]"}},
      {"dropout_p = 1", Kind::value, [&] { sdpa(q, k, v, Tensor(), 1.0); }, {"scaled_dot_product_attention", "dropout_p", qs, ks, vs}},
      {"dropout_p < 0", Kind::value, [&] { sdpa(q, k, v, Tensor(), -0.1); }, {"scaled_dot_product_attention", "dropout_p", qs}},
      {"q, k, v of two dtypes", Kind::dtype, [&] { sdpa(q, ag::ones({2, 5, 4}, ag::f32), v); }, {"scaled_dot_product_attention", "float32", qs}},
      {"integer q, k, v", Kind::dtype, [&] { sdpa(ag::ones({3, 4}, ag::i64), ag::ones({5, 4}, ag::i64), ag::ones({5, 6}, ag::i64)); }, {"scaled_dot_product_attention", "int64", "[3, 4]"}},
      {"an undefined k", Kind::value, [&] { sdpa(q, Tensor(), v); }, {"scaled_dot_product_attention", "undefined"}},
  };
  for (const Row& r : rows) {
    INFO(std::string(r.what));
    const Unchanged before({q, k, v});
    check_parts(expect_error(r.kind, r.f), r.parts);
    before.check();
  }
}
