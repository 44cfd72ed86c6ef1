// Bad input raises a typed ag::Error whose message names the op and the shapes or dtypes.
#include <string>
#include <type_traits>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs f, expects exactly the error type E and returns its message ("" if nothing or another type).
template <class E, class F> std::string message_of(F&& f) {
  static_assert(std::is_base_of_v<ag::Error, E>);
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("wrong exception type: " << e.what());
    return "";
  }
  FAIL_CHECK("nothing was thrown");
  return "";
}

// The message names the op and contains every fragment.
void check_message(const std::string& msg, const std::vector<std::string>& parts) {
  INFO("message: " << msg);
  for (const auto& p : parts) CHECK_MESSAGE(contains(msg, p), "missing '" << p << "'");
}

}  // namespace

TEST_CASE("mismatched shapes in binary ops raise ShapeError naming the op and shapes") {
  ag::Tensor a = ag::ones({2, 3}), b = ag::ones({4, 3});
  check_message(message_of<ag::ShapeError>([&] { ag::add(a, b); }), {"add", "[2, 3]", "[4, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::sub(a, b); }), {"sub", "[2, 3]", "[4, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::mul(a, b); }), {"mul", "[2, 3]", "[4, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::div(a, b); }), {"div", "[2, 3]", "[4, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::pow(a, b); }), {"pow", "[2, 3]", "[4, 3]"});
  check_message(message_of<ag::ShapeError>([&] { a + ag::ones({3, 2}); }), {"add", "[2, 3]", "[3, 2]"});
  check_message(message_of<ag::ShapeError>([&] { a * ag::ones({2}); }), {"mul", "[2, 3]", "[2]"});
  CHECK_THROWS_WITH_AS(ag::add(a, b), "add: cannot broadcast [2, 3] with [4, 3]", ag::ShapeError);
  // nothing was recorded by the failed op
  ag::Tensor x = ag::ones({2, 3}, ag::f32, true);
  const std::size_t live0 = ag::live_node_count();
  CHECK_THROWS_AS(x * b, ag::ShapeError);
  CHECK(ag::live_node_count() == live0);
}

TEST_CASE("matmul with mismatched inner dimensions raises ShapeError") {
  CHECK_THROWS_WITH_AS(ag::matmul(ag::zeros({16, 127}), ag::zeros({128, 64})),
                       "matmul: cannot multiply [16, 127] by [128, 64]", ag::ShapeError);
  check_message(message_of<ag::ShapeError>([] { ag::matmul(ag::zeros({3}), ag::zeros({4})); }),
                {"matmul", "[3]", "[4]"});
  check_message(message_of<ag::ShapeError>([] { ag::matmul(ag::zeros({2, 3, 4}), ag::zeros({5, 2})); }),
                {"matmul", "[2, 3, 4]", "[5, 2]"});
  check_message(message_of<ag::ShapeError>([] { ag::matmul(ag::zeros({4}), ag::zeros({3, 2})); }),
                {"matmul", "[4]", "[3, 2]"});
  // batch dims that do not broadcast
  check_message(message_of<ag::ShapeError>([] { ag::matmul(ag::zeros({2, 3, 4}), ag::zeros({3, 4, 5})); }),
                {"matmul", "[2]", "[3]"});
  // 0-d operands
  check_message(message_of<ag::ShapeError>([] { ag::matmul(ag::scalar(2.0), ag::zeros({3})); }),
                {"matmul", "[]", "[3]"});
  // matmul_t needs matrices; with transposes the message shows which operand was transposed
  check_message(message_of<ag::ShapeError>([] { ag::matmul_t(ag::zeros({3}), ag::zeros({3, 2}), false, false); }),
                {"matmul_t", "[3]", "[3, 2]"});
  check_message(message_of<ag::ShapeError>([] { ag::matmul_t(ag::zeros({3, 4}), ag::zeros({3, 2}), false, false); }),
                {"matmul", "[3, 4]", "[3, 2]"});
}

TEST_CASE("mixed dtypes raise DtypeError naming both dtypes") {
  ag::Tensor f = ag::ones({2}, ag::f32), d = ag::ones({2}, ag::f64);
  check_message(message_of<ag::DtypeError>([&] { ag::add(f, d); }), {"add", "float32", "float64"});
  check_message(message_of<ag::DtypeError>([&] { f - d; }), {"sub", "float32", "float64"});
  check_message(message_of<ag::DtypeError>([&] { f * d; }), {"mul", "float32", "float64"});
  check_message(message_of<ag::DtypeError>([&] { d / f; }), {"div", "float64", "float32"});
  check_message(message_of<ag::DtypeError>([&] { ag::pow(f, d); }), {"pow", "float32", "float64"});
  check_message(message_of<ag::DtypeError>([] { ag::matmul(ag::ones({2, 2}, ag::f32), ag::ones({2, 2}, ag::f64)); }),
                {"matmul", "float32", "float64", "[2, 2]"});
  // the fix the message suggests works
  CHECK((f.to(ag::f64) + d).dtype() == ag::f64);
}

TEST_CASE("bad reshape raises ShapeError") {
  ag::Tensor x = ag::zeros({2, 3});
  check_message(message_of<ag::ShapeError>([&] { ag::reshape(x, {4, 2}); }), {"reshape", "[2, 3]", "[4, 2]"});
  check_message(message_of<ag::ShapeError>([&] { x.reshape({-1, 4}); }), {"reshape", "[2, 3]", "-1, 4"});
  check_message(message_of<ag::ShapeError>([&] { x.reshape({-1, -1}); }), {"reshape", "-1"});
  check_message(message_of<ag::ShapeError>([&] { x.reshape({-2, 3}); }), {"reshape", "-2"});
  check_message(message_of<ag::ShapeError>([&] { x.reshape({}); }), {"reshape", "[2, 3]"});
}

TEST_CASE("bad axes raise ShapeError") {
  ag::Tensor x = ag::zeros({2, 3});
  check_message(message_of<ag::ShapeError>([&] { ag::sum(x, {2}); }), {"sum", "axis 2", "2-d"});
  check_message(message_of<ag::ShapeError>([&] { ag::sum(x, {-3}); }), {"sum", "-3"});
  check_message(message_of<ag::ShapeError>([&] { ag::sum(x, {1, -1}); }), {"sum", "repeated"});
  check_message(message_of<ag::ShapeError>([&] { ag::mean(x, {5}, true); }), {"mean", "5"});
  check_message(message_of<ag::ShapeError>([&] { ag::permute(x, {0}); }), {"permute", "[2, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::permute(x, {1, 1}); }), {"permute", "1, 1", "[2, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::permute(x, {0, 2}); }), {"permute", "2"});
  check_message(message_of<ag::ShapeError>([&] { ag::transpose(x, 0, 2); }), {"transpose", "2"});
  check_message(message_of<ag::ShapeError>([] { ag::transpose(ag::zeros({3}), 0, 1); }), {"transpose", "[3]"});
  check_message(message_of<ag::ShapeError>([] { ag::sum(ag::scalar(1.0), {0}); }), {"sum", "0-d"});
}

TEST_CASE("bad broadcast_to and sum_to targets raise ShapeError") {
  ag::Tensor x = ag::zeros({2, 3});
  check_message(message_of<ag::ShapeError>([&] { ag::broadcast_to(x, {4, 3}); }),
                {"broadcast_to", "[2, 3]", "[4, 3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::broadcast_to(x, {3}); }), {"broadcast_to", "[2, 3]", "[3]"});
  check_message(message_of<ag::ShapeError>([&] { ag::sum_to(x, {2}); }), {"sum_to", "[2, 3]", "[2]"});
  check_message(message_of<ag::ShapeError>([&] { ag::sum_to(x, {1, 2, 3}); }), {"sum_to", "[2, 3]", "[1, 2, 3]"});
}

TEST_CASE("item on a multi-element tensor raises ValueError") {
  check_message(message_of<ag::ValueError>([] { ag::zeros({2, 2}).item(); }), {"item", "[2, 2]"});
  check_message(message_of<ag::ValueError>([] { ag::zeros({0}).item(); }), {"item", "[0]"});
}

TEST_CASE("value of the wrong type raises DtypeError") {
  ag::Tensor f = ag::ones({2}, ag::f32);
  check_message(message_of<ag::DtypeError>([&] { f.value<double>(); }), {"value", "float32", "float64"});
  check_message(message_of<ag::DtypeError>([&] { f.mutable_value<double>(); }), {"float32", "float64"});
  ag::Tensor d = ag::ones({2}, ag::f64);
  check_message(message_of<ag::DtypeError>([&] { d.value<float>(); }), {"value", "float32", "float64"});
  CHECK(f.version() == 0);  // a refused write access does not count
  CHECK(f.to_xarray<double>()(1) == 1.0);  // to_xarray converts instead
}

TEST_CASE("undefined tensors raise ValueError naming the op") {
  ag::Tensor u, x = ag::ones({2});
  check_message(message_of<ag::ValueError>([&] { ag::add(u, x); }), {"add", "undefined"});
  check_message(message_of<ag::ValueError>([&] { ag::exp(u); }), {"exp", "undefined"});
  check_message(message_of<ag::ValueError>([&] { ag::sum(u); }), {"sum", "undefined"});
  check_message(message_of<ag::ValueError>([&] { ag::matmul(x, u); }), {"matmul", "undefined"});
  check_message(message_of<ag::ValueError>([&] { u.item(); }), {"undefined"});
}

TEST_CASE("bad creation arguments raise ValueError") {
  check_message(message_of<ag::ValueError>([] { ag::arange(0.0, 1.0, 0.0); }), {"arange", "step=0"});
  check_message(message_of<ag::ValueError>([] { ag::pow(0.0, ag::ones({2})); }), {"pow", "0"});
  check_message(message_of<ag::ValueError>([] { ag::mean(ag::zeros({0, 3})); }), {"mean", "[0, 3]"});
  check_message(message_of<ag::ShapeError>([] { ag::Tensor({{1.0, 2.0}, {3.0}}); }), {"ragged"});
}

TEST_CASE("every error derives from ag::Error and std::runtime_error") {
  CHECK_THROWS_AS(ag::add(ag::ones({2}), ag::ones({3})), ag::Error);
  CHECK_THROWS_AS(ag::add(ag::ones({2}), ag::ones({2}, ag::f64)), std::runtime_error);
  CHECK_THROWS_AS(ag::zeros({2}).item(), ag::Error);
}

TEST_CASE("a VJP that returns the wrong number of gradients raises GradError") {
  ag::Tensor x = ag::ones({2}, ag::f64, true);
  ag::Tensor y = ag::record("two_grads", {x}, ag::no_grad([&] { return x * 2.0; }),
                            [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads { return {g, g}; });
  check_message(message_of<ag::GradError>([&] { y.sum().backward(); }), {"two_grads", "2 gradients", "1 input"});
}

TEST_CASE("a VJP gradient of the wrong shape or dtype raises GradError") {
  ag::Tensor x = ag::ones({2, 3}, ag::f64, true);
  ag::Tensor y = ag::record("bad_shape", {x}, ag::no_grad([&] { return x * 2.0; }),
                            [](const ag::VjpContext&, const ag::Tensor&) -> ag::Grads {
                              return {ag::ones({4, 3}, ag::f64)};
                            });
  check_message(message_of<ag::GradError>([&] { y.sum().backward(); }), {"bad_shape", "[4, 3]", "[2, 3]"});

  ag::Tensor z = ag::record("bad_dtype", {x}, ag::no_grad([&] { return x * 2.0; }),
                            [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads { return {g.to(ag::f32)}; });
  check_message(message_of<ag::GradError>([&] { z.sum().backward(); }), {"bad_dtype", "float32", "float64"});

  // a gradient of the broadcast output shape is fine: the engine sums it back
  ag::Tensor w = ag::record("broadcast_grad", {x}, ag::no_grad([&] { return x * 1.0; }),
                            [](const ag::VjpContext&, const ag::Tensor&) -> ag::Grads {
                              return {ag::ones({5, 2, 3}, ag::f64)};
                            });
  w.sum().backward();
  CHECK(x.grad().shape() == ag::Shape{2, 3});
  CHECK(x.grad().to_xarray<double>()(1, 2) == 5.0);
}

TEST_CASE("VjpContext output without keep_output raises GradError") {
  ag::Tensor x = ag::ones({2}, ag::f64, true);
  ag::Tensor y = ag::record("needs_output", {x}, ag::no_grad([&] { return x * 2.0; }),
                            [](const ag::VjpContext& c, const ag::Tensor& g) -> ag::Grads {
                              return {g * c.output()};
                            });
  check_message(message_of<ag::GradError>([&] { y.sum().backward(); }), {"needs_output", "keep_output"});
  ag::Tensor z = ag::record("bad_index", {x}, ag::no_grad([&] { return x * 2.0; }),
                            [](const ag::VjpContext& c, const ag::Tensor&) -> ag::Grads { return {c.input(3)}; });
  check_message(message_of<ag::IndexError>([&] { z.sum().backward(); }), {"bad_index", "3"});
}

TEST_CASE("record refuses an output that is not fresh") {
  ag::Tensor x = ag::ones({2}, ag::f64, true);
  auto vjp = [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads { return {g}; };
  ag::Tensor recorded = x * 2.0;  // already has a grad_fn
  check_message(message_of<ag::GradError>([&] { ag::record("again", {x}, recorded, vjp); }), {"again", "fresh"});
  check_message(message_of<ag::GradError>([&] { ag::record("same", {x}, x, vjp); }), {"same"});
  check_message(message_of<ag::ValueError>([&] { ag::record("none", {x}, ag::Tensor(), vjp); }), {"none", "undefined"});
}

// Issue 14 item 12: messages named an internal op ("add", "mean") or the wrong rank.
TEST_CASE("errors name the op the user called: linear, unsqueeze, stack") {
  const ag::Tensor x = ag::ones({2, 3}), w = ag::ones({3, 4});
  check_message(message_of<ag::ShapeError>([&] { ag::linear(x, w, ag::ones({5})); }),
                {"linear", "b", "[2, 4]", "[2, 3]", "[3, 4]", "[5]"});
  check_message(message_of<ag::ShapeError>([&] { ag::linear(x, ag::ones({2, 4}), ag::ones({4})); }),
                {"linear", "W's rows", "[2, 3]", "[2, 4]"});
  check_message(message_of<ag::ShapeError>([&] { ag::linear(x, ag::ones({3}), ag::ones({4})); }), {"linear", "2-D"});
  const std::string u = message_of<ag::ShapeError>([&] { ag::unsqueeze(x, 4); });
  check_message(u, {"unsqueeze", "axis 4", "[-3, 2]", "2-d input [2, 3]"});
  CHECK(u.find("3-d") == std::string::npos);
  check_message(message_of<ag::ShapeError>([&] { ag::stack({x, x}, -4); }), {"stack", "axis -4", "2-d input [2, 3]"});
  CHECK(ag::unsqueeze(x, -3).shape() == ag::Shape{1, 2, 3});
  CHECK(ag::unsqueeze(x, 2).shape() == ag::Shape{2, 3, 1});
}
