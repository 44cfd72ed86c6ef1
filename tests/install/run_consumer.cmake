# cmake -P script behind the install tests: builds tests/install/consumer against tapegrad and
# runs it (the consumer exits non-zero when the gradient it computes is wrong).
#   MODE=find_package:     installs the already-built tree TAPEGRAD_BINARY_DIR into a fresh prefix
#                          and builds the consumer with find_package(tapegrad).
#   MODE=add_subdirectory: builds the consumer with tapegrad's sources added as a subdirectory.
# Other inputs: WORK_DIR, CONSUMER_DIR, TAPEGRAD_SOURCE_DIR, GENERATOR, BUILD_TYPE, CXX_COMPILER,
# CXX_FLAGS, and SANITIZE / USE_XSIMD (the options the suite itself was configured with).
cmake_minimum_required(VERSION 3.25)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "install test (${MODE}): failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(config_args -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
                -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  run(${CMAKE_COMMAND} --install "${TAPEGRAD_BINARY_DIR}" --prefix "${prefix}" --config ${BUILD_TYPE})
  foreach(f include/ag/ag.hpp include/ag/testing/op_table.hpp include/ag/doctest_op_table.hpp
            lib/cmake/tapegrad/tapegradConfig.cmake
            lib/cmake/tapegrad/tapegradConfigVersion.cmake)
    if(NOT EXISTS "${prefix}/${f}")
      message(FATAL_ERROR "install test: ${f} was not installed into ${prefix}")
    endif()
  endforeach()
  list(APPEND config_args "-DCMAKE_PREFIX_PATH=${prefix}")
elseif(MODE STREQUAL "add_subdirectory")
  # The library is compiled again here. With no build type (no -O2, no -g) that takes about 40%
  # less CPU time than Release, and this test is about the CMake integration, not the code.
  list(FILTER config_args EXCLUDE REGEX "^-DCMAKE_BUILD_TYPE=")
  list(APPEND config_args -DCMAKE_BUILD_TYPE= "-DTAPEGRAD_SOURCE_DIR=${TAPEGRAD_SOURCE_DIR}"
       -DTAPEGRAD_SANITIZE=${SANITIZE} -DTAPEGRAD_USE_XSIMD=${USE_XSIMD})
else()
  message(FATAL_ERROR "install test: unknown MODE '${MODE}'")
endif()

run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" ${config_args})
# Only what the consumer needs (in add_subdirectory mode not tapegrad::nn etc.).
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" --parallel 2 --target consumer consumer_op_table)
run("${WORK_DIR}/build/consumer")
run("${WORK_DIR}/build/consumer_op_table")
