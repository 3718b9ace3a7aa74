/* gemm.c - backend dispatch for syn_gemm. For now: the reference loops split
 * over output rows with OpenMP (each row's sums are formed in the same order
 * whatever the thread count). */
#include "gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void syn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
              size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc,
              int n_threads)
{
    long rows = (long)m;
#ifdef _OPENMP
    int threads = n_threads > 0 ? n_threads : omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(static) if (m * n * k > 32768)
#else
    (void)n_threads;
#endif
    for (long i = 0; i < rows; i++) {
        const float *a_row = trans_a ? a + (size_t)i : a + (size_t)i * lda;
        syn_gemm_ref(trans_a, trans_b, 1, n, k, a_row, lda, b, ldb, beta, c + (size_t)i * ldc,
                     ldc);
    }
}

const char *syn_gemm_backend(void)
{
    return "reference";
}
