/* gemm_blas.c - the OpenBLAS backend: one cblas_sgemm call. Built with the
 * real code only when cmake/kernels.cmake found OpenBLAS (SYN_HAVE_OPENBLAS);
 * otherwise syn_gemm_blas reports that it did nothing.
 *
 * OpenBLAS is not linked: it is loaded (dlopen) the first time it is the
 * chosen backend. Linked, its constructor starts its thread pool when the
 * program loads, even in the default build where the built-in kernels do
 * all the work; under `ulimit -v` that start-up retried a 128 MiB
 * allocation forever, and `synapse --version` hung (issue 11, defect 7).
 * No pointer is cached (the library keeps no global state): dlopen of a
 * loaded library returns it again, and dlsym is a hash lookup, both small
 * next to a GEMM worth sending to BLAS. */
#include "kernels/gemm.h"

#ifdef SYN_HAVE_OPENBLAS

#include <cblas.h>
#include <dlfcn.h>
#include <limits.h>
#include <string.h>

typedef void (*sgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
                         const enum CBLAS_TRANSPOSE, const blasint, const blasint,
                         const blasint, const float, const float *, const blasint,
                         const float *, const blasint, const float, float *, const blasint);

/* cblas_sgemm of the OpenBLAS this build was configured with, or NULL. */
static sgemm_fn openblas_sgemm(void)
{
    static const char *const names[] = {SYN_OPENBLAS_SONAME, SYN_OPENBLAS_PATH};
    for (int i = 0; i < 2; i++) {
        void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        void *fn = lib ? dlsym(lib, "cblas_sgemm") : NULL;
        if (fn) {
            sgemm_fn f;
            memcpy(&f, &fn, sizeof f); /* ISO C has no object-to-function cast */
            return f;
        }
    }
    return NULL;
}

int syn_gemm_blas_loadable(void)
{
    return openblas_sgemm() != NULL;
}

int syn_gemm_blas(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    /* CBLAS takes int sizes (OpenBLAS without ILP64); larger products and
     * empty ones (BLAS rejects a leading dimension of 0) go elsewhere. */
    const size_t lim = (size_t)INT_MAX;
    if (m == 0 || n == 0 || k == 0 || m > lim || n > lim || k > lim || lda > lim ||
        ldb > lim || ldc > lim)
        return 0;
    sgemm_fn sgemm = openblas_sgemm();
    if (!sgemm)
        return 0;
    sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a, (int)lda,
                b, (int)ldb, beta, c, (int)ldc);
    return 1;
}

#else

int syn_gemm_blas_loadable(void)
{
    return 0;
}

int syn_gemm_blas(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)lda;
    (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
}

#endif
