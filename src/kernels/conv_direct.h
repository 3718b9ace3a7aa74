/* conv_direct.h - direct 3x3 convolution kernels, the conv2d layer's fast
 * path for stride 1, dilation 1, one group, on a CPU with AVX-512F
 * (conv_direct_avx512.c) or AVX2 and FMA (conv_direct_avx2.c); conv_direct.c
 * holds what is plain C (packing, task counts) and calls the set g->isa
 * names. layers/conv2d.c picks them; im2col + syn_gemm runs every other
 * case. Measured against im2col + GEMM in bench/conv_direct.c.
 *
 * Both sets compute every output, gradient and lane sum with the same
 * operations in the same order (the AVX2 set runs each 16-float vector of
 * the AVX-512 one as two halves, and reduces 16 lanes in the tree GCC's
 * _mm512_reduce_add_ps uses), so they give the same bits: a CPU's vector
 * width does not change a convolution's result.
 *
 * Each sample's input is seen as flat planes on a width wp: the input
 * itself when there is no padding, else a copy with zero borders (padded
 * plane hp x wp = (oh + 2) x (ow + 2)) in the sample's scratch. An output
 * position q = oh * wp + ow, and a tap (c, i, j) is the plane shifted by
 * c hp wp + i wp + j, so 16 consecutive q are one unaligned load; the
 * wp - ow wrapped columns of each row are computed and dropped.
 *   forward      register tiles of 8 output channels x 3 vectors of 16
 *                positions (24 accumulators), each output summed over
 *                (c, i, j) in that order, then copied out with the bias;
 *   input grad   the same tiles over dL/dx's padded plane, reading dL/dy
 *                laid out on width wp with zeros around it, the kernel
 *                rotated by 180 degrees and the channels swapped (a "full"
 *                correlation), summed over (oc, i, j);
 *   weight grad  with output channels a multiple of 64: vectors along the
 *                output channels, 4 vectors x 6 taps (24 accumulators)
 *                over the valid positions, dL/dy transposed to
 *                [position][channel] per sample, each dW summed over the
 *                samples then positions in order. Otherwise: per (8 output
 *                channels, input channel, kernel row), 24 accumulators (8
 *                channels x 3 taps) over the positions of a group of
 *                SYN_CONV_DIRECT_GROUP samples, added to per-lane sums in
 *                group order and reduced across the lanes at the end;
 *   bias grad    16-lane float sums over samples then positions, in order.
 * Remainder channels (counts not a multiple of 8) run 1-channel tiles.
 *
 * Memory is the caller's: a fixed block (packed weights, the weight
 * gradient's accumulators) and one block per sample of a batch block.
 * Nothing here is threaded: the caller runs samples, or weight-gradient
 * tasks that each own a set of dW elements, on its pool, so that every
 * output is summed in an order fixed by the shape alone (never by the
 * thread count, nor by the cut of a batch into blocks at multiples of
 * SYN_CONV_DIRECT_GROUP). Kernel level: includes nothing of the layers. */
#ifndef SYN_KERNELS_CONV_DIRECT_H
#define SYN_KERNELS_CONV_DIRECT_H

#include <stddef.h>

#define SYN_CONV_DIRECT_K 3
/* Lane weight gradient: samples summed in registers before the lane sums. */
#define SYN_CONV_DIRECT_GROUP 8
/* Channel-vector weight gradient: channels and taps per task. */
#define SYN_CONV_DIRECT_OCV 64
#define SYN_CONV_DIRECT_TAPS 6

/* The kernel sets; 0: none (the layer runs im2col + GEMM). */
enum { SYN_CONV_DIRECT_NONE = 0, SYN_CONV_DIRECT_AVX2 = 1, SYN_CONV_DIRECT_AVX512 = 2 };

/* A layer's shapes and the blocks' layout, from syn_conv_direct_setup. */
typedef struct syn_conv_direct {
    int isa;               /* the kernel set that runs: setup picks the best */
    size_t c, oc, ih, iw, oh, ow, ph, pw; /* ph, pw: padding before (top, left) */
    size_t hp, wp, plane;  /* the (padded) plane: oh + 2 x ow + 2 */
    int padded;            /* a padded copy of the input is made */
    size_t r_n, w_size;    /* c * 9 taps per output channel; oc * r_n */
    size_t pos;            /* oh * ow */
    size_t fwd_qn, fwd_ld; /* forward: (oh - 1) wp + ow positions; row stride */
    size_t bstride;        /* input grad: floats per channel of laid-out dL/dy */
    size_t wld;            /* lane weight grad: floats per channel of dL/dy */
    int ocv;               /* weight grad along output channels */
    size_t xp_size;        /* per sample: the padded input (0 unpadded) */
    size_t work_size;      /* per sample: the passes' work area after it */
    size_t per_sample;     /* xp_size + work_size */
    size_t acc_size;       /* fixed: the weight gradient's accumulators */
    size_t fixed;          /* fixed: 2 w_size packed weights, then acc */
} syn_conv_direct;

static inline size_t syn_conv_direct_round16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* The best kernel set this CPU runs (and the compiler built), or
 * SYN_CONV_DIRECT_NONE; whether it runs set isa. */
int syn_conv_direct_best(void);
int syn_conv_direct_runs(int isa);

/* Fills g for input [c x ih x iw], output [oc x oh x ow] of a 3x3 stride-1
 * convolution padded ph, pw before, with g->isa = syn_conv_direct_best();
 * 0 when a size overflows (or the shape is not one: oh + 2 < ph + ih). The
 * sizes do not depend on the kernel set. Plain C, in the header so that the
 * layer (compiled without wide vectors) can size its scratch. */
static inline int syn_conv_direct_setup(syn_conv_direct *g, size_t c, size_t oc, size_t ih,
                                        size_t iw, size_t oh, size_t ow, size_t ph, size_t pw)
{
    const size_t k = SYN_CONV_DIRECT_K, big = (size_t)1 << 40;
    if (c == 0 || oc == 0 || oh == 0 || ow == 0 || c > big || oc > big || oh > big ||
        ow > big || ph > big || pw > big || ih > big || iw > big)
        return 0;
    g->isa = syn_conv_direct_best();
    g->c = c;
    g->oc = oc;
    g->ih = ih;
    g->iw = iw;
    g->oh = oh;
    g->ow = ow;
    g->ph = ph;
    g->pw = pw;
    g->hp = oh + k - 1;
    g->wp = ow + k - 1;
    if (g->hp < ph + ih || g->wp < pw + iw)
        return 0;
    g->padded = g->hp != ih || g->wp != iw;
    size_t p = 0;
    if (__builtin_mul_overflow(g->hp, g->wp, &g->plane) ||
        __builtin_mul_overflow(c, k * k, &g->r_n) ||
        __builtin_mul_overflow(oc, g->r_n, &g->w_size) ||
        __builtin_mul_overflow(oh, ow, &g->pos) || g->plane > big || g->w_size > big)
        return 0;
    g->fwd_qn = (oh - 1) * g->wp + ow;
    g->fwd_ld = syn_conv_direct_round16(g->fwd_qn);
    g->bstride = syn_conv_direct_round16((k - 1) * (g->wp + 1) + g->plane);
    g->wld = syn_conv_direct_round16(oh * g->wp);
    g->ocv = oc % SYN_CONV_DIRECT_OCV == 0;
    size_t fwd, wgrad, igrad, xp;
    if (__builtin_mul_overflow(c, g->plane, &xp) ||
        __builtin_mul_overflow(oc, g->fwd_ld, &fwd) ||
        __builtin_mul_overflow(oc, g->ocv ? syn_conv_direct_round16(g->pos) : g->wld, &wgrad) ||
        __builtin_mul_overflow(oc, g->bstride, &igrad) || xp > big || fwd > big ||
        wgrad > big || igrad > big)
        return 0;
    xp = syn_conv_direct_round16(xp);
    g->xp_size = g->padded ? xp : 0;
    igrad += g->padded ? xp : 0; /* dL/dx's padded plane */
    p = fwd > wgrad ? fwd : wgrad;
    g->work_size = p > igrad ? p : igrad;
    g->per_sample = g->xp_size + g->work_size;
    g->acc_size = g->ocv ? g->w_size : g->w_size * 16;
    g->fixed = 2 * syn_conv_direct_round16(g->w_size) + g->acc_size;
    return 1;
}

/* Nonzero if a kernel set was compiled in and the CPU runs it. */
int syn_conv_direct_available(void);

/* Where the fixed block's parts sit: the forward packed weights, the input
 * gradient's, the weight gradient's accumulators. */
static inline float *syn_conv_direct_packed_forward(const syn_conv_direct *g, float *fixed)
{
    (void)g;
    return fixed;
}

static inline float *syn_conv_direct_packed_input_grad(const syn_conv_direct *g, float *fixed)
{
    return fixed + syn_conv_direct_round16(g->w_size);
}

static inline float *syn_conv_direct_accumulators(const syn_conv_direct *g, float *fixed)
{
    return fixed + 2 * syn_conv_direct_round16(g->w_size);
}

/* Channel-vector weight-gradient tasks: tiles of SYN_CONV_DIRECT_TAPS taps
 * per block of SYN_CONV_DIRECT_OCV output channels. */
static inline size_t syn_conv_direct_ocv_tiles(const syn_conv_direct *g)
{
    return (g->r_n + SYN_CONV_DIRECT_TAPS - 1) / SYN_CONV_DIRECT_TAPS;
}

/* Packs W [oc x c x 3 x 3] into the fixed block: for the forward tiles
 * (pack_forward) or, rotated and transposed, for the input gradient's
 * (pack_input_grad). */
void syn_conv_direct_pack_forward(const syn_conv_direct *g, const float *w, float *fixed);
void syn_conv_direct_pack_input_grad(const syn_conv_direct *g, const float *w, float *fixed);

/* One sample: y [oc x oh x ow] = conv(x [c x ih x iw]) + b (b NULL: + 0),
 * with the forward weights packed; work: the sample's per_sample block. */
void syn_conv_direct_forward(const syn_conv_direct *g, const float *fixed, const float *b,
                             const float *x, float *y, float *work);

/* One sample's dL/dx [c x ih x iw] from dy [oc x oh x ow], with the
 * input-gradient weights packed. */
void syn_conv_direct_input_grad(const syn_conv_direct *g, const float *fixed, const float *dy,
                                float *dx, float *work);

/* Weight gradient: zero the accumulators (once per pass); then per block
 * of n samples, prepare each sample (its padded input and dL/dy laid out
 * in its block), and run the tasks [lo, hi) of wgrad_tasks() over the
 * block's samples (x: the block's input; work: its first sample's block,
 * per_sample apart); finally dW [oc x c x 3 x 3] from the accumulators.
 * A task owns its dW elements, which it sums over the samples in order. */
void syn_conv_direct_wgrad_start(const syn_conv_direct *g, float *fixed);
void syn_conv_direct_wgrad_prepare(const syn_conv_direct *g, const float *x, const float *dy,
                                   float *work);
size_t syn_conv_direct_wgrad_tasks(const syn_conv_direct *g);
void syn_conv_direct_wgrad_run(const syn_conv_direct *g, size_t lo, size_t hi, const float *x,
                               const float *work, size_t n, float *fixed);
void syn_conv_direct_wgrad_finish(const syn_conv_direct *g, const float *fixed, float *dw);

/* db[o] for o in [lo, hi): the sum of dy [batch x oc x oh x ow] over the
 * samples, then the positions, in 16 lanes, then across them. */
void syn_conv_direct_bias_grad(const syn_conv_direct *g, const float *dy, size_t batch,
                               size_t lo, size_t hi, float *db);

/* The kernel sets behind the calls above (conv_direct.c dispatches on
 * g->isa); each does what its namesake does. */
#define SYN_CONV_DIRECT_DECLARE(isa)                                                            \
    void syn_conv_direct_##isa##_forward(const syn_conv_direct *g, const float *fixed,          \
                                         const float *b, const float *x, float *y,             \
                                         float *work);                                          \
    void syn_conv_direct_##isa##_input_grad(const syn_conv_direct *g, const float *fixed,       \
                                            const float *dy, float *dx, float *work);           \
    void syn_conv_direct_##isa##_wgrad_prepare(const syn_conv_direct *g, const float *x,        \
                                               const float *dy, float *work);                   \
    void syn_conv_direct_##isa##_wgrad_run(const syn_conv_direct *g, size_t lo, size_t hi,      \
                                           const float *x, const float *work, size_t n,         \
                                           float *fixed);                                       \
    void syn_conv_direct_##isa##_wgrad_finish(const syn_conv_direct *g, const float *fixed,     \
                                              float *dw);                                       \
    void syn_conv_direct_##isa##_bias_grad(const syn_conv_direct *g, const float *dy,           \
                                           size_t batch, size_t lo, size_t hi, float *db);
SYN_CONV_DIRECT_DECLARE(avx512)
SYN_CONV_DIRECT_DECLARE(avx2)

#endif
