#pragma once
// Value checks for the tests: build a tensor of a given dtype from values, read values back,
// compare against expected values with a dtype-appropriate tolerance.
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace opt {

inline const ag::DType kDtypes[] = {ag::f32, ag::f64};

inline double tol(ag::DType d) { return d == ag::f32 ? 2e-6 : 1e-12; }

inline ag::Tensor make(const std::vector<double>& v, const ag::Shape& shape, ag::DType d = ag::f64,
                       bool requires_grad = false) {
  xt::xarray<double> a = xt::xarray<double>::from_shape(shape);
  REQUIRE(a.size() == v.size());
  std::copy(v.begin(), v.end(), a.begin());
  ag::Tensor t(std::move(a));
  if (d == ag::f32) t = t.to(ag::f32);
  t.requires_grad_(requires_grad);
  return t;
}

inline std::vector<double> vals(const ag::Tensor& t) {
  xt::xarray<double> a = t.to_xarray<double>();
  return std::vector<double>(a.begin(), a.end());
}

// Shape and values; relative tolerance eps (scale 1, doctest::Approx), eps = 0: exact.
inline void check(const ag::Tensor& t, const ag::Shape& shape, const std::vector<double>& want, double eps) {
  REQUIRE(t.defined());
  REQUIRE(t.shape() == shape);
  const std::vector<double> got = vals(t);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (eps == 0.0 || std::isinf(want[i])) CHECK_MESSAGE(got[i] == want[i], "element " << i);  // exact
    else CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(eps), "element " << i);
  }
}

// The message of the exception f throws (empty if it throws none).
template <class F> std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// Shared fixtures: two [2,3] value lists, a [2,3] float64 tensor from six values, a [n,1] column,
// and 0, 1, 2, ... in a given shape.
inline const std::vector<double> kA = {0.5, -1.25, 2.0, 3.5, -0.75, 1.0};
inline const std::vector<double> kB = {2.0, 0.5, -4.0, 1.5, 3.0, -2.5};
inline ag::Tensor t23(const std::vector<double>& v, bool rg = false) {
  return ag::Tensor({{v[0], v[1], v[2]}, {v[3], v[4], v[5]}}, ag::f64, rg);
}
inline ag::Tensor column(const std::vector<double>& v, bool rg = false) {
  return make(v, {v.size(), std::size_t{1}}, ag::f64, rg);
}
inline ag::Tensor iota(const ag::Shape& s, ag::DType d = ag::f64, bool rg = false) {
  std::vector<double> v(ag::numel(s));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return make(v, s, d, rg);
}

// n values uniform in [-1, 1) from gen.
inline std::vector<double> random_values(std::size_t n, ag::Generator& gen) {
  std::vector<double> v(n);
  for (double& x : v) x = 2.0 * gen.uniform01() - 1.0;
  return v;
}

}  // namespace opt

// The same checks under the names the engine tests use.
inline std::vector<double> values_of(const ag::Tensor& t) { return opt::vals(t); }
inline void check_values(const ag::Tensor& t, const ag::Shape& shape, const std::vector<double>& want,
                         double eps = 1e-12) {
  opt::check(t, shape, want, eps);
}
