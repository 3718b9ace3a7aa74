/* conv2d.c - PyTorch's nn.Conv2d(in_channels, out_channels = units,
 * kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)
 * (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html), then
 * the layer's activation, on [batch x C x H x W]:
 *   out(n, oc) = bias(oc) + sum over the group's channels c and taps (i, j)
 *                of W(oc, c, i, j) * x(n, c, oh*s + i*d - pad, ow*s + j*d - pad)
 * with zero padding, H_out = floor((H + 2 pad - d (k - 1) - 1) / s) + 1,
 * W [units x C/groups x kh x kw] row-major then b [units]. padding='same'
 * ("not supported for strided convolutions") pads d (k - 1) in all, the
 * smaller half before: ATen's _conv_forward pads (total / 2, total -
 * total / 2), so H_out = H.
 *
 * Two paths, chosen when the net is built (conv_setup: l->conv_direct) from
 * the shape and the CPU alone:
 *
 * Direct (kernels/conv_direct.h), on a CPU with AVX-512F or AVX2 + FMA
 * (l->conv_direct names the kernel set; both give the same bits) for a 3x3
 * kernel at stride 1, dilation 1, one group, any padding, with or without
 * bias:
 * every pass (forward, weight, bias and input gradient) on the direct
 * kernels, except the input gradient of a layer with many input channels
 * outside whole blocks of 8 (direct_dx_faster; l->conv_gemm_dx), which is
 * GEMM's on the same blocks. The batch runs in blocks of scratch_rows
 * samples whose per-sample blocks sit after a fixed block (packed weights,
 * weight-gradient accumulators) in the workspace's scratch. Samples run on
 * the pool, each writing its own rows; weight-gradient tasks each own a set
 * of dW elements, summed over the samples in batch order; the bias
 * gradient splits by channel. Measured in bench/conv_direct.c, compared
 * with the GEMM path in tests/test_conv_direct.c.
 *
 * Otherwise through syn_gemm, on blocks of G samples (G fixed by the
 * shape, so that a block is about BLOCK_COLS output positions): im2col
 * writes the block's inputs as col [K x G*P] (K = C kh kw rows ordered
 * (c, i, j), P = H_out W_out), a group's rows being contiguous; then per
 * group
 *   forward      Y[oc x G*P]    = W_g[oc x K_g] * col_g            (NN)
 *   weight grad  dW_g          += dY_g[oc x G*P] * col_g^T         (NT)
 *   input grad   dcol_g[K_g x G*P] = W_g^T * dY_g                  (TN)
 * and col2im adds dcol back onto the input planes. Y (and dY) are the
 * block's outputs channel-major, copied to and from the batch-major layout.
 * Both live in the workspace's scratch, sized from the plan; nothing is
 * allocated per pass. im2col and the copies split by rows they own, col2im
 * by input planes (each summed in one fixed order), syn_gemm by output
 * tiles: bit-identical for any thread count. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "kernels/conv_direct.h"
#include "kernels/gemm.h"
#include "layers/layer.h"

/* Output positions per block: enough columns for the GEMM kernels to run
 * at speed, few enough that col stays in the outer cache levels. */
#define BLOCK_COLS 4096

typedef struct geometry {
    size_t c, oc, groups, k[2], s[2], d[2], pad[2], out[2];
} geometry;

static syn_status conv_geometry(const syn_layer_desc *d, const size_t in[3], geometry *g,
                                char *why, size_t why_size)
{
    g->c = in[0];
    g->oc = d->units;
    g->groups = d->groups ? d->groups : 1;
    if (g->oc == 0) {
        snprintf(why, why_size, "a convolution needs units (output channels) >= 1");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (g->c % g->groups != 0 || g->oc % g->groups != 0) {
        snprintf(why, why_size, "groups %zu does not divide the %zu input and %zu output "
                 "channels", g->groups, g->c, g->oc);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    for (int a = 0; a < 2; a++) {
        g->k[a] = d->kernel[a];
        g->s[a] = d->stride[a] ? d->stride[a] : 1;
        g->d[a] = d->dilation[a] ? d->dilation[a] : 1;
        if (g->k[a] == 0) {
            snprintf(why, why_size, "a convolution needs a kernel of at least 1x1");
            return SYN_ERR_INVALID_ARGUMENT;
        }
        size_t total;
        if (d->pad_same) {
            if (g->s[a] != 1 || d->padding[a] != 0) {
                snprintf(why, why_size, "padding 'same' needs stride 1 and no other padding");
                return SYN_ERR_INVALID_ARGUMENT;
            }
            if (!syn_mul_size(g->d[a], g->k[a] - 1, &total)) {
                snprintf(why, why_size, "kernel and dilation overflow");
                return SYN_ERR_OVERFLOW;
            }
            g->pad[a] = total / 2;
        } else {
            g->pad[a] = d->padding[a];
            if (!syn_mul_size(2, d->padding[a], &total)) {
                snprintf(why, why_size, "padding %zu overflows", d->padding[a]);
                return SYN_ERR_OVERFLOW;
            }
        }
        if (!syn_layer_window_out(in[1 + a], g->k[a], g->s[a], g->d[a], total, &g->out[a])) {
            snprintf(why, why_size,
                     "input %zux%zux%zu is smaller than the kernel %zux%zu (dilation %zux%zu, "
                     "padding %zux%zu)",
                     in[0], in[1], in[2], d->kernel[0], d->kernel[1],
                     d->dilation[0] ? d->dilation[0] : 1, d->dilation[1] ? d->dilation[1] : 1,
                     d->padding[0], d->padding[1]);
            return SYN_ERR_INVALID_ARGUMENT;
        }
    }
    return SYN_OK;
}

/* Samples per block of the direct path: their scratch blocks side by side
 * (a multiple of SYN_CONV_DIRECT_GROUP, which the lane weight gradient's
 * sums are grouped by), fewer when a sample's block is large. */
#define DIRECT_BLOCK 16
#define DIRECT_BLOCK_FLOATS ((size_t)1 << 22)

/* The direct kernel set that runs a layer of this geometry on this CPU
 * (3x3, stride 1, dilation 1, one group, any padding; the best set the CPU
 * has), with their sizes; SYN_CONV_DIRECT_NONE (0) if none does. */
static int direct_geometry(const geometry *g, const size_t in[3], syn_conv_direct *dg)
{
    if (g->groups != 1 || !syn_conv_direct_available())
        return SYN_CONV_DIRECT_NONE;
    for (int a = 0; a < 2; a++)
        if (g->k[a] != SYN_CONV_DIRECT_K || g->s[a] != 1 || g->d[a] != 1)
            return SYN_CONV_DIRECT_NONE;
    if (!syn_conv_direct_setup(dg, g->c, g->oc, in[1], in[2], g->out[0], g->out[1], g->pad[0],
                               g->pad[1]))
        return SYN_CONV_DIRECT_NONE;
    return dg->isa;
}

/* Whether the direct input gradient beats GEMM's for c input channels:
 * its channels past the last block of 8 run 1-channel tiles, about 2.4
 * times a blocked channel's cost, where GEMM's is about 1.4 times (one
 * thread, 32 output channels on 14x14, 'same'; c = 1, 3, 4, 12, 13, 23 went
 * 0.39-0.98x, c = 8, 9, 16, 17, 20, 24 1.09-1.45x). */
static int direct_dx_faster(size_t c)
{
    return 8 * (c % 8) < 3 * (c / 8 * 8);
}

/* The same from a built layer (conv_setup decided it, and the set). */
static void direct_of(const syn_layer *l, syn_conv_direct *dg)
{
    syn_conv_direct_setup(dg, l->in_shape[0], l->out_shape[0], l->in_shape[1], l->in_shape[2],
                          l->out_shape[1], l->out_shape[2], l->pad[0], l->pad[1]);
    dg->isa = l->conv_direct;
}

static syn_status conv_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                            syn_layer_plan *p, char *why, size_t why_size)
{
    unsigned takes = SYN_FIELD_ACTIVATION | SYN_FIELD_BIAS | SYN_FIELD_WINDOW | SYN_FIELD_CONV;
    if (!syn_layer_check_fields(d, takes, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    geometry g;
    syn_status st = conv_geometry(d, in, &g, why, why_size);
    if (st != SYN_OK)
        return st;
    memset(p, 0, sizeof *p);
    size_t taps, k_rows, pos, w, units, rows;
    if (!syn_mul_size(g.k[0], g.k[1], &taps) || !syn_mul_size(taps, g.c, &k_rows) ||
        !syn_mul_size(g.out[0], g.out[1], &pos) || !syn_mul_size(k_rows / g.groups, g.oc, &w) ||
        !syn_mul_size(pos, g.oc, &units) || !syn_add_size(k_rows, g.oc, &rows) ||
        !syn_mul_size(rows, pos, &p->scratch_per_row)) {
        snprintf(why, why_size, "%zu x %zux%zu kernels over %zux%zux%zu overflow", g.oc,
                 g.k[0], g.k[1], in[0], in[1], in[2]);
        return SYN_ERR_OVERFLOW;
    }
    p->units = units;
    p->out_shape[0] = g.oc;
    p->out_shape[1] = g.out[0];
    p->out_shape[2] = g.out[1];
    p->w_size = w;
    p->b_size = d->no_bias ? 0 : g.oc;
    p->scratch_rows = pos >= BLOCK_COLS ? 1 : BLOCK_COLS / pos;
    syn_conv_direct dg;
    if (direct_geometry(&g, in, &dg)) {
        /* A GEMM input gradient runs on the direct path's blocks. */
        size_t gemm = p->scratch_per_row;
        p->scratch_per_row = dg.per_sample;
        if (!direct_dx_faster(g.c) && gemm > dg.per_sample)
            p->scratch_per_row = gemm;
        p->scratch_rows = dg.per_sample * DIRECT_BLOCK <= DIRECT_BLOCK_FLOATS
                              ? DIRECT_BLOCK
                              : DIRECT_BLOCK_FLOATS / dg.per_sample > 0
                                    ? DIRECT_BLOCK_FLOATS / dg.per_sample
                                    : 1;
        p->scratch_fixed = dg.fixed;
    }
    return SYN_OK;
}

static void conv_setup(syn_layer *l, const syn_layer_desc *d)
{
    geometry g;
    char why[256];
    conv_geometry(d, l->in_shape, &g, why, sizeof why); /* planned already */
    for (int a = 0; a < 2; a++) {
        l->kernel[a] = g.k[a];
        l->stride[a] = g.s[a];
        l->dilation[a] = g.d[a];
        l->pad[a] = g.pad[a];
    }
    l->groups = g.groups;
    l->pad_same = d->pad_same != 0;
    syn_conv_direct dg;
    l->conv_direct = direct_geometry(&g, l->in_shape, &dg);
    l->conv_gemm_dx = l->conv_direct && !direct_dx_faster(g.c);
}

static void conv_init(const syn_layer *l, float *params, float *state, syn_init init,
                      syn_rng *rng)
{
    (void)state;
    size_t taps = l->kernel[0] * l->kernel[1], oc = l->out_shape[0];
    size_t fan_in = l->in_shape[0] / l->groups * taps;
    syn_layer_init_weights(params + l->w_off, oc * fan_in, fan_in, oc * taps, init,
                           l->activation, rng);
    if (l->has_bias)
        syn_layer_init_bias(params + l->b_off, oc, fan_in, init, rng);
}

/* A pass over one block of samples [b0, b0 + n). */
typedef struct conv_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    const float *x;  /* the block's input */
    float *col;      /* [K x n P] */
    float *y;        /* [oc x n P] */
    const float *dz; /* backward: the block's dL/dz */
    float *d_in;     /* backward: the block's dL/dx */
    size_t n;        /* samples in the block */
} conv_job;

/* The output positions [*lo, *hi) of one axis whose tap t falls inside the
 * input: o*s + t*d - pad in [0, n). */
static void tap_range(size_t n_out, size_t s, size_t t, size_t d, size_t pad, size_t n,
                      size_t *lo, size_t *hi)
{
    size_t off = t * d; /* input index = o*s + off - pad */
    *lo = off >= pad ? 0 : (pad - off + s - 1) / s;
    if (off >= pad + n)
        *hi = 0;
    else
        *hi = (n + pad - off + s - 1) / s; /* first o with o*s + off - pad >= n */
    if (*hi > n_out)
        *hi = n_out;
    if (*lo > *hi)
        *lo = *hi;
}

/* Rows [lo, hi) of col: row (c, i, j) is, for each sample and output
 * position, the input under tap (i, j) of channel c, or 0 in the padding. */
static void im2col_rows(void *ctx, size_t lo, size_t hi)
{
    const conv_job *j = ctx;
    const syn_layer *l = j->l;
    size_t ih_n = l->in_shape[1], iw_n = l->in_shape[2], oh_n = l->out_shape[1];
    size_t ow_n = l->out_shape[2], kh = l->kernel[0], kw = l->kernel[1];
    size_t pos = oh_n * ow_n, plane = ih_n * iw_n, sw = l->stride[1];
    for (size_t row = lo; row < hi; row++) {
        size_t c = row / (kh * kw), ti = row / kw % kh, tj = row % kw;
        size_t oh0, oh1, ow0, ow1;
        tap_range(oh_n, l->stride[0], ti, l->dilation[0], l->pad[0], ih_n, &oh0, &oh1);
        tap_range(ow_n, sw, tj, l->dilation[1], l->pad[1], iw_n, &ow0, &ow1);
        for (size_t g = 0; g < j->n; g++) {
            const float *x = j->x + (g * l->in_shape[0] + c) * plane;
            float *dst = j->col + row * j->n * pos + g * pos;
            memset(dst, 0, oh0 * ow_n * sizeof(float));
            for (size_t oh = oh0; oh < oh1; oh++) {
                float *d = dst + oh * ow_n;
                const float *src = x + (oh * l->stride[0] + ti * l->dilation[0] - l->pad[0]) *
                                           iw_n + tj * l->dilation[1] - l->pad[1];
                for (size_t ow = 0; ow < ow0; ow++)
                    d[ow] = 0.0f;
                if (sw == 1)
                    memcpy(d + ow0, src + ow0, (ow1 - ow0) * sizeof(float));
                else
                    for (size_t ow = ow0; ow < ow1; ow++)
                        d[ow] = src[ow * sw];
                for (size_t ow = ow1; ow < ow_n; ow++)
                    d[ow] = 0.0f;
            }
            memset(dst + oh1 * ow_n, 0, (oh_n - oh1) * ow_n * sizeof(float));
        }
    }
}

/* Input planes [lo, hi) of the block (sample, channel): zeroed, then every
 * tap's column added back in the order (i, j, oh, ow). */
static void col2im_planes(void *ctx, size_t lo, size_t hi)
{
    const conv_job *j = ctx;
    const syn_layer *l = j->l;
    size_t nc = l->in_shape[0], ih_n = l->in_shape[1], iw_n = l->in_shape[2];
    size_t oh_n = l->out_shape[1], ow_n = l->out_shape[2], kh = l->kernel[0];
    size_t kw = l->kernel[1], pos = oh_n * ow_n, sw = l->stride[1];
    for (size_t pl = lo; pl < hi; pl++) {
        size_t g = pl / nc, c = pl % nc;
        float *dx = j->d_in + pl * ih_n * iw_n;
        memset(dx, 0, ih_n * iw_n * sizeof(float));
        for (size_t ti = 0; ti < kh; ti++)
            for (size_t tj = 0; tj < kw; tj++) {
                size_t oh0, oh1, ow0, ow1;
                tap_range(oh_n, l->stride[0], ti, l->dilation[0], l->pad[0], ih_n, &oh0, &oh1);
                tap_range(ow_n, sw, tj, l->dilation[1], l->pad[1], iw_n, &ow0, &ow1);
                const float *src = j->col + ((c * kh + ti) * kw + tj) * j->n * pos + g * pos;
                for (size_t oh = oh0; oh < oh1; oh++) {
                    float *d = dx + (oh * l->stride[0] + ti * l->dilation[0] - l->pad[0]) *
                                        iw_n + tj * l->dilation[1] - l->pad[1];
                    for (size_t ow = ow0; ow < ow1; ow++)
                        d[ow * sw] += src[oh * ow_n + ow];
                }
            }
    }
}

/* Rows [lo, hi) of (sample, oc): out = y + bias (forward). */
static void scatter_rows(void *ctx, size_t lo, size_t hi)
{
    const conv_job *j = ctx;
    const syn_layer *l = j->l;
    size_t oc_n = l->out_shape[0], pos = l->out_shape[1] * l->out_shape[2];
    const float *bias = l->has_bias ? j->p->params + l->b_off : NULL;
    for (size_t row = lo; row < hi; row++) {
        size_t g = row / oc_n, oc = row % oc_n;
        const float *src = j->y + oc * j->n * pos + g * pos;
        float *dst = (float *)j->dz + row * pos; /* the block's output rows */
        float b = bias ? bias[oc] : 0.0f;
        for (size_t k = 0; k < pos; k++)
            dst[k] = src[k] + b;
    }
}

/* Rows [lo, hi) of (sample, oc): dY = dz (backward). */
static void gather_rows(void *ctx, size_t lo, size_t hi)
{
    const conv_job *j = ctx;
    const syn_layer *l = j->l;
    size_t oc_n = l->out_shape[0], pos = l->out_shape[1] * l->out_shape[2];
    for (size_t row = lo; row < hi; row++) {
        size_t g = row / oc_n, oc = row % oc_n;
        memcpy(j->y + oc * j->n * pos + g * pos, j->dz + row * pos, pos * sizeof(float));
    }
}

/* Splits a loop of `rows` rows of `width` floats into chunks of at least
 * 4096 floats, on the pool when it is worth it. */
static void run_rows(const syn_layer_pass *p, size_t rows, size_t width, syn_pool_range_fn fn,
                     conv_job *job)
{
    size_t per = width >= 4096 ? 1 : 4096 / width;
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, rows * width), rows, per, fn, job);
}

/* The block's im2col into the scratch; the job's col and y set. */
static void block_im2col(conv_job *job)
{
    const syn_layer *l = job->l;
    size_t pos = l->out_shape[1] * l->out_shape[2];
    size_t k_rows = l->in_shape[0] * l->kernel[0] * l->kernel[1];
    job->col = job->p->scratch;
    job->y = job->p->scratch + k_rows * job->n * pos;
    run_rows(job->p, k_rows, job->n * pos, im2col_rows, job);
}

/* The block's input gradient from dY gathered channel-major in job->y:
 * dcol_g = W_g^T dY_g into job->col, then col2im into job->d_in. */
static void block_input_grad(conv_job *job)
{
    const syn_layer *l = job->l;
    const syn_layer_pass *p = job->p;
    size_t pos = l->out_shape[1] * l->out_shape[2], og = l->out_shape[0] / l->groups;
    size_t kg = l->in_shape[0] / l->groups * l->kernel[0] * l->kernel[1], cols = job->n * pos;
    const float *w = p->params + l->w_off;
    for (size_t gi = 0; gi < l->groups; gi++)
        syn_gemm(1, 0, kg, cols, og, w + gi * og * kg, kg, job->y + gi * og * cols, cols, 0.0f,
                 job->col + gi * kg * cols, cols, p->pool);
    run_rows(p, job->n * l->in_shape[0], l->in_shape[1] * l->in_shape[2], col2im_planes, job);
}

/* ---- the direct path (kernels/conv_direct.h) ------------------------------
 * The scratch holds the fixed block (packed weights, weight-gradient
 * accumulators), then one block per sample of a batch block of
 * scratch_rows samples. Samples run on the pool (each writes its own
 * output rows), weight-gradient tasks too (each owns its dW elements and
 * sums them over the samples in order), the bias by output channel: the
 * same bits for any thread count, and the forward pass of a sample never
 * depends on the others (an inference workspace's cut batches). */
typedef struct direct_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    syn_conv_direct g;
    const float *x;  /* the block's input */
    const float *dz; /* backward: the block's dL/dz */
    float *y;        /* forward: the block's output */
    float *d_in;     /* backward: the block's dL/dx */
    float *fixed, *work; /* the scratch's fixed block; the first sample's */
    size_t n;        /* samples in the block */
} direct_job;

static void direct_forward_samples(void *ctx, size_t lo, size_t hi)
{
    const direct_job *j = ctx;
    const float *bias = j->l->has_bias ? j->p->params + j->l->b_off : NULL;
    for (size_t s = lo; s < hi; s++)
        syn_conv_direct_forward(&j->g, j->fixed, bias, j->x + s * j->l->n_in,
                                j->y + s * j->l->units, j->work + s * j->g.per_sample);
}

static void direct_prepare_samples(void *ctx, size_t lo, size_t hi)
{
    const direct_job *j = ctx;
    for (size_t s = lo; s < hi; s++)
        syn_conv_direct_wgrad_prepare(&j->g, j->x + s * j->l->n_in, j->dz + s * j->l->units,
                                      j->work + s * j->g.per_sample);
}

static void direct_wgrad_tasks(void *ctx, size_t lo, size_t hi)
{
    const direct_job *j = ctx;
    syn_conv_direct_wgrad_run(&j->g, lo, hi, j->x, j->work, j->n, j->fixed);
}

static void direct_input_grad_samples(void *ctx, size_t lo, size_t hi)
{
    const direct_job *j = ctx;
    for (size_t s = lo; s < hi; s++)
        syn_conv_direct_input_grad(&j->g, j->fixed, j->dz + s * j->l->units,
                                   j->d_in + s * j->l->n_in, j->work + s * j->g.per_sample);
}

/* A loop over a block's n samples (or tasks), on the pool when the
 * block's data is worth threads; one item per chunk. */
static void direct_run(const direct_job *j, size_t n, size_t elems, syn_pool_range_fn fn)
{
    syn_pool *pool = syn_layer_pool_for(j->p->pool, elems);
    size_t threads = syn_pool_max_threads(pool), per = n / (2 * threads);
    syn_pool_run_ranges(pool, n, per > 0 ? per : 1, fn, (void *)j);
}

static direct_job direct_block(const syn_layer *l, const syn_layer_pass *p, size_t b0)
{
    direct_job j = {.l = l, .p = p, .fixed = p->scratch, .x = p->in + b0 * l->n_in,
                    .n = p->batch - b0 < l->scratch_rows ? p->batch - b0 : l->scratch_rows};
    direct_of(l, &j.g);
    j.work = p->scratch + j.g.fixed;
    return j;
}

static void direct_forward(const syn_layer *l, const syn_layer_pass *p)
{
    direct_job j = direct_block(l, p, 0);
    syn_conv_direct_pack_forward(&j.g, p->params + l->w_off, j.fixed);
    for (size_t b0 = 0; b0 < p->batch; b0 += l->scratch_rows) {
        j = direct_block(l, p, b0);
        j.y = p->out + b0 * l->units;
        direct_run(&j, j.n, j.n * (l->n_in + l->units), direct_forward_samples);
    }
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

/* The block's input gradient through im2col + GEMM's second half (the
 * layer's conv_gemm_dx): dY gathered channel-major, dcol = W^T dY, col2im,
 * in the block's per-sample scratch (sized for it by conv_plan). */
static void direct_block_gemm_dx(const direct_job *d)
{
    const syn_layer *l = d->l;
    const syn_layer_pass *p = d->p;
    size_t pos = l->out_shape[1] * l->out_shape[2], oc = l->out_shape[0];
    size_t kg = l->in_shape[0] * l->kernel[0] * l->kernel[1], cols = d->n * pos;
    conv_job job = {l, p, d->x, d->work, d->work + kg * cols, d->dz, d->d_in, d->n};
    run_rows(p, job.n * oc, pos, gather_rows, &job);
    block_input_grad(&job);
}

typedef struct direct_bias_job {
    const syn_conv_direct *g;
    const float *dz;
    float *db;
    size_t batch;
} direct_bias_job;

static void direct_bias_channels(void *ctx, size_t lo, size_t hi)
{
    const direct_bias_job *j = ctx;
    syn_conv_direct_bias_grad(j->g, j->dz, j->batch, lo, hi, j->db);
}

static void direct_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                            float *grads, float *d_in)
{
    direct_job j = direct_block(l, p, 0);
    if (d_in && !l->conv_gemm_dx)
        syn_conv_direct_pack_input_grad(&j.g, p->params + l->w_off, j.fixed);
    syn_conv_direct_wgrad_start(&j.g, j.fixed);
    size_t tasks = syn_conv_direct_wgrad_tasks(&j.g);
    for (size_t b0 = 0; b0 < p->batch; b0 += l->scratch_rows) {
        j = direct_block(l, p, b0);
        j.dz = dz + b0 * l->units;
        j.d_in = d_in ? d_in + b0 * l->n_in : NULL;
        size_t elems = j.n * (l->n_in + l->units);
        direct_run(&j, j.n, elems, direct_prepare_samples);
        direct_run(&j, tasks, elems, direct_wgrad_tasks);
        if (d_in && l->conv_gemm_dx)
            direct_block_gemm_dx(&j);
        else if (d_in)
            direct_run(&j, j.n, elems, direct_input_grad_samples);
    }
    syn_conv_direct_wgrad_finish(&j.g, j.fixed, grads + l->w_off);
    if (l->has_bias) {
        direct_bias_job bj = {&j.g, dz, grads + l->b_off, p->batch};
        syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->units), l->out_shape[0],
                            1, direct_bias_channels, &bj);
    }
}

/* ---- im2col + GEMM ------------------------------------------------------- */

static void conv_forward(const syn_layer *l, const syn_layer_pass *p)
{
    if (l->conv_direct) {
        direct_forward(l, p);
        return;
    }
    const float *w = p->params + l->w_off;
    size_t pos = l->out_shape[1] * l->out_shape[2], oc = l->out_shape[0];
    size_t og = oc / l->groups, kg = l->in_shape[0] / l->groups * l->kernel[0] * l->kernel[1];
    for (size_t b0 = 0; b0 < p->batch; b0 += l->scratch_rows) {
        conv_job job = {l, p, p->in + b0 * l->n_in, NULL, NULL, p->out + b0 * l->units, NULL,
                        p->batch - b0 < l->scratch_rows ? p->batch - b0 : l->scratch_rows};
        block_im2col(&job);
        size_t cols = job.n * pos;
        for (size_t gi = 0; gi < l->groups; gi++)
            syn_gemm(0, 0, og, cols, kg, w + gi * og * kg, kg, job.col + gi * kg * cols, cols,
                     0.0f, job.y + gi * og * cols, cols, p->pool);
        run_rows(p, job.n * oc, pos, scatter_rows, &job);
    }
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

typedef struct bias_job {
    const syn_layer *l;
    const float *dz;
    float *db;
    size_t batch;
} bias_job;

/* db[oc] for oc in [lo, hi): the sum over samples, then positions, in
 * double. */
static void bias_grad(void *ctx, size_t lo, size_t hi)
{
    const bias_job *j = ctx;
    size_t oc_n = j->l->out_shape[0], pos = j->l->out_shape[1] * j->l->out_shape[2];
    for (size_t oc = lo; oc < hi; oc++) {
        double s = 0.0;
        for (size_t b = 0; b < j->batch; b++) {
            const float *d = j->dz + (b * oc_n + oc) * pos;
            for (size_t k = 0; k < pos; k++)
                s += (double)d[k];
        }
        j->db[oc] = (float)s;
    }
}

static void conv_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                          float *grads, float *d_in)
{
    if (l->conv_direct) {
        direct_backward(l, p, dz, grads, d_in);
        return;
    }
    float *dw = grads + l->w_off;
    size_t pos = l->out_shape[1] * l->out_shape[2], oc = l->out_shape[0];
    size_t og = oc / l->groups, kg = l->in_shape[0] / l->groups * l->kernel[0] * l->kernel[1];
    for (size_t b0 = 0; b0 < p->batch; b0 += l->scratch_rows) {
        conv_job job = {l, p, p->in + b0 * l->n_in, NULL, NULL, dz + b0 * l->units,
                        d_in ? d_in + b0 * l->n_in : NULL,
                        p->batch - b0 < l->scratch_rows ? p->batch - b0 : l->scratch_rows};
        block_im2col(&job);
        size_t cols = job.n * pos;
        run_rows(p, job.n * oc, pos, gather_rows, &job);
        float beta = b0 == 0 ? 0.0f : 1.0f;
        for (size_t gi = 0; gi < l->groups; gi++)
            syn_gemm(0, 1, og, kg, cols, job.y + gi * og * cols, cols, job.col + gi * kg * cols,
                     cols, beta, dw + gi * og * kg, kg, p->pool);
        /* dcol over col: the weight gradient has read it. */
        if (d_in)
            block_input_grad(&job);
    }
    if (l->has_bias) {
        bias_job bj = {l, dz, grads + l->b_off, p->batch};
        syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->units), oc, 1, bias_grad,
                            &bj);
    }
}

/* kernel (h, w), stride, padding, dilation, groups, pad_same: the
 * description's values (padding 0 with pad_same). */
static size_t conv_attrs(const syn_layer *l, float *out)
{
    for (int a = 0; a < 2; a++) {
        out[a] = (float)l->kernel[a];
        out[2 + a] = (float)l->stride[a];
        out[4 + a] = l->pad_same ? 0.0f : (float)l->pad[a];
        out[6 + a] = (float)l->dilation[a];
    }
    out[8] = (float)l->groups;
    out[9] = (float)l->pad_same;
    return 10;
}

static int conv_set_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                          size_t why_size)
{
    size_t s[10];
    if (!syn_layer_attr_count(n, 10, why, why_size) ||
        !syn_layer_attr_sizes(v, 10, s, why, why_size))
        return 0;
    for (int a = 0; a < 2; a++) {
        d->kernel[a] = s[a];
        d->stride[a] = s[2 + a];
        d->padding[a] = s[4 + a];
        d->dilation[a] = s[6 + a];
    }
    d->groups = s[8];
    if (s[9] > 1) {
        snprintf(why, why_size, "pad_same %zu is not 0 or 1", s[9]);
        return 0;
    }
    d->pad_same = (int)s[9];
    return 1;
}

/* ONNX Conv (opset 11+): X, W [oc x C/groups x kh x kw] as stored, B
 * optional; pads [top, left, bottom, right]: padding='same' puts the odd
 * one after (ATen's total - total / 2), as ONNX's explicit pads can say. */
static int conv_onnx(const syn_layer *l, size_t index, const float *params, const float *state,
                     const char *in, const char *out, const syn_onnx_sink *sink)
{
    (void)state;
    char weight[SYN_ONNX_NAME], bias[SYN_ONNX_NAME], node[SYN_ONNX_NAME];
    snprintf(weight, sizeof weight, "conv%zu.weight", index);
    snprintf(bias, sizeof bias, "conv%zu.bias", index);
    snprintf(node, sizeof node, "conv%zu_conv", index);
    size_t oc = l->out_shape[0], cg = l->in_shape[0] / l->groups;
    int64_t dims[4] = {(int64_t)oc, (int64_t)cg, (int64_t)l->kernel[0], (int64_t)l->kernel[1]};
    sink->tensor(sink->ctx, weight, dims, 4, params + l->w_off,
                 oc * cg * l->kernel[0] * l->kernel[1]);
    if (l->has_bias)
        sink->tensor(sink->ctx, bias, dims, 1, params + l->b_off, oc);
    int64_t kernel[2], strides[2], dilations[2], pads[4];
    for (int a = 0; a < 2; a++) {
        kernel[a] = (int64_t)l->kernel[a];
        strides[a] = (int64_t)l->stride[a];
        dilations[a] = (int64_t)l->dilation[a];
        size_t total = l->pad_same ? l->dilation[a] * (l->kernel[a] - 1) : 2 * l->pad[a];
        pads[a] = (int64_t)l->pad[a];
        pads[2 + a] = (int64_t)(total - l->pad[a]);
    }
    syn_onnx_attr attrs[5] = {
        {.name = "kernel_shape", .type = SYN_ONNX_INTS, .ints = kernel, .n_ints = 2},
        {.name = "strides", .type = SYN_ONNX_INTS, .ints = strides, .n_ints = 2},
        {.name = "pads", .type = SYN_ONNX_INTS, .ints = pads, .n_ints = 4},
        {.name = "dilations", .type = SYN_ONNX_INTS, .ints = dilations, .n_ints = 2},
        {.name = "group", .type = SYN_ONNX_INT, .i = (int64_t)l->groups},
    };
    const char *inputs[3] = {in, weight, bias};
    sink->node(sink->ctx, "Conv", node, inputs, l->has_bias ? 3 : 2, out, attrs, 5);
    return 1;
}

/* C header: the weights as stored, and a loop nest per group: im2col of
 * the group's channels into the scratch (col [K_g x P'], zero in the
 * padding, each row padded with zeros to P' = P rounded up to C_BLOCK
 * positions), then the product W_g [og x K_g] * col in register blocks of
 * C_ROWS output channels by C_BLOCK positions, each output summed over the
 * rows r in order, the bias added last (as conv_forward: the same sums up
 * to the GEMM's blocking). The sizes are constants and the blocks' inner
 * loops have C_BLOCK iterations, so a compiler keeps the accumulators in
 * vector registers. */
#define C_BLOCK 16
#define C_ROWS 8

static size_t c_padded_pos(const syn_layer *l)
{
    size_t pos = l->out_shape[1] * l->out_shape[2];
    return (pos + C_BLOCK - 1) / C_BLOCK * C_BLOCK;
}

static void conv_c_data(const syn_layer *l, size_t index, const float *params,
                        const float *state, const syn_c_sink *sink)
{
    (void)state;
    size_t oc = l->out_shape[0], cg = l->in_shape[0] / l->groups;
    char name[32];
    sink->text(sink->ctx, "\n/* Layer %zu: conv2d, %zu x %zu x %zux%zu weights [out][in / groups]"
               "[kh][kw] (PyTorch's Conv2d layout), %zu groups, input %zux%zux%zu, output "
               "%zux%zux%zu. */\n", index, oc, cg, l->kernel[0], l->kernel[1], l->groups,
               l->in_shape[0], l->in_shape[1], l->in_shape[2], oc, l->out_shape[1],
               l->out_shape[2]);
    snprintf(name, sizeof name, "w%zu", index);
    sink->array(sink->ctx, name, params + l->w_off, oc * cg * l->kernel[0] * l->kernel[1]);
    if (l->has_bias) {
        snprintf(name, sizeof name, "b%zu", index);
        sink->array(sink->ctx, name, params + l->b_off, oc);
    }
}

static size_t conv_c_scratch(const syn_layer *l)
{
    return l->in_shape[0] / l->groups * l->kernel[0] * l->kernel[1] * c_padded_pos(l);
}

/* Output channels [o_lo, o_hi) of group g in blocks of `rows`: one weight
 * row pointer and one accumulator array of C_BLOCK floats per channel, the
 * positions' loop innermost, so that gcc and clang both vectorize over the
 * positions (with acc[rows][C_BLOCK] and a loop over the rows inside, clang
 * vectorized over the rows instead, with gathers and scatters). */
static void conv_c_block(const syn_layer *l, size_t index, const char *dst,
                         const syn_c_sink *sink, size_t rows, const char *o_lo, size_t o_hi)
{
    const char *p = sink->prefix, *col = sink->scratch;
    size_t og = l->out_shape[0] / l->groups, kg = l->in_shape[0] / l->groups * l->kernel[0] *
                l->kernel[1];
    size_t pos = l->out_shape[1] * l->out_shape[2], pp = c_padded_pos(l);
    sink->text(sink->ctx, "        for (o = %s; o + %zu <= %zu; o += %zu) {\n"
               "            const float *wr = %s_w%zu + (g * %zu + o) * %zu;\n"
               "            for (q0 = 0; q0 < %zu; q0 += %d) {\n", o_lo, rows, o_hi, rows, p,
               index, og, kg, pp, C_BLOCK);
    for (size_t k = 0; k < rows; k++)
        sink->text(sink->ctx, "                float a%zu[%d] = {0.0f};\n", k, C_BLOCK);
    sink->text(sink->ctx, "                size_t q;\n"
               "                for (r = 0; r < %zu; r++) {\n"
               "                    const float *cr = %s + r * %zu + q0;\n", kg, col, pp);
    for (size_t k = 0; k < rows; k++)
        sink->text(sink->ctx, "                    const float v%zu = wr[%zu + r];\n", k, k * kg);
    sink->text(sink->ctx, "                    for (q = 0; q < %d; q++) {\n", C_BLOCK);
    for (size_t k = 0; k < rows; k++)
        sink->text(sink->ctx, "                        a%zu[q] += v%zu * cr[q];\n", k, k);
    sink->text(sink->ctx, "                    }\n                }\n");
    /* The last block of positions is partial unless P is a multiple. */
    const char *guard = pos % C_BLOCK ? " && q0 + q < " : "";
    char limit[32] = "";
    if (pos % C_BLOCK)
        snprintf(limit, sizeof limit, "%zu", pos);
    sink->text(sink->ctx, "                for (q = 0; q < %d%s%s; q++) {\n", C_BLOCK, guard,
               limit);
    for (size_t k = 0; k < rows; k++) {
        sink->text(sink->ctx, "                    %s[(g * %zu + o + %zu) * %zu + q0 + q] = a%zu[q]",
                   dst, og, k, pos, k);
        if (l->has_bias)
            sink->text(sink->ctx, " + %s_b%zu[g * %zu + o + %zu]", p, index, og, k);
        sink->text(sink->ctx, ";\n");
    }
    sink->text(sink->ctx, "                }\n            }\n        }\n");
}

/* The im2col of one group, row r = (channel, tap): per output row, the
 * columns whose input column falls inside, [lo, hi), are copied (a strided
 * copy, contiguous at stride 1, which vectorizes), the others zeroed; a row
 * of output whose input row is outside is all zeros; then the padding up
 * to P'. The same values as testing every position, without the tests. */
static void conv_c_im2col(const syn_layer *l, const char *src, const syn_c_sink *sink)
{
    const char *col = sink->scratch;
    size_t cg = l->in_shape[0] / l->groups, taps = l->kernel[0] * l->kernel[1], kg = cg * taps;
    size_t ih = l->in_shape[1], iw = l->in_shape[2], oh = l->out_shape[1], ow = l->out_shape[2];
    size_t sw = l->stride[1], pos = oh * ow, pp = c_padded_pos(l);
    sink->text(sink->ctx, "        for (r = 0; r < %zu; r++) {\n"
               "            const size_t c = g * %zu + r / %zu, ti = r / %zu %% %zu, "
               "tj = r %% %zu;\n", kg, cg, taps, l->kernel[1], l->kernel[0], l->kernel[1]);
    /* Input column ix = ox * sw + off, off = tj * dw - pw; inside for
     * ox in [lo, hi): lo = ceil(-off / sw) when off < 0, hi = ceil((W -
     * off) / sw), both clamped to [0, OW]. */
    sink->text(sink->ctx, "            const long off = (long)(tj * %zu) - %zu;\n"
               "            const size_t lo0 = off < 0 ? (size_t)((-off + %zu) / %zu) : 0;\n"
               "            const size_t lo = lo0 < %zu ? lo0 : %zu;\n"
               "            const long hi0 = ((long)%zu - off + %zu) / %zu;\n"
               "            const size_t hi = hi0 < (long)lo ? lo : hi0 > %zu ? %zu : "
               "(size_t)hi0;\n", l->dilation[1], l->pad[1], sw - 1, sw, ow, ow, iw, sw - 1, sw,
               ow, ow);
    sink->text(sink->ctx, "            size_t oy, ox;\n"
               "            for (oy = 0; oy < %zu; oy++) {\n"
               "                const long iy = (long)(oy * %zu + ti * %zu) - %zu;\n"
               "                float *cw = %s + r * %zu + oy * %zu;\n"
               "                if (iy < 0 || iy >= %zu) {\n"
               "                    for (ox = 0; ox < %zu; ox++)\n"
               "                        cw[ox] = 0.0f;\n"
               "                } else {\n", oh, l->stride[0], l->dilation[0], l->pad[0], col, pp,
               ow, ih, ow);
    sink->text(sink->ctx, "                    const float *sr = %s + (c * %zu + (size_t)iy) * %zu;\n"
               "                    for (ox = 0; ox < lo; ox++)\n"
               "                        cw[ox] = 0.0f;\n"
               "                    for (ox = lo; ox < hi; ox++)\n"
               "                        cw[ox] = sr[(long)(ox * %zu) + off];\n"
               "                    for (ox = hi; ox < %zu; ox++)\n"
               "                        cw[ox] = 0.0f;\n"
               "                }\n            }\n", src, ih, iw, sw, ow);
    if (pp > pos)
        sink->text(sink->ctx, "            for (ox = %zu; ox < %zu; ox++)\n"
                   "                %s[r * %zu + ox] = 0.0f;\n", pos, pp, col, pp);
    sink->text(sink->ctx, "        }\n");
}

static void conv_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                        const syn_c_sink *sink)
{
    size_t og = l->out_shape[0] / l->groups;
    sink->text(sink->ctx, "    for (size_t g = 0; g < %zu; g++) {\n"
               "        size_t r, o, q0;\n", l->groups);
    conv_c_im2col(l, src, sink);
    size_t full = og / C_ROWS * C_ROWS;
    if (full > 0)
        conv_c_block(l, index, dst, sink, C_ROWS, "0", og);
    if (full < og) {
        char lo[32];
        snprintf(lo, sizeof lo, "%zu", full);
        conv_c_block(l, index, dst, sink, 1, lo, og);
    }
    sink->text(sink->ctx, "    }\n");
}

const syn_layer_ops syn_conv2d_ops = {
    .name = "conv2d",
    .plan_shape = conv_plan,
    .setup = conv_setup,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .small_ok = syn_layer_not_small,
    .attrs = conv_attrs,
    .set_attrs = conv_set_attrs,
    .state_ok = NULL,
    .onnx_emit = conv_onnx,
    .c_data = conv_c_data,
    .c_body = conv_c_body,
    .c_scratch = conv_c_scratch,
};
