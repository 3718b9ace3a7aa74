/* layer.c - the table of layer kinds and what the kinds share: the fused
 * bias + activation pass, column sums, the common description checks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "layers/layer.h"

static const syn_layer_ops *const kinds[] = {
    [SYN_LAYER_DENSE] = &syn_dense_ops,
    [SYN_LAYER_DROPOUT] = &syn_dropout_ops,
    [SYN_LAYER_BATCHNORM] = &syn_batchnorm_ops,
    [SYN_LAYER_LAYERNORM] = &syn_layernorm_ops,
    [SYN_LAYER_CONV2D] = &syn_conv2d_ops,
    [SYN_LAYER_MAXPOOL2D] = &syn_maxpool2d_ops,
    [SYN_LAYER_AVGPOOL2D] = &syn_avgpool2d_ops,
    [SYN_LAYER_GLOBAL_AVGPOOL] = &syn_global_avgpool_ops,
    [SYN_LAYER_BATCHNORM2D] = &syn_batchnorm2d_ops,
    [SYN_LAYER_DROPOUT2D] = &syn_dropout2d_ops,
    [SYN_LAYER_FLATTEN] = &syn_flatten_ops,
};
_Static_assert(sizeof kinds / sizeof kinds[0] == SYN_LAYER_COUNT_, "one row per layer kind");

const syn_layer_ops *syn_layer_ops_of(syn_layer_kind kind)
{
    return kinds[kind];
}

const char *syn_layer_kind_name(syn_layer_kind kind)
{
    return (unsigned)kind < SYN_LAYER_COUNT_ ? kinds[kind]->name : NULL;
}

syn_pool *syn_layer_pool_for(syn_pool *pool, size_t elems)
{
    return elems > SYN_LAYER_PARALLEL_MIN ? pool : NULL;
}

typedef struct bias_act_job {
    const syn_layer *layer;
    const float *bias;
    float *z, *logits;
} bias_act_job;

static void bias_act_rows(void *ctx, size_t lo, size_t hi)
{
    const bias_act_job *j = ctx;
    size_t u = j->layer->units;
    for (size_t r = lo; r < hi; r++) {
        float *zr = j->z + r * u;
        if (j->bias)
            for (size_t c = 0; c < u; c++)
                zr[c] += j->bias[c];
        if (j->logits)
            memcpy(j->logits + r * u, zr, u * sizeof(float));
        syn_activation_forward(j->layer->activation, j->layer->leaky_slope, zr, 1, u);
    }
}

void syn_layer_bias_activate(const syn_layer *layer, const float *bias, float *z, float *logits,
                             size_t batch, syn_pool *pool)
{
    size_t u = layer->units;
    if (batch * u <= SYN_LAYER_PARALLEL_MIN) {
        /* Small blocks: whole-block loops, no per-row calls. */
        if (bias)
            for (size_t r = 0; r < batch; r++)
                for (size_t j = 0; j < u; j++)
                    z[r * u + j] += bias[j];
        if (logits)
            memcpy(logits, z, batch * u * sizeof(float));
        syn_activation_forward(layer->activation, layer->leaky_slope, z, batch, u);
        return;
    }
    bias_act_job job = {layer, bias, z, logits};
    syn_pool_run_ranges(pool, batch, SYN_LAYER_ROWS_PER_CHUNK, bias_act_rows, &job);
}

typedef struct colsum_job {
    float *sum;
    const float *m;
    size_t rows, cols;
} colsum_job;

/* Columns [lo, hi): each streams m row by row into its own sums. */
SYN_VECTOR_CLONES
static void colsum_cols(void *ctx, size_t lo, size_t hi)
{
    const colsum_job *j = ctx;
    for (size_t c0 = lo; c0 < hi; c0 += SYN_LAYER_COLS_PER_CHUNK) {
        size_t c1 = hi - c0 < SYN_LAYER_COLS_PER_CHUNK ? hi : c0 + SYN_LAYER_COLS_PER_CHUNK;
        for (size_t c = c0; c < c1; c++)
            j->sum[c] = 0.0f;
        for (size_t r = 0; r < j->rows; r++)
            for (size_t c = c0; c < c1; c++)
                j->sum[c] += j->m[r * j->cols + c];
    }
}

void syn_layer_column_sums(float *sum, const float *m, size_t rows, size_t cols,
                           syn_pool *pool)
{
    colsum_job job = {sum, m, rows, cols};
    syn_pool_run_ranges(syn_layer_pool_for(pool, rows * cols), cols, SYN_LAYER_COLS_PER_CHUNK,
                        colsum_cols, &job);
}

static int check_activation(const syn_layer_desc *d, int is_last, char *why, size_t why_size)
{
    if ((unsigned)d->activation >= SYN_ACT_COUNT_) {
        snprintf(why, why_size, "unknown activation %u", (unsigned)d->activation);
        return 0;
    }
    if (!syn_activation_param_ok(d->activation, d->leaky_slope)) {
        snprintf(why, why_size, "activation parameter %g is not a finite value >= 0",
                 (double)d->leaky_slope);
        return 0;
    }
    if (syn_act_info_of(d->activation)->output_only && !is_last) {
        snprintf(why, why_size, "%s before the output layer", syn_activation_name(d->activation));
        return 0;
    }
    return 1;
}

static int window_set(const syn_layer_desc *d)
{
    return d->kernel[0] || d->kernel[1] || d->stride[0] || d->stride[1] || d->padding[0] ||
           d->padding[1];
}

static int conv_set(const syn_layer_desc *d)
{
    return d->dilation[0] || d->dilation[1] || d->groups || d->pad_same;
}

int syn_layer_check_common(const syn_layer_desc *d, int is_last, char *why, size_t why_size)
{
    if (window_set(d) || conv_set(d) || d->exclude_pad) {
        snprintf(why, why_size, "kernel, stride, padding, dilation, groups and pad options "
                                "are a convolution's or pooling's");
        return 0;
    }
    return check_activation(d, is_last, why, why_size);
}

int syn_layer_check_fields(const syn_layer_desc *d, unsigned takes, int is_last, char *why,
                           size_t why_size)
{
    /* no_bias is moot for a kind without a bias (as dropout.c has it). */
    const char *bad = NULL;
    if (!(takes & SYN_FIELD_ACTIVATION) &&
        (d->activation != SYN_ACT_LINEAR || d->leaky_slope != 0.0f))
        bad = "activation";
    else if (!(takes & SYN_FIELD_RATE) && d->rate != 0.0f)
        bad = "rate";
    else if (!(takes & SYN_FIELD_NORM) && (d->eps != 0.0f || d->momentum != 0.0f))
        bad = "eps or momentum";
    else if (!(takes & SYN_FIELD_WINDOW) && window_set(d))
        bad = "kernel, stride or padding";
    else if (!(takes & SYN_FIELD_CONV) && conv_set(d))
        bad = "dilation, groups or same padding";
    else if (!(takes & SYN_FIELD_EXCLUDE) && d->exclude_pad)
        bad = "exclude_pad";
    if (bad) {
        snprintf(why, why_size, "this kind takes no %s", bad);
        return 0;
    }
    return check_activation(d, is_last, why, why_size);
}

int syn_layer_attr_sizes(const float *v, size_t n, size_t *out, char *why, size_t why_size)
{
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] >= 0.0f && v[i] <= 16777216.0f) || v[i] != floorf(v[i])) {
            snprintf(why, why_size, "attribute %zu (%g) is not a size", i, (double)v[i]);
            return 0;
        }
        out[i] = (size_t)v[i];
    }
    return 1;
}

size_t syn_layer_no_attrs(const syn_layer *l, float *out)
{
    (void)l, (void)out;
    return 0;
}

int syn_layer_set_no_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                           size_t why_size)
{
    (void)d, (void)v;
    return syn_layer_attr_count(n, 0, why, why_size);
}

int syn_layer_not_small(const syn_layer *l)
{
    (void)l;
    return 0;
}

int syn_layer_window_out(size_t n, size_t k, size_t s, size_t dil, size_t pad_total,
                         size_t *out)
{
    size_t span, padded;
    if (k == 0 || s == 0 || !syn_mul_size(dil > 1 ? dil : 1, k - 1, &span) ||
        !syn_add_size(span, 1, &span) || !syn_add_size(n, pad_total, &padded) || padded < span)
        return 0;
    *out = (padded - span) / s + 1;
    return 1;
}

int syn_layer_check_same_width(const syn_layer_desc *d, size_t n_in, char *why,
                               size_t why_size)
{
    if (d->units != 0 && d->units != n_in) {
        snprintf(why, why_size, "units %zu: this kind keeps its input width %zu", d->units,
                 n_in);
        return 0;
    }
    return 1;
}

int syn_layer_attr_count(size_t n, size_t want, char *why, size_t why_size)
{
    if (n == want)
        return 1;
    snprintf(why, why_size, "%zu attributes, this kind has %zu", n, want);
    return 0;
}
