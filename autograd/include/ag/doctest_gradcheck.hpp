#pragma once
// doctest glue for ag::gradcheck / ag::gradgradcheck: the check fails with the full report
// (worst entries and diagnosis) as its message.
//   CHECK_GRADCHECK(f, {x, w});             REQUIRE_GRADCHECK(f, {x, w}, options);
//   CHECK_GRADGRADCHECK(f, {x, w});         REQUIRE_GRADGRADCHECK(f, {x, w}, options);
// The arguments are those of ag::gradcheck (a lambda with commas is fine: it is passed through).
#include <doctest/doctest.h>

#include "ag/gradcheck.hpp"

#define AG_DOCTEST_GRADCHECK_IMPL_(ASSERT, checker, ...)                                      \
  do {                                                                                        \
    const ::ag::GradcheckResult ag_gradcheck_result_ = ::ag::checker(__VA_ARGS__);           \
    ASSERT(ag_gradcheck_result_.ok, ag_gradcheck_result_.report);                             \
  } while (false)

#define CHECK_GRADCHECK(...) AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_CHECK_MESSAGE, gradcheck, __VA_ARGS__)
#define REQUIRE_GRADCHECK(...) \
  AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_REQUIRE_MESSAGE, gradcheck, __VA_ARGS__)
#define CHECK_GRADGRADCHECK(...) \
  AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_CHECK_MESSAGE, gradgradcheck, __VA_ARGS__)
#define REQUIRE_GRADGRADCHECK(...) \
  AG_DOCTEST_GRADCHECK_IMPL_(DOCTEST_REQUIRE_MESSAGE, gradgradcheck, __VA_ARGS__)
