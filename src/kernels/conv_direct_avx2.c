/* conv_direct_avx2.c - the direct 3x3 convolution kernels (see
 * conv_direct.h) in AVX2 and FMA intrinsics, for the CPUs without AVX-512F
 * (most AMD ones before Zen 4, Intel's client cores). The same layout and
 * the same sums as conv_direct_avx512.c, so the same bits, on 8-float
 * vectors and 16 registers:
 *   forward, input grad  tiles of 4 output channels x 3 vectors of 8
 *                        positions (12 accumulators); a block of 8
 *                        channels is two such tiles over the packed [r][8];
 *   lane weight grad     each 16-lane sum as two 8-lane halves, 4 channels
 *                        x 3 taps (12 accumulators) per half;
 *   channel-vector       t taps x 16 channels (2 vectors, up to 12
 *                        accumulators), four of them per 64-channel task;
 *   bias grad, finish    16 lanes as two halves, reduced in GCC's
 *                        _mm512_reduce_add_ps tree.
 * Loads and stores past the last position are masked (vmaskmovps), so no
 * access leaves the positions the AVX-512 kernels touch. Built with
 * -mavx2 -mfma when the compiler has them; otherwise conv_direct.c never
 * calls them. */
#include "kernels/conv_direct.h"

#include <stdint.h>
#include <string.h>

#ifdef SYN_HAVE_AVX2
#include <immintrin.h>

#define K SYN_CONV_DIRECT_K
#define INLINE static inline __attribute__((always_inline))

/* Eight all-ones lanes then eight zero lanes: a window of it is a mask of
 * the first n lanes. */
static const int32_t lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* The first min(left, 8) lanes. */
static inline __m256i lanes(size_t left)
{
    size_t n = left >= 8 ? 8 : left;
    return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - n));
}

/* 8 floats at p, or only the first `left` (zeros after) when fewer remain. */
INLINE __m256 load(const float *p, size_t left)
{
    return left >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes(left));
}

INLINE void store(float *p, size_t left, __m256 v)
{
    if (left >= 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, lanes(left), v);
}

/* The sum of 16 lanes (lo: 0-7, hi: 8-15) in _mm512_reduce_add_ps's order:
 * halves, then quarters, then lanes 0 + 2 and 1 + 3, then those two. */
static inline float reduce16(__m256 lo, __m256 hi)
{
    __m256 h8 = _mm256_add_ps(hi, lo);
    __m128 h4 = _mm_add_ps(_mm256_extractf128_ps(h8, 1), _mm256_castps256_ps128(h8));
    __m128 h2 = _mm_add_ps(h4, _mm_shuffle_ps(h4, h4, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(h2) + _mm_cvtss_f32(_mm_shuffle_ps(h2, h2, _MM_SHUFFLE(1, 1, 1, 1)));
}

/* One register tile: for o < ocb and the nv vectors of positions
 * q in [q0, q0 + 8 nv) below q_n,
 *   out[o * ld + q] = sum over s < n_src, i, j < 3 of
 *                     wp[((s * 3 + i) * 3 + j) * wstride + o] *
 *                     src[s * sstride + i * width + j + q]
 * summed in (s, i, j) order. whole: every vector is below q_n (no masks). */
INLINE void tile(const int ocb, const int nv, const int whole, const float *src, size_t n_src,
                 size_t sstride, size_t width, const float *wp, size_t wstride, size_t q0,
                 size_t q_n, float *out, size_t ld)
{
    __m256 acc[12];
    size_t left[8];
    for (int v = 0; v < nv; v++) {
        size_t lo = q0 + 8 * (size_t)v;
        left[v] = whole ? 8 : q_n > lo ? q_n - lo : 0;
    }
    for (int k = 0; k < ocb * nv; k++)
        acc[k] = _mm256_setzero_ps();
    for (size_t s = 0; s < n_src; s++) {
        const float *sp = src + s * sstride + q0;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                const float *p = sp + (size_t)i * width + (size_t)j;
                __m256 xv[8];
                for (int v = 0; v < nv; v++)
                    xv[v] = whole ? _mm256_loadu_ps(p + 8 * v) : load(p + 8 * v, left[v]);
                for (int o = 0; o < ocb; o++) {
                    __m256 w = _mm256_broadcast_ss(wp + o);
                    for (int v = 0; v < nv; v++)
                        acc[o * nv + v] = _mm256_fmadd_ps(w, xv[v], acc[o * nv + v]);
                }
                wp += wstride;
            }
    }
    for (int o = 0; o < ocb; o++)
        for (int v = 0; v < nv; v++)
            store(out + (size_t)o * ld + q0 + 8 * (size_t)v, left[v], acc[o * nv + v]);
}

/* The tile of ocb channels and nv vectors at q0, unmasked when it can be. */
INLINE void tile_at(const int ocb, const int nv, const float *src, size_t n_src, size_t sstride,
                    size_t width, const float *wp, size_t wstride, size_t q0, size_t q_n,
                    float *out, size_t ld)
{
    if (q0 + 8 * (size_t)nv <= q_n)
        tile(ocb, nv, 1, src, n_src, sstride, width, wp, wstride, q0, q_n, out, ld);
    else
        tile(ocb, nv, 0, src, n_src, sstride, width, wp, wstride, q0, q_n, out, ld);
}

/* out[o][q] for the 8 channels of a packed block and all q < q_n: per 3
 * vectors of positions, the block's two halves of 4 channels. */
static void tiles8(const float *src, size_t n_src, size_t sstride, size_t width,
                   const float *wp, size_t q_n, float *out, size_t ld)
{
    size_t q0 = 0;
    while (q0 < q_n) {
        size_t left = (q_n - q0 + 7) / 8;
        for (size_t h = 0; h < 8; h += 4) {
            float *o = out + h * ld;
            if (left >= 3)
                tile_at(4, 3, src, n_src, sstride, width, wp + h, 8, q0, q_n, o, ld);
            else if (left == 2)
                tile_at(4, 2, src, n_src, sstride, width, wp + h, 8, q0, q_n, o, ld);
            else
                tile_at(4, 1, src, n_src, sstride, width, wp + h, 8, q0, q_n, o, ld);
        }
        q0 += 8 * (left >= 3 ? 3 : left);
    }
}

/* The same for one output channel: tiles of 8 vectors, then fewer. */
static void tiles1(const float *src, size_t n_src, size_t sstride, size_t width,
                   const float *wp, size_t q_n, float *out)
{
    size_t q0 = 0;
    while (q0 < q_n) {
        size_t left = (q_n - q0 + 7) / 8;
        if (left >= 8) {
            tile_at(1, 8, src, n_src, sstride, width, wp, 1, q0, q_n, out, 0);
            q0 += 64;
        } else if (left >= 4) {
            tile_at(1, 4, src, n_src, sstride, width, wp, 1, q0, q_n, out, 0);
            q0 += 32;
        } else {
            tile_at(1, 1, src, n_src, sstride, width, wp, 1, q0, q_n, out, 0);
            q0 += 8;
        }
    }
}

/* A "valid" 3x3 correlation of n_src planes (sstride apart, rows `width`
 * apart) into n_out channels (ld apart) at positions q < q_n, weights
 * packed as conv_direct.c's pack_index lays them out. */
static void correlate(const float *src, size_t n_src, size_t sstride, size_t width,
                      const float *wp, size_t n_out, size_t q_n, float *out, size_t ld)
{
    size_t r_n = n_src * K * K, full = n_out / 8 * 8;
    for (size_t o0 = 0; o0 < full; o0 += 8)
        tiles8(src, n_src, sstride, width, wp + o0 * r_n, q_n, out + o0 * ld, ld);
    for (size_t o = full; o < n_out; o++)
        tiles1(src, n_src, sstride, width, wp + o * r_n, q_n, out + o * ld);
}

/* dst[r * dst_ld + k] = src[r * src_ld + k] + add for r < rows, k < width
 * (the AVX-512 copy's arithmetic: + 0.0f too, which makes -0 +0). */
static void copy_rows(float *dst, size_t dst_ld, const float *src, size_t src_ld, size_t rows,
                      size_t width, float add)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < width; k++)
            dst[r * dst_ld + k] = src[r * src_ld + k] + add;
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

void syn_conv_direct_avx2_forward(const syn_conv_direct *g, const float *fixed, const float *b,
                                  const float *x, float *y, float *work)
{
    const float *src = input_plane(g, x, work);
    float *tmp = work + g->xp_size;
    correlate(src, g->c, g->plane, g->wp, syn_conv_direct_packed_forward(g, (float *)fixed),
              g->oc, g->fwd_qn, tmp, g->fwd_ld);
    for (size_t o = 0; o < g->oc; o++)
        copy_rows(y + o * g->pos, g->ow, tmp + o * g->fwd_ld, g->wp, g->oh, g->ow,
                  b ? b[o] : 0.0f);
}

/* dL/dx as conv_direct_avx512.c computes it: a correlation of dy laid out
 * on width wp after (K - 1)(wp + 1) zeros with the rotated kernel, over
 * the positions of the input only. */
void syn_conv_direct_avx2_input_grad(const syn_conv_direct *g, const float *fixed,
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
void syn_conv_direct_avx2_wgrad_prepare(const syn_conv_direct *g, const float *x,
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

/* ocb x 3 accumulators: lanes [h, h + 8) of the 16-lane sums of dW for
 * output channels [o0, o0 + ocb), input channel c, kernel row i, taps
 * j < 3, over the ns samples of a group, added to
 * part[((o * r_n) + (c * 3 + i) * 3 + j) * 16 + h]. Lane h + l sums the
 * positions 16 v + h + l, as the AVX-512 kernel's lane does. */
INLINE void lane_tile(const int ocb, const syn_conv_direct *g, const float *const *xs,
                      const float *const *ds, size_t ns, size_t o0, size_t c, size_t i,
                      size_t h, float *part)
{
    size_t q_n = g->fwd_qn, nvec = (q_n + 15) / 16;
    __m256 acc[4][K];
    for (int o = 0; o < ocb; o++)
        for (int j = 0; j < K; j++)
            acc[o][j] = _mm256_setzero_ps();
    for (size_t n = 0; n < ns; n++) {
        const float *xr = xs[n] + c * g->plane + i * g->wp + h;
        const float *dr = ds[n] + o0 * g->wld + h;
        for (size_t v = 0; v < nvec; v++) {
            size_t lo = 16 * v + h, left = q_n > lo ? q_n - lo : 0;
            __m256 x0 = load(xr + 16 * v, left);
            __m256 x1 = load(xr + 16 * v + 1, left);
            __m256 x2 = load(xr + 16 * v + 2, left);
            for (int o = 0; o < ocb; o++) {
                __m256 dv = _mm256_loadu_ps(dr + (size_t)o * g->wld + 16 * v);
                acc[o][0] = _mm256_fmadd_ps(dv, x0, acc[o][0]);
                acc[o][1] = _mm256_fmadd_ps(dv, x1, acc[o][1]);
                acc[o][2] = _mm256_fmadd_ps(dv, x2, acc[o][2]);
            }
        }
    }
    for (int o = 0; o < ocb; o++)
        for (int j = 0; j < K; j++) {
            float *t =
                part + ((o0 + (size_t)o) * g->r_n + (c * K + i) * K + (size_t)j) * 16 + h;
            _mm256_storeu_ps(t, _mm256_add_ps(_mm256_loadu_ps(t), acc[o][j]));
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
            for (size_t i = 0; i < K; i++)
                for (size_t h = 0; h < 16; h += 8) {
                    if (ob < full) {
                        lane_tile(4, g, xs, ds, ns, ob * 8, c, i, h, part);
                        lane_tile(4, g, xs, ds, ns, ob * 8 + 4, c, i, h, part);
                    } else {
                        lane_tile(1, g, xs, ds, ns, full * 8 + (ob - full), c, i, h, part);
                    }
                }
        }
    }
}

/* t taps [r0, r0 + t) x 2 vectors of output channels [o0, o0 + 16):
 * acc_mem [r][oc] (= dW[oc][r]) += x[off(r) + oh wp + ow] * dy[oh][ow][oc]
 * over the valid positions of one sample, in position order. */
INLINE void ocv_tile(const int t, const syn_conv_direct *g, const float *xn, size_t r0,
                     size_t o0, const float *dyt, float *acc_mem)
{
    enum { OV = 2 };
    __m256 acc[SYN_CONV_DIRECT_TAPS * OV];
    const float *xs[SYN_CONV_DIRECT_TAPS];
    for (int k = 0; k < t; k++) {
        size_t r = r0 + (size_t)k, s = r / (K * K), i = r / K % K, j = r % K;
        xs[k] = xn + s * g->plane + i * g->wp + j;
        for (int v = 0; v < OV; v++)
            acc[k * OV + v] = _mm256_loadu_ps(acc_mem + r * g->oc + o0 + 8 * (size_t)v);
    }
    for (size_t oh = 0; oh < g->oh; oh++)
        for (size_t ow = 0; ow < g->ow; ow++) {
            const float *dp = dyt + (oh * g->ow + ow) * g->oc + o0;
            size_t xo = oh * g->wp + ow;
            __m256 dv[OV];
            for (int v = 0; v < OV; v++)
                dv[v] = _mm256_loadu_ps(dp + 8 * v);
            for (int k = 0; k < t; k++) {
                __m256 xb = _mm256_broadcast_ss(xs[k] + xo);
                for (int v = 0; v < OV; v++)
                    acc[k * OV + v] = _mm256_fmadd_ps(dv[v], xb, acc[k * OV + v]);
            }
        }
    for (int k = 0; k < t; k++)
        for (int v = 0; v < OV; v++)
            _mm256_storeu_ps(acc_mem + (r0 + (size_t)k) * g->oc + o0 + 8 * (size_t)v,
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
 * by sample; a task's 64 channels as four tiles of 16. */
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
            for (size_t o = 0; o < SYN_CONV_DIRECT_OCV; o += 16)
                ocv_tile_any(taps, g, xn, r0, o0 + o, w + g->xp_size, acc_mem);
        }
    }
}

void syn_conv_direct_avx2_wgrad_run(const syn_conv_direct *g, size_t lo, size_t hi,
                                    const float *x, const float *work, size_t n, float *fixed)
{
    if (g->ocv)
        ocv_run(g, lo, hi, x, work, n, syn_conv_direct_accumulators(g, fixed));
    else
        lane_run(g, lo, hi, x, work, n, syn_conv_direct_accumulators(g, fixed));
}

void syn_conv_direct_avx2_wgrad_finish(const syn_conv_direct *g, const float *fixed, float *dw)
{
    const float *acc = syn_conv_direct_accumulators(g, (float *)fixed);
    if (g->ocv) {
        for (size_t o = 0; o < g->oc; o++)
            for (size_t r = 0; r < g->r_n; r++)
                dw[o * g->r_n + r] = acc[r * g->oc + o];
    } else {
        for (size_t k = 0; k < g->w_size; k++)
            dw[k] = reduce16(_mm256_loadu_ps(acc + k * 16), _mm256_loadu_ps(acc + k * 16 + 8));
    }
}

void syn_conv_direct_avx2_bias_grad(const syn_conv_direct *g, const float *dy, size_t batch,
                                    size_t lo, size_t hi, float *db)
{
    for (size_t o = lo; o < hi; o++) {
        __m256 s_lo = _mm256_setzero_ps(), s_hi = _mm256_setzero_ps();
        for (size_t n = 0; n < batch; n++) {
            const float *r = dy + (n * g->oc + o) * g->pos;
            for (size_t k = 0; k < g->pos; k += 16) {
                size_t left = g->pos - k;
                s_lo = _mm256_add_ps(s_lo, load(r + k, left));
                s_hi = _mm256_add_ps(s_hi, load(r + k + 8, left > 8 ? left - 8 : 0));
            }
        }
        db[o] = reduce16(s_lo, s_hi);
    }
}

#endif
