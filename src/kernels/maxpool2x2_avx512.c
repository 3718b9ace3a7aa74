/* maxpool2x2_avx512.c - 2x2 stride-2 max pooling in AVX-512F intrinsics
 * (see maxpool2x2.h). Built with -mavx512f when the compiler has it;
 * otherwise maxpool2x2.c never calls it. */
#include "kernels/maxpool2x2.h"

#ifdef SYN_HAVE_AVX512
#include <immintrin.h>
#include <string.h>

static inline __mmask16 lanes(size_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* v replaces m where it is larger or NaN (pool2d.c's max_step). */
static inline __mmask16 takes(__m512 v, __m512 m)
{
    return _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

/* The even and odd columns of 2n floats at p (n <= 16). */
static inline void split(const float *p, size_t n, __m512 *even, __m512 *odd)
{
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                         28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27,
                                         29, 31);
    __m512 lo = _mm512_maskz_loadu_ps(lanes(2 * n), p);
    __m512 hi = _mm512_maskz_loadu_ps(lanes(2 * n > 16 ? 2 * n - 16 : 0), p + 16);
    *even = _mm512_permutex2var_ps(lo, ie, hi);
    *odd = _mm512_permutex2var_ps(lo, io, hi);
}

/* 2n floats at p from the even and odd columns. */
static inline void merge(float *p, size_t n, __m512 even, __m512 odd)
{
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7,
                                         23);
    const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                         15, 31);
    _mm512_mask_storeu_ps(p, lanes(2 * n), _mm512_permutex2var_ps(even, il, odd));
    if (2 * n > 16)
        _mm512_mask_storeu_ps(p + 16, lanes(2 * n - 16), _mm512_permutex2var_ps(even, ih, odd));
}

/* One output row: rows r0, r1 of the input, n_out outputs. */
static void row_forward(const float *r0, const float *r1, float *out, size_t n_out)
{
    for (size_t o = 0; o < n_out; o += 16) {
        size_t n = n_out - o < 16 ? n_out - o : 16;
        __m512 a, b, c, d;
        split(r0 + 2 * o, n, &a, &b);
        split(r1 + 2 * o, n, &c, &d);
        __m512 m = a;
        m = _mm512_mask_mov_ps(m, takes(b, m), b);
        m = _mm512_mask_mov_ps(m, takes(c, m), c);
        m = _mm512_mask_mov_ps(m, takes(d, m), d);
        _mm512_mask_storeu_ps(out + o, lanes(n), m);
    }
}

/* Its gradient: dx rows x0, x1 (the first 2 n_out floats of each). */
static void row_backward(const float *r0, const float *r1, const float *dz, float *x0,
                         float *x1, size_t n_out)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t o = 0; o < n_out; o += 16) {
        size_t n = n_out - o < 16 ? n_out - o : 16;
        __m512 a, b, c, d;
        split(r0 + 2 * o, n, &a, &b);
        split(r1 + 2 * o, n, &c, &d);
        __m512 m = a;
        __mmask16 t1 = takes(b, m);
        m = _mm512_mask_mov_ps(m, t1, b);
        __mmask16 t2 = takes(c, m);
        m = _mm512_mask_mov_ps(m, t2, c);
        __mmask16 t3 = takes(d, m);
        __mmask16 s3 = t3, s2 = t2 & ~t3, s1 = t1 & ~t2 & ~t3;
        __mmask16 s0 = ~(t1 | t2 | t3);
        __m512 g = _mm512_add_ps(zero, _mm512_maskz_loadu_ps(lanes(n), dz + o));
        merge(x0 + 2 * o, n, _mm512_maskz_mov_ps(s0, g), _mm512_maskz_mov_ps(s1, g));
        merge(x1 + 2 * o, n, _mm512_maskz_mov_ps(s2, g), _mm512_maskz_mov_ps(s3, g));
    }
}

void syn_maxpool2x2_avx512_planes(const float *in, float *out, const float *dz, float *d_in,
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
