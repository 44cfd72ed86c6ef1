# cmake -P script: the C++ example in README.md must be byte-identical to consumer/main.cpp, so the
# README shows code that the install tests really compile and run. The README marks the block
# with the line `<!-- snippet: tests/install/consumer/main.cpp -->` right before it.
cmake_minimum_required(VERSION 3.25)
file(READ "${README}" readme)
file(READ "${SNIPPET}" snippet)
set(marker "<!-- snippet: tests/install/consumer/main.cpp -->\n```cpp\n")
string(FIND "${readme}" "${marker}" start)
if(start EQUAL -1)
  message(FATAL_ERROR "README.md: no ```cpp block after the marker for tests/install/consumer/main.cpp")
endif()
string(LENGTH "${marker}" marker_len)
math(EXPR start "${start} + ${marker_len}")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
if(NOT block STREQUAL snippet)
  message(FATAL_ERROR "README.md: the example differs from tests/install/consumer/main.cpp; "
                      "copy the file into the README (or the other way round).")
endif()
