#pragma once
// doctest glue for ag::gradcheck / ag::gradgradcheck: the assertion is the user's call itself, so a
// failure names it, and its value is the full report (worst entries and diagnosis):
//   CHECK_GRADCHECK(f, {x, w});             REQUIRE_GRADCHECK(f, {x, w}, options);
//   CHECK_GRADGRADCHECK(f, {x, w});         REQUIRE_GRADGRADCHECK(f, {x, w}, options);
// The arguments are those of ag::gradcheck (a lambda with commas is fine: it is passed through).
// A failure prints
//   ERROR: CHECK( ::ag::gradcheck(f, {x, w}) ) is NOT correct!
//     values: CHECK( gradcheck failed (mode full, ...)
//   <the rest of the report> )
#include <doctest/doctest.h>

#include "ag/gradcheck.hpp"

namespace doctest {
// What doctest prints as the value of a failing check: the report.
template <> struct StringMaker<::ag::GradcheckResult> {
  static String convert(const ::ag::GradcheckResult& r) {
    return r.ok ? String("ok") : String(r.report.c_str(), static_cast<String::size_type>(r.report.size()));
  }
};
}  // namespace doctest

#define AG_DOCTEST_GRADCHECK_IMPL_(ASSERT, checker, ...) ASSERT(::ag::checker(__VA_ARGS__))

#define CHECK_GRADCHECK(...) AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_CHECK, gradcheck, __VA_ARGS__)
#define REQUIRE_GRADCHECK(...) AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_REQUIRE, gradcheck, __VA_ARGS__)
#define CHECK_GRADGRADCHECK(...) AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_CHECK, gradgradcheck, __VA_ARGS__)
#define REQUIRE_GRADGRADCHECK(...) \
  AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_REQUIRE, gradgradcheck, __VA_ARGS__)
