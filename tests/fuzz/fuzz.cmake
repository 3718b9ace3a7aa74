# fuzz.cmake - the fuzz targets tests/fuzz/fuzz_*.c, two ways:
#  - always (with the tests): each target's LLVMFuzzerTestOneInput, renamed
#    syn_fuzz_entry_<name>, is linked into test_fuzz_regressions, which runs
#    every committed corpus and regression input through it in the normal
#    build (and so under the sanitizer and valgrind runs of CI);
#  - with option SYN_FUZZ (clang only): one libFuzzer executable per target
#    in <build>/fuzz/, built with -fsanitize=fuzzer,address,undefined against
#    a library compiled with -fsanitize=fuzzer-no-link,address,undefined.
#    tests/fuzz/run.sh configures such a build and runs the targets.
# The glob picks up new targets (fuzz_onnx.c) when they appear.
option(SYN_FUZZ "Build the libFuzzer targets tests/fuzz/fuzz_*.c (needs clang)" OFF)

file(GLOB SYN_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz_*.c)
set(_syn_fuzz_defs _POSIX_C_SOURCE=200809L)
if(ZLIB_FOUND)
  list(APPEND _syn_fuzz_defs SYN_HAVE_ZLIB=1)
endif()
set(_syn_fuzz_includes ${CMAKE_CURRENT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/src)
# Targets over code of the command rather than the library: the command's
# files they need, compiled into the target.
set(_syn_cli ${CMAKE_CURRENT_SOURCE_DIR}/cli)
set(_syn_fuzz_extra_fuzz_train_block ${_syn_cli}/train_ckpt.c ${_syn_cli}/train_options.c
    ${_syn_cli}/args.c)
set(_syn_fuzz_extra_fuzz_report_log ${_syn_cli}/report_log.c)

# ---------------------------------------------------------------- regression test
if(TARGET test_fuzz_regressions)
  set(_syn_fuzz_list "")
  foreach(src ${SYN_FUZZ_SOURCES})
    get_filename_component(_name ${src} NAME_WE)
    string(REGEX REPLACE "^fuzz_" "" _short ${_name})
    add_library(${_name}_entry OBJECT ${src} ${_syn_fuzz_extra_${_name}})
    target_compile_options(${_name}_entry PRIVATE ${SYN_WARNINGS})
    target_include_directories(${_name}_entry PRIVATE ${_syn_fuzz_includes} ${_syn_cli})
    target_compile_definitions(${_name}_entry PRIVATE ${_syn_fuzz_defs}
                               LLVMFuzzerTestOneInput=syn_fuzz_entry_${_short})
    target_link_libraries(${_name}_entry PRIVATE synapse_static)
    target_sources(test_fuzz_regressions PRIVATE $<TARGET_OBJECTS:${_name}_entry>)
    string(APPEND _syn_fuzz_list "SYN_FUZZ_TARGET(${_short})\n")
  endforeach()
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/fuzz_targets.inc CONTENT "${_syn_fuzz_list}")
  target_include_directories(test_fuzz_regressions PRIVATE ${CMAKE_BINARY_DIR})
  target_compile_definitions(test_fuzz_regressions PRIVATE SYN_FUZZ_TARGETS_INC=1)
endif()

# ---------------------------------------------------------------- libFuzzer builds
if(SYN_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SYN_FUZZ=ON needs clang for libFuzzer (-fsanitize=fuzzer), but "
                        "the C compiler is ${CMAKE_C_COMPILER_ID} (${CMAKE_C_COMPILER}). "
                        "Configure a fresh build directory with -DCMAKE_C_COMPILER=clang.")
  endif()
  set(_syn_san address,undefined)
  set(_syn_fuzz_common -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  # The library: coverage instrumentation without libFuzzer's main.
  target_compile_options(synapse_objects PRIVATE -fsanitize=fuzzer-no-link,${_syn_san}
                         ${_syn_fuzz_common})
  # clang 14 takes minutes (over 100 s at -O1 and -O2) to compile the AVX-512
  # GEMM kernel with AddressSanitizer; the kernels are checked against their
  # naive reference under ASan by test_gemm, so here that one file goes
  # without ASan (UBSan and coverage stay).
  set(_syn_avx512 ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/gemm_builtin_avx512.c)
  if(EXISTS ${_syn_avx512})
    set_property(SOURCE ${_syn_avx512} APPEND PROPERTY COMPILE_OPTIONS -fno-sanitize=address)
  endif()
  target_link_options(synapse_static INTERFACE -fsanitize=${_syn_san})
  target_link_options(synapse_shared PRIVATE -fsanitize=${_syn_san})
  set(_syn_fuzz_targets "")
  foreach(src ${SYN_FUZZ_SOURCES})
    get_filename_component(_name ${src} NAME_WE)
    add_executable(${_name} ${src} ${_syn_fuzz_extra_${_name}})
    set_target_properties(${_name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    target_compile_options(${_name} PRIVATE ${SYN_WARNINGS} -fsanitize=fuzzer,${_syn_san}
                           ${_syn_fuzz_common})
    target_include_directories(${_name} PRIVATE ${_syn_fuzz_includes} ${_syn_cli})
    target_compile_definitions(${_name} PRIVATE ${_syn_fuzz_defs})
    target_link_options(${_name} PRIVATE -fsanitize=fuzzer,${_syn_san})
    target_link_libraries(${_name} PRIVATE synapse_static)
    list(APPEND _syn_fuzz_targets ${_name})
  endforeach()
  add_custom_target(fuzz DEPENDS ${_syn_fuzz_targets})
endif()
