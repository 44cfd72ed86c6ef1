// The doctest main, alone in its TU (it is never rebuilt).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
