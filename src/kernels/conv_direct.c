/* conv_direct.c - the plain-C part of the direct 3x3 convolution kernels
 * (conv_direct.h): which kernel set runs, the weight packing and the
 * weight-gradient tasks, which both sets share, and the calls that go to
 * the set g->isa names (conv_direct_avx512.c, conv_direct_avx2.c). */
#include "kernels/conv_direct.h"

#include <string.h>

#define K SYN_CONV_DIRECT_K

int syn_conv_direct_runs(int isa)
{
#ifdef SYN_HAVE_AVX512
    if (isa == SYN_CONV_DIRECT_AVX512)
        return __builtin_cpu_supports("avx512f");
#endif
#ifdef SYN_HAVE_AVX2
    if (isa == SYN_CONV_DIRECT_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    (void)isa;
    return 0;
}

int syn_conv_direct_best(void)
{
    if (syn_conv_direct_runs(SYN_CONV_DIRECT_AVX512))
        return SYN_CONV_DIRECT_AVX512;
    if (syn_conv_direct_runs(SYN_CONV_DIRECT_AVX2))
        return SYN_CONV_DIRECT_AVX2;
    return SYN_CONV_DIRECT_NONE;
}

int syn_conv_direct_available(void)
{
    return syn_conv_direct_best() != SYN_CONV_DIRECT_NONE;
}

/* Packed index of weight (o, r) of n_out channels of r_n taps: blocks of 8
 * channels as [block][r][8], the channels past the last whole block as
 * [o][r]. */
static size_t pack_index(size_t o, size_t r, size_t n_out, size_t r_n)
{
    size_t full = n_out / 8 * 8;
    if (o < full)
        return o / 8 * 8 * r_n + r * 8 + o % 8;
    return o * r_n + r;
}

void syn_conv_direct_pack_forward(const syn_conv_direct *g, const float *w, float *fixed)
{
    float *wp = syn_conv_direct_packed_forward(g, fixed);
    for (size_t o = 0; o < g->oc; o++)
        for (size_t r = 0; r < g->r_n; r++)
            wp[pack_index(o, r, g->oc, g->r_n)] = w[o * g->r_n + r];
}

/* Output channel c of the input gradient, tap r = (o, i, j) of the rotated
 * kernel: W[o][c][2 - i][2 - j]. */
void syn_conv_direct_pack_input_grad(const syn_conv_direct *g, const float *w, float *fixed)
{
    float *wp = syn_conv_direct_packed_input_grad(g, fixed);
    size_t taps = K * K, r_b = g->oc * taps;
    for (size_t c = 0; c < g->c; c++)
        for (size_t o = 0; o < g->oc; o++)
            for (size_t t = 0; t < taps; t++)
                wp[pack_index(c, o * taps + (taps - 1 - t), g->c, r_b)] =
                    w[(o * g->c + c) * taps + t];
}

void syn_conv_direct_wgrad_start(const syn_conv_direct *g, float *fixed)
{
    memset(syn_conv_direct_accumulators(g, fixed), 0, g->acc_size * sizeof(float));
}

/* Lane tasks: (block of 8 output channels, or one past the last block;
 * input channel). Channel-vector tasks: (block of 64 output channels, tile
 * of SYN_CONV_DIRECT_TAPS taps). */
size_t syn_conv_direct_wgrad_tasks(const syn_conv_direct *g)
{
    if (g->ocv)
        return g->oc / SYN_CONV_DIRECT_OCV * syn_conv_direct_ocv_tiles(g);
    return (g->oc / 8 + g->oc % 8) * g->c;
}

/* ---- the calls to the kernel set ----------------------------------------
 * The layer only builds a direct path when syn_conv_direct_runs(g->isa);
 * a set that was not compiled in is never named. */

#ifdef SYN_HAVE_AVX512
#define AVX512_CALL(call)                                                                       \
    if (g->isa == SYN_CONV_DIRECT_AVX512) {                                                     \
        syn_conv_direct_avx512_##call;                                                          \
        return;                                                                                 \
    }
#else
#define AVX512_CALL(call)
#endif
#ifdef SYN_HAVE_AVX2
#define AVX2_CALL(call)                                                                         \
    if (g->isa == SYN_CONV_DIRECT_AVX2)                                                         \
        syn_conv_direct_avx2_##call;
#else
#define AVX2_CALL(call)
#endif
#define DISPATCH(call) AVX512_CALL(call) AVX2_CALL(call)
#if !defined(SYN_HAVE_AVX512) && !defined(SYN_HAVE_AVX2)
/* No set at all (not x86-64): the layer never calls these. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif

void syn_conv_direct_forward(const syn_conv_direct *g, const float *fixed, const float *b,
                             const float *x, float *y, float *work)
{
    DISPATCH(forward(g, fixed, b, x, y, work))
}

void syn_conv_direct_input_grad(const syn_conv_direct *g, const float *fixed, const float *dy,
                                float *dx, float *work)
{
    DISPATCH(input_grad(g, fixed, dy, dx, work))
}

void syn_conv_direct_wgrad_prepare(const syn_conv_direct *g, const float *x, const float *dy,
                                   float *work)
{
    DISPATCH(wgrad_prepare(g, x, dy, work))
}

void syn_conv_direct_wgrad_run(const syn_conv_direct *g, size_t lo, size_t hi, const float *x,
                               const float *work, size_t n, float *fixed)
{
    DISPATCH(wgrad_run(g, lo, hi, x, work, n, fixed))
}

void syn_conv_direct_wgrad_finish(const syn_conv_direct *g, const float *fixed, float *dw)
{
    DISPATCH(wgrad_finish(g, fixed, dw))
}

void syn_conv_direct_bias_grad(const syn_conv_direct *g, const float *dy, size_t batch,
                               size_t lo, size_t hi, float *db)
{
    DISPATCH(bias_grad(g, dy, batch, lo, hi, db))
}
