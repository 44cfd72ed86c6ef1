// In-place safety: a VJP that reads a tensor changed in place after it was recorded raises GradError.
#include <doctest/doctest.h>

#include <string>

#include "ag/ag.hpp"

TEST_CASE("version: mutable_value bumps the version counter") {
  ag::Tensor x({1.0, 2.0}, ag::f64);
  CHECK(x.version() == 0);
  x.mutable_value<double>()(0) = 5.0;
  CHECK(x.version() == 1);
}

TEST_CASE("version: backward through a saved input changed in place raises GradError naming the op") {
  ag::Tensor a({1.0, 2.0, 3.0}, ag::f64, true);
  ag::Tensor b({4.0, 5.0, 6.0}, ag::f64, true);
  ag::Tensor y = ag::sum(ag::mul(a, b));  // d/da = b: the VJP reads b
  b.mutable_value<double>()(1) = 50.0;    // an in-place change after recording
  try {
    y.backward();
    FAIL("expected GradError");
  } catch (const ag::GradError& e) {
    const std::string m = e.what();
    CHECK(m.find("mul") != std::string::npos);
    CHECK(m.find("in-place") != std::string::npos);
    CHECK(m.find("[3]") != std::string::npos);
  }
}

TEST_CASE("version: an in-place change to an input the VJP does not read is fine") {
  ag::Tensor a({1.0, 2.0}, ag::f64, true);
  ag::Tensor b({3.0, 4.0}, ag::f64, true);
  ag::Tensor y = ag::sum(ag::add(a, b));  // add's VJP reads neither input
  a.mutable_value<double>()(0) = 10.0;
  y.backward();
  CHECK(a.grad().value<double>()(0) == 1.0);
  CHECK(b.grad().value<double>()(1) == 1.0);
}

TEST_CASE("version: changing a saved output in place raises GradError") {
  ag::Tensor x({0.5, -1.0}, ag::f64, true);
  ag::Tensor e = ag::exp(x);  // exp's VJP reads its output
  ag::Tensor y = ag::sum(e);
  e.mutable_value<double>()(0) = 0.0;
  CHECK_THROWS_AS(y.backward(), ag::GradError);
}
