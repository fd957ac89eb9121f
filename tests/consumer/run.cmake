# ctest "consumer": install lossfn into a temporary prefix, then build and run a downstream
# project with find_package (shared + static), with add_subdirectory, and with pkg-config.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
run(${CMAKE_COMMAND} --install "${LOSSFN_BINARY_DIR}" --prefix "${prefix}")

# find_package against the installed copy.
run(${CMAKE_COMMAND} -S "${LOSSFN_SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/fp"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/fp")
run("${WORK_DIR}/fp/consumer_shared")
run("${WORK_DIR}/fp/consumer_static")

# add_subdirectory of the source tree (reusing the cargo build of the main tree).
run(${CMAKE_COMMAND} -S "${LOSSFN_SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/sub"
    -DLOSSFN_CONSUMER_MODE=subdirectory -DLOSSFN_SOURCE_DIR=${LOSSFN_SOURCE_DIR}
    -DLOSSFN_CARGO_TARGET_DIR=${LOSSFN_CARGO_TARGET_DIR}
    -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/sub")
run("${WORK_DIR}/sub/consumer_shared")
run("${WORK_DIR}/sub/consumer_static")

# pkg-config, where the machine has it.
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig:${prefix}/lib64/pkgconfig")
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs lossfn OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs lossfn failed")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CMAKE_C_COMPILER} "${LOSSFN_SOURCE_DIR}/tests/consumer/main.c" ${flags} -Wl,-rpath,${prefix}/lib -o "${WORK_DIR}/pkgconfig_consumer")
  run("${WORK_DIR}/pkgconfig_consumer")
else()
  message(STATUS "pkg-config not found: pkg-config consumer step not run")
endif()
