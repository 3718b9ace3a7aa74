/* gemm_blas.c - the OpenBLAS backend: one cblas_sgemm call. Built with the
 * real code only when cmake/kernels.cmake found OpenBLAS (SYN_HAVE_OPENBLAS);
 * otherwise syn_gemm_blas reports that it did nothing. */
#include "gemm.h"

#ifdef SYN_HAVE_OPENBLAS

#include <cblas.h>
#include <limits.h>

int syn_gemm_blas(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    /* CBLAS takes int sizes (OpenBLAS without ILP64); larger products and
     * empty ones (BLAS rejects a leading dimension of 0) go elsewhere. */
    const size_t lim = (size_t)INT_MAX;
    if (m == 0 || n == 0 || k == 0 || m > lim || n > lim || k > lim || lda > lim ||
        ldb > lim || ldc > lim)
        return 0;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a, (int)lda,
                b, (int)ldb, beta, c, (int)ldc);
    return 1;
}

#else

int syn_gemm_blas(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)lda;
    (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
}

#endif
