/* gemm_builtin_avx2.c - the AVX2 + FMA built-in GEMM: a 6 x 16 register tile
 * (12 ymm accumulators of the 16 registers, one broadcast of A and two
 * vectors of B per step), vmaskmov loads and stores at the n edge, an 8 x 8
 * in-register transpose to pack B^T. Compiled with -mavx2 -mfma
 * (cmake/kernels.cmake), which defines SYN_HAVE_AVX2; only run where the CPU
 * has AVX2 and FMA. */
#include "kernels/gemm.h"

#if defined(SYN_HAVE_AVX2) && defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>

#define DRV_MR 6
#define DRV_NR 16
#define DRV_KC 256
#define DRV_FUNC syn_gemm_builtin_avx2

#define AVX2_INLINE static inline __attribute__((always_inline))

/* Lane mask of the first `count` (0..8) lanes, for vmaskmov. */
static __m256i lane_mask(size_t count)
{
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count < 8 ? count : 8)), lanes);
}

#define ROW_FMA(r)                                                                             \
    if ((r) < mr) {                                                                            \
        __m256 av = _mm256_broadcast_ss(ta ? ap + (r) : a + (r)*lda + p);                     \
        c##r##_0 = _mm256_fmadd_ps(av, b0, c##r##_0);                                          \
        if (nv > 1)                                                                            \
            c##r##_1 = _mm256_fmadd_ps(av, b1, c##r##_1);                                      \
    }

#define ROW_STORE(r)                                                                           \
    if ((r) < mr) {                                                                            \
        float *cr = c + (r)*ldc;                                                               \
        store_vec(cr, c##r##_0, full0, k0, accumulate);                                        \
        if (nv > 1)                                                                            \
            store_vec(cr + 8, c##r##_1, full1, k1, accumulate);                                \
    }

AVX2_INLINE void store_vec(float *dst, __m256 acc, int full, __m256i mask, int accumulate)
{
    if (full) {
        if (accumulate)
            acc = _mm256_add_ps(_mm256_loadu_ps(dst), acc);
        _mm256_storeu_ps(dst, acc);
    } else {
        if (accumulate)
            acc = _mm256_add_ps(_mm256_maskload_ps(dst, mask), acc);
        _mm256_maskstore_ps(dst, mask, acc);
    }
}

/* The micro-kernel, specialised for every constant (mr, nv, ta, masked). */
AVX2_INLINE void tile_body(const int mr, const int nv, const int ta, const int masked,
                           size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                           size_t nr, float *c, size_t ldc, int accumulate)
{
    __m256i k0 = lane_mask(nr), k1 = lane_mask(nr > 8 ? nr - 8 : 0);
    int full0 = nr >= 8, full1 = nr >= 16;
    __m256 c0_0 = _mm256_setzero_ps(), c0_1 = c0_0, c1_0 = c0_0, c1_1 = c0_0;
    __m256 c2_0 = c0_0, c2_1 = c0_0, c3_0 = c0_0, c3_1 = c0_0, c4_0 = c0_0, c4_1 = c0_0;
    __m256 c5_0 = c0_0, c5_1 = c0_0;
    for (size_t p = 0; p < kc; p++) {
        const float *bp = b + p * ldb;
        const float *ap = ta ? a + p * lda : a; /* ta: op(A)[.][p] is contiguous */
        __m256 b0 = masked ? _mm256_maskload_ps(bp, k0) : _mm256_loadu_ps(bp);
        __m256 b1 = _mm256_setzero_ps();
        if (nv > 1)
            b1 = masked ? _mm256_maskload_ps(bp + 8, k1) : _mm256_loadu_ps(bp + 8);
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
    }
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
}

#define BODY(MRV, NVV, TAV, MSK)                                                               \
    tile_body(MRV, NVV, TAV, MSK, kc, a, lda, b, ldb, nr, c, ldc, accumulate)

#define BY_MASK(MRV, NVV, TAV)                                                                 \
    do {                                                                                       \
        if (masked)                                                                            \
            BODY(MRV, NVV, TAV, 1);                                                            \
        else                                                                                   \
            BODY(MRV, NVV, TAV, 0);                                                            \
    } while (0)

#define CASE_MR(MRV)                                                                           \
    case MRV:                                                                                  \
        if (ta) {                                                                              \
            if (nv > 1)                                                                        \
                BY_MASK(MRV, 2, 1);                                                            \
            else                                                                               \
                BY_MASK(MRV, 1, 1);                                                            \
        } else {                                                                               \
            if (nv > 1)                                                                        \
                BY_MASK(MRV, 2, 0);                                                            \
            else                                                                               \
                BY_MASK(MRV, 1, 0);                                                            \
        }                                                                                      \
        break;

static void drv_tile(int ta, size_t mr, size_t nr, size_t kc, const float *a, size_t lda,
                     const float *b, size_t ldb, int packed, float *c, size_t ldc,
                     int accumulate)
{
    int nv = nr > 8 ? 2 : 1;
    /* A packed sliver is zero-padded to 16 columns; the caller's B is not. */
    int masked = !packed && nr != (size_t)(8 * nv);
    switch (mr) {
        CASE_MR(1) CASE_MR(2) CASE_MR(3) CASE_MR(4) CASE_MR(5) CASE_MR(6)
    default:
        break;
    }
}

/* In-register transpose of 8 rows of 8 floats. */
AVX2_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    /* u[4q + x] holds, per 128-bit lane L, column 4L + x of rows 4q..4q+3. */
    for (int x = 0; x < 4; x++) {
        r[x] = _mm256_permute2f128_ps(u[x], u[4 + x], 0x20);
        r[4 + x] = _mm256_permute2f128_ps(u[x], u[4 + x], 0x31);
    }
}

static void drv_pack_bt(size_t nr, size_t kc, const float *b, size_t ldb, float *pb)
{
    for (size_t j0 = 0; j0 < nr; j0 += 8) {
        for (size_t p0 = 0; p0 < kc; p0 += 8) {
            size_t pw = kc - p0 < 8 ? kc - p0 : 8;
            __m256i pm = lane_mask(pw);
            __m256 r[8];
            for (size_t i = 0; i < 8; i++)
                r[i] = j0 + i < nr ? _mm256_maskload_ps(b + (j0 + i) * ldb + p0, pm)
                                   : _mm256_setzero_ps();
            transpose8(r);
            for (size_t q = 0; q < pw; q++)
                _mm256_store_ps(pb + (p0 + q) * DRV_NR + j0, r[q]);
        }
    }
}

static void drv_pack_b(size_t nr, size_t kc, const float *b, size_t ldb, float *pb)
{
    __m256i k0 = lane_mask(nr), k1 = lane_mask(nr > 8 ? nr - 8 : 0);
    for (size_t p = 0; p < kc; p++) {
        _mm256_store_ps(pb + p * DRV_NR, _mm256_maskload_ps(b + p * ldb, k0));
        _mm256_store_ps(pb + p * DRV_NR + 8, _mm256_maskload_ps(b + p * ldb + 8, k1));
    }
}

#include "kernels/gemm_builtin_driver.h"

#else

/* Built without AVX2 support: never selected (syn_gemm_available says so),
 * but kept callable with the portable kernel. */
void syn_gemm_builtin_avx2(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           const float *a, size_t lda, const float *b, size_t ldb, float beta,
                           float *c, size_t ldc, syn_pool *pool)
{
    syn_gemm_builtin_scalar(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, pool);
}

#endif
