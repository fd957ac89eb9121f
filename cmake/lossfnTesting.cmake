# Examples, benchmarks and tests of lossfn itself (not installed). Every example is a test.
enable_language(CXX)
find_package(Python3 COMPONENTS Interpreter)

set(LOSSFN_SANITIZE "" CACHE STRING "Sanitizers for the C/C++ tests and examples, e.g. address,undefined")
set(LOSSFN_STRICT_C_FLAGS -std=c99 -Wall -Wextra -Wpedantic -Werror)
set(LOSSFN_STRICT_CXX_FLAGS -Wall -Wextra -Wpedantic -Werror)
set(LOSSFN_FIXTURES_DIR "${CMAKE_CURRENT_SOURCE_DIR}/tests/fixtures" CACHE PATH "Reference cases read by the tests (tests/fixtures)")
set(LOSSFN_PYTHON_ENV
  "LOSSFN_LIBRARY=${LOSSFN_SHARED_FILE}"
  "PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}/bindings/python"
  "LOSSFN_FIXTURES=${LOSSFN_FIXTURES_DIR}")

# With LOSSFN_SANITIZE, a program is built with those sanitizers (UBSan errors abort).
function(lossfn_sanitize name)
  if(LOSSFN_SANITIZE)
    target_compile_options(${name} PRIVATE -fsanitize=${LOSSFN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${name} PRIVATE -fsanitize=${LOSSFN_SANITIZE})
  endif()
endfunction()

# A C or C++ program linked against lossfn::lossfn, built with warnings as errors.
function(lossfn_program name source)
  add_executable(${name} ${source})
  lossfn_sanitize(${name})
  target_link_libraries(${name} PRIVATE lossfn::lossfn m)
  if(source MATCHES "\\.c$")
    target_compile_options(${name} PRIVATE ${LOSSFN_STRICT_C_FLAGS})
  else()
    target_compile_features(${name} PRIVATE cxx_std_17)
    target_compile_options(${name} PRIVATE ${LOSSFN_STRICT_CXX_FLAGS})
  endif()
endfunction()

if(LOSSFN_BUILD_EXAMPLES OR LOSSFN_BUILD_TESTS)
  file(GLOB _examples CONFIGURE_DEPENDS examples/*.c examples/*.cpp)
  # (examples/mpi_*: built and run under mpirun where MPI exists, below)
  list(FILTER _examples EXCLUDE REGEX "/mpi_[^/]*$")
  foreach(src IN LISTS _examples)
    get_filename_component(stem ${src} NAME_WE)
    lossfn_program(example_${stem} ${src})
    if(LOSSFN_BUILD_TESTS)
      add_test(NAME example.${stem} COMMAND example_${stem})
    endif()
  endforeach()
endif()

if(LOSSFN_BUILD_BENCHMARKS)
  find_package(OpenMP COMPONENTS C)
  file(GLOB _benches CONFIGURE_DEPENDS benches/bench_*.c)
  foreach(src IN LISTS _benches)
    get_filename_component(stem ${src} NAME_WE)
    add_executable(${stem} ${src})
    if(stem MATCHES "^bench_(boxes|overlap|regression|small_calls)$" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
      # Their C loops are the baseline a performance-minded user writes: auto-vectorised
      # (libmvec's expf, logf, atan2f) and spread over the threads by OpenMP. (bench_classification
      # still holds scalar -O2 loops, described as such in its header.)
      target_compile_options(${stem} PRIVATE -O3 -march=native -ffast-math)
    else()
      target_compile_options(${stem} PRIVATE -O2)
    endif()
    target_link_libraries(${stem} PRIVATE lossfn::lossfn Threads::Threads m)
    if(OpenMP_C_FOUND)
      target_link_libraries(${stem} PRIVATE OpenMP::OpenMP_C)
    endif()
  endforeach()
endif()

if(NOT LOSSFN_BUILD_TESTS)
  return()
endif()
enable_testing()

# C and C++ tests: tests/c/*.c, tests/cpp/*.cpp; the C API test also against the static library.
file(GLOB _c_tests CONFIGURE_DEPENDS tests/c/*.c)
foreach(src IN LISTS _c_tests)
  get_filename_component(stem ${src} NAME_WE)
  lossfn_program(c_${stem} ${src})
  target_link_libraries(c_${stem} PRIVATE Threads::Threads)
  target_compile_definitions(c_${stem} PRIVATE LOSSFN_FIXTURES_DEFAULT="${LOSSFN_FIXTURES_DIR}")
  add_test(NAME c.${stem} COMMAND c_${stem})
  set_tests_properties(c.${stem} PROPERTIES ENVIRONMENT "LOSSFN_FIXTURES=${LOSSFN_FIXTURES_DIR}")
endforeach()
add_executable(c_test_api_static tests/c/test_api.c)
lossfn_sanitize(c_test_api_static)
target_compile_options(c_test_api_static PRIVATE ${LOSSFN_STRICT_C_FLAGS})
target_link_libraries(c_test_api_static PRIVATE lossfn::lossfn_static m)
target_compile_definitions(c_test_api_static PRIVATE LOSSFN_FIXTURES_DEFAULT="${LOSSFN_FIXTURES_DIR}")
add_test(NAME c.test_api_static COMMAND c_test_api_static)

file(GLOB _cpp_tests CONFIGURE_DEPENDS tests/cpp/*.cpp)
foreach(src IN LISTS _cpp_tests)
  get_filename_component(stem ${src} NAME_WE)
  lossfn_program(cpp_${stem} ${src})
  add_test(NAME cpp.${stem} COMMAND cpp_${stem})
endforeach()
# lossfn.hpp's status-returning form, as a -fno-exceptions project compiles it.
target_compile_options(cpp_test_noexcept PRIVATE -fno-exceptions)

if(Python3_Interpreter_FOUND)
  file(GLOB _py_examples CONFIGURE_DEPENDS examples/*.py)
  # (examples/mpi_*.py: under mpirun where mpi4py imports, with the MPI tests)
  list(FILTER _py_examples EXCLUDE REGEX "/mpi_[^/]*$")
  foreach(src IN LISTS _py_examples)
    get_filename_component(stem ${src} NAME_WE)
    add_test(NAME example_py.${stem} COMMAND Python3::Interpreter ${src})
    set_tests_properties(example_py.${stem} PROPERTIES ENVIRONMENT "${LOSSFN_PYTHON_ENV}")
  endforeach()
  add_test(NAME python.pytest
    COMMAND Python3::Interpreter -m pytest -q -p no:cacheprovider "${CMAKE_CURRENT_SOURCE_DIR}/bindings/python/tests")
  set_tests_properties(python.pytest PROPERTIES ENVIRONMENT "${LOSSFN_PYTHON_ENV}")
endif()

# The C tests and an example under valgrind memcheck, as a downstream valgrind CI job runs them:
# any error or definite/possible leak fails, with the suppressions lossfn ships for its pool.
find_program(LOSSFN_VALGRIND valgrind)
if(LOSSFN_VALGRIND AND NOT LOSSFN_SANITIZE)
  foreach(prog c_test_api c_test_api_static c_test_threads example_linear_fit)
    add_test(NAME valgrind.${prog}
      COMMAND ${LOSSFN_VALGRIND} -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,possible
              --errors-for-leak-kinds=definite,possible --trace-children=yes
              --suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tools/valgrind/lossfn.supp $<TARGET_FILE:${prog}>)
    set_tests_properties(valgrind.${prog} PROPERTIES ENVIRONMENT "LOSSFN_FIXTURES=${LOSSFN_FIXTURES_DIR}")
  endforeach()
endif()

# Data-parallel MEAN losses on a real distributed engine (tests/mpi): where MPI exists (CI
# installs OpenMPI), under mpirun with 1, 2 and 4 ranks. Not under the sanitizers (OpenMPI's own
# allocations would be reported).
find_package(MPI COMPONENTS C QUIET)
if(MPI_C_FOUND AND NOT LOSSFN_SANITIZE)
  # global_mean: the MEAN recipe; batch_dice: the two-phase batch Dice / Tversky / generalized Dice.
  foreach(t global_mean batch_dice)
    add_executable(mpi_test_${t} tests/mpi/test_${t}.c)
    target_compile_options(mpi_test_${t} PRIVATE -Wall -Wextra -Werror)
    target_link_libraries(mpi_test_${t} PRIVATE lossfn::lossfn MPI::MPI_C m)
    foreach(np 1 2 4)
      add_test(NAME mpi.${t}.np${np}
        COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe $<TARGET_FILE:mpi_test_${t}>)
      # OpenMPI refuses to run as root (CI containers) unless told.
      set_tests_properties(mpi.${t}.np${np} PROPERTIES
        ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
    endforeach()
  endforeach()
  # The data-parallel examples: C (examples/mpi_*.c) under mpirun -np 2.
  file(GLOB _mpi_examples CONFIGURE_DEPENDS examples/mpi_*.c)
  foreach(src IN LISTS _mpi_examples)
    get_filename_component(stem ${src} NAME_WE)
    add_executable(example_${stem} ${src})
    target_compile_options(example_${stem} PRIVATE ${LOSSFN_STRICT_C_FLAGS})
    target_link_libraries(example_${stem} PRIVATE lossfn::lossfn MPI::MPI_C m)
    add_test(NAME example.${stem}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 --oversubscribe $<TARGET_FILE:example_${stem}>)
    set_tests_properties(example.${stem} PROPERTIES
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
  endforeach()
  # Python (examples/mpi_*.py) where mpi4py imports (.ci/run installs it from PyPI).
  if(Python3_Interpreter_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c "import mpi4py" RESULT_VARIABLE _no_mpi4py OUTPUT_QUIET ERROR_QUIET)
    if(_no_mpi4py EQUAL 0)
      file(GLOB _mpi_py_examples CONFIGURE_DEPENDS examples/mpi_*.py)
      foreach(src IN LISTS _mpi_py_examples)
        get_filename_component(stem ${src} NAME_WE)
        add_test(NAME example_py.${stem}
          COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 --oversubscribe ${Python3_EXECUTABLE} ${src})
        set_tests_properties(example_py.${stem} PROPERTIES ENVIRONMENT
          "${LOSSFN_PYTHON_ENV};OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
      endforeach()
    else()
      message(STATUS "mpi4py does not import: examples/mpi_*.py are not registered (pip install mpi4py)")
    endif()
  endif()
else()
  message(STATUS "MPI not found (or sanitizers on): the tests/mpi tests are not registered")
endif()

# A downstream project: find_package against an install in a temporary prefix (shared and
# static), add_subdirectory of this source tree, and pkg-config.
add_test(NAME consumer
  COMMAND ${CMAKE_COMMAND}
    -DLOSSFN_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
    -DLOSSFN_BINARY_DIR=${CMAKE_CURRENT_BINARY_DIR}
    -DLOSSFN_CARGO_TARGET_DIR=${LOSSFN_CARGO_TARGET_DIR}
    -DLOSSFN_LIBRARY_DIR=${_lossfn_out}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer-test
    -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
    -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/consumer/run.cmake)

# The C/C++ tests and examples again under ASan + LSan + UBSan (not nested inside itself).
if(NOT LOSSFN_SANITIZE)
  add_test(NAME sanitize
    COMMAND ${CMAKE_COMMAND}
      -DLOSSFN_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
      -DLOSSFN_CARGO_TARGET_DIR=${LOSSFN_CARGO_TARGET_DIR}
      -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/sanitize-test
      -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
      -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
      -DCMAKE_CTEST_COMMAND=${CMAKE_CTEST_COMMAND}
      -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/sanitize/run.cmake)
endif()
