# kernels.cmake - build settings of the GEMM backends (src/kernels/): the
# per-file instruction-set flags of the built-in kernels, and the OpenBLAS
# detection behind option SYN_BLAS. Included by CMakeLists.txt right after
# the synapse_objects target is created; adds to SYN_DEP_LIBS,
# SYN_PC_LIBS_PRIVATE and SYN_PC_REQUIRES_PRIVATE.
include(CheckCSourceCompiles)

set(_syn_kernels ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels)

# ---------------------------------------------------------------- built-in ISAs
# Only the kernel files get the wide-vector flags; gemm.c picks one at run time
# with __builtin_cpu_supports, so the library still runs on any x86-64.
function(syn_kernel_isa name flags source test_code) # source: a list of files
  set(CMAKE_REQUIRED_FLAGS "${flags}")
  set(CMAKE_REQUIRED_QUIET ON)
  check_c_source_compiles("${test_code}" SYN_CC_HAS_${name})
  if(SYN_CC_HAS_${name})
    string(REPLACE " " ";" _opts "${flags}")
    foreach(_src IN LISTS source)
      set_source_files_properties(${_syn_kernels}/${_src} PROPERTIES COMPILE_OPTIONS "${_opts}")
    endforeach()
    target_compile_definitions(synapse_objects PRIVATE SYN_HAVE_${name}=1)
  endif()
endfunction()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  syn_kernel_isa(AVX2 "-mavx2 -mfma" "gemm_builtin_avx2.c;conv_direct_avx2.c;maxpool2x2_avx2.c"
    "#include <immintrin.h>
     int main(void) { __m256 x = _mm256_set1_ps(1.0f);
       x = _mm256_fmadd_ps(x, x, x); return (int)_mm256_cvtss_f32(x); }")
  syn_kernel_isa(AVX512 "-mavx512f -mavx2 -mfma"
    "gemm_builtin_avx512.c;small_avx512.c;conv_direct_avx512.c;maxpool2x2_avx512.c"
    "#include <immintrin.h>
     int main(void) { __m512 x = _mm512_set1_ps(1.0f);
       x = _mm512_fmadd_ps(x, x, x); return (int)_mm512_reduce_add_ps(x); }")
endif()

# ---------------------------------------------------------------- OpenBLAS
# Found through its own pkg-config module, never as a generic "BLAS": Debian's
# reference libblas is ~25x slower and must not be picked up by accident. A
# test program must link openblas_get_config, which only OpenBLAS has.
set(SYN_BLAS AUTO CACHE STRING "OpenBLAS backend for GEMM: AUTO (if found), ON (required), OFF")
set_property(CACHE SYN_BLAS PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${SYN_BLAS}" _syn_blas)

set(SYN_HAVE_OPENBLAS OFF)
if(NOT _syn_blas STREQUAL "OFF")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(OPENBLAS QUIET openblas)
  endif()
  if(OPENBLAS_FOUND)
    set(CMAKE_REQUIRED_INCLUDES ${OPENBLAS_INCLUDE_DIRS})
    set(CMAKE_REQUIRED_LIBRARIES ${OPENBLAS_LINK_LIBRARIES})
    set(CMAKE_REQUIRED_QUIET ON)
    check_c_source_compiles(
      "#include <cblas.h>
       int main(void) { float a = 1.0f, b = 2.0f, c = 0.0f;
         cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1,
                     0.0f, &c, 1);
         return openblas_get_config() == 0 || c != 2.0f; }"
      SYN_OPENBLAS_LINKS)
    unset(CMAKE_REQUIRED_INCLUDES)
    unset(CMAKE_REQUIRED_LIBRARIES)
    unset(CMAKE_REQUIRED_QUIET)
    if(SYN_OPENBLAS_LINKS)
      set(SYN_HAVE_OPENBLAS ON)
    endif()
  endif()
  if(_syn_blas STREQUAL "ON" AND NOT SYN_HAVE_OPENBLAS)
    message(FATAL_ERROR "SYN_BLAS=ON but OpenBLAS was not found through pkg-config "
                        "(install libopenblas-dev) or does not link")
  endif()
endif()

option(SYN_GEMM_PREFER_BLAS
  "Make OpenBLAS syn_gemm's default backend when found (else: built-in kernels first)" OFF)

if(SYN_HAVE_OPENBLAS)
  message(STATUS "GEMM: OpenBLAS ${OPENBLAS_VERSION} (${OPENBLAS_LINK_LIBRARIES})")
  if(SYN_GEMM_PREFER_BLAS)
    target_compile_definitions(synapse_objects PRIVATE SYN_GEMM_PREFER_BLAS=1)
    message(STATUS "GEMM: OpenBLAS is the default backend")
  endif()
  # Not linked but loaded at run time, when it is the chosen backend
  # (src/kernels/gemm_blas.c says why): by its soname, or else the file
  # pkg-config named.
  set(_syn_openblas_path "")
  foreach(_lib ${OPENBLAS_LINK_LIBRARIES})
    if(_lib MATCHES "openblas[^/]*\\.so")
      set(_syn_openblas_path ${_lib})
    endif()
  endforeach()
  target_include_directories(synapse_objects PRIVATE ${OPENBLAS_INCLUDE_DIRS})
  target_compile_definitions(synapse_objects PRIVATE SYN_HAVE_OPENBLAS=1
                             SYN_OPENBLAS_SONAME="libopenblas.so.0"
                             SYN_OPENBLAS_PATH="${_syn_openblas_path}")
  target_link_libraries(synapse_objects PUBLIC ${CMAKE_DL_LIBS})
  list(APPEND SYN_DEP_LIBS ${CMAKE_DL_LIBS})
  set(SYN_PC_LIBS_PRIVATE "${SYN_PC_LIBS_PRIVATE} -ldl")
else()
  message(STATUS "GEMM: built-in kernels only (SYN_BLAS=${SYN_BLAS})")
endif()
