/* gemm.h - the one internal interface to matrix products. Every dense-layer
 * product goes through syn_gemm, which picks the backend (built-in kernels or
 * CBLAS); syn_gemm_ref is the naive reference every backend is tested against.
 *
 * All matrices are row-major. With op(X) = X or X^T:
 *     C[m x n] = beta * C + op(A)[m x k] * op(B)[k x n],   beta is 0 or 1.
 * A is stored [m x k] (lda >= k) when !trans_a, [k x m] (lda >= m) when trans_a;
 * B is stored [k x n] (ldb >= n) when !trans_b, [n x k] (ldb >= k) when trans_b.
 * With beta == 0, C is not read (it may hold NaN).
 *
 * Determinism: for the built-in backend each element of C is accumulated in an
 * order that depends only on (m, n, k), never on the threads, so results are
 * bit-identical for any thread count. Threads split the output, never k. */
#ifndef SYN_KERNELS_GEMM_H
#define SYN_KERNELS_GEMM_H

#include <stddef.h>

#include "base/pool.h"

void syn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
              size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc,
              syn_pool *pool);

void syn_gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);

/* Nonzero when syn_gemm(0, t, m, n, k, ...) computes every row of C from
 * the same row of A alone, bit for bit, for any m >= min_m: what lets the
 * sharded path (core/shard.c) pass several shards' rows at once. */
int syn_gemm_rows_stable(size_t n, size_t k, size_t min_m);

/* Name of the backend syn_gemm uses ("builtin-avx512", "openblas", ...). */
const char *syn_gemm_backend(void);

/* ---- internal entry points, for tests and benchmarks -------------------- */

/* The backends syn_gemm can use. AUTO is what syn_gemm itself picks. */
typedef enum syn_gemm_kind {
    SYN_GEMM_AUTO = 0,
    SYN_GEMM_SCALAR,   /* built-in, portable C */
    SYN_GEMM_AVX2,     /* built-in, AVX2 + FMA */
    SYN_GEMM_AVX512,   /* built-in, AVX-512F */
    SYN_GEMM_OPENBLAS, /* cblas_sgemm from OpenBLAS */
    SYN_GEMM_KIND_COUNT_
} syn_gemm_kind;

/* Nonzero if `kind` was compiled in and this CPU can run it. */
int syn_gemm_available(syn_gemm_kind kind);
/* Short name of a backend ("builtin-scalar", "openblas", ...). */
const char *syn_gemm_kind_name(syn_gemm_kind kind);
/* The best built-in kernel this CPU runs (SCALAR, AVX2 or AVX512). */
syn_gemm_kind syn_gemm_best_builtin(void);

/* syn_gemm forced onto one backend; an unavailable one falls back to the
 * best built-in kernel. */
void syn_gemm_with(syn_gemm_kind kind, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc, syn_pool *pool);

/* The per-ISA built-in backends (gemm_builtin_*.c). They need m, n, k >= 1;
 * the AVX ones must only run where syn_gemm_available says so. */
void syn_gemm_builtin_scalar(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                             const float *a, size_t lda, const float *b, size_t ldb, float beta,
                             float *c, size_t ldc, syn_pool *pool);
void syn_gemm_builtin_avx2(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           const float *a, size_t lda, const float *b, size_t ldb, float beta,
                           float *c, size_t ldc, syn_pool *pool);
void syn_gemm_builtin_avx512(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                             const float *a, size_t lda, const float *b, size_t ldb, float beta,
                             float *c, size_t ldc, syn_pool *pool);
/* cblas_sgemm (gemm_blas.c); returns 0 without touching C when the sizes
 * do not fit BLAS's int or the build has no BLAS. */
/* Whether the OpenBLAS backend can be loaded (it is loaded on first use). */
int syn_gemm_blas_loadable(void);

int syn_gemm_blas(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);

#endif
