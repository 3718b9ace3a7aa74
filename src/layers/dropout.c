/* dropout.c - PyTorch's nn.Dropout(p): "During training, randomly zeroes
 * some of the elements of the input tensor with probability p ... the
 * outputs are scaled by a factor of 1/(1-p) during training. This means
 * that during evaluation the module simply computes an identity function."
 * (https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html)
 *
 * The mask is not stored: element (r, c) is kept when a counter-based hash
 * of (seed, step, sample id of row r, c) clears the rate, so it is the
 * same whichever thread computes it, for any thread count, after a resume
 * (the step and the seed are the trainer's, the sample id the dataset
 * row), and backward recomputes it instead of reading a saved one. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "layers/layer.h"

static uint64_t mix64(uint64_t z)
{
    /* splitmix64's finalizer (Steele, Lea & Flood 2014). */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The key of one row of one step: all of (seed, step, sample) avalanche
 * into it. */
static uint64_t row_key(uint64_t seed, uint64_t step, uint64_t sample)
{
    uint64_t k = mix64(seed ^ 0x6a09e667f3bcc909ULL);
    k = mix64(k ^ (step + 0x9e3779b97f4a7c15ULL));
    return mix64(k ^ (sample * 0xd1b54a32d192ed03ULL + 1));
}

/* Per unit: murmur3's 32-bit finalizer over the row key and the unit
 * (32-bit arithmetic, so the loop over units vectorizes). */
static inline uint32_t unit_hash(uint64_t key, uint32_t unit)
{
    uint32_t h = (uint32_t)key + unit * 0x9e3779b9u;
    h ^= (uint32_t)(key >> 32);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* Drop when the top 24 bits of the hash are below rate * 2^24. */
static uint32_t threshold(float rate)
{
    return (uint32_t)lround((double)rate * 16777216.0);
}

static syn_status dropout_plan(const syn_layer_desc *d, size_t n_in, int is_last,
                               syn_layer_plan *p, char *why, size_t why_size)
{
    if (!syn_layer_check_same_width(d, n_in, why, why_size) ||
        !syn_layer_check_common(d, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    if (!(d->rate >= 0.0f && d->rate < 1.0f)) {
        snprintf(why, why_size, "rate %g is not in [0, 1)", (double)d->rate);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    /* no_bias is moot: there is no bias either way. */
    if (d->activation != SYN_ACT_LINEAR || d->leaky_slope != 0.0f || d->eps != 0.0f ||
        d->momentum != 0.0f) {
        snprintf(why, why_size, "a dropout layer takes only a rate (no activation, eps or "
                                "momentum)");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    memset(p, 0, sizeof *p);
    p->units = n_in;
    return SYN_OK;
}

static void dropout_setup(syn_layer *l, const syn_layer_desc *d)
{
    l->rate = d->rate;
    l->has_bias = 0;
    l->spatial = 1;
}

static void dropout_init(const syn_layer *l, float *params, float *state, syn_init init,
                         syn_rng *rng)
{
    (void)l, (void)params, (void)state, (void)init, (void)rng;
}

typedef struct mask_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    const float *src;
    float *dst;
    float *logits;
} mask_job;

/* dst = src * mask / (1 - rate) on rows [lo, hi): per unit, or per
 * channel of l->spatial units (Dropout2d). */
SYN_VECTOR_CLONES
static void mask_rows(void *ctx, size_t lo, size_t hi)
{
    const mask_job *j = ctx;
    size_t u = j->l->units, ns = j->l->spatial;
    uint32_t thr = threshold(j->l->rate);
    float scale = 1.0f / (1.0f - j->l->rate);
    for (size_t r = lo; r < hi; r++) {
        uint64_t sample = j->p->sample ? j->p->sample[r] : r;
        uint64_t key = row_key(j->p->seed, j->p->step, sample);
        const float *s = j->src + r * u;
        float *d = j->dst + r * u;
        if (ns == 1) {
            for (size_t c = 0; c < u; c++) {
                uint32_t h = unit_hash(key, (uint32_t)c);
                d[c] = (h >> 8) >= thr ? s[c] * scale : 0.0f;
            }
        } else {
            for (size_t ch = 0; ch * ns < u; ch++) {
                float keep = (unit_hash(key, (uint32_t)ch) >> 8) >= thr ? scale : 0.0f;
                for (size_t k = ch * ns; k < (ch + 1) * ns; k++)
                    d[k] = s[k] * keep;
            }
        }
        if (j->logits)
            memcpy(j->logits + r * u, d, u * sizeof(float));
    }
}

static void apply_mask(const syn_layer *l, const syn_layer_pass *p, const float *src,
                       float *dst, float *logits)
{
    mask_job job = {l, p, src, dst, logits};
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->units), p->batch,
                        SYN_LAYER_ROWS_PER_CHUNK, mask_rows, &job);
}

static void dropout_forward(const syn_layer *l, const syn_layer_pass *p)
{
    size_t n = p->batch * l->units;
    if (p->train && l->rate > 0.0f) {
        apply_mask(l, p, p->in, p->out, p->logits);
        return;
    }
    memcpy(p->out, p->in, n * sizeof(float));
    if (p->logits)
        memcpy(p->logits, p->in, n * sizeof(float));
}

static void dropout_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                             float *grads, float *d_in)
{
    (void)grads;
    if (!d_in)
        return;
    if (p->train && l->rate > 0.0f)
        apply_mask(l, p, dz, d_in, NULL);
    else
        memcpy(d_in, dz, p->batch * l->units * sizeof(float));
}

static int dropout_small_ok(const syn_layer *l)
{
    (void)l;
    return 0;
}

/* Attributes: the rate. */
static size_t dropout_attrs(const syn_layer *l, float *out)
{
    out[0] = l->rate;
    return 1;
}

static int dropout_set_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                             size_t why_size)
{
    if (!syn_layer_attr_count(n, 1, why, why_size))
        return 0;
    d->rate = v[0];
    return 1;
}

/* Exports are inference: the identity. ONNX gets no node (as
 * torch.onnx.export of an eval-mode model); C copies the row. */
static int dropout_onnx(const syn_layer *l, size_t index, const float *params,
                        const float *state, const char *in, const char *out,
                        const syn_onnx_sink *sink)
{
    (void)l, (void)index, (void)params, (void)state, (void)in, (void)out, (void)sink;
    return 0;
}

static void dropout_c_data(const syn_layer *l, size_t index, const float *params,
                           const float *state, const syn_c_sink *sink)
{
    (void)params, (void)state;
    sink->text(sink->ctx, "\n/* Layer %zu: dropout (p %g in training), the identity here. */\n",
               index, (double)l->rate);
}

static void dropout_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                           const syn_c_sink *sink)
{
    (void)index;
    sink->text(sink->ctx, "    for (j = 0; j < %zu; j++)\n        %s[j] = %s[j];\n", l->units,
               dst, src);
}

const syn_layer_ops syn_dropout_ops = {
    .name = "dropout",
    .plan = dropout_plan,
    .setup = dropout_setup,
    .init = dropout_init,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .small_ok = dropout_small_ok,
    .attrs = dropout_attrs,
    .set_attrs = dropout_set_attrs,
    .state_ok = NULL,
    .onnx_emit = dropout_onnx,
    .c_data = dropout_c_data,
    .c_body = dropout_c_body,
    .keeps_shape = 1,
};

/* nn.Dropout2d(p) (https://pytorch.org/docs/stable/generated/
 * torch.nn.Dropout2d.html): "randomly zero out entire channels ... Each
 * channel will be zeroed out independently on every forward call with
 * probability p", the kept ones scaled by 1/(1-p). The hash's unit is the
 * channel. */
static syn_status dropout2d_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                                 syn_layer_plan *p, char *why, size_t why_size)
{
    if (!syn_layer_check_fields(d, SYN_FIELD_RATE, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    return dropout_plan(d, in[0] * in[1] * in[2], is_last, p, why, why_size);
}

static void dropout2d_setup(syn_layer *l, const syn_layer_desc *d)
{
    dropout_setup(l, d);
    l->spatial = l->in_shape[1] * l->in_shape[2];
}

const syn_layer_ops syn_dropout2d_ops = {
    .name = "dropout2d",
    .plan_shape = dropout2d_plan,
    .setup = dropout2d_setup,
    .init = dropout_init,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .small_ok = dropout_small_ok,
    .attrs = dropout_attrs,
    .set_attrs = dropout_set_attrs,
    .state_ok = NULL,
    .onnx_emit = dropout_onnx,
    .c_data = dropout_c_data,
    .c_body = dropout_c_body,
    .keeps_shape = 1,
};
