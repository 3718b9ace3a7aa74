/* gemm_builtin_scalar.c - the portable built-in GEMM: plain C, a 4 x 16 tile
 * of accumulators in a local array that the compiler keeps in vector
 * registers of whatever baseline ISA it targets. The fallback for CPUs (or
 * compilers) without AVX2; shares blocking and threading with the others. */
#include "kernels/gemm.h"

#define DRV_MR 4
#define DRV_NR 16
#define DRV_KC 256
#define DRV_FUNC syn_gemm_builtin_scalar

/* The full tile: constant bounds so the j loops vectorise. Each element is
 * acc = 0; acc += a * b in p order, as in every built-in kernel. */
static void tile_full(int ta, size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                      float *c, size_t ldc, int accumulate)
{
    float acc[DRV_MR][DRV_NR] = {{0.0f}};
    for (size_t p = 0; p < kc; p++) {
        const float *bp = b + p * ldb;
        for (int r = 0; r < DRV_MR; r++) {
            float av = ta ? a[p * lda + (size_t)r] : a[(size_t)r * lda + p];
            for (int j = 0; j < DRV_NR; j++)
                acc[r][j] += av * bp[j];
        }
    }
    for (int r = 0; r < DRV_MR; r++) {
        float *cr = c + (size_t)r * ldc;
        for (int j = 0; j < DRV_NR; j++)
            cr[j] = accumulate ? cr[j] + acc[r][j] : acc[r][j];
    }
}

static void drv_tile(int ta, size_t mr, size_t nr, size_t kc, const float *a, size_t lda,
                     const float *b, size_t ldb, int packed, float *c, size_t ldc,
                     int accumulate)
{
    (void)packed;
    if (mr == DRV_MR && nr == DRV_NR) {
        tile_full(ta, kc, a, lda, b, ldb, c, ldc, accumulate);
        return;
    }
    float acc[DRV_MR][DRV_NR] = {{0.0f}};
    for (size_t p = 0; p < kc; p++) {
        const float *bp = b + p * ldb;
        for (size_t r = 0; r < mr; r++) {
            float av = ta ? a[p * lda + r] : a[r * lda + p];
            for (size_t j = 0; j < nr; j++)
                acc[r][j] += av * bp[j];
        }
    }
    for (size_t r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        for (size_t j = 0; j < nr; j++)
            cr[j] = accumulate ? cr[j] + acc[r][j] : acc[r][j];
    }
}

static void drv_pack_bt(size_t nr, size_t kc, const float *b, size_t ldb, float *pb)
{
    for (size_t p = 0; p < kc; p++)
        for (size_t j = 0; j < DRV_NR; j++)
            pb[p * DRV_NR + j] = j < nr ? b[j * ldb + p] : 0.0f;
}

static void drv_pack_b(size_t nr, size_t kc, const float *b, size_t ldb, float *pb)
{
    for (size_t p = 0; p < kc; p++)
        for (size_t j = 0; j < DRV_NR; j++)
            pb[p * DRV_NR + j] = j < nr ? b[p * ldb + j] : 0.0f;
}

#include "kernels/gemm_builtin_driver.h"
