# ctest "consumer": lossfn used by a downstream project in each way a user would, each program
# built and run:
#   1. find_package, shared (C and C++) and static, against `cmake --install` in a prefix;
#   2. add_subdirectory of the source tree, as a C-only project (the C++ compiler is a path that
#      does not exist, so enabling CXX anywhere would fail), whose own `cmake --install` must
#      install the consumer only;
#   3. FetchContent from a git clone of this repository (its committed HEAD), C and C++;
#   4. pkg-config, shared (runs with no LD_LIBRARY_PATH: lossfn.pc carries the run path) and
#      static (lossfn-static.pc: `ldd` must show no liblossfn.so);
#   5. the build tree without installing, with the compiler lines README.md gives (shared with
#      -L/-rpath to the cargo target directory, static with liblossfn.a by path).
# Static programs are checked with ldd for not loading liblossfn.so.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

find_program(LDD ldd)
function(check_static exe)
  if(LDD)
    execute_process(COMMAND ${LDD} "${exe}" OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(out MATCHES "liblossfn")
      message(FATAL_ERROR "${exe} is meant to be static but loads liblossfn:\n${out}")
    endif()
  endif()
  run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH "${exe}")
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(compilers -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER})
file(REMOVE_RECURSE "${WORK_DIR}")
run(${CMAKE_COMMAND} --install "${LOSSFN_BINARY_DIR}" --prefix "${prefix}")

message(STATUS "consumer 1: find_package (shared C, shared C++, static)")
run(${CMAKE_COMMAND} -S "${LOSSFN_SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/fp" -DCMAKE_PREFIX_PATH=${prefix} ${compilers})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/fp")
run("${WORK_DIR}/fp/consumer_shared_c")
run("${WORK_DIR}/fp/consumer_shared")
check_static("${WORK_DIR}/fp/consumer_static")

message(STATUS "consumer 2: add_subdirectory, C only (no C++ compiler), and the consumer's own install")
run(${CMAKE_COMMAND} -S "${LOSSFN_SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/sub"
    -DLOSSFN_CONSUMER_MODE=subdirectory -DLOSSFN_CONSUMER_CXX=OFF -DLOSSFN_SOURCE_DIR=${LOSSFN_SOURCE_DIR}
    -DLOSSFN_CARGO_TARGET_DIR=${LOSSFN_CARGO_TARGET_DIR}
    -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=/nonexistent/c++)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/sub")
run("${WORK_DIR}/sub/consumer_shared_c")
check_static("${WORK_DIR}/sub/consumer_static")
run(${CMAKE_COMMAND} --install "${WORK_DIR}/sub" --prefix "${WORK_DIR}/sub-prefix")
if(NOT EXISTS "${WORK_DIR}/sub-prefix/bin/consumer_static")
  message(FATAL_ERROR "the consumer's install did not install the consumer")
endif()
file(GLOB_RECURSE leaked "${WORK_DIR}/sub-prefix/*lossfn*")
if(leaked)
  message(FATAL_ERROR "the consumer's install installed lossfn's files (LOSSFN_INSTALL should be off): ${leaked}")
endif()

# FetchContent clones the repository, so it needs a git checkout of it (a clean clone in CI).
find_package(Git)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C "${LOSSFN_SOURCE_DIR}" rev-parse HEAD
                  OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE git_rc ERROR_QUIET)
endif()
if(GIT_FOUND AND git_rc EQUAL 0)
  message(STATUS "consumer 3: FetchContent of ${head} (C and C++; cargo dev profile, its own target dir)")
  run(${CMAKE_COMMAND} -S "${LOSSFN_SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/fc"
      -DLOSSFN_CONSUMER_MODE=fetchcontent -DLOSSFN_GIT_REPOSITORY=file://${LOSSFN_SOURCE_DIR} -DLOSSFN_GIT_TAG=${head}
      -DLOSSFN_CARGO_PROFILE=dev ${compilers})
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/fc")
  run("${WORK_DIR}/fc/consumer_shared_c")
  run("${WORK_DIR}/fc/consumer_shared")
  check_static("${WORK_DIR}/fc/consumer_static")
else()
  message(WARNING "consumer 3 (FetchContent) not run: ${LOSSFN_SOURCE_DIR} is not a git checkout or git is missing")
endif()

find_program(PKG_CONFIG pkg-config)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found: install it (e.g. apt-get install pkg-config) to run consumer 4")
endif()
message(STATUS "consumer 4: pkg-config, shared (run path from lossfn.pc) and static (lossfn-static.pc)")
set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig:${prefix}/lib64/pkgconfig")
foreach(pc lossfn lossfn-static)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${pc} OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs ${pc} failed")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CMAKE_C_COMPILER} "${LOSSFN_SOURCE_DIR}/tests/consumer/main.c" ${flags} -o "${WORK_DIR}/pkgconfig_${pc}")
endforeach()
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH "${WORK_DIR}/pkgconfig_lossfn")
check_static("${WORK_DIR}/pkgconfig_lossfn-static")

message(STATUS "consumer 5: the build tree, no install (README's compiler lines)")
set(lib "${LOSSFN_LIBRARY_DIR}")  # target/release for the default profile
run(${CMAKE_C_COMPILER} "${LOSSFN_SOURCE_DIR}/tests/consumer/main.c" -I "${LOSSFN_SOURCE_DIR}/include"
    -L "${lib}" -llossfn -Wl,-rpath,${lib} -o "${WORK_DIR}/buildtree_shared")
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH "${WORK_DIR}/buildtree_shared")
run(${CMAKE_C_COMPILER} "${LOSSFN_SOURCE_DIR}/tests/consumer/main.c" -I "${LOSSFN_SOURCE_DIR}/include"
    "${lib}/liblossfn.a" -lpthread -ldl -lm -lrt -lutil -o "${WORK_DIR}/buildtree_static")
check_static("${WORK_DIR}/buildtree_static")
