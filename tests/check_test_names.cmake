# ctest's doctest_discover_tests splits test names at ';' (a CMake list separator): a TEST_CASE or
# a gradcheck row whose name holds one becomes a ctest entry that selects no test case and passes
# without running anything. This check fails when a name in tests/ or examples/ has one.
#   cmake -DSOURCE_DIR=<repo> -P check_test_names.cmake
file(GLOB_RECURSE files "${SOURCE_DIR}/tests/*.cpp" "${SOURCE_DIR}/tests/*.hpp" "${SOURCE_DIR}/examples/*.cpp")
set(bad "")
foreach(f IN LISTS files)
  file(READ "${f}" text)
  # a name: the first string literal of TEST_CASE(...) or of a row macro after the op's name
  string(REGEX MATCHALL "(TEST_CASE|TEST_CASE_TEMPLATE)\\(\"[^\"\n]*;|(GRADCHECK_ROW|AG_OP_ROW)\\([A-Za-z_0-9:]+, *\"[^\"\n]*;" hits "${text}")
  if(hits)
    string(APPEND bad "\n  ${f}")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "test names with ';' in (ctest would run nothing for them; use ','):${bad}")
endif()
