/* small_avx512.c - the small-network path (see small.h), in AVX-512F
 * intrinsics. Built with -mavx512f when the compiler has it; otherwise
 * syn_small_available() is 0 and pass.c uses syn_gemm for every product. */
#include "kernels/small.h"

#ifdef SYN_HAVE_AVX512
#include <immintrin.h>
#include <stdint.h>


int syn_small_available(void)
{
    return __builtin_cpu_supports("avx512f");
}

/* The first n lanes. */
static inline __mmask16 lanes(size_t n)
{
    return (__mmask16)((1u << n) - 1u); /* n <= 16 */
}

/* The activations applied in the register (tanh and softmax: activation.c's,
 * over the stored rows). Only activations whose table row has small_path
 * reach this file (pass.c's small_path()); the others answer 0 here and
 * have no derivative in derive16, which makes test_small_path fail if one
 * is admitted without being implemented. No `default:`: a new activation
 * is a compiler warning (-Werror) in each switch. */
static int fuses(syn_activation act)
{
    switch (act) {
    case SYN_ACT_LINEAR:
    case SYN_ACT_SIGMOID:
    case SYN_ACT_RELU:
    case SYN_ACT_LEAKY_RELU: return 1;
    case SYN_ACT_TANH:
    case SYN_ACT_SOFTMAX:
    case SYN_ACT_GELU:
    case SYN_ACT_GELU_TANH:
    case SYN_ACT_SILU:
    case SYN_ACT_ELU:
    case SYN_ACT_SOFTPLUS:
    case SYN_ACT_COUNT_: return 0;
    }
    return 0;
}

/* Rows carried through a layer together. A tiny net's pass is a chain of
 * dependent instructions per row; written one operation at a time across
 * SYN_LOCK independent rows (the loops below unroll fully, so every
 * array here lives in registers), the core overlaps the rows' chains
 * instead of waiting on one row at a time (4 rows in lockstep took the
 * seed's XOR step from 6.0 to 5.4 ms against one row at a time). */
#define SYN_LOCK 4
#define SYN_INLINE static inline __attribute__((always_inline))
#define EACH_ROW(q) _Pragma("GCC unroll 4") for (int q = 0; q < SYN_LOCK; q++)
#define EACH_INPUT(i) _Pragma("GCC unroll 16") for (int i = 0; i < SYN_SMALL_WIDTH; i++)

/* e^-z, row by row in lockstep, for |z| <= 87.3 (the sigmoid's; lanes
 * outside are the caller's to replace, and those named by `zero` come out
 * 0). A tiny net's step is one chain of dependent instructions, so this exp
 * is built for a short chain rather than for fast_expf's (activation.c)
 * few constants: with k = round(-16 z / ln2), e^-z = 2^(k / 16) e^r, where
 * r = -z - k ln2 / 16 (Cody & Waite, two steps) lies within ln2 / 32 of 0,
 * so 1 + r + r^2 (1/2 + r/6) is within 1e-8 of e^r. 2^(k / 16) is one of
 * 16 table entries 2^(j / 16), picked by a permute, times 2^(k >> 4) put
 * into its exponent, both beside the chain. The negation is folded into
 * the constants (u = -r), and there is no clamp on the chain (the caller
 * masks): from z to e^-z, 7 dependent steps. */
SYN_INLINE void exp_neg_rows(__m512 z[SYN_LOCK], const __mmask16 zero[SYN_LOCK])
{
    const __m512 magic = _mm512_set1_ps(12582912.0f); /* 1.5 * 2^23 */
    const __m512 table = _mm512_setr_ps(
        1.0f, 1.04427378f, 1.09050773f, 1.13878863f, 1.18920712f, 1.24185781f, 1.29683955f,
        1.35425555f, 1.41421356f, 1.47682615f, 1.54221083f, 1.61049033f, 1.68179283f,
        1.75625216f, 1.83400809f, 1.91520656f); /* 2^(j / 16) */
    __m512 t[SYN_LOCK], k[SYN_LOCK], u[SYN_LOCK], u2[SYN_LOCK], scale[SYN_LOCK];
    /* t = magic + k exactly: k sits in t's low mantissa bits. */
    EACH_ROW(q) t[q] = _mm512_fmadd_ps(z[q], _mm512_set1_ps(-23.0831206542234f), magic);
    EACH_ROW(q) k[q] = _mm512_sub_ps(t[q], magic);
    EACH_ROW(q) {
        __m512i ki = _mm512_sub_epi32(_mm512_castps_si512(t[q]), _mm512_castps_si512(magic));
        __m512 entry = _mm512_permutexvar_ps(ki, table); /* lane j = k mod 16 */
        scale[q] = _mm512_castsi512_ps(_mm512_add_epi32(
            _mm512_castps_si512(entry), _mm512_slli_epi32(_mm512_srai_epi32(ki, 4), 23)));
    }
    /* u = -r = z + k ln2 / 16, with ln2 / 16 = 0.0433349609375 (9 bits: k
     * times it is exact) - 1.3262152e-5: Cephes' split of ln2, over 16. */
    EACH_ROW(q) u[q] = _mm512_fmadd_ps(k[q], _mm512_set1_ps(0.0433349609375f), z[q]);
    EACH_ROW(q) u[q] = _mm512_fnmadd_ps(k[q], _mm512_set1_ps(1.32621525e-5f), u[q]);
    EACH_ROW(q) u2[q] = _mm512_mul_ps(u[q], u[q]);
    /* e^r = 1 + p with p = r + r^2 (1/2 + r/6) = u^2 (1/2 - u/6) - u;
     * e^-z = scale + scale p, rounded once. */
    EACH_ROW(q) {
        __m512 p = _mm512_fmsub_ps(
            u2[q], _mm512_fnmadd_ps(u[q], _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f)),
            u[q]);
        z[q] = _mm512_maskz_fmadd_ps((__mmask16)~zero[q], scale[q], p, scale[q]);
    }
}

/* The activations fuses() names, as activation.c defines them, on rows
 * in lockstep. */
SYN_INLINE void activate_rows(syn_activation act, float slope, __m512 z[SYN_LOCK])
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case SYN_ACT_SIGMOID: {
        /* 1 / (1 + e^-z), 1 / d by the 14-bit reciprocal and one Newton
         * step: within an ulp of the quotient, shorter on the chain than a
         * division, and without its throughput limit (two divisions per
         * row made the XOR step 8% slower). Beyond |z| = 87.3 the answer
         * is set by masks computed beside the chain: e^-z is made 0 above
         * (s = 1, exactly as for any z over 17), and s 0 below (the true
         * value is under FLT_MIN there), so e^-z and 1 / d stay normal
         * floats. NaN fails both compares and stays NaN. Within 2.9 ulps
         * of 1 / (1 + e^-z) over [-87, 30] (test_small_path; activation.c's:
         * 2.5). Against the form e^-|z| / (1 + e^-|z|) below zero, this
         * takes the blend, the |z| and the clamp off the chain. */
        __m512 e[SYN_LOCK], d[SYN_LOCK], s[SYN_LOCK];
        __mmask16 above[SYN_LOCK], below[SYN_LOCK];
        EACH_ROW(q) {
            above[q] = _mm512_cmp_ps_mask(z[q], _mm512_set1_ps(87.3f), _CMP_GT_OQ);
            below[q] = _mm512_cmp_ps_mask(z[q], _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
            e[q] = z[q];
        }
        exp_neg_rows(e, above);
        EACH_ROW(q) d[q] = _mm512_add_ps(one, e[q]);
        EACH_ROW(q) s[q] = _mm512_rcp14_ps(d[q]);
        EACH_ROW(q) {
            z[q] = _mm512_maskz_fmadd_ps((__mmask16)~below[q],
                                         _mm512_fnmadd_ps(d[q], s[q], one), s[q], s[q]);
        }
        return;
    }
    case SYN_ACT_RELU: /* 0 below zero; NaN stays NaN */
        EACH_ROW(q) z[q] = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z[q], zero, _CMP_NLT_UQ), z[q]);
        return;
    case SYN_ACT_LEAKY_RELU:
        EACH_ROW(q) {
            z[q] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z[q], zero, _CMP_GT_OQ),
                                        _mm512_mul_ps(z[q], _mm512_set1_ps(slope)), z[q]);
        }
        return;
    case SYN_ACT_LINEAR: return;
    /* Not fused (fuses() is 0): applied by activation.c, or refused. */
    case SYN_ACT_TANH:
    case SYN_ACT_SOFTMAX:
    case SYN_ACT_GELU:
    case SYN_ACT_GELU_TANH:
    case SYN_ACT_SILU:
    case SYN_ACT_ELU:
    case SYN_ACT_SOFTPLUS:
    case SYN_ACT_COUNT_: return;
    }
}

/* d * act'(from the outputs a), as activation.c's backward for the rows
 * with small_path. Softmax only ever is an output layer, whose dz comes
 * from the loss (pass.c never asks for its derivative here). Activations
 * the small kernels do not implement give NaN, never a silent linear
 * derivative: pass.c does not send them here, and if a table row claimed
 * small_path without an implementation here, the gradients would be NaN
 * and test_small_path fails. */
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
    case SYN_ACT_LINEAR:
    case SYN_ACT_SOFTMAX: return d;
    case SYN_ACT_GELU:
    case SYN_ACT_GELU_TANH:
    case SYN_ACT_SILU:
    case SYN_ACT_ELU:
    case SYN_ACT_SOFTPLUS:
    case SYN_ACT_COUNT_: break;
    }
    return _mm512_set1_ps(__builtin_nanf(""));
}

/* W^T of a [units x n_in] W into wt[0..n_in-1], one column per vector,
 * zero past `units`; wt[n_in..15] are left alone.
 * W lies in the parameter arena, which is 64-byte aligned and whole
 * 16-float vectors long (util.h): when W fits in two aligned vectors of
 * it, those are loaded whole and the columns permuted out of them. Whole
 * aligned loads matter on this path: the optimizer has just written the
 * arena with whole vector stores, and a load that matches a store is
 * forwarded from it fastest; a masked or straddling one adds 2 to 8 cycles
 * to the round trip (bench/forwarding.c). Bigger W are gathered. Inlined
 * and unrolled, so that wt stays in registers. */
SYN_INLINE void transpose_weights(const float *w, size_t n_in, size_t units,
                                  __m512 wt[SYN_SMALL_WIDTH])
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
        EACH_INPUT(i) {
            if ((size_t)i < n_in)
                wt[i] = _mm512_maskz_permutex2var_ps(
                    mask, lo, _mm512_add_epi32(rows, _mm512_set1_epi32(i)), hi);
        }
        return;
    }
    EACH_INPUT(i) {
        if ((size_t)i < n_in)
            wt[i] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask,
                                             _mm512_add_epi32(rows, _mm512_set1_epi32(i)), w,
                                             4);
    }
}

/* One layer over one block of rows r0 .. r0 + rows - 1 (rows <= SYN_LOCK):
 * from the rows' inputs (x, the scaled input, for the first layer; else
 * v, the previous layer's output rows as vectors) to the layer's outputs,
 * stored in the layer's output block and left in v. wt and b hold the layer's W^T and bias
 * vector. Rows past the batch are computed from the block's first row and
 * never stored. */
SYN_INLINE void layer_block(const syn_small_net *sn, size_t l,
                            const __m512 wt[SYN_SMALL_WIDTH], __m512 b, const float *x,
                            size_t r0, size_t rows, __m512 v[SYN_LOCK])
{
    const syn_small_layer *layer = &sn->layers[l];
    size_t n_in = layer->n_in, units = layer->units;
    __m512 acc[SYN_LOCK];
    /* Each output summed over i in order, like syn_gemm. */
    if (l == 0) {
        const float *xr[SYN_LOCK];
        EACH_ROW(q) xr[q] = x + (r0 + ((size_t)q < rows ? (size_t)q : 0)) * n_in;
        EACH_ROW(q) acc[q] = _mm512_mul_ps(_mm512_set1_ps(xr[q][0]), wt[0]);
        EACH_INPUT(i) {
            if (i > 0 && (size_t)i < n_in)
                EACH_ROW(q) {
                    acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(xr[q][i]), wt[i], acc[q]);
                }
        }
    } else {
        /* Input i of a row: lane i of the row's vector. */
        EACH_ROW(q) {
            acc[q] = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_setzero_si512(), v[q]), wt[0]);
        }
        EACH_INPUT(i) {
            if (i > 0 && (size_t)i < n_in)
                EACH_ROW(q) {
                    acc[q] = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_set1_epi32(i), v[q]),
                                             wt[i], acc[q]);
                }
        }
    }
    if (layer->b)
        EACH_ROW(q) acc[q] = _mm512_add_ps(acc[q], b);
    int last = l + 1 == sn->n_layers, fused = fuses(layer->act);
    /* Whole-vector stores, in row order, into the blocks' slack (see
     * transpose_weights for why whole): each spills into the next row,
     * which is written next. */
    if (last)
        EACH_ROW(q) {
            if ((size_t)q < rows)
                _mm512_storeu_ps(sn->logits + (r0 + q) * units, acc[q]);
        }
    if (fused)
        activate_rows(layer->act, layer->slope, acc);
    float *act = sn->bufs[l].out + r0 * units;
    EACH_ROW(q) {
        if ((size_t)q < rows)
            _mm512_storeu_ps(act + q * units, acc[q]);
        v[q] = acc[q];
    }
    if (fused)
        return;
    /* tanh and softmax: the caller's (activation.c's), over the block's
     * rows, which are then read back. */
    sn->activate(layer->act, layer->slope, act, rows, units);
    EACH_ROW(q) {
        if ((size_t)q < rows)
            v[q] = _mm512_loadu_ps(act + q * units);
    }
}

/* The layer's W^T and bias vector (zero without bias). */
SYN_INLINE __m512 layer_weights(const syn_small_net *sn, size_t l,
                                __m512 wt[SYN_SMALL_WIDTH])
{
    const syn_small_layer *layer = &sn->layers[l];
    transpose_weights(layer->w, layer->n_in, layer->units, wt);
    __m512 b[SYN_SMALL_WIDTH] = {_mm512_setzero_ps()};
    if (layer->b) /* b as a [units x 1] matrix's one column */
        transpose_weights(layer->b, 1, layer->units, b);
    return b[0];
}

/* A pass of more than one block: layer by layer, so that each layer's W^T
 * is built once (a gather per column when W is over 32 floats) rather than
 * once per block; a block reads its rows of the layer below back as whole
 * vectors. Out of line, so that the one-block pass below has the
 * registers to itself (sharing a function with this loop, it spilled
 * three times as much and the seed's XOR ran 3% slower). */
__attribute__((noinline)) static void forward_by_layer(const syn_small_net *sn,
                                                       const float *x, size_t batch)
{
    __m512 wt[SYN_SMALL_WIDTH], v[SYN_LOCK];
    EACH_ROW(q) v[q] = _mm512_setzero_ps();
    for (size_t l = 0; l < sn->n_layers; l++) {
        __m512 b = layer_weights(sn, l, wt);
        size_t n_in = sn->layers[l].n_in;
        for (size_t r0 = 0; r0 < batch; r0 += SYN_LOCK) {
            size_t rows = batch - r0 < SYN_LOCK ? batch - r0 : SYN_LOCK;
            if (l > 0) {
                const float *in = sn->bufs[l - 1].out + r0 * n_in;
                EACH_ROW(q) v[q] = _mm512_loadu_ps(in + ((size_t)q < rows ? q : 0) * n_in);
            }
            layer_block(sn, l, wt, b, x, r0, rows, v);
        }
    }
}

/* ---- the packed pass: a whole tiny batch in one vector ----
 *
 * When a layer's rows fit one vector together (batch x n_in and batch x
 * units at most 16 lanes, W at most 16 floats), the rows are not carried
 * one per vector in lockstep but side by side: lane r * units + o holds
 * row r's output o, which is the row-major layout of the blocks, so a
 * layer's outputs are one vector and one store. Each sum is formed by the
 * same operations in the same order as in the lockstep code above (a
 * product, then one fused multiply-add per term, in order; the sigmoid on
 * the same values), so both give the same bits; the packed form runs a
 * quarter of the instructions for the seed's 4-row batch, and a tiny net's
 * step, a chain of dependent instructions, waits less on the core's
 * instruction window. Terms are picked out of the vectors by permutes
 * whose indices depend on the shape alone. */

/* The slots of syn_small_layer.index, lane L of each: */
enum {
    IX_IN,    /* forward, lane r * units + o: r * n_in (+ i: input i of row r) */
    IX_W,     /* forward: skip + o * n_in (+ i: W[o][i] in the arena pair) */
    IX_B,     /* forward: bskip + o (b[o] in the arena pair) */
    IX_Q,     /* backward: L / n_in (o of dW[o][i]; r of row r's input grad) */
    IX_I,     /* backward: L % n_in (i) */
    IX_DZ,    /* backward: (L / n_in) * units (+ o: dz[r][o] for input grad) */
    IX_WB,    /* backward: skip + L % n_in (+ o * n_in: W[o][i]) */
};

static size_t lane_in_vector(const float *p)
{
    return ((uintptr_t)p % 64) / sizeof(float);
}

void syn_small_prepare(syn_small_layer *layer)
{
    size_t n_in = layer->n_in, units = layer->units, wide = n_in > units ? n_in : units;
    size_t skip = lane_in_vector(layer->w), bskip = layer->b ? lane_in_vector(layer->b) : 0;
    int fits = n_in * units <= SYN_SMALL_WIDTH && skip + n_in * units <= 2 * SYN_SMALL_WIDTH;
    layer->packed_rows = fits && fuses(layer->act) ? SYN_SMALL_WIDTH / wide : 0;
    for (size_t lane = 0; lane < SYN_SMALL_WIDTH; lane++) {
        size_t r = lane / units, o = lane % units, q = lane / n_in, i = lane % n_in;
        layer->index[IX_IN][lane] = (int32_t)(r * n_in);
        layer->index[IX_W][lane] = (int32_t)(skip + o * n_in);
        layer->index[IX_B][lane] = (int32_t)(bskip + o);
        layer->index[IX_Q][lane] = (int32_t)q;
        layer->index[IX_I][lane] = (int32_t)i;
        layer->index[IX_DZ][lane] = (int32_t)(q * units);
        layer->index[IX_WB][lane] = (int32_t)(skip + i);
    }
}

SYN_INLINE __m512i index_of(const syn_small_layer *layer, int slot)
{
    return _mm512_loadu_si512(layer->index[slot]);
}

/* Whether the packed pass takes a batch of `batch` rows through the net. */
static int packed_ok(const syn_small_net *sn, size_t batch)
{
    for (size_t l = 0; l < sn->n_layers; l++) {
        if (batch > sn->layers[l].packed_rows)
            return 0;
    }
    return 1;
}

/* The two aligned vectors of the parameter arena that hold the n floats at
 * p (skip + n <= 32), and p's lane in the first (see transpose_weights for
 * why whole aligned loads). */
SYN_INLINE size_t arena_pair(const float *p, size_t n, __m512 *lo, __m512 *hi)
{
    size_t skip = ((uintptr_t)p % 64) / sizeof(float);
    const float *base = p - skip;
    *lo = _mm512_load_ps(base);
    *hi = skip + n > SYN_SMALL_WIDTH ? _mm512_load_ps(base + SYN_SMALL_WIDTH)
                                     : _mm512_setzero_ps();
    return skip;
}

/* One layer, packed: from v (lane r * n_in + i) to the outputs (lane
 * r * units + o), stored whole in the layer's block (and the logits for
 * the last layer) and returned. Lanes past the batch are zero before the
 * activation. */
static inline __m512 packed_layer(const syn_small_net *sn, size_t l, __m512 v, size_t batch)
{
    const syn_small_layer *layer = &sn->layers[l];
    size_t n_in = layer->n_in, units = layer->units;
    __mmask16 live = lanes(batch * units);
    __m512i from_in = index_of(layer, IX_IN), from_w = index_of(layer, IX_W);
    __m512 lo, hi;
    arena_pair(layer->w, n_in * units, &lo, &hi);
    __m512 acc = _mm512_mul_ps(_mm512_permutexvar_ps(from_in, v),
                               _mm512_maskz_permutex2var_ps(live, lo, from_w, hi));
    for (size_t i = 1; i < n_in; i++) {
        __m512i at = _mm512_set1_epi32((int)i);
        acc = _mm512_fmadd_ps(
            _mm512_permutexvar_ps(_mm512_add_epi32(from_in, at), v),
            _mm512_maskz_permutex2var_ps(live, lo, _mm512_add_epi32(from_w, at), hi), acc);
    }
    if (layer->b) {
        __m512 blo, bhi;
        arena_pair(layer->b, units, &blo, &bhi);
        acc = _mm512_add_ps(
            acc, _mm512_maskz_permutex2var_ps(live, blo, index_of(layer, IX_B), bhi));
    }
    if (l + 1 == sn->n_layers)
        _mm512_storeu_ps(sn->logits, acc);
    __m512 out[SYN_LOCK] = {acc};
    activate_rows(layer->act, layer->slope, out);
    _mm512_storeu_ps(sn->bufs[l].out, out[0]);
    return out[0];
}

static void packed_forward(const syn_small_net *sn, const float *x, size_t batch)
{
    __m512 v = _mm512_maskz_loadu_ps(lanes(batch * sn->layers[0].n_in), x);
    for (size_t l = 0; l < sn->n_layers; l++)
        v = packed_layer(sn, l, v, batch);
}

/* `into` with lanes at .. at + n - 1 (at + n <= 16) replaced by lanes
 * 0 .. n - 1 of v. */
SYN_INLINE __m512 place(__m512 into, __m512 v, size_t at, size_t n)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __mmask16 where = (__mmask16)(lanes(n) << at);
    return _mm512_mask_permutexvar_ps(into, where,
                                      _mm512_sub_epi32(lane, _mm512_set1_epi32((int)at)), v);
}

/* The packed backward pass (as syn_small_backward_net's, one block). */
static void packed_backward(const syn_small_net *sn, const float *d, int output_derivative,
                            size_t batch)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    size_t top = sn->n_layers - 1, out_units = sn->layers[top].units;
    __m512 dz;
    if (out_units == 1) {
        /* Row by row from d's floats, which the caller has often just
         * stored one by one: each broadcast load is forwarded from one
         * store, where a load over all of them waits for them to reach
         * the cache. */
        dz = _mm512_set1_ps(d[0]);
        for (size_t r = 1; r < batch; r++)
            dz = _mm512_mask_mov_ps(dz, (__mmask16)(1u << r), _mm512_set1_ps(d[r]));
    } else {
        dz = _mm512_maskz_loadu_ps(lanes(batch * out_units), d);
    }
    if (output_derivative) {
        const syn_small_layer *layer = &sn->layers[top];
        dz = derive16(layer->act, layer->slope, _mm512_loadu_ps(sn->bufs[top].out), dz);
    }
    /* A net of at most 16 parameters has its whole gradient in `all`,
     * stored once at the end (the stores to each block, masked, would each
     * hold up the optimizer's load of the vector). */
    int one_vector = sn->n_grads <= SYN_SMALL_WIDTH;
    __m512 all = _mm512_setzero_ps();
    for (size_t l = top;; l--) {
        const syn_small_layer *layer = &sn->layers[l];
        size_t n_in = layer->n_in, units = layer->units;
        __m512 x = l == 0 ? _mm512_maskz_loadu_ps(lanes(batch * n_in), sn->input)
                          : _mm512_loadu_ps(sn->bufs[l - 1].out);
        /* dW[o][i] (lane o * n_in + i) = sum over r of dz[r][o] x[r][i]. */
        __m512i q = index_of(layer, IX_Q), i_of = index_of(layer, IX_I);
        __m512 acc = _mm512_setzero_ps();
        for (size_t r = 0; r < batch; r++) {
            __m512i dz_at = _mm512_add_epi32(q, _mm512_set1_epi32((int)(r * units)));
            __m512i x_at = _mm512_add_epi32(i_of, _mm512_set1_epi32((int)(r * n_in)));
            acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(dz_at, dz),
                                  _mm512_permutexvar_ps(x_at, x), acc);
        }
        if (one_vector)
            all = place(all, acc, (size_t)(sn->bufs[l].dw - sn->grads), n_in * units);
        else
            _mm512_mask_storeu_ps(sn->bufs[l].dw, lanes(n_in * units), acc);
        if (layer->b) { /* db[o] = sum over r of dz[r][o] */
            __m512 db = _mm512_setzero_ps();
            for (size_t r = 0; r < batch; r++) {
                db = _mm512_add_ps(db, _mm512_permutexvar_ps(
                                           _mm512_add_epi32(lane, _mm512_set1_epi32(
                                                                      (int)(r * units))),
                                           dz));
            }
            if (one_vector)
                all = place(all, db, (size_t)(sn->bufs[l].db - sn->grads), units);
            else
                _mm512_mask_storeu_ps(sn->bufs[l].db, lanes(units), db);
        }
        if (l == 0) {
            if (one_vector)
                _mm512_store_ps(sn->grads, all);
            return;
        }
        /* dL/dz below (lane r * n_in + i): (sum over o of dz[r][o] W[o][i])
         * times act'(x[r][i]), over o in order. */
        __m512 lo, hi;
        arena_pair(layer->w, n_in * units, &lo, &hi);
        __mmask16 live = lanes(batch * n_in);
        __m512i dz_at = index_of(layer, IX_DZ), w_at = index_of(layer, IX_WB);
        __m512 in = _mm512_mul_ps(_mm512_permutexvar_ps(dz_at, dz),
                                  _mm512_maskz_permutex2var_ps(live, lo, w_at, hi));
        for (size_t o = 1; o < units; o++) {
            in = _mm512_fmadd_ps(
                _mm512_permutexvar_ps(_mm512_add_epi32(dz_at, _mm512_set1_epi32((int)o)), dz),
                _mm512_maskz_permutex2var_ps(
                    live, lo, _mm512_add_epi32(w_at, _mm512_set1_epi32((int)(o * n_in))), hi),
                in);
        }
        const syn_small_layer *below = &sn->layers[l - 1];
        dz = derive16(below->act, below->slope, x, in);
    }
}

void syn_small_forward_net(const syn_small_net *sn, const float *x, size_t batch)
{
    if (packed_ok(sn, batch)) {
        packed_forward(sn, x, batch);
        return;
    }
    if (batch > SYN_LOCK) {
        forward_by_layer(sn, x, batch);
        return;
    }
    /* One block (the seed's XOR): its rows go through every layer in
     * registers, and nothing on the pass's chain goes through memory but
     * the weights. */
    __m512 wt[SYN_SMALL_WIDTH], v[SYN_LOCK];
    EACH_ROW(q) v[q] = _mm512_setzero_ps();
    for (size_t l = 0; l < sn->n_layers; l++) {
        __m512 b = layer_weights(sn, l, wt);
        layer_block(sn, l, wt, b, x, 0, batch, v);
    }
}

void syn_small_backward_net(const syn_small_net *sn, const float *d, int output_derivative,
                            size_t batch)
{
    if (packed_ok(sn, batch)) {
        packed_backward(sn, d, output_derivative, batch);
        return;
    }
    size_t top = sn->n_layers - 1, out_units = sn->layers[top].units;
    /* Blocks of SYN_LOCK rows, each carried down through every layer in
     * registers: its dL/dz rows go into the weight and bias gradients and
     * through W and the activation derivative into the layer below. The
     * gradients sum over all rows in row order, one accumulator per
     * element, as syn_gemm does: the first block starts them, and later
     * blocks continue from what the block before left in sn->acc, one
     * aligned vector per gradient row. (Not in the gradient blocks: rows
     * narrower than 16 floats share vectors there, and a masked load that
     * overlaps the masked store of the next row waits for it to reach the
     * cache, which tripled the backward pass of an 8-wide net.) The last
     * block stores into the gradient blocks. */
    for (size_t r0 = 0; r0 < batch; r0 += SYN_LOCK) {
        size_t rows = batch - r0 < SYN_LOCK ? batch - r0 : SYN_LOCK;
        int first = r0 == 0, final = r0 + rows == batch;
        float *acc_rows = sn->acc; /* this layer's, from the top down */
        __m512 dz[SYN_LOCK];
        /* d comes from the caller, often from scalar stores just made: a
         * one-unit row is broadcast from its float (a load that one store
         * forwards to, where a masked load waits longer; the other lanes
         * are never stored or read). */
        EACH_ROW(q) {
            if ((size_t)q >= rows)
                dz[q] = _mm512_setzero_ps();
            else if (out_units == 1)
                dz[q] = _mm512_set1_ps(d[r0 + q]);
            else
                dz[q] = _mm512_maskz_loadu_ps(lanes(out_units), d + (r0 + q) * out_units);
        }
        if (output_derivative) {
            const syn_small_layer *layer = &sn->layers[top];
            const float *a = sn->bufs[top].out + r0 * out_units;
            /* Rows past the batch read the block's first row (their dz is
             * zero and never used). */
            EACH_ROW(q) {
                dz[q] = derive16(layer->act, layer->slope,
                                 _mm512_loadu_ps(a + ((size_t)q < rows ? q : 0) * out_units),
                                 dz[q]);
            }
        }
        for (size_t l = top;; l--) {
            const syn_small_layer *layer = &sn->layers[l];
            size_t n_in = layer->n_in, units = layer->units;
            const float *in = (l == 0 ? sn->input : sn->bufs[l - 1].out) + r0 * n_in;
            __m512 x[SYN_LOCK];
            /* Whole-vector loads (the blocks' slack); rows past the batch
             * are never used. */
            EACH_ROW(q) x[q] = _mm512_loadu_ps(in + ((size_t)q < rows ? q : 0) * n_in);
            /* dW[o][:] += dz[r][o] * x[r][:] and db += dz[r], over the rows. */
            __mmask16 in_mask = lanes(n_in), out_mask = lanes(units);
            float *dw = sn->bufs[l].dw;
            EACH_INPUT(o) {
                if ((size_t)o < units) {
                    float *keep = acc_rows + o * SYN_SMALL_WIDTH;
                    __m512 acc = first ? _mm512_setzero_ps() : _mm512_load_ps(keep);
                    __m512i at = _mm512_set1_epi32(o);
                    EACH_ROW(q) {
                        if ((size_t)q < rows)
                            acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(at, dz[q]), x[q], acc);
                    }
                    if (final)
                        _mm512_mask_storeu_ps(dw + o * n_in, in_mask, acc);
                    else
                        _mm512_store_ps(keep, acc);
                }
            }
            acc_rows += units * SYN_SMALL_WIDTH;
            if (layer->b) {
                __m512 acc = first ? _mm512_setzero_ps() : _mm512_load_ps(acc_rows);
                EACH_ROW(q) {
                    if ((size_t)q < rows)
                        acc = _mm512_add_ps(acc, dz[q]);
                }
                if (final)
                    _mm512_mask_storeu_ps(sn->bufs[l].db, out_mask, acc);
                else
                    _mm512_store_ps(acc_rows, acc);
            }
            acc_rows += SYN_SMALL_WIDTH;
            if (l == 0)
                break;
            /* dL/dz below: (sum_o dz[r][o] W[o][:]) * act'(x[r]), over o
             * in order. */
            const float *w = layer->w;
            const syn_small_layer *below = &sn->layers[l - 1];
            __m512 acc[SYN_LOCK], w0 = _mm512_maskz_loadu_ps(in_mask, w);
            EACH_ROW(q) {
                acc[q] = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_setzero_si512(), dz[q]), w0);
            }
            EACH_INPUT(o) {
                if (o > 0 && (size_t)o < units) {
                    __m512i at = _mm512_set1_epi32(o);
                    __m512 wo = _mm512_maskz_loadu_ps(in_mask, w + o * n_in);
                    EACH_ROW(q) {
                        acc[q] = _mm512_fmadd_ps(_mm512_permutexvar_ps(at, dz[q]), wo, acc[q]);
                    }
                }
            }
            EACH_ROW(q) dz[q] = derive16(below->act, below->slope, x[q], acc[q]);
        }
    }
}

#else
/* Without AVX-512 in the compiler there is no path: net.c builds no small
 * table, and pass.c does not call the kernels (it checks SYN_HAVE_AVX512
 * too). */
int syn_small_available(void)
{
    return 0;
}

void syn_small_prepare(syn_small_layer *layer)
{
    layer->packed_rows = 0;
}
#endif
