/* maxpool2x2.c - which 2x2 max-pooling kernel runs (maxpool2x2.h): the
 * AVX-512F one, else the AVX2 one; both pick the scalar loop's elements. */
#include "kernels/maxpool2x2.h"

int syn_maxpool2x2_available(void)
{
#ifdef SYN_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f"))
        return 1;
#endif
#ifdef SYN_HAVE_AVX2
    if (__builtin_cpu_supports("avx2"))
        return 1;
#endif
    return 0;
}

void syn_maxpool2x2_planes(const float *in, float *out, const float *dz, float *d_in,
                           size_t lo, size_t hi, size_t ih, size_t iw, size_t oh, size_t ow)
{
#ifdef SYN_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f")) {
        syn_maxpool2x2_avx512_planes(in, out, dz, d_in, lo, hi, ih, iw, oh, ow);
        return;
    }
#endif
#ifdef SYN_HAVE_AVX2
    if (__builtin_cpu_supports("avx2"))
        syn_maxpool2x2_avx2_planes(in, out, dz, d_in, lo, hi, ih, iw, oh, ow);
#endif
    (void)in, (void)out, (void)dz, (void)d_in, (void)lo, (void)hi, (void)ih, (void)iw;
    (void)oh, (void)ow;
}
