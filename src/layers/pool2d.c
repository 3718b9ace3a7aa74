/* pool2d.c - pooling over feature maps [batch x C x H x W], each channel
 * plane on its own:
 *  - nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0), ceil_mode
 *    False (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html):
 *    "padding: implicit negative infinity padding to be added on both
 *    sides", at most half the kernel. The maximum of a window is its first
 *    largest value, its last NaN if any (ATen's CPU kernel: val > max ||
 *    isnan);
 *    backward sends dz to that element, found again from the input rather
 *    than saved.
 *  - nn.AvgPool2d(kernel_size, stride=kernel_size, padding=0,
 *    count_include_pad=True), ceil_mode False: zero padding, the divisor
 *    the kernel's area, or with count_include_pad False the elements of
 *    the window inside the input.
 *  - nn.AdaptiveAvgPool2d(1) (global average pooling): each plane's mean,
 *    output C x 1 x 1.
 * Then the layer's activation. Chunks own whole planes, and each output is
 * summed in a fixed order, so results are the same for any thread count. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "kernels/maxpool2x2.h"
#include "layers/layer.h"

/* Planes per chunk: at least this many floats of output. */
#define PLANE_FLOATS 4096

static syn_status pool_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                            syn_layer_plan *p, char *why, size_t why_size, int avg)
{
    unsigned takes = SYN_FIELD_ACTIVATION | SYN_FIELD_WINDOW | (avg ? SYN_FIELD_EXCLUDE : 0);
    if (!syn_layer_check_fields(d, takes, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    size_t out[2];
    for (int a = 0; a < 2; a++) {
        size_t k = d->kernel[a], s = d->stride[a] ? d->stride[a] : k;
        if (k == 0) {
            snprintf(why, why_size, "a pooling layer needs a kernel of at least 1x1");
            return SYN_ERR_INVALID_ARGUMENT;
        }
        /* ATen: "pad should be at most half of effective kernel size". */
        if (d->padding[a] > k / 2) {
            snprintf(why, why_size, "padding %zu is more than half the kernel %zu",
                     d->padding[a], k);
            return SYN_ERR_INVALID_ARGUMENT;
        }
        if (!syn_layer_window_out(in[1 + a], k, s, 1, 2 * d->padding[a], &out[a])) {
            snprintf(why, why_size, "input %zux%zux%zu is smaller than the window %zux%zu",
                     in[0], in[1], in[2], d->kernel[0], d->kernel[1]);
            return SYN_ERR_INVALID_ARGUMENT;
        }
    }
    memset(p, 0, sizeof *p);
    p->out_shape[0] = in[0];
    p->out_shape[1] = out[0];
    p->out_shape[2] = out[1];
    p->units = in[0] * out[0] * out[1]; /* at most the input's, which fits */
    if (d->units != 0 && d->units != p->units) {
        snprintf(why, why_size, "units %zu: the output is %zux%zux%zu", d->units, in[0], out[0],
                 out[1]);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    return SYN_OK;
}

static syn_status maxpool_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                               syn_layer_plan *p, char *why, size_t why_size)
{
    return pool_plan(d, in, is_last, p, why, why_size, 0);
}

static syn_status avgpool_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                               syn_layer_plan *p, char *why, size_t why_size)
{
    return pool_plan(d, in, is_last, p, why, why_size, 1);
}

static void pool_setup(syn_layer *l, const syn_layer_desc *d)
{
    l->has_bias = 0;
    for (int a = 0; a < 2; a++) {
        l->kernel[a] = d->kernel[a];
        l->stride[a] = d->stride[a] ? d->stride[a] : d->kernel[a];
        l->pad[a] = d->padding[a];
    }
    l->exclude_pad = d->exclude_pad != 0;
}

static void pool_init(const syn_layer *l, float *params, float *state, syn_init init,
                      syn_rng *rng)
{
    (void)l, (void)params, (void)state, (void)init, (void)rng;
}

typedef struct pool_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    const float *dz;
    float *d_in;
} pool_job;

/* A window's rows or columns inside the input: [*lo, *hi). */
static inline void window(size_t o, size_t s, size_t pad, size_t k, size_t n, size_t *lo, size_t *hi)
{
    size_t start = o * s; /* in padded coordinates */
    *lo = start < pad ? 0 : start - pad;
    *hi = start + k - pad < n ? start + k - pad : n;
}

/* The index in plane of the maximum of the window [h0, h1) x [w0, w1):
 * the first largest value, or the last NaN (ATen's val > max || isnan). */
static inline size_t window_max(const float *plane, size_t iw, size_t h0, size_t h1, size_t w0,
                                size_t w1)
{
    size_t best = h0 * iw + w0;
    float m = -INFINITY;
    for (size_t h = h0; h < h1; h++)
        for (size_t w = w0; w < w1; w++) {
            float v = plane[h * iw + w];
            if (v > m || v != v) {
                m = v;
                best = h * iw + w;
            }
        }
    return best;
}

/* v replaces the running maximum m (index *at) as window_max's test says:
 * branch-free, so the 2x2 loop below has no unpredictable jumps. */
static inline float max_step(float m, size_t *at, float v, size_t i)
{
    int take = v > m || v != v;
    *at = take ? i : *at;
    return take ? v : m;
}

/* The common window, 2x2 at stride 2 without padding (every window inside
 * the input), for planes [lo, hi): window_max's order (row 0 then row 1,
 * left to right) without its per-window range arithmetic, which profiles
 * of bench_cnn showed costing as much as the convolutions' GEMMs. With
 * AVX-512F, kernels/maxpool2x2.h's vectors pick the same elements (after
 * the direct convolution kernels this loop was 31% of the issue CNN's
 * one-thread step at batch 256). */
static void max_planes_2x2(const syn_layer *l, const float *in, float *out, const float *dz,
                           float *d_in, size_t lo, size_t hi)
{
    size_t iw = l->in_shape[2], oh_n = l->out_shape[1], ow_n = l->out_shape[2];
    if (syn_maxpool2x2_available()) {
        syn_maxpool2x2_planes(in, out, dz, d_in, lo, hi, l->in_shape[1], iw, oh_n, ow_n);
        return;
    }
    size_t plane = l->in_shape[1] * iw;
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = in + pl * plane;
        float *dx = d_in ? d_in + pl * plane : NULL;
        if (dx)
            memset(dx, 0, plane * sizeof(float));
        for (size_t oh = 0; oh < oh_n; oh++) {
            const float *r0 = x + 2 * oh * iw, *r1 = r0 + iw;
            size_t o = (pl * oh_n + oh) * ow_n;
            for (size_t ow = 0; ow < ow_n; ow++) {
                size_t w = 2 * ow, at = 2 * oh * iw + w;
                float m = r0[w]; /* window_max's first step from -inf keeps index 0 */
                m = max_step(m, &at, r0[w + 1], at + 1);
                m = max_step(m, &at, r1[w], (2 * oh + 1) * iw + w);
                m = max_step(m, &at, r1[w + 1], (2 * oh + 1) * iw + w + 1);
                if (dx)
                    dx[at] += dz[o + ow];
                else
                    out[o + ow] = m;
            }
        }
    }
}

/* Max pooling over planes [lo, hi): out receives each window's maximum
 * (forward), or d_in each output's gradient at its maximum (backward). */
static void max_planes(const syn_layer *l, const float *in, float *out, const float *dz,
                       float *d_in, size_t lo, size_t hi)
{
    size_t ih = l->in_shape[1], iw = l->in_shape[2], oh_n = l->out_shape[1];
    size_t ow_n = l->out_shape[2], plane = ih * iw;
    if (l->kernel[0] == 2 && l->kernel[1] == 2 && l->stride[0] == 2 && l->stride[1] == 2 &&
        l->pad[0] == 0 && l->pad[1] == 0) {
        max_planes_2x2(l, in, out, dz, d_in, lo, hi);
        return;
    }
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = in + pl * plane;
        if (d_in)
            memset(d_in + pl * plane, 0, plane * sizeof(float));
        for (size_t oh = 0; oh < oh_n; oh++) {
            size_t h0, h1;
            window(oh, l->stride[0], l->pad[0], l->kernel[0], ih, &h0, &h1);
            for (size_t ow = 0; ow < ow_n; ow++) {
                size_t w0, w1, o = (pl * oh_n + oh) * ow_n + ow;
                window(ow, l->stride[1], l->pad[1], l->kernel[1], iw, &w0, &w1);
                size_t at = window_max(x, iw, h0, h1, w0, w1);
                if (d_in)
                    d_in[pl * plane + at] += dz[o];
                else
                    out[o] = x[at];
            }
        }
    }
}

/* The divisor of output (oh, ow), and its window. */
static float avg_window(const syn_layer *l, size_t oh, size_t ow, size_t *h0, size_t *h1,
                        size_t *w0, size_t *w1)
{
    window(oh, l->stride[0], l->pad[0], l->kernel[0], l->in_shape[1], h0, h1);
    window(ow, l->stride[1], l->pad[1], l->kernel[1], l->in_shape[2], w0, w1);
    if (l->exclude_pad)
        return (float)((*h1 - *h0) * (*w1 - *w0));
    return (float)(l->kernel[0] * l->kernel[1]);
}

static void pool_forward_planes(void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    const syn_layer *l = j->l;
    size_t in_plane = l->in_shape[1] * l->in_shape[2], oh_n = l->out_shape[1];
    size_t ow_n = l->out_shape[2], iw = l->in_shape[2];
    if (l->kind == SYN_LAYER_MAXPOOL2D) {
        max_planes(l, j->p->in, j->p->out, NULL, NULL, lo, hi);
        return;
    }
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = j->p->in + pl * in_plane;
        float *y = j->p->out + pl * oh_n * ow_n;
        for (size_t oh = 0; oh < oh_n; oh++)
            for (size_t ow = 0; ow < ow_n; ow++) {
                size_t h0, h1, w0, w1;
                float div = avg_window(l, oh, ow, &h0, &h1, &w0, &w1);
                float sum = 0.0f;
                for (size_t h = h0; h < h1; h++)
                    for (size_t w = w0; w < w1; w++)
                        sum += x[h * iw + w];
                y[oh * ow_n + ow] = sum / div;
            }
    }
}

static void pool_backward_planes(void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    const syn_layer *l = j->l;
    size_t in_plane = l->in_shape[1] * l->in_shape[2], oh_n = l->out_shape[1];
    size_t ow_n = l->out_shape[2], iw = l->in_shape[2];
    if (l->kind == SYN_LAYER_MAXPOOL2D) {
        max_planes(l, j->p->in, NULL, j->dz, j->d_in, lo, hi);
        return;
    }
    for (size_t pl = lo; pl < hi; pl++) {
        const float *dz = j->dz + pl * oh_n * ow_n;
        float *dx = j->d_in + pl * in_plane;
        memset(dx, 0, in_plane * sizeof(float));
        for (size_t oh = 0; oh < oh_n; oh++)
            for (size_t ow = 0; ow < ow_n; ow++) {
                float g = dz[oh * ow_n + ow];
                size_t h0, h1, w0, w1;
                g /= avg_window(l, oh, ow, &h0, &h1, &w0, &w1);
                for (size_t h = h0; h < h1; h++)
                    for (size_t w = w0; w < w1; w++)
                        dx[h * iw + w] += g;
            }
    }
}

/* Planes [0, batch * C) in chunks of at least PLANE_FLOATS floats. */
static void run_planes(const syn_layer *l, const syn_layer_pass *p, syn_pool_range_fn fn,
                       pool_job *job)
{
    size_t planes = p->batch * l->in_shape[0];
    size_t plane = l->in_shape[1] * l->in_shape[2];
    size_t per = plane >= PLANE_FLOATS ? 1 : PLANE_FLOATS / plane;
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * (l->n_in + l->units)), planes,
                        per, fn, job);
}

static void pool_forward(const syn_layer *l, const syn_layer_pass *p)
{
    pool_job job = {l, p, NULL, NULL};
    run_planes(l, p, pool_forward_planes, &job);
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

static void pool_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                          float *grads, float *d_in)
{
    (void)grads;
    if (!d_in)
        return;
    pool_job job = {l, p, dz, d_in};
    run_planes(l, p, pool_backward_planes, &job);
}

/* kernel (h, w), stride, padding, exclude_pad. */
static size_t pool_attrs(const syn_layer *l, float *out)
{
    for (int a = 0; a < 2; a++) {
        out[a] = (float)l->kernel[a];
        out[2 + a] = (float)l->stride[a];
        out[4 + a] = (float)l->pad[a];
    }
    out[6] = (float)l->exclude_pad;
    return 7;
}

static int pool_set_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                          size_t why_size)
{
    size_t s[7];
    if (!syn_layer_attr_count(n, 7, why, why_size) ||
        !syn_layer_attr_sizes(v, 7, s, why, why_size))
        return 0;
    for (int a = 0; a < 2; a++) {
        d->kernel[a] = s[a];
        d->stride[a] = s[2 + a];
        d->padding[a] = s[4 + a];
    }
    if (s[6] > 1) {
        snprintf(why, why_size, "exclude_pad %zu is not 0 or 1", s[6]);
        return 0;
    }
    d->exclude_pad = (int)s[6]; /* max pooling's plan refuses 1 */
    return 1;
}

/* ONNX MaxPool and AveragePool (ceil_mode 0, as PyTorch's default):
 * kernel_shape, strides and symmetric pads; AveragePool's
 * count_include_pad is PyTorch's (1 unless exclude_pad). ONNX's MaxPool
 * ignores the padding as PyTorch's -inf padding does. */
static int pool_onnx(const syn_layer *l, size_t index, const float *params, const float *state,
                     const char *in, const char *out, const syn_onnx_sink *sink)
{
    (void)params, (void)state;
    int avg = l->kind == SYN_LAYER_AVGPOOL2D;
    char node[SYN_ONNX_NAME];
    snprintf(node, sizeof node, "%s%zu_pool", avg ? "avgpool" : "maxpool", index);
    int64_t kernel[2], strides[2], pads[4];
    for (int a = 0; a < 2; a++) {
        kernel[a] = (int64_t)l->kernel[a];
        strides[a] = (int64_t)l->stride[a];
        pads[a] = pads[2 + a] = (int64_t)l->pad[a];
    }
    syn_onnx_attr attrs[4] = {
        {.name = "kernel_shape", .type = SYN_ONNX_INTS, .ints = kernel, .n_ints = 2},
        {.name = "strides", .type = SYN_ONNX_INTS, .ints = strides, .n_ints = 2},
        {.name = "pads", .type = SYN_ONNX_INTS, .ints = pads, .n_ints = 4},
        {.name = "count_include_pad", .type = SYN_ONNX_INT, .i = !l->exclude_pad},
    };
    const char *inputs[1] = {in};
    sink->node(sink->ctx, avg ? "AveragePool" : "MaxPool", node, inputs, 1, out, attrs,
               avg ? 4 : 3);
    return 1;
}

/* C header: the loops of max_planes and pool_forward_planes, window by
 * window in the same order (the first largest value or the last NaN; the
 * average's float sum in row order over the window inside the input, then
 * divided by the kernel's area or the count inside). */
static void pool_c_data(const syn_layer *l, size_t index, const float *params,
                        const float *state, const syn_c_sink *sink)
{
    (void)params, (void)state;
    int avg = l->kind == SYN_LAYER_AVGPOOL2D;
    sink->text(sink->ctx, "\n/* Layer %zu: %s pooling %zux%zu, stride %zux%zu, padding %zux%zu%s, "
               "%zux%zux%zu -> %zux%zux%zu. */\n", index, avg ? "average" : "max",
               l->kernel[0], l->kernel[1], l->stride[0], l->stride[1], l->pad[0], l->pad[1],
               avg ? (l->exclude_pad ? " (not counted)" : " (counted)") : "", l->in_shape[0],
               l->in_shape[1], l->in_shape[2], l->out_shape[0], l->out_shape[1],
               l->out_shape[2]);
}

static void pool_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                        const syn_c_sink *sink)
{
    (void)index;
    int avg = l->kind == SYN_LAYER_AVGPOOL2D;
    size_t ih = l->in_shape[1], iw = l->in_shape[2], oh = l->out_shape[1], ow = l->out_shape[2];
    /* The window's first row: sy - pad clamped at 0 (no test when pad is
     * 0, which a compiler would warn about). */
    char h0[64], w0[64];
    if (l->pad[0])
        snprintf(h0, sizeof h0, "sy < %zu ? 0 : sy - %zu", l->pad[0], l->pad[0]);
    else
        snprintf(h0, sizeof h0, "sy");
    if (l->pad[1])
        snprintf(w0, sizeof w0, "sx < %zu ? 0 : sx - %zu", l->pad[1], l->pad[1]);
    else
        snprintf(w0, sizeof w0, "sx");
    sink->text(sink->ctx, "    for (j = 0; j < %zu; j++) {\n"
               "        const float *x = %s + j * %zu;\n"
               "        size_t oy, ox, h, w;\n"
               "        for (oy = 0; oy < %zu; oy++) {\n"
               "            const size_t sy = oy * %zu, h0 = %s;\n"
               "            const size_t h1 = sy + %zu < %zu ? sy + %zu : %zu;\n",
               l->in_shape[0], src, ih * iw, oh, l->stride[0], h0, l->kernel[0] - l->pad[0],
               ih, l->kernel[0] - l->pad[0], ih);
    sink->text(sink->ctx, "            for (ox = 0; ox < %zu; ox++) {\n"
               "                const size_t sx = ox * %zu, w0 = %s;\n"
               "                const size_t w1 = sx + %zu < %zu ? sx + %zu : %zu;\n",
               ow, l->stride[1], w0, l->kernel[1] - l->pad[1], iw, l->kernel[1] - l->pad[1], iw);
    if (avg) {
        sink->text(sink->ctx, "                float s = 0.0f;\n"
                   "                for (h = h0; h < h1; h++)\n"
                   "                    for (w = w0; w < w1; w++)\n"
                   "                        s += x[h * %zu + w];\n", iw);
        if (l->exclude_pad)
            sink->text(sink->ctx, "                %s[(j * %zu + oy) * %zu + ox] = s / (float)"
                       "((h1 - h0) * (w1 - w0));\n", dst, oh, ow);
        else
            sink->text(sink->ctx, "                %s[(j * %zu + oy) * %zu + ox] = s / %zu.0f;\n",
                       dst, oh, ow, l->kernel[0] * l->kernel[1]);
    } else {
        sink->text(sink->ctx, "                float m = -INFINITY;\n"
                   "                for (h = h0; h < h1; h++)\n"
                   "                    for (w = w0; w < w1; w++) {\n"
                   "                        const float v = x[h * %zu + w];\n"
                   "                        if (v > m || v != v)\n"
                   "                            m = v;\n"
                   "                    }\n"
                   "                %s[(j * %zu + oy) * %zu + ox] = m;\n", iw, dst, oh, ow);
    }
    sink->text(sink->ctx, "            }\n        }\n    }\n");
}

const syn_layer_ops syn_maxpool2d_ops = {
    .name = "maxpool2d",
    .plan_shape = maxpool_plan,
    .setup = pool_setup,
    .init = pool_init,
    .forward = pool_forward,
    .backward = pool_backward,
    .small_ok = syn_layer_not_small,
    .attrs = pool_attrs,
    .set_attrs = pool_set_attrs,
    .state_ok = NULL,
    .onnx_emit = pool_onnx,
    .c_data = pool_c_data,
    .c_body = pool_c_body,
};

const syn_layer_ops syn_avgpool2d_ops = {
    .name = "avgpool2d",
    .plan_shape = avgpool_plan,
    .setup = pool_setup,
    .init = pool_init,
    .forward = pool_forward,
    .backward = pool_backward,
    .small_ok = syn_layer_not_small,
    .attrs = pool_attrs,
    .set_attrs = pool_set_attrs,
    .state_ok = NULL,
    .onnx_emit = pool_onnx,
    .c_data = pool_c_data,
    .c_body = pool_c_body,
};

/* ---- global average pooling ------------------------------------------ */

static syn_status gap_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                           syn_layer_plan *p, char *why, size_t why_size)
{
    if (!syn_layer_check_fields(d, SYN_FIELD_ACTIVATION, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    if (d->units != 0 && d->units != in[0]) {
        snprintf(why, why_size, "units %zu: the output is the %zu channels", d->units, in[0]);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    memset(p, 0, sizeof *p);
    p->units = in[0];
    p->out_shape[0] = in[0];
    p->out_shape[1] = p->out_shape[2] = 1;
    return SYN_OK;
}

static void gap_setup(syn_layer *l, const syn_layer_desc *d)
{
    (void)d;
    l->has_bias = 0;
    l->spatial = l->in_shape[1] * l->in_shape[2];
}

/* Planes [lo, hi): the mean, summed in order in double. */
static void gap_forward_planes(void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    size_t ns = j->l->spatial;
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = j->p->in + pl * ns;
        double s = 0.0;
        for (size_t k = 0; k < ns; k++)
            s += (double)x[k];
        j->p->out[pl] = (float)(s / (double)ns);
    }
}

static void gap_backward_planes(void *ctx, size_t lo, size_t hi)
{
    const pool_job *j = ctx;
    size_t ns = j->l->spatial;
    for (size_t pl = lo; pl < hi; pl++) {
        float g = j->dz[pl] / (float)ns;
        for (size_t k = 0; k < ns; k++)
            j->d_in[pl * ns + k] = g;
    }
}

static size_t gap_planes_per_chunk(const syn_layer *l)
{
    return l->spatial >= PLANE_FLOATS ? 1 : PLANE_FLOATS / l->spatial;
}

static void gap_forward(const syn_layer *l, const syn_layer_pass *p)
{
    pool_job job = {l, p, NULL, NULL};
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->n_in), p->batch * l->units,
                        gap_planes_per_chunk(l), gap_forward_planes, &job);
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

static void gap_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                         float *grads, float *d_in)
{
    (void)grads;
    if (!d_in)
        return;
    pool_job job = {l, p, dz, d_in};
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->n_in), p->batch * l->units,
                        gap_planes_per_chunk(l), gap_backward_planes, &job);
}

/* ONNX GlobalAveragePool: [batch, C, H, W] -> [batch, C, 1, 1]. */
static int gap_onnx(const syn_layer *l, size_t index, const float *params, const float *state,
                    const char *in, const char *out, const syn_onnx_sink *sink)
{
    (void)l, (void)params, (void)state;
    char node[SYN_ONNX_NAME];
    snprintf(node, sizeof node, "globalavgpool%zu_pool", index);
    const char *inputs[1] = {in};
    sink->node(sink->ctx, "GlobalAveragePool", node, inputs, 1, out, NULL, 0);
    return 1;
}

/* C header: each plane's mean, summed in double as gap_forward_planes. */
static void gap_c_data(const syn_layer *l, size_t index, const float *params,
                       const float *state, const syn_c_sink *sink)
{
    (void)params, (void)state;
    sink->text(sink->ctx, "\n/* Layer %zu: global average pooling, %zux%zux%zu -> %zu. */\n",
               index, l->in_shape[0], l->in_shape[1], l->in_shape[2], l->in_shape[0]);
}

static void gap_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                       const syn_c_sink *sink)
{
    (void)index;
    sink->text(sink->ctx, "    for (j = 0; j < %zu; j++) {\n"
               "        double s = 0.0;\n        size_t k;\n"
               "        for (k = 0; k < %zu; k++)\n"
               "            s += (double)%s[j * %zu + k];\n"
               "        %s[j] = (float)(s / %zu.0);\n    }\n", l->in_shape[0], l->spatial,
               src, l->spatial, dst, l->spatial);
}

const syn_layer_ops syn_global_avgpool_ops = {
    .name = "globalavgpool",
    .plan_shape = gap_plan,
    .setup = gap_setup,
    .init = pool_init,
    .forward = gap_forward,
    .backward = gap_backward,
    .small_ok = syn_layer_not_small,
    .attrs = syn_layer_no_attrs,
    .set_attrs = syn_layer_set_no_attrs,
    .state_ok = NULL,
    .onnx_emit = gap_onnx,
    .c_data = gap_c_data,
    .c_body = gap_c_body,
};
