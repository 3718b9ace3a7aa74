/* small_avx512.c - the small-network path (see small.h), in AVX-512F
 * intrinsics. Built with -mavx512f when the compiler has it; otherwise
 * syn_small_available() is 0 and pass.c uses syn_gemm for every product. */
#include "small.h"

#ifdef SYN_HAVE_AVX512
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../internal.h"

int syn_small_available(void)
{
    return __builtin_cpu_supports("avx512f");
}

/* The first n lanes. */
static inline __mmask16 lanes(size_t n)
{
    return (__mmask16)((1u << n) - 1u); /* n <= 16 */
}

/* The activations applied in the register (the others: activation.c's). */
static int fuses(syn_activation act)
{
    return act == SYN_ACT_SIGMOID || act == SYN_ACT_RELU || act == SYN_ACT_LEAKY_RELU ||
           act == SYN_ACT_LINEAR;
}

/* e^x for x <= 0 (the sigmoid's e^-|z|), with fast_expf's constants and
 * steps (activation.c): clamp, n = round(x / ln2), Cody & Waite reduction,
 * Cephes' polynomial, 2^n from the exponent bits. The polynomial is
 * evaluated in Estrin's order rather than Horner's: a tiny net's pass is
 * one chain of dependent instructions, and this cuts the chain through
 * e^r from 8 steps to 5. Within an ulp or two of fast_expf. */
static inline __m512 exp16_nonpositive(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365478515625f));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic),
                             magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    /* P(r) = c5 + c4 r + ... + c0 r^5 = (c5 + c4 r) + r^2 (c3 + c2 r)
     * + r^4 (c1 + c0 r), then e^r = 1 + r + r^2 P(r). */
    __m512 r2 = _mm512_mul_ps(r, r), r4 = _mm512_mul_ps(r2, r2);
#define SYN_PAIR(hi, lo) _mm512_fmadd_ps(_mm512_set1_ps(hi), r, _mm512_set1_ps(lo))
    __m512 a = SYN_PAIR(1.6666665459e-1f, 5.0000001201e-1f);
    __m512 b = SYN_PAIR(8.3334519073e-3f, 4.1665795894e-2f);
    __m512 c = SYN_PAIR(1.9875691500e-4f, 1.3981999507e-3f);
#undef SYN_PAIR
    __m512 p = _mm512_fmadd_ps(r4, c, _mm512_fmadd_ps(r2, b, a));
    p = _mm512_add_ps(_mm512_fmadd_ps(r2, p, r), _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

/* The activations fuses() names, as activation.c defines them. */
static inline __m512 activate16(syn_activation act, float slope, __m512 z)
{
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case SYN_ACT_SIGMOID: {
        /* e^-|z|, then 1 / (1 + e) for z >= 0 and e / (1 + e) below. */
        __m512 e = exp16_nonpositive(_mm512_castsi512_ps(_mm512_or_si512(
            _mm512_castps_si512(z), _mm512_set1_epi32((int)0x80000000u))));
        /* 1 / d by the 14-bit reciprocal and one Newton step (within an
         * ulp of the quotient, and shorter than a division on the chain). */
        __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), e), s = _mm512_rcp14_ps(d);
        s = _mm512_fmadd_ps(_mm512_fnmadd_ps(d, s, _mm512_set1_ps(1.0f)), s, s);
        s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, zero, _CMP_GE_OQ), _mm512_mul_ps(e, s),
                                 s);
        /* NaN stays NaN (the clamp in exp16_nonpositive dropped it). */
        return _mm512_mask_mov_ps(s, _mm512_cmp_ps_mask(z, z, _CMP_UNORD_Q), z);
    }
    case SYN_ACT_RELU: /* 0 below zero; NaN stays NaN */
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, zero, _CMP_NLT_UQ), z);
    case SYN_ACT_LEAKY_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, zero, _CMP_GT_OQ),
                                    _mm512_mul_ps(z, _mm512_set1_ps(slope)), z);
    default:
        return z;
    }
}

/* d * act'(from the outputs a), as activation.c's syn_activation_backward. */
static inline __m512 derive16(syn_activation act, float slope, __m512 a, __m512 d)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case SYN_ACT_SIGMOID:
        return _mm512_mul_ps(d, _mm512_mul_ps(a, _mm512_sub_ps(one, a)));
    case SYN_ACT_TANH:
        return _mm512_mul_ps(d, _mm512_fnmadd_ps(a, a, one));
    case SYN_ACT_RELU:
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, zero, _CMP_GT_OQ), d);
    case SYN_ACT_LEAKY_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, zero, _CMP_GT_OQ),
                                    _mm512_mul_ps(d, _mm512_set1_ps(slope)), d);
    default:
        return d;
    }
}

/* W^T of a [units x n_in] W into wt[0..n_in-1], one column per vector,
 * zero past `units`.
 * W lies in the parameter arena, which is 64-byte aligned and whole
 * 16-float vectors long (util.h): when W fits in two aligned vectors of
 * it, those are loaded whole and the columns permuted out of them. Whole
 * aligned loads matter on this path: the optimizer has just written the
 * arena with whole vector stores, and a load that matches a store is
 * forwarded from it fastest; a masked or straddling one adds 2 to 8 cycles
 * to the round trip (bench/forwarding.c). Bigger W are gathered. */
static void transpose_weights(const float *w, size_t n_in, size_t units, __m512 *wt)
{
    __mmask16 mask = lanes(units);
    size_t skip = ((uintptr_t)w % 64) / sizeof(float), n = n_in * units;
    __m512i rows = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)n_in));
    if (skip + n <= 2 * SYN_SMALL_WIDTH) {
        const float *base = w - skip;
        __m512 lo = _mm512_load_ps(base);
        __m512 hi = skip + n > SYN_SMALL_WIDTH ? _mm512_load_ps(base + SYN_SMALL_WIDTH)
                                               : _mm512_setzero_ps();
        rows = _mm512_add_epi32(rows, _mm512_set1_epi32((int)skip));
        for (size_t i = 0; i < n_in; i++)
            wt[i] = _mm512_maskz_permutex2var_ps(
                mask, lo, _mm512_add_epi32(rows, _mm512_set1_epi32((int)i)), hi);
        return;
    }
    for (size_t i = 0; i < n_in; i++)
        wt[i] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask,
                                         _mm512_add_epi32(rows, _mm512_set1_epi32((int)i)), w,
                                         4);
}

void syn_small_forward_net(const syn_net *net, syn_workspace *ws, const float *x, size_t batch)
{
    size_t n_layers = net->n_layers;
    /* Blocks of up to 16 rows: each row is one vector that goes through
     * every layer in registers; the stores keep each layer's outputs for
     * the backward pass and the caller. (Packing several narrow rows into
     * one vector for the activation was tried: the shuffles cost more than
     * the activations they save.) */
    for (size_t r0 = 0; r0 < batch; r0 += SYN_SMALL_WIDTH) {
        size_t rows = batch - r0 < SYN_SMALL_WIDTH ? batch - r0 : SYN_SMALL_WIDTH;
        __m512 v[SYN_SMALL_WIDTH], wt[SYN_SMALL_WIDTH];
        for (size_t l = 0; l < n_layers; l++) {
            const syn_layer *layer = &net->layers[l];
            size_t n_in = layer->n_in, units = layer->units;
            transpose_weights(net->params + layer->w_off, n_in, units, wt);
            __m512 b = _mm512_setzero_ps();
            if (layer->has_bias) /* b as a [units x 1] matrix's one column */
                transpose_weights(net->params + layer->b_off, 1, units, &b);
            int last = l + 1 == n_layers, fused = fuses(layer->activation);
            float *act = ws->act[l] + r0 * units;
            for (size_t r = 0; r < rows; r++) {
                __m512 acc;
                if (l == 0) {
                    const float *xr = x + (r0 + r) * n_in;
                    acc = _mm512_mul_ps(_mm512_set1_ps(xr[0]), wt[0]);
                    for (size_t i = 1; i < n_in; i++)
                        acc = _mm512_fmadd_ps(_mm512_set1_ps(xr[i]), wt[i], acc);
                } else {
                    /* Input i of this row: lane i of the row's vector. */
                    acc = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_setzero_si512(), v[r]),
                                        wt[0]);
                    for (size_t i = 1; i < n_in; i++)
                        acc = _mm512_fmadd_ps(
                            _mm512_permutexvar_ps(_mm512_set1_epi32((int)i), v[r]), wt[i],
                            acc);
                }
                if (layer->has_bias)
                    acc = _mm512_add_ps(acc, b);
                /* Whole-vector stores, in row order, into the blocks'
                 * slack (see transpose_weights for why whole): each spills
                 * into the next row, which is written next. */
                if (last)
                    _mm512_storeu_ps(ws->logits + (r0 + r) * units, acc);
                if (fused)
                    acc = activate16(layer->activation, layer->leaky_slope, acc);
                _mm512_storeu_ps(act + r * units, acc);
                v[r] = acc;
            }
            if (fused)
                continue;
            /* tanh and softmax: activation.c's, over the block's rows, which
             * the next layer then reads back. */
            syn_activation_forward(layer->activation, layer->leaky_slope, act, rows, units);
            if (!last)
                for (size_t r = 0; r < rows; r++)
                    v[r] = _mm512_loadu_ps(act + r * units);
        }
    }
}

void syn_small_input_grad(const float *dz, size_t batch, size_t units, const float *w,
                          size_t n_in, const float *a, syn_activation act, float slope,
                          float *dx)
{
    __m512 wr[SYN_SMALL_WIDTH];
    __mmask16 mask = lanes(n_in);
    for (size_t o = 0; o < units; o++)
        wr[o] = _mm512_maskz_loadu_ps(mask, w + o * n_in);
    for (size_t r = 0; r < batch; r++) {
        const float *dr = dz + r * units;
        __m512 acc = _mm512_mul_ps(_mm512_set1_ps(dr[0]), wr[0]);
        for (size_t o = 1; o < units; o++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(dr[o]), wr[o], acc);
        /* Whole-vector load and store (the workspace blocks' slack): the
         * store is forwarded to the weight gradient's scalar loads. */
        acc = derive16(act, slope, _mm512_loadu_ps(a + r * n_in), acc);
        _mm512_storeu_ps(dx + r * n_in, acc);
    }
}

void syn_small_weight_grad(const float *dz, size_t batch, size_t units, const float *x,
                           size_t n_in, float *dw, float *db)
{
    __mmask16 in_mask = lanes(n_in);
    for (size_t o = 0; o < units; o++) {
        __m512 acc = _mm512_setzero_ps();
        for (size_t r = 0; r < batch; r++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(dz[r * units + o]),
                                  _mm512_loadu_ps(x + r * n_in), acc);
        _mm512_mask_storeu_ps(dw + o * n_in, in_mask, acc);
    }
    if (db) {
        __mmask16 out_mask = lanes(units);
        __m512 acc = _mm512_setzero_ps();
        for (size_t r = 0; r < batch; r++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(out_mask, dz + r * units));
        _mm512_mask_storeu_ps(db, out_mask, acc);
    }
}

#else
/* Without AVX-512 in the compiler pass.c never calls this path (it checks
 * SYN_HAVE_AVX512 too); ISO C wants a declaration in every file. */
typedef int syn_small_unused;
#endif
