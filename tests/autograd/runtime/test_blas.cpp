// The BLAS query and the decision behind the start-up warning about OpenBLAS' generic kernels.
#include <string>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/blas.hpp"

TEST_CASE("blas_info names the library") {
  const std::string info = ag::blas_info();
  CHECK_FALSE(info.empty());
  CHECK((info.find("OpenBLAS") != std::string::npos || info.find("BLIS") != std::string::npos));
  // a matmul (which runs the start-up check) still gives the right product
  ag::Tensor c = ag::matmul(ag::Tensor({{1, 2}, {3, 4}}, ag::f64), ag::Tensor({{5, 6}, {7, 8}}, ag::f64));
  CHECK(c.to_xarray<double>() == xt::xarray<double>{{19, 22}, {43, 50}});
}

TEST_CASE("blas_core_advice: generic kernels on an AVX2 CPU name the fix") {
  const std::string a = ag::blas_core_advice("Prescott", true, false);
  CHECK(a.find("export OPENBLAS_CORETYPE=Haswell") != std::string::npos);
  CHECK(a.find("Prescott") != std::string::npos);
  CHECK(a.find("TAPEGRAD_NO_BLAS_WARNING=1") != std::string::npos);
  // avx512f: the SkylakeX kernels
  const std::string b = ag::blas_core_advice("Prescott", true, true);
  CHECK(b.find("export OPENBLAS_CORETYPE=SkylakeX") != std::string::npos);
  // other pre-AVX2 cores, any case
  CHECK_FALSE(ag::blas_core_advice("Nehalem", true, false).empty());
  CHECK_FALSE(ag::blas_core_advice("core2", true, false).empty());
  CHECK_FALSE(ag::blas_core_advice("Sandybridge", true, true).empty());
}

TEST_CASE("blas_core_advice: no warning for a matching kernel or an old CPU") {
  CHECK(ag::blas_core_advice("Haswell", true, false).empty());
  CHECK(ag::blas_core_advice("Zen", true, false).empty());
  CHECK(ag::blas_core_advice("SkylakeX", true, true).empty());
  CHECK(ag::blas_core_advice("Cooperlake", true, true).empty());
  // without avx2, Prescott may be the right choice
  CHECK(ag::blas_core_advice("Prescott", false, false).empty());
  CHECK(ag::blas_core_advice("Nehalem", false, false).empty());
}
