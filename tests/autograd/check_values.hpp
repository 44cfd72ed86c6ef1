#pragma once
// Value checks shared by the core test files.
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

namespace {

std::vector<double> values_of(const ag::Tensor& t) {
  xt::xarray<double> a = t.to_xarray<double>();
  return std::vector<double>(a.begin(), a.end());
}

void check_values(const ag::Tensor& t, const ag::Shape& shape, const std::vector<double>& want,
                  double eps = 1e-12) {
  REQUIRE(t.defined());
  REQUIRE(t.shape() == shape);
  const std::vector<double> got = values_of(t);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(eps), "element " << i);
}

}  // namespace
