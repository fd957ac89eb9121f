# ctest "sanitize": builds this tree's C/C++ tests and examples with AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer in a separate build directory, reusing the
# cargo build of the library, and runs them. Any report fails the test.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(ENV{ASAN_OPTIONS} "detect_leaks=1:abort_on_error=1")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
run(${CMAKE_COMMAND} -S "${LOSSFN_SOURCE_DIR}" -B "${WORK_DIR}"
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOSSFN_SANITIZE=address,undefined
    -DLOSSFN_BUILD_BENCHMARKS=OFF -DLOSSFN_CARGO_TARGET_DIR=${LOSSFN_CARGO_TARGET_DIR}
    -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER})
run(${CMAKE_COMMAND} --build "${WORK_DIR}" --parallel)
run(${CMAKE_CTEST_COMMAND} --test-dir "${WORK_DIR}" --output-on-failure -E "python|consumer|example_py|sanitize")
