// Anomaly mode: NaN/Inf in a forward output, a VJP's gradient, a hook's result or a given
// grad_output raises AnomalyError naming the op, its tape position, shapes and producers.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "ag/ag.hpp"

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The message of the AnomalyError f() throws ("" if it throws none).
template <class F> std::string anomaly_message(F&& f) {
  try {
    f();
  } catch (const ag::AnomalyError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("anomaly: off by default, NaN flows through silently") {
  REQUIRE_FALSE(ag::is_anomaly_enabled());
  ag::Tensor x({-1.0, 4.0}, ag::f64, true);
  ag::Tensor y = ag::log(x);  // log(-1) = nan
  CHECK(std::isnan(y.value<double>()(0)));
  CHECK_NOTHROW(y.sum().backward());
}

TEST_CASE("anomaly: a NaN forward output names the op, its tape position, shapes and producers") {
  ag::DetectAnomalyGuard guard;
  CHECK(ag::is_anomaly_enabled());
  ag::Tensor x({{1.0, 2.0}, {3.0, 4.0}}, ag::f64, true);
  x.set_name("x");
  ag::Tensor d = x - 3.0;  // [[-2, -1], [0, 1]], recorded as add(x, -3)
  const std::string m = anomaly_message([&] { ag::log(d); });
  CHECK(has(m, "'log'"));
  CHECK(has(m, "on the tape"));
  CHECK(has(m, "nan at [0, 0]"));
  CHECK(has(m, "float64 [2, 2]"));
  CHECK(has(m, "from 'add' (#"));  // the producer of the offending input, with its position
}

TEST_CASE("anomaly: an Inf output of an op that is not recorded is caught too") {
  ag::DetectAnomalyGuard guard;
  ag::Tensor a({1.0, 0.0}, ag::f32);
  a.set_name("a");
  const std::string m = anomaly_message([&] { ag::div(ag::ones({2}), a); });
  CHECK(has(m, "'div'"));
  CHECK(has(m, "not recorded"));
  CHECK(has(m, "inf at [1]"));
  CHECK(has(m, "constant 'a'"));
}

TEST_CASE("anomaly: an input that already holds NaN is pointed out") {
  ag::DetectAnomalyGuard guard;
  ag::Tensor a({std::numeric_limits<double>::quiet_NaN(), 1.0}, ag::f64, true);
  a.set_name("w");
  const std::string m = anomaly_message([&] { ag::mul(a, 2.0); });
  CHECK(has(m, "'mul'"));
  CHECK(has(m, "leaf 'w'"));
  CHECK(has(m, "already holds nan at [0]"));
}

TEST_CASE("anomaly: a NaN gradient from a VJP names the backward op and the input's producer") {
  // sqrt(x) at x = 0: the forward is finite (0) but d/dx = 1/(2·sqrt(x)) = inf, and 0·inf = nan
  ag::Tensor x({0.0, 4.0}, ag::f64, true);
  x.set_name("x");
  ag::Tensor y;
  {
    ag::DetectAnomalyGuard guard;
    y = ag::sum(ag::sqrt(x));
    const std::string m = anomaly_message([&] { y.backward(ag::Tensor(), true); });
    CHECK(has(m, "backward of 'sqrt'"));
    CHECK(has(m, "inf at [0]"));
    CHECK(has(m, "input 0"));
    CHECK(has(m, "leaf 'x'"));
    CHECK_FALSE(x.grad().defined());  // nothing half-accumulated
  }
  // the same graph without anomaly mode: the inf reaches .grad silently
  y.backward();
  CHECK(std::isinf(x.grad().value<double>()(0)));
}

TEST_CASE("anomaly: the global switch, and a NaN grad_output") {
  ag::set_detect_anomaly(true);
  CHECK(ag::is_anomaly_enabled());
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y = ag::mul(x, 3.0);
  const std::string m = anomaly_message([&] {
    y.backward(ag::Tensor({std::nan(""), 1.0}, ag::f64));
  });
  ag::set_detect_anomaly(false);
  CHECK_FALSE(ag::is_anomaly_enabled());
  CHECK(has(m, "grad_output 0"));
  CHECK(has(m, "nan at [0]"));
}

TEST_CASE("anomaly: finite values pass and results are unchanged") {
  ag::Tensor x({0.5, 1.5, 2.5}, ag::f64, true);
  ag::Tensor with, without;
  {
    ag::DetectAnomalyGuard guard;
    ag::sum(ag::mul(ag::exp(x), x)).backward();
    with = x.grad();
  }
  x.zero_grad();
  ag::sum(ag::mul(ag::exp(x), x)).backward();
  without = x.grad();
  for (std::size_t i = 0; i < 3; ++i) CHECK(with.value<double>()(i) == without.value<double>()(i));
}
