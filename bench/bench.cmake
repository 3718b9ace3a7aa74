# bench.cmake - the benchmark executables. They print numbers and are not
# tests (CTest does not run them). Add one with syn_add_bench(name sources...).
function(syn_add_bench name)
  add_executable(${name} ${ARGN})
  target_compile_options(${name} PRIVATE ${SYN_WARNINGS})
  # Kernel benches call internal entry points (src/kernels/gemm.h).
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(${name} PRIVATE synapse_static)
endfunction()

# GEMM backends on the dense-layer shapes: bench_gemm [seconds per point]
syn_add_bench(bench_gemm ${CMAKE_CURRENT_LIST_DIR}/bench_gemm.c)

# Used by bench/run.sh: training throughput (one JSON line) and the
# machine's fp32 FMA peak.
syn_add_bench(bench_train ${CMAKE_CURRENT_LIST_DIR}/bench_train.c)
syn_add_bench(bench_peak ${CMAKE_CURRENT_LIST_DIR}/peak.c)

# Store-to-load forwarding by the shape of the store and the load, in
# cycles: why the small-network path loads and stores whole vectors.
syn_add_bench(bench_forwarding ${CMAKE_CURRENT_LIST_DIR}/forwarding.c)

# Whether skipping Fashion-MNIST's zero pixels would speed up the first
# layer of an evaluation (docs/PERFORMANCE.md): a measurement, not a path.
syn_add_bench(bench_sparse_probe ${CMAKE_CURRENT_LIST_DIR}/sparse_probe.c)

# Training steps of nets narrow enough for the small-network path, at
# several widths and batches: microseconds a step.
syn_add_bench(bench_tiny ${CMAKE_CURRENT_LIST_DIR}/tiny.c)

# The thread runtime under a competing load it starts itself (busy
# processes): default threads against --threads 1 and 2, interleaved.
syn_add_bench(bench_busy ${CMAKE_CURRENT_LIST_DIR}/busy.c)

# Default options against sklearn's MLP on small tables and Fashion-MNIST
# (docs/PERFORMANCE.md): bench_defaults [--no-sklearn] [--no-fashion]
syn_add_bench(bench_defaults ${CMAKE_CURRENT_LIST_DIR}/defaults.c)
target_compile_definitions(bench_defaults PRIVATE SYN_CLI_PATH="$<TARGET_FILE:synapse_cli>"
                           SYN_TABLES_DIR="${CMAKE_CURRENT_LIST_DIR}/tables")

# The convolutional net of issue 15 against PyTorch (bench/torch_cnn.py):
# training at batch 64 and 256, inference at 1000, peak RSS; or, with
# --epochs, test accuracy per epoch (docs/PERFORMANCE.md).
syn_add_bench(bench_cnn ${CMAKE_CURRENT_LIST_DIR}/cnn.c)
target_compile_definitions(bench_cnn PRIVATE SYN_BENCH_DIR="${CMAKE_CURRENT_LIST_DIR}")
# Data-parallel training under mpirun (bench/mpi.sh): samples/s and the
# seconds per step in collectives and in compute.
if(SYN_HAVE_MPI)
  syn_add_bench(bench_mpi ${CMAKE_CURRENT_LIST_DIR}/bench_mpi.c)
  target_link_libraries(bench_mpi PRIVATE synapse_mpi)
endif()

# The C header of issue 15's CNN against syn_forward, one image at a time on
# one thread: bench_c_header_cnn [--rounds R] [--seconds S] [--cc CC]
syn_add_bench(bench_c_header_cnn ${CMAKE_CURRENT_LIST_DIR}/c_header_cnn.c)

# Issue 15 item 3: the CNN's two convolutions through synapse's conv layer
# (im2col + GEMM) against direct AVX-512 kernels, forward, weight and input
# gradient, one thread (docs/PERFORMANCE.md):
# bench_conv_direct [--rounds R] [--round-ms MS] [--batches 64,256]
syn_add_bench(bench_conv_direct ${CMAKE_CURRENT_LIST_DIR}/conv_direct.c)
# Its checks alone (direct kernels against synapse's conv layer, 1e-4):
# keeps the comparison honest while conv2d.c changes.
add_test(NAME bench_conv_direct_check COMMAND bench_conv_direct --check-only)
set_tests_properties(bench_conv_direct_check PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
