/* conv_direct.c - issue 15 item 3's question: for the convolutions of the
 * issue's CNN (bench/cnn.c: conv 1->32 3x3 on 1x28x28, and conv 32->64 3x3
 * on the 32x13x13 map after max-pool 2; stride 1, no padding), is a direct
 * kernel faster than synapse's im2col + syn_gemm (src/layers/conv2d.c)?
 *
 *   bench_conv_direct [--rounds R] [--round-ms MS] [--batches 64,256]
 *                     [--no-step | --step-only | --check-only] [--wgrad-lanes]
 *
 * Single thread. Per layer and batch, three passes, each timed for synapse
 * and for the direct kernels below (rounds interleaved, the best round's
 * ms per call):
 *   forward      synapse: syn_forward on a net of that one conv layer
 *                (linear, so the output is the convolution plus bias);
 *   weight grad  synapse: syn_backward_from_output on that net (the first
 *                layer of a net gets no input gradient: dW and db alone,
 *                plus the public call's copy of dL/dy into the workspace);
 *                and the conv layer's backward op without d_in, the same
 *                work without that copy;
 *   input grad   synapse: the conv layer's backward with d_in (what
 *                core/pass.c calls for any layer but the first) minus the
 *                same call without it: the marginal cost of dL/dx, since
 *                synapse shares one im2col between dW and dL/dx.
 *   backward     synapse: that backward with d_in (dW, db and dL/dx);
 *                direct: weight grad + input grad.
 * Also synapse's weight-grad op on a copy of the layer record without a
 * bias (what its bias sum costs), and then the whole CNN's training step
 * (forward in training mode and backward, one thread) with a projection of
 * it with the direct kernels' times in place of the convolutions' passes
 * (--step-only: the step alone, e.g. under perf).
 * Before timing, the direct kernels' outputs (y, dW, db, dL/dx) are checked
 * against synapse's: max |direct - synapse| / max |synapse| <= 1e-4 per
 * tensor, or the program exits 1 (--check-only: the checks alone, for
 * CTest's bench_conv_direct_check).
 *
 * The direct kernels (AVX-512F intrinsics; exits 77 on a CPU without it)
 * compute a stride-1, unpadded 3x3 convolution on each sample's planes as
 * flat arrays: output position q = oh * W + ow of the input's width W, so
 * that a tap (c, i, j) is the input shifted by c H W + i W + j and a vector
 * of 16 consecutive q is one unaligned load; the W - OW wrapped columns of
 * each row are computed and dropped (85% of the lanes are used at 13x13, 93%
 * at 28x28, against 69% and 81% for vectors along one output row).
 *   forward      register tiles of 8 output channels x 3 vectors of 16
 *                positions (24 accumulators), the sum over (c, i, j);
 *   input grad   the same tiles (8 input channels x 3 vectors) over dL/dx's
 *                own plane, reading dL/dy laid out on the input's width
 *                with zeros around it, the kernel rotated by 180 degrees
 *                and the channels swapped (a "full" correlation);
 *   weight grad  at 64 output channels (conv 2): vectors along the output
 *                channels, 4 vectors x 6 taps (24 accumulators) over the
 *                valid positions only, each tap's input broadcast, dL/dy
 *                transposed to [position][channel] per sample; no lanes
 *                wasted and no reduction across lanes. Otherwise (conv 1,
 *                or --wgrad-lanes): per (8 output channels, input channel
 *                c, kernel row i), 24 vector accumulators (8 channels x 3
 *                taps j) over the positions of 8 samples (their dL/dy
 *                stays in L1), added to per-lane sums reduced at the end,
 *                dL/dy laid out on the input's width with zeros in the
 *                wrapped columns.
 * Since issue 15's follow-up these kernels are also the library's
 * (src/kernels/conv_direct_avx512.c, conv2d's path on AVX-512F for these
 * shapes), so on such a CPU "synapse" below is that path, the checks
 * compare the two copies and the timings are those of the same kernels run
 * through the layer (its pack, copies and scratch); the GEMM path's times
 * are this program's output at commit d2e7e4a (before the move).
 * They cover what the bench runs: 3x3, stride 1, no padding, no groups,
 * output channels a multiple of 8 (the weight gradient's tiles; the other
 * passes fall back to 1-channel tiles when a count is not). Buffers are
 * allocated once, before timing, as a workspace would be. */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synapse.h"
#include "core/internal.h"
#include "kernels/gemm.h"

#define AVX512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))
#define K 3          /* the direct kernels' kernel size */
#ifndef WG_SAMPLES
#define WG_SAMPLES 8 /* weight grad: samples summed per lane before a reduction */
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "bench_conv_direct: out of memory\n");
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

static size_t round16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* ---- the direct kernels -------------------------------------------------- */

typedef struct geom {
    size_t c, h, w, oc, oh, ow;
} geom;

/* One register tile: for o < ocb and the nv vectors of positions
 * q in [q0, q0 + 16 nv) below q_n,
 *   out[o * ld + q] = sum over r < r_n of wp[r * ocb + o] * src[off[r] + q]
 * summed in r order. Masked loads keep every read below q_n's last input. */
AVX512 INLINE void tile(const int ocb, const int nv, const float *src, const size_t *off,
                        size_t r_n, const float *wp, size_t q0, size_t q_n, float *out,
                        size_t ld)
{
    __m512 acc[32];
    __mmask16 m[8];
    for (int v = 0; v < nv; v++) {
        size_t lo = q0 + 16 * (size_t)v;
        size_t left = q_n > lo ? q_n - lo : 0;
        m[v] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
    }
    for (int k = 0; k < ocb * nv; k++)
        acc[k] = _mm512_setzero_ps();
    for (size_t r = 0; r < r_n; r++) {
        const float *s = src + off[r] + q0;
        __m512 xv[8];
        for (int v = 0; v < nv; v++)
            xv[v] = _mm512_maskz_loadu_ps(m[v], s + 16 * v);
        for (int o = 0; o < ocb; o++) {
            __m512 wv = _mm512_set1_ps(wp[r * (size_t)ocb + (size_t)o]);
            for (int v = 0; v < nv; v++)
                acc[o * nv + v] = _mm512_fmadd_ps(wv, xv[v], acc[o * nv + v]);
        }
    }
    for (int o = 0; o < ocb; o++)
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(out + (size_t)o * ld + q0 + 16 * (size_t)v, m[v],
                                  acc[o * nv + v]);
}

/* out[o][q] for o < 8 and all q < q_n: tiles of 3 vectors, then the rest. */
AVX512 static void tiles8(const float *src, const size_t *off, size_t r_n, const float *wp,
                          size_t q_n, float *out, size_t ld)
{
    size_t q0 = 0;
    while (q0 < q_n) {
        size_t left = (q_n - q0 + 15) / 16;
        if (left >= 3) {
            tile(8, 3, src, off, r_n, wp, q0, q_n, out, ld);
            q0 += 48;
        } else if (left == 2) {
            tile(8, 2, src, off, r_n, wp, q0, q_n, out, ld);
            q0 += 32;
        } else {
            tile(8, 1, src, off, r_n, wp, q0, q_n, out, ld);
            q0 += 16;
        }
    }
}

/* The same for one output channel: tiles of 8 vectors. */
AVX512 static void tiles1(const float *src, const size_t *off, size_t r_n, const float *wp,
                          size_t q_n, float *out, size_t ld)
{
    size_t q0 = 0;
    while (q0 < q_n) {
        size_t left = (q_n - q0 + 15) / 16;
        if (left >= 8) {
            tile(1, 8, src, off, r_n, wp, q0, q_n, out, ld);
            q0 += 128;
        } else if (left >= 4) {
            tile(1, 4, src, off, r_n, wp, q0, q_n, out, ld);
            q0 += 64;
        } else {
            tile(1, 1, src, off, r_n, wp, q0, q_n, out, ld);
            q0 += 16;
        }
    }
}

/* A "valid" 3x3 correlation of one sample: src [n_src][sh][sw] planes,
 * wp the weights packed per block of ocb output channels as
 * [block][r = (s, i, j)][ocb], out [n_out][q_n] on the source's width
 * (ld = round16(q_n)). */
typedef struct valid_conv {
    size_t n_src, sh, sw, n_out, q_n, ld, r_n;
    int ocb;
    size_t *off; /* [r_n] */
    float *wp;   /* [n_out x r_n] */
} valid_conv;

static void valid_conv_init(valid_conv *vc, size_t n_src, size_t sh, size_t sw, size_t n_out)
{
    vc->n_src = n_src;
    vc->sh = sh;
    vc->sw = sw;
    vc->n_out = n_out;
    vc->q_n = (sh - K) * sw + (sw - K + 1); /* last output row: sw - K + 1 positions */
    vc->ld = round16(vc->q_n);
    vc->r_n = n_src * K * K;
    vc->ocb = n_out % 8 == 0 ? 8 : 1;
    vc->off = malloc(vc->r_n * sizeof(size_t));
    vc->wp = alloc_floats(n_out * vc->r_n);
    if (!vc->off) {
        fprintf(stderr, "bench_conv_direct: out of memory\n");
        exit(1);
    }
    for (size_t s = 0; s < n_src; s++)
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                vc->off[(s * K + i) * K + j] = s * sh * sw + i * sw + j;
}

static void valid_conv_free(valid_conv *vc)
{
    free(vc->off);
    free(vc->wp);
}

AVX512 static void valid_conv_run(const valid_conv *vc, const float *src, float *out)
{
    size_t ocb = (size_t)vc->ocb;
    for (size_t o0 = 0; o0 < vc->n_out; o0 += ocb) {
        const float *wp = vc->wp + o0 * vc->r_n;
        if (ocb == 8)
            tiles8(src, vc->off, vc->r_n, wp, vc->q_n, out + o0 * vc->ld, vc->ld);
        else
            tiles1(src, vc->off, vc->r_n, wp, vc->q_n, out + o0 * vc->ld, vc->ld);
    }
}

/* Forward: y = conv(x, W) + b, per sample through tmp [oc][ld]. */
typedef struct direct {
    geom g;
    size_t batch;
    valid_conv fwd, bwd;
    float *tmp;   /* [oc x fwd.ld]: one sample's outputs on the input's width */
    float *dyb;   /* [oc][bstride]: one sample's dy on the input's width, shifted */
    size_t bstride; /* (K - 1) (W + 1) zeros, then oh x W rows, then zeros */
    float *dyw;   /* [WG_SAMPLES][oc][round16(oh * w)]: dy on the input's width */
    float *part;  /* [oc x c x K x K][16]: dW's per-lane sums over the blocks so far */
    size_t wld;   /* round16(oh * w) */
} direct;

/* The input gradient as the same tiles: dx[c][p] for p = ih W + iw is
 *   sum over (oc, i, j) of W[oc][c][i][j] * dy[oc][(ih - i) W + (iw - j)]
 * on dy laid out on the input's width: the wrapped columns iw - j < 0 land
 * on the zeros of columns >= OW, rows ih - i < 0 or >= OH on the zeros
 * before and after, so every p < H W is one run of the kernel, with shifts
 * off = oc bstride + (K-1-i) W + (K-1-j) and the weights rotated by 180
 * degrees; the output is dx's plane itself (96% of the lanes at 13x13). */
static void input_grad_init(direct *d)
{
    const geom *g = &d->g;
    valid_conv *vc = &d->bwd;
    d->bstride = round16((K - 1) * (g->w + 1) + g->h * g->w);
    vc->n_src = g->oc;
    vc->n_out = g->c;
    vc->q_n = g->h * g->w;
    vc->ld = g->h * g->w;
    vc->r_n = g->oc * K * K;
    vc->ocb = g->c % 8 == 0 ? 8 : 1;
    vc->off = malloc(vc->r_n * sizeof(size_t));
    vc->wp = alloc_floats(g->c * vc->r_n);
    d->dyb = alloc_floats(g->oc * d->bstride);
    if (!vc->off) {
        fprintf(stderr, "bench_conv_direct: out of memory\n");
        exit(1);
    }
    for (size_t o = 0; o < g->oc; o++)
        for (size_t i = 0; i < K; i++) /* i, j: the rotated kernel's tap */
            for (size_t j = 0; j < K; j++)
                vc->off[(o * K + i) * K + j] = o * d->bstride + i * g->w + j;
}

static void direct_init(direct *d, geom g, size_t batch)
{
    d->g = g;
    d->batch = batch;
    valid_conv_init(&d->fwd, g.c, g.h, g.w, g.oc);
    input_grad_init(d);
    d->tmp = alloc_floats(g.oc * d->fwd.ld);
    d->wld = round16(g.oh * g.w);
    d->dyw = alloc_floats(WG_SAMPLES * g.oc * d->wld);
    d->part = alloc_floats(g.oc * g.c * K * K * 16);
}

static void direct_free(direct *d)
{
    valid_conv_free(&d->fwd);
    valid_conv_free(&d->bwd);
    free(d->tmp);
    free(d->dyb);
    free(d->dyw);
    free(d->part);
}

/* Packs W [oc][c][K][K] for the forward kernel (blocks of ocb output
 * channels, [r][ocb] inside) and, flipped and transposed, for the input
 * gradient (output channels c, r = (oc, K-1-i, K-1-j)). */
static void pack_weights(direct *d, const float *w)
{
    const geom *g = &d->g;
    size_t taps = K * K, r_f = g->c * taps, r_b = g->oc * taps;
    size_t of = (size_t)d->fwd.ocb, ob = (size_t)d->bwd.ocb;
    for (size_t o = 0; o < g->oc; o++)
        for (size_t r = 0; r < r_f; r++)
            d->fwd.wp[(o / of) * of * r_f + r * of + o % of] = w[o * r_f + r];
    for (size_t c = 0; c < g->c; c++)
        for (size_t o = 0; o < g->oc; o++)
            for (size_t t = 0; t < taps; t++) {
                size_t r = o * taps + (taps - 1 - t); /* flipped tap */
                d->bwd.wp[(c / ob) * ob * r_b + r * ob + c % ob] = w[(o * g->c + c) * taps + t];
            }
}

/* dst[r * dst_ld + k] = src[r * src_ld + k] + add for r < rows, k < width:
 * masked vectors (a memcpy call per row of 11 floats cost more). */
AVX512 static void copy_rows(float *dst, size_t dst_ld, const float *src, size_t src_ld,
                             size_t rows, size_t width, float add)
{
    __m512 a = _mm512_set1_ps(add);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < width; k += 16) {
            size_t left = width - k;
            __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
            __m512 v = _mm512_maskz_loadu_ps(m, src + r * src_ld + k);
            _mm512_mask_storeu_ps(dst + r * dst_ld + k, m, _mm512_add_ps(v, a));
        }
}

static void direct_forward(direct *d, const float *w, const float *b, const float *x, float *y)
{
    const geom *g = &d->g;
    pack_weights(d, w);
    size_t pos = g->oh * g->ow;
    for (size_t n = 0; n < d->batch; n++) {
        valid_conv_run(&d->fwd, x + n * g->c * g->h * g->w, d->tmp);
        for (size_t o = 0; o < g->oc; o++)
            copy_rows(y + (n * g->oc + o) * pos, g->ow, d->tmp + o * d->fwd.ld, g->w, g->oh,
                      g->ow, b[o]);
    }
}

/* dL/dx (input_grad_init): per sample, dy laid out, then the tiles. */
static void direct_input_grad(direct *d, const float *w, const float *dy, float *dx)
{
    const geom *g = &d->g;
    pack_weights(d, w);
    size_t pos = g->oh * g->ow, lead = (K - 1) * (g->w + 1);
    for (size_t n = 0; n < d->batch; n++) {
        for (size_t o = 0; o < g->oc; o++)
            copy_rows(d->dyb + o * d->bstride + lead, g->w, dy + (n * g->oc + o) * pos, g->ow,
                      g->oh, g->ow, 0.0f);
        valid_conv_run(&d->bwd, d->dyb, dx + n * g->c * g->h * g->w);
    }
}

/* 24 accumulators: dW for output channels [o0, o0 + 8), input channel c,
 * kernel row i, taps j < 3, over the samples [0, ns) of the block. */
AVX512 static void wgrad_tile(const direct *d, const float *x, size_t ns, size_t o0, size_t c,
                              size_t i, float *part, int first)
{
    const geom *g = &d->g;
    size_t plane = g->h * g->w, q_n = d->fwd.q_n, nvec = (q_n + 15) / 16;
    __m512 acc[8][K];
#pragma GCC unroll 8
    for (int o = 0; o < 8; o++)
#pragma GCC unroll 3
        for (int j = 0; j < K; j++)
            acc[o][j] = _mm512_setzero_ps();
    for (size_t n = 0; n < ns; n++) {
        const float *xs = x + (n * g->c + c) * plane + i * g->w;
        const float *ds = d->dyw + (n * g->oc + o0) * d->wld;
        for (size_t v = 0; v < nvec; v++) {
            size_t left = q_n - 16 * v;
            __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
            __m512 x0 = _mm512_maskz_loadu_ps(m, xs + 16 * v);
            __m512 x1 = _mm512_maskz_loadu_ps(m, xs + 16 * v + 1);
            __m512 x2 = _mm512_maskz_loadu_ps(m, xs + 16 * v + 2);
#pragma GCC unroll 8
            for (int o = 0; o < 8; o++) {
                __m512 dv = _mm512_load_ps(ds + (size_t)o * d->wld + 16 * v);
                acc[o][0] = _mm512_fmadd_ps(dv, x0, acc[o][0]);
                acc[o][1] = _mm512_fmadd_ps(dv, x1, acc[o][1]);
                acc[o][2] = _mm512_fmadd_ps(dv, x2, acc[o][2]);
            }
        }
    }
    size_t r_n = g->c * K * K;
#pragma GCC unroll 8
    for (int o = 0; o < 8; o++)
#pragma GCC unroll 3
        for (int j = 0; j < K; j++) {
            float *t = part + ((o0 + (size_t)o) * r_n + (c * K + i) * K + (size_t)j) * 16;
            __m512 sum = first ? acc[o][j] : _mm512_add_ps(_mm512_load_ps(t), acc[o][j]);
            _mm512_store_ps(t, sum);
        }
}

/* dw[k] = the sum of part's 16 lanes k. */
AVX512 static void wgrad_reduce(const float *part, float *dw, size_t n)
{
    for (size_t k = 0; k < n; k++)
        dw[k] = _mm512_reduce_add_ps(_mm512_load_ps(part + k * 16));
}

/* db[o]: the sum of dy over samples and positions, 16 lanes at a time. */
AVX512 static void direct_bias_grad(const direct *d, const float *dy, float *db)
{
    const geom *g = &d->g;
    size_t pos = g->oh * g->ow;
    for (size_t o = 0; o < g->oc; o++) {
        __m512 s = _mm512_setzero_ps();
        for (size_t n = 0; n < d->batch; n++) {
            const float *r = dy + (n * g->oc + o) * pos;
            for (size_t k = 0; k < pos; k += 16) {
                size_t left = pos - k;
                __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
                s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, r + k));
            }
        }
        db[o] = _mm512_reduce_add_ps(s);
    }
}

/* dW and db; dy laid out on the input's width, WG_SAMPLES samples at a
 * time (the wrapped columns stay zero: they were zeroed at init). */
static void direct_weight_grad(direct *d, const float *x, const float *dy, float *dw, float *db)
{
    const geom *g = &d->g;
    size_t pos = g->oh * g->ow, plane = g->h * g->w;
    for (size_t n0 = 0; n0 < d->batch; n0 += WG_SAMPLES) {
        size_t ns = d->batch - n0 < WG_SAMPLES ? d->batch - n0 : WG_SAMPLES;
        for (size_t n = 0; n < ns; n++)
            for (size_t o = 0; o < g->oc; o++)
                copy_rows(d->dyw + (n * g->oc + o) * d->wld, g->w,
                          dy + ((n0 + n) * g->oc + o) * pos, g->ow, g->oh, g->ow, 0.0f);
        for (size_t o0 = 0; o0 < g->oc; o0 += 8)
            for (size_t c = 0; c < g->c; c++)
                for (size_t i = 0; i < K; i++)
                    wgrad_tile(d, x + n0 * g->c * plane, ns, o0, c, i, d->part, n0 == 0);
    }
    wgrad_reduce(d->part, dw, g->oc * g->c * K * K);
    direct_bias_grad(d, dy, db);
}

/* The weight gradient with vectors along the output channels instead:
 * acc[r][oc] (= dW[oc][r]) += x[off[r] + oh W + ow] * dy[oc][oh][ow] over
 * the valid positions only (no wrapped columns, no reduction across lanes),
 * a tile being `t` taps r x `ov` vectors of 16 channels (t ov <= 24
 * accumulators), dy transposed to [position][oc] one sample at a time. */
AVX512 INLINE void wgrad_ocv_tile(const int ov, const int t, const float *xn, const size_t *off,
                                  size_t r0, const float *dyt, const geom *g, float *acc_mem)
{
    __m512 acc[24];
    const float *xs[12];
    for (int k = 0; k < t; k++) {
        xs[k] = xn + off[r0 + (size_t)k];
        for (int v = 0; v < ov; v++)
            acc[k * ov + v] = _mm512_load_ps(acc_mem + (r0 + (size_t)k) * g->oc + 16 * v);
    }
    for (size_t oh = 0; oh < g->oh; oh++)
        for (size_t ow = 0; ow < g->ow; ow++) {
            const float *dp = dyt + (oh * g->ow + ow) * g->oc;
            size_t xo = oh * g->w + ow;
            __m512 dv[4];
            for (int v = 0; v < ov; v++)
                dv[v] = _mm512_load_ps(dp + 16 * v);
            for (int k = 0; k < t; k++) {
                __m512 xb = _mm512_set1_ps(xs[k][xo]);
                for (int v = 0; v < ov; v++)
                    acc[k * ov + v] = _mm512_fmadd_ps(dv[v], xb, acc[k * ov + v]);
            }
        }
    for (int k = 0; k < t; k++)
        for (int v = 0; v < ov; v++)
            _mm512_store_ps(acc_mem + (r0 + (size_t)k) * g->oc + 16 * v, acc[k * ov + v]);
}

/* Whether the channel-vector weight gradient runs the shape: 64 output
 * channels (4 vectors) and taps in tiles of 6. At conv 1 (one input
 * channel, 32 outputs: tiles of 2 vectors x 9 taps, and the transpose of a
 * 32 x 676 dy per sample) it was slower than the lane version: 1.05
 * against 0.88 ms at batch 64, 5.7 against 3.9 at 256. */
static int wgrad_ocv_ok(const geom *g)
{
    return g->oc == 64 && g->c * K * K % 6 == 0;
}

AVX512 static void wgrad_ocv_run(const direct *d, const float *xn, const float *dyt,
                                 float *acc_mem)
{
    const geom *g = &d->g;
    size_t r_n = g->c * K * K;
    for (size_t r0 = 0; r0 < r_n; r0 += 6)
        wgrad_ocv_tile(4, 6, xn, d->fwd.off, r0, dyt, g, acc_mem);
}

static void direct_weight_grad_ocv(direct *d, const float *x, const float *dy, float *dw,
                                   float *db)
{
    const geom *g = &d->g;
    size_t pos = g->oh * g->ow, r_n = g->c * K * K;
    float *acc = d->part, *dyt = d->dyw; /* [r_n][oc], [pos][oc] */
    memset(acc, 0, r_n * g->oc * sizeof(float));
    for (size_t n = 0; n < d->batch; n++) {
        const float *dn = dy + n * g->oc * pos;
        for (size_t p = 0; p < pos; p++)
            for (size_t o = 0; o < g->oc; o++)
                dyt[p * g->oc + o] = dn[o * pos + p];
        wgrad_ocv_run(d, x + n * g->c * g->h * g->w, dyt, acc);
    }
    for (size_t o = 0; o < g->oc; o++)
        for (size_t r = 0; r < r_n; r++)
            dw[o * r_n + r] = acc[r * g->oc + o];
    direct_bias_grad(d, dy, db);
}

/* ---- synapse's side ------------------------------------------------------ */

typedef struct synside {
    syn_net *net;
    syn_workspace *ws;
    const syn_layer *layer;
    float *grads, *d_in; /* for the backward op call */
} synside;

static int synside_init(synside *s, geom g, size_t batch)
{
    syn_layer_desc conv = {.kind = SYN_LAYER_CONV2D, .units = g.oc, .kernel = {K, K}};
    syn_net_desc desc = {.n_inputs = g.c * g.h * g.w, .n_layers = 1, .layers = &conv,
                         .loss = SYN_LOSS_MSE, .seed = 7, .input_shape = {g.c, g.h, g.w}};
    if (syn_net_create(&desc, &s->net) != SYN_OK ||
        syn_workspace_create(s->net, batch, &s->ws) != SYN_OK ||
        syn_workspace_set_threads(s->ws, 1) != SYN_OK)
        return 0;
    s->layer = &s->net->layers[0];
    s->grads = alloc_floats(s->net->n_params);
    s->d_in = alloc_floats(batch * desc.n_inputs);
    return 1;
}

/* The conv layer's backward as core/pass.c calls it, on the input of the
 * last forward pass; d_in NULL: the weight gradient alone. */
static void synside_backward_op(synside *s, size_t batch, const float *dy, float *d_in)
{
    syn_layer_pass p = {.in = s->ws->input, .params = s->net->params, .state = s->net->state,
                        .batch = batch, .scratch = s->ws->scratch, .pool = NULL};
    syn_conv2d_ops.backward(s->layer, &p, dy, s->grads, d_in);
}

/* The same weight-gradient call on a copy of the layer record that says
 * it has no bias: what synapse's bias sum costs (the difference). */
static void synside_backward_op_nobias(synside *s, size_t batch, const float *dy)
{
    syn_layer nb = *s->layer;
    nb.has_bias = 0;
    syn_layer_pass p = {.in = s->ws->input, .params = s->net->params, .state = s->net->state,
                        .batch = batch, .scratch = s->ws->scratch, .pool = NULL};
    syn_conv2d_ops.backward(&nb, &p, dy, s->grads, NULL);
}

/* ---- the comparison ------------------------------------------------------ */

static double max_rel(const float *a, const float *ref, size_t n)
{
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)ref[i]), r = fabs((double)ref[i]);
        diff = e > diff || isnan(e) ? e : diff;
        scale = r > scale ? r : scale;
    }
    return scale > 0.0 ? diff / scale : diff;
}

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

typedef struct bench {
    geom g;
    size_t batch;
    synside s;
    direct d;
    float *x, *dy, *y, *dw, *db, *dx;
    const float *w, *b;
    int ocv; /* weight grad: vectors along the output channels */
} bench;

enum { P_FWD, P_SYN_W, P_SYN_W_ONLY_OP, P_SYN_WI_OP, P_SYN_W_NOBIAS, P_DIR_W, P_DIR_I,
       P_COUNT };

static void run_pass(bench *bn, int which)
{
    const float *out;
    switch (which) {
    case P_FWD:
        syn_forward(bn->s.net, bn->s.ws, bn->x, bn->batch, &out);
        break;
    case P_SYN_W:
        syn_backward_from_output(bn->s.net, bn->s.ws, bn->dy, bn->batch);
        break;
    case P_SYN_W_ONLY_OP:
        synside_backward_op(&bn->s, bn->batch, bn->dy, NULL);
        break;
    case P_SYN_W_NOBIAS:
        synside_backward_op_nobias(&bn->s, bn->batch, bn->dy);
        break;
    case P_SYN_WI_OP:
        synside_backward_op(&bn->s, bn->batch, bn->dy, bn->s.d_in);
        break;
    case P_DIR_W:
        if (bn->ocv && wgrad_ocv_ok(&bn->g))
            direct_weight_grad_ocv(&bn->d, bn->x, bn->dy, bn->dw, bn->db);
        else
            direct_weight_grad(&bn->d, bn->x, bn->dy, bn->dw, bn->db);
        break;
    case P_DIR_I:
        direct_input_grad(&bn->d, bn->w, bn->dy, bn->dx);
        break;
    }
}

static void run_direct_forward(bench *bn)
{
    direct_forward(&bn->d, bn->w, bn->b, bn->x, bn->y);
}

/* ms per call of pass `which` (P_COUNT: the direct forward), one round of
 * about round_ms. */
static double time_round(bench *bn, int which, double round_ms)
{
    double t0 = now();
    if (which == P_COUNT)
        run_direct_forward(bn);
    else
        run_pass(bn, which);
    double one = (now() - t0) * 1e3;
    int calls = one > 0 ? (int)(round_ms / one) : 1;
    if (calls < 1)
        calls = 1;
    t0 = now();
    for (int k = 0; k < calls; k++) {
        if (which == P_COUNT)
            run_direct_forward(bn);
        else
            run_pass(bn, which);
    }
    return (now() - t0) * 1e3 / calls;
}

static int check(const char *what, const float *a, const float *ref, size_t n)
{
    double e = max_rel(a, ref, n);
    printf("  check %-12s max |direct - synapse| / max |synapse| = %.2e\n", what, e);
    if (!(e <= 1e-4)) {
        fprintf(stderr, "bench_conv_direct: %s differs from synapse by %.2e > 1e-4\n", what, e);
        return 0;
    }
    return 1;
}

/* Best ms per call of each pass (run_config). */
typedef struct timings {
    double fwd_syn, fwd_dir, w_syn_op, w_dir, wi_syn_op, i_dir;
} timings;

/* rounds 0: the checks alone. */
static int run_config(geom g, size_t batch, int rounds, double round_ms, int ocv, timings *tm)
{
    bench bn = {.g = g, .batch = batch, .ocv = ocv};
    if (!synside_init(&bn.s, g, batch)) {
        fprintf(stderr, "bench_conv_direct: cannot build the synapse net\n");
        return 0;
    }
    direct_init(&bn.d, g, batch);
    size_t n_in = g.c * g.h * g.w, n_out = g.oc * g.oh * g.ow, n_w = g.oc * g.c * K * K;
    bn.x = alloc_floats(batch * n_in);
    bn.dy = alloc_floats(batch * n_out);
    bn.y = alloc_floats(batch * n_out);
    bn.dx = alloc_floats(batch * n_in);
    bn.dw = alloc_floats(n_w);
    bn.db = alloc_floats(g.oc);
    for (size_t i = 0; i < batch * n_in; i++)
        bn.x[i] = uniform();
    for (size_t i = 0; i < batch * n_out; i++)
        bn.dy[i] = uniform();
    float *params = bn.s.net->params;
    for (size_t o = 0; o < g.oc; o++)
        params[bn.s.layer->b_off + o] = 0.1f * uniform(); /* nonzero bias */
    bn.w = params + bn.s.layer->w_off;
    bn.b = params + bn.s.layer->b_off;

    printf("\nconv %zu->%zu %dx%d on %zux%zux%zu (output %zux%zux%zu), batch %zu\n", g.c, g.oc,
           K, K, g.c, g.h, g.w, g.oc, g.oh, g.ow, batch);
    /* Synapse's results, then the direct kernels' against them. */
    const float *y_syn;
    float *dw_syn, *db_syn;
    int ok = syn_forward(bn.s.net, bn.s.ws, bn.x, batch, &y_syn) == SYN_OK &&
             syn_backward_from_output(bn.s.net, bn.s.ws, bn.dy, batch) == SYN_OK &&
             syn_workspace_layer_grads(bn.s.ws, bn.s.net, 0, &dw_syn, &db_syn) == SYN_OK;
    if (!ok) {
        fprintf(stderr, "bench_conv_direct: synapse's passes failed\n");
        return 0;
    }
    synside_backward_op(&bn.s, batch, bn.dy, bn.s.d_in);
    run_direct_forward(&bn);
    run_pass(&bn, P_DIR_W);
    run_pass(&bn, P_DIR_I);
    ok = check("forward y", bn.y, y_syn, batch * n_out) &&
         check("dW", bn.dw, dw_syn, n_w) && check("db", bn.db, db_syn, g.oc) &&
         check("dW (op)", bn.dw, bn.s.grads + bn.s.layer->w_off, n_w) &&
         check("dL/dx", bn.dx, bn.s.d_in, batch * n_in);
    if (!ok)
        return 0;
    if (rounds == 0) {
        direct_free(&bn.d);
        free(bn.x);
        free(bn.dy);
        free(bn.y);
        free(bn.dx);
        free(bn.dw);
        free(bn.db);
        free(bn.s.grads);
        free(bn.s.d_in);
        syn_workspace_free(bn.s.ws);
        syn_net_free(bn.s.net);
        return 1;
    }

    /* Best round of each, rounds interleaved. */
    int order[] = {P_FWD,       P_COUNT,     P_SYN_W,        P_DIR_W,
                   P_SYN_W_ONLY_OP, P_SYN_WI_OP, P_SYN_W_NOBIAS, P_DIR_I};
    size_t n_order = sizeof order / sizeof order[0];
    double best[P_COUNT + 1];
    for (int k = 0; k <= P_COUNT; k++)
        best[k] = 1e300;
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < n_order; k++) {
            if (order[k] == P_FWD || order[k] == P_SYN_W) /* syn_backward needs a forward */
                run_pass(&bn, P_FWD);
            double t = time_round(&bn, order[k], round_ms);
            if (t < best[order[k]])
                best[order[k]] = t;
        }
    double syn_i = best[P_SYN_WI_OP] - best[P_SYN_W_ONLY_OP];
    double dir_b = best[P_DIR_W] + best[P_DIR_I];
    printf("  %-34s %10s %10s %16s\n", "pass (ms per call, best round)", "synapse", "direct",
           "synapse/direct");
    printf("  %-34s %10.3f %10.3f %16.2f\n", "forward", best[P_FWD], best[P_COUNT],
           best[P_FWD] / best[P_COUNT]);
    printf("  %-34s %10.3f %10.3f %16.2f\n", "weight grad (dW, db)", best[P_SYN_W],
           best[P_DIR_W], best[P_SYN_W] / best[P_DIR_W]);
    printf("  %-34s %10.3f %10.3f %16.2f\n", "weight grad, synapse's op call",
           best[P_SYN_W_ONLY_OP], best[P_DIR_W], best[P_SYN_W_ONLY_OP] / best[P_DIR_W]);
    printf("  %-34s %10.3f %10.3f %16.2f\n", "input grad (synapse: marginal)", syn_i,
           best[P_DIR_I], syn_i / best[P_DIR_I]);
    printf("  %-34s %10.3f %10.3f %16.2f\n", "backward dW, db, dL/dx", best[P_SYN_WI_OP], dir_b,
           best[P_SYN_WI_OP] / dir_b);
    printf("  (synapse's weight-grad op call without its bias sum: %.3f ms)\n",
           best[P_SYN_W_NOBIAS]);
    fflush(stdout);
    *tm = (timings){best[P_FWD], best[P_COUNT], best[P_SYN_W_ONLY_OP], best[P_DIR_W],
                    best[P_SYN_WI_OP], best[P_DIR_I]};

    direct_free(&bn.d);
    free(bn.x);
    free(bn.dy);
    free(bn.y);
    free(bn.dx);
    free(bn.dw);
    free(bn.db);
    free(bn.s.grads);
    free(bn.s.d_in);
    syn_workspace_free(bn.s.ws);
    syn_net_free(bn.s.net);
    return 1;
}

/* ms per training step (forward in training mode, backward; no update) of
 * issue 15's CNN at `batch`, one thread, random images and labels. */
static double cnn_step_ms(size_t batch, int rounds, double round_ms)
{
    static const syn_layer_desc cnn[] = {
        {.kind = SYN_LAYER_CONV2D, .units = 32, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
        {.kind = SYN_LAYER_CONV2D, .units = 64, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
        {.units = 128, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f},
        {.units = 10, .activation = SYN_ACT_SOFTMAX},
    };
    syn_net_desc desc = {.n_inputs = 784, .n_layers = sizeof cnn / sizeof cnn[0], .layers = cnn,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1, .input_shape = {1, 28, 28}};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    if (syn_net_create(&desc, &net) != SYN_OK || syn_workspace_create(net, batch, &ws) != SYN_OK ||
        syn_workspace_set_threads(ws, 1) != SYN_OK) {
        fprintf(stderr, "bench_conv_direct: cannot build the CNN\n");
        return -1;
    }
    float *x = alloc_floats(batch * 784), *t = alloc_floats(batch * 10);
    for (size_t i = 0; i < batch * 784; i++)
        x[i] = uniform();
    for (size_t r = 0; r < batch; r++)
        t[r * 10 + r % 10] = 1.0f;
    double best = 1e300;
    uint64_t step = 0;
    for (int r = 0; r <= rounds; r++) { /* round 0 warms up */
        int calls = 0;
        double t0 = now(), el;
        do {
            const float *out;
            if (syn_forward_train(net, ws, x, batch, 1, step++, &out) != SYN_OK ||
                syn_backward(net, ws, t, batch) != SYN_OK) {
                fprintf(stderr, "bench_conv_direct: the CNN's step failed\n");
                return -1;
            }
            calls++;
        } while ((el = (now() - t0) * 1e3) < round_ms);
        if (r > 0 && el / calls < best)
            best = el / calls;
    }
    free(x);
    free(t);
    syn_workspace_free(ws);
    syn_net_free(net);
    return best;
}

int main(int argc, char **argv)
{
    int rounds = 5;
    double round_ms = 40.0;
    size_t batches[8] = {64, 256}, n_batches = 2;
    int step = 1, check_only = 0, ocv = 1;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--rounds") && a + 1 < argc) {
            rounds = atoi(argv[++a]);
        } else if (!strcmp(argv[a], "--round-ms") && a + 1 < argc) {
            round_ms = atof(argv[++a]);
        } else if (!strcmp(argv[a], "--check-only")) { /* CTest: no timing */
            check_only = 1;
        } else if (!strcmp(argv[a], "--wgrad-lanes")) {
            ocv = 0;
        } else if (!strcmp(argv[a], "--no-step")) {
            step = 0;
        } else if (!strcmp(argv[a], "--step-only")) { /* for a profiler */
            step = 2;
        } else if (!strcmp(argv[a], "--batches") && a + 1 < argc) {
            n_batches = 0;
            for (char *t = strtok(argv[++a], ","); t && n_batches < 8; t = strtok(NULL, ","))
                batches[n_batches++] = (size_t)strtoul(t, NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_conv_direct [--rounds R] [--round-ms MS] "
                    "[--batches 64,256] [--no-step | --step-only | --check-only] "
                    "[--wgrad-lanes]\n");
            return 2;
        }
    }
    if (rounds < 1 || n_batches == 0) {
        fprintf(stderr, "bench_conv_direct: --rounds and --batches need at least one\n");
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "bench_conv_direct: the direct kernels need AVX-512F\n");
        return 77;
    }
    printf("synapse (GEMM backend %s) against direct AVX-512 kernels, one thread\n",
           syn_gemm_backend());
    /* bench/cnn.c's two convolutions: 1x28x28 -> 32x26x26, max-pool 2 ->
     * 32x13x13 -> 64x11x11. */
    geom layers[2] = {{1, 28, 28, 32, 26, 26}, {32, 13, 13, 64, 11, 11}};
    timings tm[2][8];
    for (int l = 0; l < 2 && step < 2; l++)
        for (size_t bi = 0; bi < n_batches; bi++)
            if (!run_config(layers[l], batches[bi], check_only ? 0 : rounds, round_ms,
                            ocv, &tm[l][bi]))
                return 1;
    if (!step || check_only)
        return 0;
    printf("\nthe whole CNN (bench/cnn.c's layers), syn_forward_train + syn_backward, one "
           "thread;\nprojected: the same with the convolutions' passes replaced by the direct "
           "kernels'\n(conv 1: forward and weight grad; conv 2: forward, weight and input "
           "grad)\n");
    for (size_t bi = 0; bi < n_batches; bi++) {
        double ms = cnn_step_ms(batches[bi], rounds, round_ms);
        if (ms < 0)
            return 1;
        if (step == 2) {
            printf("  batch %3zu: step %.2f ms\n", batches[bi], ms);
            continue;
        }
        const timings *a = &tm[0][bi], *b = &tm[1][bi];
        double syn = a->fwd_syn + a->w_syn_op + b->fwd_syn + b->wi_syn_op;
        double dir = a->fwd_dir + a->w_dir + b->fwd_dir + b->w_dir + b->i_dir;
        printf("  batch %3zu: step %.2f ms, of which the convolutions' passes %.2f ms (%.0f%%); "
               "projected %.2f ms (%.2fx the samples/s)\n", batches[bi], ms, syn,
               100.0 * syn / ms, ms - syn + dir, ms / (ms - syn + dir));
    }
    return 0;
}
