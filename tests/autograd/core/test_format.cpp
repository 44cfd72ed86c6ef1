// Printing tensors (issue 14 item 17): fmt format specs applied to every element, rows on separate
// lines for rank >= 2, large tensors summarised; operator<< and fmt::format("{}") agree.
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

std::string str(const ag::Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace

TEST_CASE("format: a float spec formats every element, rows on lines with aligned columns") {
  const ag::Tensor t({{1, -2.5, 3}, {40, 5, 6.25}}, ag::f64);
  CHECK(fmt::format("{:.2f}", t) ==
        "tensor([[ 1.00, -2.50,  3.00],\n"
        "        [40.00,  5.00,  6.25]], shape=[2, 3], dtype=float64)");
  CHECK(fmt::format("{:.2e}", t) ==
        "tensor([[ 1.00e+00, -2.50e+00,  3.00e+00],\n"
        "        [ 4.00e+01,  5.00e+00,  6.25e+00]], shape=[2, 3], dtype=float64)");
  // a width in the spec pads each element; the columns stay aligned
  CHECK(fmt::format("{:7.2f}", t) ==
        "tensor([[   1.00,   -2.50,    3.00],\n"
        "        [  40.00,    5.00,    6.25]], shape=[2, 3], dtype=float64)");
  // the default text: xio's common precision, right-aligned
  CHECK(fmt::format("{}", t) ==
        "tensor([[  1., -2.5,   3.],\n"
        "        [ 40.,   5., 6.25]], shape=[2, 3], dtype=float64)");
  CHECK(str(t) == fmt::format("{}", t));
}

TEST_CASE("format: 0-d and 1-D tensors print on one line, as before") {
  const ag::Tensor s = ag::scalar(2.5, ag::f64);
  CHECK(fmt::format("{}", s) == "tensor(2.5, shape=[], dtype=float64)");
  CHECK(fmt::format("{:.3e}", s) == "tensor(2.500e+00, shape=[], dtype=float64)");
  CHECK(fmt::format("{}", ag::scalar(7.0, ag::f64)) == "tensor(7., shape=[], dtype=float64)");

  const ag::Tensor v({1.5, -2.0, 3.25});
  CHECK(fmt::format("{}", v) == "tensor([1.5, -2., 3.25], shape=[3], dtype=float32)");
  CHECK(fmt::format("{:g}", v) == "tensor([1.5, -2, 3.25], shape=[3], dtype=float32)");
  CHECK(fmt::format("{:+.2f}", v) == "tensor([+1.50, -2.00, +3.25], shape=[3], dtype=float32)");
  CHECK(fmt::format("{:>6.2f}", v) == "tensor([  1.50,  -2.00,   3.25], shape=[3], dtype=float32)");
  CHECK(str(v) == fmt::format("{}", v));
  // the rest of the line: name, requires_grad, grad_fn
  ag::Tensor w({1.0, 2.0}, ag::f64, true);
  const ag::Tensor y = w * w;
  CHECK(fmt::format("{:.1f}", y) == "tensor([1.0, 4.0], shape=[2], dtype=float64, requires_grad=true, grad_fn=<MulBackward>)");
  CHECK(fmt::format("{}", ag::Tensor()) == "tensor(undefined)");
  CHECK(fmt::format("{:.2f}", ag::Tensor()) == "tensor(undefined)");
  CHECK(fmt::format("{}", ag::zeros({2, 0})) == "tensor([], shape=[2, 0], dtype=float32)");
}

TEST_CASE("format: float32 elements are formatted as floats") {
  const ag::Tensor t({0.1, 0.2, 1.0 / 3.0}, ag::f32);
  CHECK(fmt::format("{}", t) == "tensor([0.1, 0.2, 0.333333], shape=[3], dtype=float32)");
  CHECK(fmt::format("{:g}", t) == "tensor([0.1, 0.2, 0.333333], shape=[3], dtype=float32)");
  CHECK(fmt::format("{:e}", t) == "tensor([1.000000e-01, 2.000000e-01, 3.333333e-01], shape=[3], dtype=float32)");
  CHECK(fmt::format("{:.10f}", ag::Tensor({0.1}, ag::f32)) == "tensor([0.1000000015], shape=[1], dtype=float32)");
  // without a precision: the shortest text of the float, not "0.10000000149011612" of a double
  CHECK(fmt::format("{:>5}", ag::Tensor({0.1}, ag::f32)) == "tensor([  0.1], shape=[1], dtype=float32)");
  const ag::Tensor m({{0.5, 1.0}, {-1.0, 2.0}}, ag::f32);
  CHECK(fmt::format("{:.3f}", m) ==
        "tensor([[ 0.500,  1.000],\n"
        "        [-1.000,  2.000]], shape=[2, 2], dtype=float32)");
}

TEST_CASE("format: 3-D blocks are separated by a blank line") {
  const ag::Tensor t = ag::arange(12.0).reshape({2, 2, 3});
  CHECK(fmt::format("{:.1f}", t) ==
        "tensor([[[ 0.0,  1.0,  2.0],\n"
        "         [ 3.0,  4.0,  5.0]],\n"
        "\n"
        "        [[ 6.0,  7.0,  8.0],\n"
        "         [ 9.0, 10.0, 11.0]]], shape=[2, 2, 3], dtype=float32)");
}

TEST_CASE("format: more than 200 elements print the first and last 3 of each axis") {
  const ag::Tensor big = ag::arange(2000.0, ag::f64).reshape({40, 50});
  const std::string s = fmt::format("{}", big);
  CHECK(s ==
        "tensor([[   0.,    1.,    2., ...,   47.,   48.,   49.],\n"
        "        [  50.,   51.,   52., ...,   97.,   98.,   99.],\n"
        "        [ 100.,  101.,  102., ...,  147.,  148.,  149.],\n"
        "        ...,\n"
        "        [1850., 1851., 1852., ..., 1897., 1898., 1899.],\n"
        "        [1900., 1901., 1902., ..., 1947., 1948., 1949.],\n"
        "        [1950., 1951., 1952., ..., 1997., 1998., 1999.]], shape=[40, 50], dtype=float64)");
  CHECK(fmt::format("{:.0f}", ag::arange(1001.0)) ==
        "tensor([0, 1, 2, ..., 998, 999, 1000], shape=[1001], dtype=float32)");
  // 200 elements are printed in full, 201 are not
  const std::string full = fmt::format("{:.0f}", ag::arange(200.0));
  CHECK(full.find("...") == std::string::npos);
  CHECK(full.find(", 100, ") != std::string::npos);
  CHECK(fmt::format("{:.0f}", ag::arange(201.0)) == "tensor([0, 1, 2, ..., 198, 199, 200], shape=[201], dtype=float32)");
  // a summarised axis of 6 or fewer is printed whole
  CHECK(fmt::format("{:.0f}", ag::arange(300.0).reshape({50, 6})).find("[[  0,   1,   2,   3,   4,   5],\n") != std::string::npos);
}

TEST_CASE("format: a spec that is not a float spec is a fmt::format_error") {
  const ag::Tensor t({1.0, 2.0});
  CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:d}"), t), fmt::format_error);
  CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:s}"), t), fmt::format_error);
  CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:x}"), t), fmt::format_error);
  CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:.2q}"), t), fmt::format_error);
  CHECK_THROWS_WITH_AS((void)fmt::format(fmt::runtime("{:{}}"), t, 5),
                       "ag::Tensor: nested format arguments ({:{}}) are not supported", fmt::format_error);
}
