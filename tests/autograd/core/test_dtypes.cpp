// Dtypes (issue 15): int64/int32/uint8/bool next to float32/float64, the promotion rule, checked
// conversions, buffers in and out, and the errors for dtypes an op does not take.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

namespace {

using opt::check;
using opt::make;
using opt::message_of;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string str(const ag::Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

template <class E, class F> void check_error(F&& f, std::initializer_list<const char*> parts) {
  std::string msg;
  CHECK_THROWS_AS(f(), E);
  msg = message_of(f);
  for (const char* p : parts) CHECK_MESSAGE(has(msg, p), "missing '" << p << "' in: " << msg);
}

constexpr std::int64_t kBig = (std::int64_t{1} << 53) + 1;  // not a double

}  // namespace

TEST_CASE("dtypes: names, sizes, categories and the promotion table") {
  CHECK(std::string(ag::dtype_name(ag::i64)) == "int64");
  CHECK(std::string(ag::dtype_name(ag::i32)) == "int32");
  CHECK(std::string(ag::dtype_name(ag::u8)) == "uint8");
  CHECK(std::string(ag::dtype_name(ag::bool_)) == "bool");
  CHECK(ag::dtype_size(ag::i64) == 8);
  CHECK(ag::dtype_size(ag::i32) == 4);
  CHECK(ag::dtype_size(ag::bool_) == 1);
  CHECK(ag::is_floating(ag::f32));
  CHECK_FALSE(ag::is_floating(ag::i64));
  CHECK(ag::is_integer(ag::u8));
  CHECK_FALSE(ag::is_integer(ag::bool_));
  CHECK(ag::result_type(ag::i64, ag::f32) == ag::f32);
  CHECK(ag::result_type(ag::i32, ag::i64) == ag::i64);
  CHECK(ag::result_type(ag::u8, ag::bool_) == ag::u8);
  CHECK(ag::result_type(ag::u8, ag::i32) == ag::i32);
  CHECK(ag::result_type(ag::bool_, ag::f64) == ag::f64);
  check_error<ag::DtypeError>([] { ag::result_type(ag::f32, ag::f64); }, {"float32", "float64"});
}

TEST_CASE("dtypes: creation of every dtype, literals checked") {
  check(ag::zeros({2}, ag::i64), {2}, {0, 0}, 0);
  check(ag::ones({2}, ag::u8), {2}, {1, 1}, 0);
  check(ag::full({3}, -7, ag::i32), {3}, {-7, -7, -7}, 0);
  check(ag::arange(5, ag::i64), {5}, {0, 1, 2, 3, 4}, 0);
  check(ag::arange(10, 0, -3, ag::i32), {4}, {10, 7, 4, 1}, 0);
  check(ag::eye(2, ag::bool_), {2, 2}, {1, 0, 0, 1}, 0);
  const ag::Tensor t = ag::tensor({{1, 2}, {3, 4}}, ag::i64);
  CHECK(t.dtype() == ag::i64);
  check(t, {2, 2}, {1, 2, 3, 4}, 0);
  CHECK(ag::Tensor({1, 0, 1}, ag::bool_).dtype() == ag::bool_);
  // a literal an integer dtype cannot hold is an error, not a truncation
  check_error<ag::ValueError>([] { ag::tensor({1.5, 2.0}, ag::i64); }, {"1.5", "int64"});
  check_error<ag::ValueError>([] { ag::full({2}, 300, ag::u8); }, {"full", "300", "uint8"});
  check_error<ag::ValueError>([] { ag::tensor({-1.0}, ag::u8); }, {"uint8"});
  check_error<ag::ValueError>([] { ag::arange(0, 300, 1, ag::u8); }, {"arange", "uint8"});
  CHECK_THROWS_AS(ag::arange(3, ag::bool_), ag::DtypeError);
  CHECK_THROWS_AS(ag::linspace(0, 1, 3, ag::i64), ag::DtypeError);
}

TEST_CASE("dtypes: only floating tensors require grad, integer results are never recorded") {
  check_error<ag::DtypeError>([] { ag::zeros({2}, ag::i64, true); }, {"requires_grad", "int64"});
  ag::Tensor i = ag::zeros({2}, ag::i32);
  check_error<ag::DtypeError>([&] { i.requires_grad_(); }, {"requires_grad", "int32"});
  CHECK_NOTHROW(i.requires_grad_(false));
  ag::Tensor x = make({0.5, 2.5, -1.5}, {3}, ag::f64, true);
  for (const ag::Tensor& r : {x.to(ag::i64), ag::argmax(x), ag::gt(x, 0.0), ag::sum(ag::gt(x, 0.0))}) {
    CHECK_FALSE(r.requires_grad());
    CHECK(r.is_leaf());
  }
  // f32 <-> f64 stays differentiable
  ag::Tensor y = x.to(ag::f32);
  CHECK(y.requires_grad());
  y.sum().backward();
  check(x.grad(), {3}, {1, 1, 1}, 0);
}

TEST_CASE("dtypes: to() truncates toward zero and refuses what does not fit") {
  check(make({2.9, -2.9, 0.5}, {3}).to(ag::i64), {3}, {2, -2, 0}, 0);
  check(make({0, 2, -0.5}, {3}).to(ag::bool_), {3}, {0, 1, 1}, 0);
  check(ag::Tensor({1, 0}, ag::bool_).to(ag::f32), {2}, {1, 0}, 0);
  check(ag::tensor({255}, ag::i64).to(ag::u8), {1}, {255}, 0);
  check(ag::tensor({-2147483648.0}, ag::f64).to(ag::i32), {1}, {-2147483648.0}, 0);
  check_error<ag::ValueError>([] { make({1, NAN}, {2}).to(ag::i64); }, {"to", "nan", "int64", "index 1"});
  check_error<ag::ValueError>([] { make({INFINITY}, {1}).to(ag::i32); }, {"inf", "int32"});
  check_error<ag::ValueError>([] { make({2147483648.0}, {1}).to(ag::i32); }, {"int32"});
  check_error<ag::ValueError>([] { make({1e19}, {1}).to(ag::i64); }, {"int64"});
  check_error<ag::ValueError>([] { ag::tensor({256}, ag::i64).to(ag::u8); }, {"256", "uint8"});
  check_error<ag::ValueError>([] { ag::tensor({-1}, ag::i32).to(ag::u8); }, {"-1", "uint8"});
  check_error<ag::ValueError>([] { ag::full({1}, 3e9, ag::i64).to(ag::i32); }, {"3000000000", "int32"});
  // int64 values beyond 2^53 survive the round trip through the integer types exactly
  const ag::Tensor big = ag::from_vector(std::vector<std::int64_t>{kBig, -kBig}, {2});
  CHECK(big.to(ag::i64).to_vector<std::int64_t>() == std::vector<std::int64_t>{kBig, -kBig});
}

TEST_CASE("dtypes: printing integers and bools") {
  CHECK(has(str(ag::tensor({{1, -2}, {30, 4}}, ag::i64)), "[[ 1, -2],"));
  CHECK(has(str(ag::tensor({{1, -2}, {30, 4}}, ag::i64)), "dtype=int64"));
  CHECK(has(str(ag::tensor({200, 3}, ag::u8)), "[200, 3]"));
  CHECK(has(str(ag::gt(make({1, -1}, {2}), 0.0)), "[true, false]"));
  CHECK(has(str(ag::gt(make({1, -1}, {2}), 0.0)), "dtype=bool"));
}

TEST_CASE("dtypes: arithmetic promotes like PyTorch, float32 and float64 do not mix") {
  const ag::Tensor i = ag::tensor({1, 2, 3}, ag::i64), f = make({0.5, 0.5, 0.5}, {3}, ag::f32);
  ag::Tensor r = i + f;
  CHECK(r.dtype() == ag::f32);
  check(r, {3}, {1.5, 2.5, 3.5}, 0);
  CHECK((ag::tensor({1}, ag::i32) + ag::tensor({1}, ag::i64)).dtype() == ag::i64);
  CHECK((ag::tensor({1}, ag::u8) * ag::Tensor({1}, ag::bool_)).dtype() == ag::u8);
  // true division: integers give float32
  r = ag::tensor({1, 7}, ag::i64) / ag::tensor({2, 2}, ag::i64);
  CHECK(r.dtype() == ag::f32);
  check(r, {2}, {0.5, 3.5}, 0);
  // bool + bool is or, bool * bool is and (PyTorch); bool - bool is an error
  const ag::Tensor t = ag::Tensor({1, 1, 0, 0}, ag::bool_), u = ag::Tensor({1, 0, 1, 0}, ag::bool_);
  CHECK((t + u).dtype() == ag::bool_);
  check(t + u, {4}, {1, 1, 1, 0}, 0);
  check(t * u, {4}, {1, 0, 0, 0}, 0);
  check_error<ag::DtypeError>([&] { t - u; }, {"sub", "bool"});
  check_error<ag::DtypeError>([&] { ag::ones({2}, ag::f32) + ag::ones({2}, ag::f64); },
                              {"add", "float32", "float64", "[2]"});
  // integer arithmetic wraps (two's complement), never undefined behaviour
  const std::int64_t mx = std::numeric_limits<std::int64_t>::max();
  ag::Tensor w = ag::from_vector(std::vector<std::int64_t>{mx}, {1}) + 1;
  CHECK(w.item<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK((ag::tensor({255}, ag::u8) + ag::tensor({1}, ag::u8)).item() == 0);
  CHECK((ag::tensor({0}, ag::u8) - 1).item() == 255);
  CHECK((-ag::tensor({3, -4}, ag::i32)).to_vector<std::int32_t>() == std::vector<std::int32_t>{-3, 4});
  CHECK(ag::maximum(ag::tensor({1, 5}, ag::i64), ag::tensor({3, 2}, ag::i64)).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{3, 5});
  CHECK(ag::minimum(ag::tensor({1, 5}, ag::i32), make({3, 2}, {2})).dtype() == ag::f64);
}

TEST_CASE("dtypes: scalars follow their C++ type") {
  const ag::Tensor labels = ag::tensor({0, 1, 2}, ag::i64);
  CHECK((labels + 1).dtype() == ag::i64);  // an integer scalar keeps the dtype
  check(labels + 1, {3}, {1, 2, 3}, 0);
  check(1 - labels, {3}, {1, 0, -1}, 0);
  check(labels * 3, {3}, {0, 3, 6}, 0);
  CHECK((labels * 2.5).dtype() == ag::f32);  // a double scalar gives float32
  check(labels * 2.5, {3}, {0, 2.5, 5}, 0);
  check(labels / 2, {3}, {0, 0.5, 1}, 0);
  CHECK((ag::Tensor({1, 0}, ag::bool_) + 1).dtype() == ag::i64);
  const ag::Tensor x = make({0.25, 0.5}, {2}, ag::f32, true);
  ag::Tensor y = x * 2 + 1 - 3;  // integer scalars with a floating tensor: its dtype, still recorded
  CHECK(y.dtype() == ag::f32);
  CHECK(y.requires_grad());
  y.sum().backward();
  check(x.grad(), {2}, {2, 2}, 0);
}

TEST_CASE("dtypes: a gradient flows through the floating operand of a mixed op") {
  ag::Tensor x = make({1, -2, 3}, {3}, ag::f64, true);
  const ag::Tensor mask = ag::gt(x, 0.0);  // bool
  ag::Tensor y = ag::sum(x * mask + ag::tensor({10, 20, 30}, ag::i32));
  CHECK(y.dtype() == ag::f64);
  check(y, {}, {64}, 0);
  y.backward();
  check(x.grad(), {3}, {1, 0, 1}, 0);
}

TEST_CASE("dtypes: comparisons across dtypes, exact integer scalars") {
  const ag::Tensor big = ag::from_vector(std::vector<std::int64_t>{kBig, kBig - 1}, {2});
  check(big == kBig, {2}, {1, 0}, 0);  // exact: kBig is not a double
  check(kBig - 1 == big, {2}, {0, 1}, 0);
  check(big > kBig - 1, {2}, {1, 0}, 0);
  check(ag::tensor({1, 2, 3}, ag::i32) >= make({2, 2, 2}, {3}, ag::f32), {3}, {0, 1, 1}, 0);
  check(ag::tensor({1, 2, 3}, ag::u8) < 2.5, {3}, {1, 1, 0}, 0);
  check(make({0.5, 1}, {2}) == 1, {2}, {0, 1}, 0);
  check_error<ag::DtypeError>([] { ag::eq(ag::ones({1}, ag::f32), ag::ones({1}, ag::f64)); }, {"eq"});
}

TEST_CASE("dtypes: logical ops and the mask operators") {
  const ag::Tensor a = ag::Tensor({1, 1, 0, 0}, ag::bool_), b = ag::Tensor({1, 0, 1, 0}, ag::bool_);
  check(ag::logical_and(a, b), {4}, {1, 0, 0, 0}, 0);
  check(a | b, {4}, {1, 1, 1, 0}, 0);
  check(a ^ b, {4}, {0, 1, 1, 0}, 0);
  check(~a, {4}, {0, 0, 1, 1}, 0);
  check(a & b, {4}, {1, 0, 0, 0}, 0);
  // logical_* read nonzero as true for any dtype, broadcasting
  check(ag::logical_or(make({0, 2}, {2}), ag::tensor({{0}, {1}}, ag::i64)), {2, 2}, {0, 1, 1, 1}, 0);
  check(ag::logical_not(make({0, -3}, {2})), {2}, {1, 0}, 0);
  check_error<ag::DtypeError>([] { ag::tensor({1}, ag::i64) & ag::tensor({1}, ag::i64); },
                              {"operator&", "int64", "logical_and"});
  check_error<ag::DtypeError>([] { ~make({1}, {1}); }, {"operator~", "float64"});
  check_error<ag::ShapeError>([&] { ag::logical_and(a, ag::Tensor({1, 0, 1}, ag::bool_)); }, {"logical_and"});
}

TEST_CASE("dtypes: where with bool masks and integer branches") {
  const ag::Tensor c = ag::Tensor({1, 0, 1}, ag::bool_);
  ag::Tensor w = ag::where(c, ag::tensor({1, 2, 3}, ag::i64), ag::tensor({-1}, ag::i64));
  CHECK(w.dtype() == ag::i64);
  check(w, {3}, {1, -1, 3}, 0);
  ag::Tensor x = make({1, 2, 3}, {3}, ag::f32, true);
  ag::Tensor m = ag::where(c, x, ag::tensor({0}, ag::i64));  // mixed: computes in float32
  CHECK(m.dtype() == ag::f32);
  check(m, {3}, {1, 0, 3}, 0);
  m.sum().backward();
  check(x.grad(), {3}, {1, 0, 1}, 0);
}

TEST_CASE("dtypes: var and std of integers compute in float32, like mean") {
  const ag::Tensor i = ag::tensor({1, 2, 3, 4}, ag::i64);
  CHECK(ag::var(i).dtype() == ag::f32);
  check(ag::var(i), {}, {5.0 / 3}, 1e-6);
  check(ag::std(i, {0}, false), {}, {std::sqrt(1.25)}, 1e-6);
}

TEST_CASE("dtypes: cumsum of integers and bools is int64, ordering and rearranging take any dtype") {
  const ag::Tensor mask = ag::Tensor({1, 0, 1, 1}, ag::bool_);
  CHECK(ag::cumsum(mask, 0).dtype() == ag::i64);
  check(ag::cumsum(mask, 0), {4}, {1, 1, 2, 3}, 0);  // positions of the true entries, 1-based
  const std::int64_t mx = std::numeric_limits<std::int64_t>::max();
  CHECK(ag::cumsum(ag::from_vector(std::vector<std::int64_t>{mx, 1}, {2}), 0).to_vector<std::int64_t>()[1] ==
        std::numeric_limits<std::int64_t>::min());  // wraps like +
  const ag::Tensor ids = ag::tensor({7, 3, 9, 3}, ag::i64);
  auto [v, i] = ag::sort(ids);
  CHECK(v.dtype() == ag::i64);
  check(v, {4}, {3, 3, 7, 9}, 0);
  check(i, {4}, {1, 3, 0, 2}, 0);
  check(ag::topk(ids, 2).values, {2}, {9, 7}, 0);
  check(ag::flip(ids, {0}), {4}, {3, 9, 3, 7}, 0);
  check(ag::roll(ids, 1, 0), {4}, {3, 7, 3, 9}, 0);
  check(ag::tile(ag::Tensor({1, 0}, ag::bool_), {2}), {4}, {1, 0, 1, 0}, 0);
  check(ag::triu(ag::ones({2, 2}, ag::u8)), {2, 2}, {1, 1, 0, 1}, 0);
  check(ag::diag(ag::tensor({4, 5}, ag::i32)), {2, 2}, {4, 0, 0, 5}, 0);
  check(ag::outer(ag::tensor({1, 2}, ag::i64), ag::tensor({3, 4}, ag::i64)), {2, 2}, {3, 4, 6, 8}, 0);
}

TEST_CASE("dtypes: reductions of integers and bools") {
  const ag::Tensor mask = ag::gt(make({1, -1, 2, 3}, {2, 2}), 0.0);
  CHECK(ag::sum(mask).dtype() == ag::i64);
  CHECK(ag::sum(mask).item<std::int64_t>() == 3);
  check(ag::sum(mask, {1}), {2}, {1, 2}, 0);
  CHECK(ag::mean(mask).dtype() == ag::f32);
  check(ag::mean(mask), {}, {0.75}, 0);
  const ag::Tensor i = ag::from_vector(std::vector<std::int64_t>{kBig, 1, -4, 7}, {2, 2});
  CHECK(ag::sum(i).item<std::int64_t>() == kBig + 4);  // exact in int64
  CHECK(ag::max(i).item<std::int64_t>() == kBig);
  check(ag::min(i, {0}), {2}, {-4, 1}, 0);
  CHECK(ag::max(i).dtype() == ag::i64);
  CHECK(ag::argmax(i, 1).dtype() == ag::i64);
  check(ag::argmax(i, 1), {2}, {0, 1}, 0);
}

TEST_CASE("dtypes: float-only ops name themselves and the dtype") {
  const ag::Tensor i = ag::tensor({{1, 2}, {3, 4}}, ag::i64);
  check_error<ag::DtypeError>([&] { ag::exp(i); }, {"exp", "int64", ".to(ag::f32)"});
  check_error<ag::DtypeError>([&] { ag::matmul(i, i); }, {"matmul", "int64"});
  check_error<ag::DtypeError>([&] { ag::softmax(i, 1); }, {"softmax", "int64"});
  check_error<ag::DtypeError>([&] { ag::sigmoid(ag::gt(i, 2)); }, {"sigmoid", "bool"});
  check_error<ag::DtypeError>([&] { ag::pow(i, 2.0); }, {"pow", "int64"});
  check_error<ag::DtypeError>([&] { ag::log_softmax(i.to(ag::u8), 1); }, {"log_softmax", "uint8"});
  // a user's op written with ag::op + dispatch gets the same check, under its own name
  auto twice = [](const ag::Tensor& x) {
    return ag::op(
        "twice", {x},
        [&] {
          return ag::dispatch(x.dtype(), [&](auto t) {
            using T = decltype(t);
            return ag::Tensor(xt::xarray<T>(x.value<T>() * T(2)));
          });
        },
        [](const ag::VjpContext&, const ag::Tensor& g) -> ag::Grads { return {g * 2.0}; });
  };
  check(twice(make({1.5}, {1})), {1}, {3}, 0);
  check_error<ag::DtypeError>([&] { twice(i); }, {"twice", "int64"});
}

TEST_CASE("dtypes: integer indices for the index ops, bool masks are not indices") {
  const ag::Tensor x = make({1, 2, 3, 4, 5, 6}, {2, 3}, ag::f64, true);
  check(ag::index_select(x, 1, ag::tensor({2, 0}, ag::i64)), {2, 2}, {3, 1, 6, 4}, 0);
  check(ag::index_select(x, 0, ag::tensor({1}, ag::i32)), {1, 3}, {4, 5, 6}, 0);
  check(ag::take_along_axis(x, ag::tensor({{2}, {0}}, ag::i64), 1), {2, 1}, {3, 4}, 0);
  check(ag::one_hot(ag::tensor({2, 0}, ag::u8), 3), {2, 3}, {0, 0, 1, 1, 0, 0}, 0);
  check(ag::one_hot(ag::argmax(x, 1), 3), {2, 3}, {0, 0, 1, 0, 0, 1}, 0);
  check_error<ag::IndexError>([&] { ag::index_select(x, 1, ag::tensor({3}, ag::i64)); }, {"index_select", "3"});
  check_error<ag::IndexError>([&] { ag::index_select(x, 1, ag::tensor({-1}, ag::i64)); }, {"index_select", "-1"});
  check_error<ag::DtypeError>([&] { ag::index_select(x, 1, ag::gt(ag::tensor({1, 0}, ag::i64), 0)); },
                              {"index_select", "bool"});
  // the gradient still reaches x through int64 indices
  ag::sum(ag::take_along_axis(x, ag::tensor({{2}, {2}}, ag::i64), 1)).backward();
  check(x.grad(), {2, 3}, {0, 0, 1, 0, 0, 1}, 0);
}

TEST_CASE("dtypes: shape ops move values of every dtype") {
  const ag::Tensor i = ag::arange(6, ag::i64).reshape({2, 3});
  CHECK(i.dtype() == ag::i64);
  check(ag::transpose(i), {3, 2}, {0, 3, 1, 4, 2, 5}, 0);
  check(ag::concat({i, i}, 0), {4, 3}, {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, 0);
  check(ag::slice(i, 1, 1, std::nullopt), {2, 2}, {1, 2, 4, 5}, 0);
  check(ag::stack({ag::gt(i, 2), ag::lt(i, 1)}, 0), {2, 2, 3}, {0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0}, 0);
  check(ag::broadcast_to(ag::tensor({7}, ag::u8), {2, 2}), {2, 2}, {7, 7, 7, 7}, 0);
  CHECK(ag::squeeze(ag::unsqueeze(i, 0)).dtype() == ag::i64);
}

TEST_CASE("buffers: from_blob copies raw memory of any dtype") {
  auto buf = std::make_unique<std::int32_t[]>(6);
  for (int k = 0; k < 6; ++k) buf[k] = k * k;
  ag::Tensor t = ag::from_blob(buf.get(), {2, 3}, ag::i32);
  buf.reset();  // the tensor owns a copy
  CHECK(t.dtype() == ag::i32);
  check(t, {2, 3}, {0, 1, 4, 9, 16, 25}, 0);
  // an unaligned source
  unsigned char raw[1 + 2 * sizeof(double)] = {};
  const double vals[2] = {1.25, -3.5};
  std::memcpy(raw + 1, vals, sizeof vals);
  check(ag::from_blob(raw + 1, {2}, ag::f64), {2}, {1.25, -3.5}, 0);
  const unsigned char bools[3] = {0, 1, 1};
  check(ag::from_blob(bools, {3}, ag::bool_), {3}, {0, 1, 1}, 0);
  const unsigned char bad[2] = {0, 2};
  check_error<ag::ValueError>([&] { ag::from_blob(bad, {2}, ag::bool_); }, {"from_blob", "2", "bool"});
  check_error<ag::ValueError>([] { ag::from_blob(nullptr, {2}, ag::f32); }, {"from_blob", "null", "[2]"});
  CHECK(ag::from_blob(nullptr, {0, 3}, ag::f32).numel() == 0);
  check_error<ag::DtypeError>([&] { ag::from_blob(vals, {2}, ag::i64, true); }, {"requires_grad"});
  CHECK(ag::from_blob(vals, {2}, ag::f64, true).requires_grad());
}

TEST_CASE("buffers: tensor(std::vector, shape), to_vector, data, item<T>") {
  const ag::Tensor t = ag::tensor(std::vector<std::int64_t>{1, 2, 3, 4}, {2, 2});
  CHECK(t.dtype() == ag::i64);
  CHECK(t.data<std::int64_t>()[3] == 4);
  check_error<ag::DtypeError>([&] { t.data<float>(); }, {"float32", "int64"});
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK(ag::tensor(std::vector<bool>{true, false}, {2}).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(ag::tensor(std::vector<std::uint8_t>{9}, {}).item<std::uint8_t>() == 9);
  check_error<ag::ValueError>([] { ag::tensor(std::vector<float>{1, 2, 3}, {2, 2}); }, {"3 values", "[2, 2]"});
  CHECK(ag::from_vector(std::vector<std::int64_t>{(std::int64_t{1} << 62) + 1}, {1}).item<std::int64_t>() ==
        (std::int64_t{1} << 62) + 1);
  CHECK(make({0.5, -1.5}, {2}).to_vector<std::int32_t>() == std::vector<std::int32_t>{0, -1});  // truncated
}

TEST_CASE("buffers: copy_ loads values into a parameter in place") {
  ag::Tensor w = ag::zeros({2, 3}, ag::f32, true);
  const std::uint64_t v0 = w.version();
  check_error<ag::GradError>([&] { w.copy_(ag::ones({2, 3})); }, {"copy_", "NoGradGuard"});
  {
    ag::NoGradGuard guard;
    w.copy_(ag::tensor({{1, 2, 3}, {4, 5, 6}}, ag::f64));  // converted to float32
    CHECK(w.version() > v0);
    check(w, {2, 3}, {1, 2, 3, 4, 5, 6}, 0);
    w.copy_(ag::tensor({7, 8, 9}, ag::i64));  // broadcast over the rows
    check(w, {2, 3}, {7, 8, 9, 7, 8, 9}, 0);
    check_error<ag::ShapeError>([&] { w.copy_(ag::ones({3, 2})); }, {"copy_", "[3, 2]", "[2, 3]"});
  }
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  ag::Tensor i = ag::zeros({2}, ag::u8);
  i.copy_(make({3, 250}, {2}));  // a tensor that does not require grad takes it any time
  check(i, {2}, {3, 250}, 0);
  check_error<ag::ValueError>([&] { i.copy_(make({-1, 0}, {2})); }, {"copy_", "uint8"});
}

TEST_CASE("dtypes: nonzero gives the int64 positions of a mask") {
  const ag::Tensor x = make({0, 2, 0, -1, 0, 3}, {2, 3});
  const ag::Tensor nz = ag::nonzero(x);
  CHECK(nz.dtype() == ag::i64);
  check(nz, {3, 2}, {0, 1, 1, 0, 1, 2}, 0);
  check(ag::nonzero(ag::gt(x, 0.0)), {2, 2}, {0, 1, 1, 2}, 0);
  CHECK(ag::nonzero(ag::zeros({4})).shape() == ag::Shape{0, 1});
  CHECK(ag::nonzero(ag::scalar(5.0)).shape() == ag::Shape{1, 0});
  // the rows feed the index ops: the values at the positions
  const ag::Tensor rows = ag::select(nz, 1, 0), cols = ag::select(nz, 1, 1);
  check(ag::take_along_axis(ag::index_select(x, 0, rows), ag::unsqueeze(cols, 1), 1), {3, 1}, {2, -1, 3}, 0);
  CHECK_THROWS_AS(ag::nonzero(ag::Tensor()), ag::ValueError);
}

// Every float-only op, given an int64 (and a bool) tensor: a DtypeError naming the op the user
// called and the dtype — never a bad_variant_access, an abort or a silent conversion.
TEST_CASE("dtypes: every float-only op names itself for an integer or bool input") {
  using F = std::function<void(const ag::Tensor&)>;
  const std::vector<std::pair<const char*, F>> ops = {
      {"pow", [](const ag::Tensor& t) { ag::pow(t, t); }},
      {"pow", [](const ag::Tensor& t) { ag::pow(t, 2.0); }},
      {"pow", [](const ag::Tensor& t) { ag::pow(2.0, t); }},
      {"exp", [](const ag::Tensor& t) { ag::exp(t); }},
      {"log", [](const ag::Tensor& t) { ag::log(t); }},
      {"sqrt", [](const ag::Tensor& t) { ag::sqrt(t); }},
      {"abs", [](const ag::Tensor& t) { ag::abs(t); }},
      {"sin", [](const ag::Tensor& t) { ag::sin(t); }},
      {"cos", [](const ag::Tensor& t) { ag::cos(t); }},
      {"tanh", [](const ag::Tensor& t) { ag::tanh(t); }},
      {"sigmoid", [](const ag::Tensor& t) { ag::sigmoid(t); }},
      {"relu", [](const ag::Tensor& t) { ag::relu(t); }},
      {"square", [](const ag::Tensor& t) { ag::square(t); }},
      {"sign", [](const ag::Tensor& t) { ag::sign(t); }},
      {"step", [](const ag::Tensor& t) { ag::step(t); }},
      {"log1p", [](const ag::Tensor& t) { ag::log1p(t); }},
      {"expm1", [](const ag::Tensor& t) { ag::expm1(t); }},
      {"reciprocal", [](const ag::Tensor& t) { ag::reciprocal(t); }},
      {"leaky_relu", [](const ag::Tensor& t) { ag::leaky_relu(t); }},
      {"elu", [](const ag::Tensor& t) { ag::elu(t); }},
      {"softplus", [](const ag::Tensor& t) { ag::softplus(t); }},
      {"gelu", [](const ag::Tensor& t) { ag::gelu(t); }},
      {"gelu", [](const ag::Tensor& t) { ag::gelu(t, ag::GeluApprox::tanh); }},
      {"erf", [](const ag::Tensor& t) { ag::erf(t); }},
      {"erfc", [](const ag::Tensor& t) { ag::erfc(t); }},
      {"log_sigmoid", [](const ag::Tensor& t) { ag::log_sigmoid(t); }},
      {"softplus", [](const ag::Tensor& t) { ag::softplus(t, 2.0); }},
      {"prod", [](const ag::Tensor& t) { ag::prod(t); }},
      {"cumprod", [](const ag::Tensor& t) { ag::cumprod(t, 0); }},
      {"norm", [](const ag::Tensor& t) { ag::norm(t, 3.0); }},
      {"einsum", [](const ag::Tensor& t) { ag::einsum("ij,jk->ik", {t, t}); }},
      {"silu", [](const ag::Tensor& t) { ag::silu(t); }},
      {"cosine_similarity", [](const ag::Tensor& t) { ag::cosine_similarity(t, t); }},
      {"layer_norm", [](const ag::Tensor& t) { ag::layer_norm(t, {2}); }},
      {"batch_norm", [](const ag::Tensor& t) { ag::batch_norm(t, {}, {}, {}, {}, true); }},
      {"group_norm", [](const ag::Tensor& t) { ag::group_norm(t, 1); }},
      {"clamp", [](const ag::Tensor& t) { ag::clamp(t, 0.0, 1.0); }},
      {"norm", [](const ag::Tensor& t) { ag::norm(t); }},
      {"softmax", [](const ag::Tensor& t) { ag::softmax(t); }},
      {"log_softmax", [](const ag::Tensor& t) { ag::log_softmax(t); }},
      {"logsumexp", [](const ag::Tensor& t) { ag::logsumexp(t); }},
      {"matmul", [](const ag::Tensor& t) { ag::matmul(t, ag::transpose(t)); }},
      {"matmul", [](const ag::Tensor& t) { ag::matmul_t(t, t, false, true); }},  // matmul's primitive
      {"linear", [](const ag::Tensor& t) { ag::linear(t, ag::transpose(t), ag::select(t, 1, 0)); }},
      {"sum_to", [](const ag::Tensor& t) { ag::sum_to(t, {1, 2}); }},
  };
  for (ag::DType d : {ag::i64, ag::bool_}) {
    const ag::Tensor t = ag::tensor({{1, 0}, {1, 1}}, d);
    for (const auto& [name, f] : ops) {
      const std::string msg = message_of([&, fn = f] { fn(t); });
      CHECK_THROWS_AS(f(t), ag::DtypeError);
      CHECK_MESSAGE(msg.rfind(std::string(name) + ":", 0) == 0, std::string(name) << " on " << ag::dtype_name(d) << ": " << msg);
      CHECK_MESSAGE(has(msg, ag::dtype_name(d)), std::string(name) << ": " << msg);
    }
  }
}
