# tests.cmake - every tests/test_*.c is one CTest executable. A test exits 77
# to say "skipped" (e.g. a data set that is not installed). Tests whose name
# ends in _long are labelled "long".
find_package(Threads REQUIRED)
# tests/hostile/: the command under hostile input and faults (hostile.h),
# labelled hostile (and long where slow).
file(GLOB SYN_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c
     ${CMAKE_CURRENT_LIST_DIR}/hostile/test_*.c)
foreach(src ${SYN_TEST_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${SYN_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR}
                             ${CMAKE_CURRENT_LIST_DIR}/../src)
  target_compile_definitions(${name} PRIVATE
    SYN_TEST_DIR="${CMAKE_CURRENT_LIST_DIR}"
    SYN_CLI_PATH="$<TARGET_FILE:synapse_cli>"
    _POSIX_C_SOURCE=200809L)
  target_link_libraries(${name} PRIVATE synapse_static Threads::Threads)
  add_test(NAME ${name} COMMAND ${name})
  if(SYN_HAVE_MPI)
    target_compile_definitions(${name} PRIVATE SYN_TEST_HAVE_MPI=1)
  endif()
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1200)
  if(name MATCHES "^test_hostile_.*_long$")
    set_tests_properties(${name} PROPERTIES LABELS "long;hostile")
  elseif(name MATCHES "^test_hostile_")
    set_tests_properties(${name} PROPERTIES LABELS hostile)
  elseif(name MATCHES "^test_mpi")
    # mpirun jobs: their own CI section (.ci/run), not under sanitizers or
    # valgrind, whose reports would be of OpenMPI's allocations.
    set_tests_properties(${name} PROPERTIES LABELS mpi)
  elseif(name MATCHES "_long$")
    set_tests_properties(${name} PROPERTIES LABELS long)
  endif()
endforeach()
# Three seeds of 15 epochs of a CNN: longer than the default 1200 s.
set_tests_properties(test_fashion_cnn_long PROPERTIES TIMEOUT 7200)

# The installed tree works from anywhere, through pkg-config and CMake. (Not
# in sanitizer builds: a consumer would need the sanitizer runtime too.)
if(NOT SYN_SANITIZE)
  add_test(NAME install_check
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/install_check.sh ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR} ${CMAKE_C_COMPILER})
  set_tests_properties(install_check PROPERTIES TIMEOUT 300)
endif()

# The layering of src/ (base <- kernels <- layers <- core <- {io, export}):
# a file that includes a folder above its own fails it, naming the include.
add_test(NAME layering COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/layering.sh
                               ${CMAKE_CURRENT_LIST_DIR}/../src)

# No `default:` in a switch over a synapse enum, so -Wswitch names each
# switch a new value misses (tests/no_default.sh).
add_test(NAME no_default COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/no_default.sh
                                  ${CMAKE_CURRENT_LIST_DIR}/..)
