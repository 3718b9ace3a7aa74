/* gemm_ref.c - the naive reference product: three loops, float accumulation
 * in k order. Slow on purpose; every fast backend is tested against it. */
#include "kernels/gemm.h"

void syn_gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (size_t p = 0; p < k; p++) {
                float av = trans_a ? a[p * lda + i] : a[i * lda + p];
                float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc += av * bv;
            }
            c[i * ldc + j] = beta != 0.0f ? c[i * ldc + j] + acc : acc;
        }
    }
}
