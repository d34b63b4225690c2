# Helpers that give every package and test the same shape and the same flags.

set(BACKUPY_WARNINGS -Wall -Wextra -Werror -Wpedantic -Wno-missing-field-initializers)

function(backupy_apply_common target)
  target_compile_options(${target} PRIVATE ${BACKUPY_WARNINGS})
  # Asio's awaitable.hpp forgets <utility>; keep Boost quiet about deprecated
  # bind placeholders; one Asio implementation per program.
  target_compile_definitions(${target} PRIVATE BOOST_BIND_GLOBAL_PLACEHOLDERS
                                               BOOST_ASIO_NO_DEPRECATED)
  if(BACKUPY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                                             -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# backupy_package(<name> SOURCES ... DEPS ...)
# A library at packages/<name> with public headers under include/backupy/<name>/.
function(backupy_package name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(backupy_${name} STATIC ${ARG_SOURCES})
  add_library(backupy::${name} ALIAS backupy_${name})
  target_include_directories(backupy_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(backupy_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  backupy_apply_common(backupy_${name})
  if(BACKUPY_SANITIZE)
    target_link_options(backupy_${name} INTERFACE -fsanitize=address,undefined)
  endif()
endfunction()

# backupy_test(<name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s] [SERIAL] [ONE_PROCESS])
# One GoogleTest binary; every TEST becomes its own ctest entry. Binaries labelled unit (the
# default) are collected for the target unit_tests (top-level CMakeLists.txt). SERIAL tests
# never run beside others (they spawn servers or measure cadences).
# ONE_PROCESS: the whole binary is one ctest entry, so that a suite can share
# an expensive fixture (a database server started once in SetUpTestSuite)
# instead of starting it again in every test's process.
function(backupy_test name)
  cmake_parse_arguments(ARG "SERIAL;ONE_PROCESS" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  backupy_apply_common(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if("unit" IN_LIST ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY BACKUPY_UNIT_TEST_TARGETS ${name})
  endif()
  set(serial FALSE)
  if(ARG_SERIAL)
    set(serial TRUE)
  endif()
  if(ARG_ONE_PROCESS)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                                            RUN_SERIAL ${serial})
  else()
    gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                         PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                                    RUN_SERIAL ${serial})
  endif()
endfunction()
