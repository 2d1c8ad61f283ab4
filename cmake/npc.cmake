# Helpers shared by every folder's CMakeLists.txt.

# npc_library(NAME SOURCES... [DEPS ...]) - one static library per src/ folder,
# public headers addressed as "folder/header.h" from src/.
function(npc_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE npc_warnings ${ARG_PRIVATE_DEPS})
endfunction()

# npc_test(NAME LABEL SOURCES... [DEPS ...] [TIMEOUT s] [SERIAL] [SANITIZED] [AFTER targets...])
# - a GoogleTest program whose tests ctest discovers one by one, labelled
# `unit` or `integration`. SERIAL: its tests run alone (they restart the API
# server, or otherwise disturb tests running beside them). SANITIZED: an
# integration program whose tests also run in the sanitizer builds (label
# `integration-sanitized`; every unit test runs there anyway). AFTER: targets to build
# first (e.g. the netpol-ctrl binary a test runs).
function(npc_test name label)
  cmake_parse_arguments(ARG "SERIAL;SANITIZED" "TIMEOUT" "SOURCES;DEPS;AFTER" ${ARGN})
  if(NOT NPC_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  # npc_spdlog_before_main: spdlog's registry is built before main (see
  # src/common/spdlog_before_main.cc).
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main
    npc_spdlog_before_main npc_warnings)
  target_compile_definitions(${name} PRIVATE NPC_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    NPC_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(ARG_AFTER)
    add_dependencies(${name} ${ARG_AFTER})
  endif()
  set(serial "")
  if(ARG_SERIAL)
    set(serial RUN_SERIAL TRUE)
  endif()
  # tests-<label>: every program of that label, so that a build can make only
  # the tests it will run (the sanitizer builds make tests-unit and
  # tests-sanitized: `make test-sanitizers`).
  # One label (gtest_discover_tests passes a list on as separate words, read
  # as property names): a SANITIZED program's is `<label>-sanitized`, which
  # `ctest -L <label>` and `ctest -L sanitized` both select.
  set(targets tests-${label})
  set(test_label ${label})
  if(ARG_SANITIZED)
    list(APPEND targets tests-sanitized)
    set(test_label ${label}-sanitized)
  endif()
  foreach(t IN LISTS targets)
    if(NOT TARGET ${t})
      add_custom_target(${t})
    endif()
    add_dependencies(${t} ${name})
  endforeach()
  gtest_discover_tests(${name} PROPERTIES LABELS ${test_label} TIMEOUT ${ARG_TIMEOUT} ${serial}
    DISCOVERY_TIMEOUT 60)
endfunction()
