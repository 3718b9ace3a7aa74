/* maxpool2x2_avx2.c - 2x2 stride-2 max pooling in AVX2 intrinsics (see
 * maxpool2x2.h), for CPUs without AVX-512F: maxpool2x2_avx512.c's rule on
 * 8 outputs at a time. Built with -mavx2 when the compiler has it;
 * otherwise maxpool2x2.c never calls it. */
#include "kernels/maxpool2x2.h"

#ifdef SYN_HAVE_AVX2
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Eight all-ones lanes then eight zero lanes: a window of it is a mask of
 * the first n lanes. */
static const int32_t lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256i lanes(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - (n >= 8 ? 8 : n)));
}

/* 8 floats at p, or the first n of them (zeros after). */
static inline __m256 load(const float *p, size_t n)
{
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes(n));
}

static inline void store(float *p, size_t n, __m256 v)
{
    if (n >= 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, lanes(n), v);
}

/* All ones where v replaces m: larger, or NaN (pool2d.c's max_step). */
static inline __m256 takes(__m256 v, __m256 m)
{
    return _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* The even and odd columns of 2n floats at p (n <= 8). */
static inline void split(const float *p, size_t n, __m256 *even, __m256 *odd)
{
    __m256 lo = load(p, 2 * n), hi = load(p + 8, 2 * n > 8 ? 2 * n - 8 : 0);
    /* Per 128-bit half: lo's two evens then hi's; then the quarters in order. */
    __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* 2n floats at p from the even and odd columns. */
static inline void merge(float *p, size_t n, __m256 even, __m256 odd)
{
    __m256 a = _mm256_unpacklo_ps(even, odd), b = _mm256_unpackhi_ps(even, odd);
    store(p, 2 * n, _mm256_permute2f128_ps(a, b, 0x20));
    if (2 * n > 8)
        store(p + 8, 2 * n - 8, _mm256_permute2f128_ps(a, b, 0x31));
}

/* One output row: rows r0, r1 of the input, n_out outputs. */
static void row_forward(const float *r0, const float *r1, float *out, size_t n_out)
{
    for (size_t o = 0; o < n_out; o += 8) {
        size_t n = n_out - o < 8 ? n_out - o : 8;
        __m256 a, b, c, d;
        split(r0 + 2 * o, n, &a, &b);
        split(r1 + 2 * o, n, &c, &d);
        __m256 m = a;
        m = _mm256_blendv_ps(m, b, takes(b, m));
        m = _mm256_blendv_ps(m, c, takes(c, m));
        m = _mm256_blendv_ps(m, d, takes(d, m));
        store(out + o, n, m);
    }
}

/* Its gradient: dx rows x0, x1 (the first 2 n_out floats of each). */
static void row_backward(const float *r0, const float *r1, const float *dz, float *x0,
                         float *x1, size_t n_out)
{
    const __m256 zero = _mm256_setzero_ps();
    for (size_t o = 0; o < n_out; o += 8) {
        size_t n = n_out - o < 8 ? n_out - o : 8;
        __m256 a, b, c, d;
        split(r0 + 2 * o, n, &a, &b);
        split(r1 + 2 * o, n, &c, &d);
        __m256 m = a;
        __m256 t1 = takes(b, m);
        m = _mm256_blendv_ps(m, b, t1);
        __m256 t2 = takes(c, m);
        m = _mm256_blendv_ps(m, c, t2);
        __m256 t3 = takes(d, m);
        /* The element chosen last: d where t3, else c where t2, else b
         * where t1, else a. */
        __m256 s3 = t3, s2 = _mm256_andnot_ps(t3, t2);
        __m256 s1 = _mm256_andnot_ps(_mm256_or_ps(t2, t3), t1);
        __m256 s0 = _mm256_andnot_ps(_mm256_or_ps(t1, _mm256_or_ps(t2, t3)),
                                     _mm256_castsi256_ps(_mm256_set1_epi32(-1)));
        __m256 g = _mm256_add_ps(zero, load(dz + o, n));
        merge(x0 + 2 * o, n, _mm256_and_ps(s0, g), _mm256_and_ps(s1, g));
        merge(x1 + 2 * o, n, _mm256_and_ps(s2, g), _mm256_and_ps(s3, g));
    }
}

void syn_maxpool2x2_avx2_planes(const float *in, float *out, const float *dz, float *d_in,
                                size_t lo, size_t hi, size_t ih, size_t iw, size_t oh,
                                size_t ow)
{
    size_t plane = ih * iw;
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = in + pl * plane;
        for (size_t r = 0; r < oh; r++) {
            const float *r0 = x + 2 * r * iw, *r1 = r0 + iw;
            if (!d_in) {
                row_forward(r0, r1, out + (pl * oh + r) * ow, ow);
                continue;
            }
            float *x0 = d_in + pl * plane + 2 * r * iw, *x1 = x0 + iw;
            row_backward(r0, r1, dz + (pl * oh + r) * ow, x0, x1, ow);
            for (size_t k = 2 * ow; k < iw; k++) /* the column no window covers */
                x0[k] = x1[k] = 0.0f;
        }
        if (d_in && 2 * oh < ih) /* the rows no window covers */
            memset(d_in + pl * plane + 2 * oh * iw, 0, (ih - 2 * oh) * iw * sizeof(float));
    }
}

#endif
