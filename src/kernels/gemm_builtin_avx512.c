/* gemm_builtin_avx512.c - the AVX-512F built-in GEMM: a 12 x 32 register tile
 * (24 zmm accumulators, one broadcast of A and two vectors of B per step),
 * masked loads and stores at the n edge, a 16 x 16 in-register transpose to
 * pack B^T. Compiled with -mavx512f -mfma (cmake/kernels.cmake), which
 * defines SYN_HAVE_AVX512; only run where the CPU has AVX-512F. */
#include "kernels/gemm.h"

#if defined(SYN_HAVE_AVX512) && defined(__AVX512F__) && defined(__FMA__)

#include <immintrin.h>

#define DRV_MR 12
#define DRV_NR 32
#define DRV_KC 256
#define DRV_FUNC syn_gemm_builtin_avx512

#define AVX512_INLINE static inline __attribute__((always_inline))

/* Column masks of a tile nr wide: lanes [0, 16) and [16, 32). */
static __mmask16 lane_mask(size_t nr)
{
    return nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
}

/* One accumulator row: broadcast op(A)[r][p] against the B vectors. */
#define ROW_FMA(r)                                                                             \
    if ((r) < mr) {                                                                            \
        __m512 av = _mm512_set1_ps(ta ? ap[r] : a[(r)*lda + p]);                              \
        c##r##_0 = _mm512_fmadd_ps(av, b0, c##r##_0);                                          \
        if (nv > 1)                                                                            \
            c##r##_1 = _mm512_fmadd_ps(av, b1, c##r##_1);                                      \
    }

#define ROW_STORE(r)                                                                           \
    if ((r) < mr) {                                                                            \
        float *cr = c + (r)*ldc;                                                               \
        store_vec(cr, c##r##_0, k0, accumulate);                                               \
        if (nv > 1)                                                                            \
            store_vec(cr + 16, c##r##_1, k1, accumulate);                                      \
    }

AVX512_INLINE void store_vec(float *dst, __m512 acc, __mmask16 mask, int accumulate)
{
    if (mask == 0xFFFF) {
        if (accumulate)
            acc = _mm512_add_ps(_mm512_loadu_ps(dst), acc);
        _mm512_storeu_ps(dst, acc);
    } else {
        if (accumulate)
            acc = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, dst), acc);
        _mm512_mask_storeu_ps(dst, mask, acc);
    }
}

/* The micro-kernel, specialised by the compiler for every constant
 * (mr, nv, ta, masked): unused rows and vectors vanish. */
AVX512_INLINE void tile_body(const int mr, const int nv, const int ta, const int masked,
                             size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                             __mmask16 k0, __mmask16 k1, float *c, size_t ldc, int accumulate)
{
    __m512 c0_0 = _mm512_setzero_ps(), c0_1 = c0_0, c1_0 = c0_0, c1_1 = c0_0;
    __m512 c2_0 = c0_0, c2_1 = c0_0, c3_0 = c0_0, c3_1 = c0_0, c4_0 = c0_0, c4_1 = c0_0;
    __m512 c5_0 = c0_0, c5_1 = c0_0, c6_0 = c0_0, c6_1 = c0_0, c7_0 = c0_0, c7_1 = c0_0;
    __m512 c8_0 = c0_0, c8_1 = c0_0, c9_0 = c0_0, c9_1 = c0_0, c10_0 = c0_0, c10_1 = c0_0;
    __m512 c11_0 = c0_0, c11_1 = c0_0;
    /* Fetch the tile of C for writing while the k loop runs: with a short k
     * (10, 32) the stores would otherwise wait on misses to L2 and beyond. */
    for (int r = 0; r < mr; r++) {
        __builtin_prefetch(c + (size_t)r * ldc, 1, 3);
        if (nv > 1)
            __builtin_prefetch(c + (size_t)r * ldc + 16, 1, 3);
    }
    for (size_t p = 0; p < kc; p++) {
        const float *bp = b + p * ldb;
        const float *ap = ta ? a + p * lda : a; /* ta: op(A)[.][p] is contiguous */
        __m512 b0 = masked ? _mm512_maskz_loadu_ps(k0, bp) : _mm512_loadu_ps(bp);
        __m512 b1 = _mm512_setzero_ps();
        if (nv > 1)
            b1 = masked ? _mm512_maskz_loadu_ps(k1, bp + 16) : _mm512_loadu_ps(bp + 16);
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        ROW_FMA(6) ROW_FMA(7) ROW_FMA(8) ROW_FMA(9) ROW_FMA(10) ROW_FMA(11)
    }
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
    ROW_STORE(6) ROW_STORE(7) ROW_STORE(8) ROW_STORE(9) ROW_STORE(10) ROW_STORE(11)
}

#define BODY(MRV, NVV, TAV, MSK)                                                               \
    tile_body(MRV, NVV, TAV, MSK, kc, a, lda, b, ldb, k0, k1, c, ldc, accumulate)

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
    int nv = nr > 16 ? 2 : 1;
    /* A packed sliver is zero-padded to 32 columns; the caller's B is not. */
    int masked = !packed && nr != (size_t)(16 * nv);
    __mmask16 k0 = lane_mask(nr), k1 = lane_mask(nr > 16 ? nr - 16 : 0);
    switch (mr) {
        CASE_MR(1) CASE_MR(2) CASE_MR(3) CASE_MR(4) CASE_MR(5) CASE_MR(6)
        CASE_MR(7) CASE_MR(8) CASE_MR(9) CASE_MR(10) CASE_MR(11) CASE_MR(12)
    default:
        break;
    }
}

/* In-register transpose of 16 rows of 16 floats (three shuffle stages). */
AVX512_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
        __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    /* r[4q + x] now holds, per 128-bit lane L, column 4L + x of rows 4q..4q+3. */
    for (int x = 0; x < 4; x++) {
        t[x] = _mm512_shuffle_f32x4(r[x], r[4 + x], 0x88);
        t[4 + x] = _mm512_shuffle_f32x4(r[x], r[4 + x], 0xdd);
        t[8 + x] = _mm512_shuffle_f32x4(r[8 + x], r[12 + x], 0x88);
        t[12 + x] = _mm512_shuffle_f32x4(r[8 + x], r[12 + x], 0xdd);
    }
    for (int x = 0; x < 4; x++) {
        r[x] = _mm512_shuffle_f32x4(t[x], t[8 + x], 0x88);
        r[4 + x] = _mm512_shuffle_f32x4(t[4 + x], t[12 + x], 0x88);
        r[8 + x] = _mm512_shuffle_f32x4(t[x], t[8 + x], 0xdd);
        r[12 + x] = _mm512_shuffle_f32x4(t[4 + x], t[12 + x], 0xdd);
    }
}

static void drv_pack_bt(size_t nr, size_t kc, const float *b, size_t ldb, float *pb)
{
    for (size_t j0 = 0; j0 < nr; j0 += 16) {
        for (size_t p0 = 0; p0 < kc; p0 += 16) {
            size_t pw = kc - p0 < 16 ? kc - p0 : 16;
            __mmask16 pm = lane_mask(pw);
            __m512 r[16];
            for (size_t i = 0; i < 16; i++)
                r[i] = j0 + i < nr ? _mm512_maskz_loadu_ps(pm, b + (j0 + i) * ldb + p0)
                                   : _mm512_setzero_ps();
            transpose16(r);
            for (size_t q = 0; q < pw; q++)
                _mm512_store_ps(pb + (p0 + q) * DRV_NR + j0, r[q]);
        }
    }
}

static void drv_pack_b(size_t nr, size_t kc, const float *b, size_t ldb, float *pb)
{
    __mmask16 k0 = lane_mask(nr), k1 = lane_mask(nr > 16 ? nr - 16 : 0);
    for (size_t p = 0; p < kc; p++) {
        _mm512_store_ps(pb + p * DRV_NR, _mm512_maskz_loadu_ps(k0, b + p * ldb));
        _mm512_store_ps(pb + p * DRV_NR + 16, _mm512_maskz_loadu_ps(k1, b + p * ldb + 16));
    }
}

#include "kernels/gemm_builtin_driver.h"

#else

/* Built without AVX-512 support: never selected (syn_gemm_available says
 * so), but kept callable with the portable kernel. */
void syn_gemm_builtin_avx512(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                             const float *a, size_t lda, const float *b, size_t ldb, float beta,
                             float *c, size_t ldc, syn_pool *pool)
{
    syn_gemm_builtin_scalar(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, pool);
}

#endif
