/* conv_direct_avx512.c - the direct 3x3 convolution kernels (see
 * conv_direct.h) in AVX-512F intrinsics, from bench/conv_direct.c where
 * they were measured. Built with -mavx512f when the compiler has it;
 * otherwise conv_direct.c never calls them. */
#include "kernels/conv_direct.h"

#include <string.h>

#ifdef SYN_HAVE_AVX512
#include <immintrin.h>

#define K SYN_CONV_DIRECT_K
#define INLINE static inline __attribute__((always_inline))

/* The first min(left, 16) lanes. */
static inline __mmask16 lanes(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* One register tile: for o < ocb and the nv vectors of positions
 * q in [q0, q0 + 16 nv) below q_n,
 *   out[o * ld + q] = sum over s < n_src, i, j < 3 of
 *                     wp[((s * 3 + i) * 3 + j) * ocb + o] * src[s * sstride + i * width + j + q]
 * summed in (s, i, j) order. Masked loads keep every read below q_n's. */
INLINE void tile(const int ocb, const int nv, const float *src, size_t n_src, size_t sstride,
                 size_t width, const float *wp, size_t q0, size_t q_n, float *out, size_t ld)
{
    __m512 acc[32];
    __mmask16 m[8];
    for (int v = 0; v < nv; v++) {
        size_t lo = q0 + 16 * (size_t)v;
        m[v] = lanes(q_n > lo ? q_n - lo : 0);
    }
    for (int k = 0; k < ocb * nv; k++)
        acc[k] = _mm512_setzero_ps();
    for (size_t s = 0; s < n_src; s++) {
        const float *sp = src + s * sstride + q0;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                const float *p = sp + (size_t)i * width + (size_t)j;
                __m512 xv[8];
                for (int v = 0; v < nv; v++)
                    xv[v] = _mm512_maskz_loadu_ps(m[v], p + 16 * v);
                for (int o = 0; o < ocb; o++) {
                    __m512 wv = _mm512_set1_ps(wp[o]);
                    for (int v = 0; v < nv; v++)
                        acc[o * nv + v] = _mm512_fmadd_ps(wv, xv[v], acc[o * nv + v]);
                }
                wp += ocb;
            }
    }
    for (int o = 0; o < ocb; o++)
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(out + (size_t)o * ld + q0 + 16 * (size_t)v, m[v],
                                  acc[o * nv + v]);
}

/* out[o][q] for o < 8 and all q < q_n: tiles of 3 vectors, then the rest. */
static void tiles8(const float *src, size_t n_src, size_t sstride, size_t width,
                   const float *wp, size_t q_n, float *out, size_t ld)
{
    size_t q0 = 0;
    while (q0 < q_n) {
        size_t left = (q_n - q0 + 15) / 16;
        if (left >= 3) {
            tile(8, 3, src, n_src, sstride, width, wp, q0, q_n, out, ld);
            q0 += 48;
        } else if (left == 2) {
            tile(8, 2, src, n_src, sstride, width, wp, q0, q_n, out, ld);
            q0 += 32;
        } else {
            tile(8, 1, src, n_src, sstride, width, wp, q0, q_n, out, ld);
            q0 += 16;
        }
    }
}

/* The same for one output channel: tiles of 8 vectors, then fewer. */
static void tiles1(const float *src, size_t n_src, size_t sstride, size_t width,
                   const float *wp, size_t q_n, float *out)
{
    size_t q0 = 0;
    while (q0 < q_n) {
        size_t left = (q_n - q0 + 15) / 16;
        if (left >= 8) {
            tile(1, 8, src, n_src, sstride, width, wp, q0, q_n, out, 0);
            q0 += 128;
        } else if (left >= 4) {
            tile(1, 4, src, n_src, sstride, width, wp, q0, q_n, out, 0);
            q0 += 64;
        } else {
            tile(1, 1, src, n_src, sstride, width, wp, q0, q_n, out, 0);
            q0 += 16;
        }
    }
}

/* A "valid" 3x3 correlation of n_src planes (sstride apart, rows `width`
 * apart) into n_out channels (ld apart) at positions q < q_n, weights
 * packed by pack_index. */
static void correlate(const float *src, size_t n_src, size_t sstride, size_t width,
                      const float *wp, size_t n_out, size_t q_n, float *out, size_t ld)
{
    size_t r_n = n_src * K * K, full = n_out / 8 * 8;
    for (size_t o0 = 0; o0 < full; o0 += 8)
        tiles8(src, n_src, sstride, width, wp + o0 * r_n, q_n, out + o0 * ld, ld);
    for (size_t o = full; o < n_out; o++)
        tiles1(src, n_src, sstride, width, wp + o * r_n, q_n, out + o * ld);
}

/* dst[r * dst_ld + k] = src[r * src_ld + k] + add for r < rows, k < width,
 * in masked vectors. */
static void copy_rows(float *dst, size_t dst_ld, const float *src, size_t src_ld, size_t rows,
                      size_t width, float add)
{
    __m512 a = _mm512_set1_ps(add);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < width; k += 16) {
            __mmask16 m = lanes(width - k);
            __m512 v = _mm512_maskz_loadu_ps(m, src + r * src_ld + k);
            _mm512_mask_storeu_ps(dst + r * dst_ld + k, m, _mm512_add_ps(v, a));
        }
}

/* Rows of `width` floats laid out `ld` apart, zero-filled between: dst
 * gets `lead` zeros, then per row r < rows src's row and ld - width zeros,
 * then zeros up to `total` floats. */
static void lay_out(float *dst, size_t total, size_t lead, const float *src, size_t rows,
                    size_t width, size_t ld)
{
    memset(dst, 0, total * sizeof(float));
    copy_rows(dst + lead, ld, src, width, rows, width, 0.0f);
}

/* The sample's input on the padded plane, or the input itself. */
static const float *input_plane(const syn_conv_direct *g, const float *x, float *work)
{
    if (!g->padded)
        return x;
    for (size_t c = 0; c < g->c; c++)
        lay_out(work + c * g->plane, g->plane, g->ph * g->wp + g->pw, x + c * g->ih * g->iw,
                g->ih, g->iw, g->wp);
    return work;
}

void syn_conv_direct_avx512_forward(const syn_conv_direct *g, const float *fixed,
                                    const float *b, const float *x, float *y, float *work)
{
    const float *src = input_plane(g, x, work);
    float *tmp = work + g->xp_size;
    correlate(src, g->c, g->plane, g->wp, syn_conv_direct_packed_forward(g, (float *)fixed),
              g->oc, g->fwd_qn, tmp, g->fwd_ld);
    for (size_t o = 0; o < g->oc; o++)
        copy_rows(y + o * g->pos, g->ow, tmp + o * g->fwd_ld, g->wp, g->oh, g->ow,
                  b ? b[o] : 0.0f);
}

/* dL/dx on the padded plane: dx[c][p] is the sum over (o, i, j) of
 * W[o][c][i][j] dy[o][p - i wp - j] (in plane coordinates), so with dy laid
 * out on width wp after (K - 1)(wp + 1) zeros, rows and columns outside dy
 * land on zeros and each p is a correlation with the rotated kernel at
 * shifts o bstride + i wp + j. Only the positions of the input (rows ph..,
 * columns pw..) are computed. */
void syn_conv_direct_avx512_input_grad(const syn_conv_direct *g, const float *fixed,
                                       const float *dy, float *dx, float *work)
{
    float *dyb = work + g->xp_size, *dxp = dyb + g->oc * g->bstride;
    size_t lead = (K - 1) * (g->wp + 1);
    for (size_t o = 0; o < g->oc; o++)
        lay_out(dyb + o * g->bstride, g->bstride, lead, dy + o * g->pos, g->oh, g->ow, g->wp);
    const float *wp = syn_conv_direct_packed_input_grad(g, (float *)fixed);
    if (!g->padded) {
        correlate(dyb, g->oc, g->bstride, g->wp, wp, g->c, g->plane, dx, g->plane);
        return;
    }
    size_t q_lo = g->ph * g->wp + g->pw, q_hi = (g->ph + g->ih - 1) * g->wp + g->pw + g->iw;
    correlate(dyb + q_lo, g->oc, g->bstride, g->wp, wp, g->c, q_hi - q_lo, dxp + q_lo,
              g->plane);
    for (size_t c = 0; c < g->c; c++)
        copy_rows(dx + c * g->ih * g->iw, g->iw, dxp + c * g->plane + q_lo, g->wp, g->ih, g->iw,
                  0.0f);
}

/* ---- weight gradient ----------------------------------------------------- */

/* The sample's padded input (at work), and dy after it: transposed to
 * [position][oc] (channel vectors), or laid out on width wp with zeros in
 * the wrapped columns and up to wld (lanes). */
void syn_conv_direct_avx512_wgrad_prepare(const syn_conv_direct *g, const float *x,
                                          const float *dy, float *work)
{
    input_plane(g, x, work);
    float *d = work + g->xp_size;
    if (g->ocv) {
        for (size_t p = 0; p < g->pos; p++)
            for (size_t o = 0; o < g->oc; o++)
                d[p * g->oc + o] = dy[o * g->pos + p];
    } else {
        for (size_t o = 0; o < g->oc; o++)
            lay_out(d + o * g->wld, g->wld, 0, dy + o * g->pos, g->oh, g->ow, g->wp);
    }
}

/* ocb x 3 accumulators: dW for output channels [o0, o0 + ocb), input
 * channel c, kernel row i, taps j < 3, over the ns samples of a group, added
 * to the per-lane sums part[((o * r_n) + (c * 3 + i) * 3 + j) * 16]. */
INLINE void lane_tile(const int ocb, const syn_conv_direct *g, const float *const *xs,
                      const float *const *ds, size_t ns, size_t o0, size_t c, size_t i,
                      float *part)
{
    size_t q_n = g->fwd_qn, nvec = (q_n + 15) / 16;
    __m512 acc[8][K];
    for (int o = 0; o < ocb; o++)
        for (int j = 0; j < K; j++)
            acc[o][j] = _mm512_setzero_ps();
    for (size_t n = 0; n < ns; n++) {
        const float *xr = xs[n] + c * g->plane + i * g->wp;
        const float *dr = ds[n] + o0 * g->wld;
        for (size_t v = 0; v < nvec; v++) {
            __mmask16 m = lanes(q_n - 16 * v);
            __m512 x0 = _mm512_maskz_loadu_ps(m, xr + 16 * v);
            __m512 x1 = _mm512_maskz_loadu_ps(m, xr + 16 * v + 1);
            __m512 x2 = _mm512_maskz_loadu_ps(m, xr + 16 * v + 2);
            for (int o = 0; o < ocb; o++) {
                __m512 dv = _mm512_loadu_ps(dr + (size_t)o * g->wld + 16 * v);
                acc[o][0] = _mm512_fmadd_ps(dv, x0, acc[o][0]);
                acc[o][1] = _mm512_fmadd_ps(dv, x1, acc[o][1]);
                acc[o][2] = _mm512_fmadd_ps(dv, x2, acc[o][2]);
            }
        }
    }
    for (int o = 0; o < ocb; o++)
        for (int j = 0; j < K; j++) {
            float *t = part + ((o0 + (size_t)o) * g->r_n + (c * K + i) * K + (size_t)j) * 16;
            _mm512_storeu_ps(t, _mm512_add_ps(_mm512_loadu_ps(t), acc[o][j]));
        }
}

/* The lane tasks [lo, hi) over the n samples of a block, in groups of
 * SYN_CONV_DIRECT_GROUP from the block's first. */
static void lane_run(const syn_conv_direct *g, size_t lo, size_t hi, const float *x,
                     const float *work, size_t n, float *part)
{
    size_t full = g->oc / 8;
    for (size_t n0 = 0; n0 < n; n0 += SYN_CONV_DIRECT_GROUP) {
        size_t ns = n - n0 < SYN_CONV_DIRECT_GROUP ? n - n0 : SYN_CONV_DIRECT_GROUP;
        const float *xs[SYN_CONV_DIRECT_GROUP], *ds[SYN_CONV_DIRECT_GROUP];
        for (size_t s = 0; s < ns; s++) {
            const float *w = work + (n0 + s) * g->per_sample;
            xs[s] = g->padded ? w : x + (n0 + s) * g->c * g->ih * g->iw;
            ds[s] = w + g->xp_size;
        }
        for (size_t t = lo; t < hi; t++) {
            size_t ob = t / g->c, c = t % g->c;
            for (size_t i = 0; i < K; i++) {
                if (ob < full)
                    lane_tile(8, g, xs, ds, ns, ob * 8, c, i, part);
                else
                    lane_tile(1, g, xs, ds, ns, full * 8 + (ob - full), c, i, part);
            }
        }
    }
}

/* t taps [r0, r0 + t) x 4 vectors of output channels [o0, o0 + 64): acc_mem
 * [r][oc] (= dW[oc][r]) += x[off(r) + oh wp + ow] * dy[oh][ow][oc] over the
 * valid positions of one sample. */
INLINE void ocv_tile(const int t, const syn_conv_direct *g, const float *xn, size_t r0,
                     size_t o0, const float *dyt, float *acc_mem)
{
    enum { OV = SYN_CONV_DIRECT_OCV / 16 };
    __m512 acc[SYN_CONV_DIRECT_TAPS * OV];
    const float *xs[SYN_CONV_DIRECT_TAPS];
    for (int k = 0; k < t; k++) {
        size_t r = r0 + (size_t)k, s = r / (K * K), i = r / K % K, j = r % K;
        xs[k] = xn + s * g->plane + i * g->wp + j;
        for (int v = 0; v < OV; v++)
            acc[k * OV + v] = _mm512_loadu_ps(acc_mem + r * g->oc + o0 + 16 * (size_t)v);
    }
    for (size_t oh = 0; oh < g->oh; oh++)
        for (size_t ow = 0; ow < g->ow; ow++) {
            const float *dp = dyt + (oh * g->ow + ow) * g->oc + o0;
            size_t xo = oh * g->wp + ow;
            __m512 dv[OV];
            for (int v = 0; v < OV; v++)
                dv[v] = _mm512_loadu_ps(dp + 16 * v);
            for (int k = 0; k < t; k++) {
                __m512 xb = _mm512_set1_ps(xs[k][xo]);
                for (int v = 0; v < OV; v++)
                    acc[k * OV + v] = _mm512_fmadd_ps(dv[v], xb, acc[k * OV + v]);
            }
        }
    for (int k = 0; k < t; k++)
        for (int v = 0; v < OV; v++)
            _mm512_storeu_ps(acc_mem + (r0 + (size_t)k) * g->oc + o0 + 16 * (size_t)v,
                             acc[k * OV + v]);
}

static void ocv_tile_any(size_t t, const syn_conv_direct *g, const float *xn, size_t r0,
                         size_t o0, const float *dyt, float *acc_mem)
{
    if (t == 6)
        ocv_tile(6, g, xn, r0, o0, dyt, acc_mem);
    else if (t == 5)
        ocv_tile(5, g, xn, r0, o0, dyt, acc_mem);
    else if (t == 4)
        ocv_tile(4, g, xn, r0, o0, dyt, acc_mem);
    else if (t == 3)
        ocv_tile(3, g, xn, r0, o0, dyt, acc_mem);
    else if (t == 2)
        ocv_tile(2, g, xn, r0, o0, dyt, acc_mem);
    else
        ocv_tile(1, g, xn, r0, o0, dyt, acc_mem);
}

_Static_assert(SYN_CONV_DIRECT_TAPS == 6, "ocv_tile_any instantiates 1..6 taps");

/* The channel-vector tasks [lo, hi) over the n samples of a block, sample
 * by sample (its transposed dy stays in the near caches). */
static void ocv_run(const syn_conv_direct *g, size_t lo, size_t hi, const float *x,
                    const float *work, size_t n, float *acc_mem)
{
    size_t tiles = syn_conv_direct_ocv_tiles(g);
    for (size_t s = 0; s < n; s++) {
        const float *w = work + s * g->per_sample;
        const float *xn = g->padded ? w : x + s * g->c * g->ih * g->iw;
        for (size_t t = lo; t < hi; t++) {
            size_t o0 = t / tiles * SYN_CONV_DIRECT_OCV, r0 = t % tiles * SYN_CONV_DIRECT_TAPS;
            size_t taps = g->r_n - r0 < SYN_CONV_DIRECT_TAPS ? g->r_n - r0 : SYN_CONV_DIRECT_TAPS;
            ocv_tile_any(taps, g, xn, r0, o0, w + g->xp_size, acc_mem);
        }
    }
}

void syn_conv_direct_avx512_wgrad_run(const syn_conv_direct *g, size_t lo, size_t hi,
                                      const float *x, const float *work, size_t n, float *fixed)
{
    if (g->ocv)
        ocv_run(g, lo, hi, x, work, n, syn_conv_direct_accumulators(g, fixed));
    else
        lane_run(g, lo, hi, x, work, n, syn_conv_direct_accumulators(g, fixed));
}

void syn_conv_direct_avx512_wgrad_finish(const syn_conv_direct *g, const float *fixed,
                                         float *dw)
{
    const float *acc = syn_conv_direct_accumulators(g, (float *)fixed);
    if (g->ocv) {
        for (size_t o = 0; o < g->oc; o++)
            for (size_t r = 0; r < g->r_n; r++)
                dw[o * g->r_n + r] = acc[r * g->oc + o];
    } else {
        for (size_t k = 0; k < g->w_size; k++)
            dw[k] = _mm512_reduce_add_ps(_mm512_loadu_ps(acc + k * 16));
    }
}

void syn_conv_direct_avx512_bias_grad(const syn_conv_direct *g, const float *dy,
                                      size_t batch, size_t lo, size_t hi, float *db)
{
    for (size_t o = lo; o < hi; o++) {
        __m512 s = _mm512_setzero_ps();
        for (size_t n = 0; n < batch; n++) {
            const float *r = dy + (n * g->oc + o) * g->pos;
            for (size_t k = 0; k < g->pos; k += 16)
                s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(lanes(g->pos - k), r + k));
        }
        db[o] = _mm512_reduce_add_ps(s);
    }
}

#endif
