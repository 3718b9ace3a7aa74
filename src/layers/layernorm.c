/* layernorm.c - PyTorch's nn.LayerNorm(units, eps=1e-5,
 * elementwise_affine=True) over each row of [batch x units]
 * (https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html):
 *   y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta
 * "The variance is calculated via the biased estimator"; the same in
 * training and evaluation. Then the activation.
 *
 * Statistics and the input gradient are per row (rows split over the
 * pool), gamma's and beta's gradients per column (columns split, rows
 * summed in order), so nothing depends on the thread count. The saved
 * block keeps each row's mean and 1/sqrt(var + eps). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer.h"

#define LN_EPS 1e-5f

static syn_status ln_plan(const syn_layer_desc *d, size_t n_in, int is_last, syn_layer_plan *p,
                          char *why, size_t why_size)
{
    if (!syn_layer_check_same_width(d, n_in, why, why_size) ||
        !syn_layer_check_common(d, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    if (!(d->eps >= 0.0f) || !isfinite(d->eps)) {
        snprintf(why, why_size, "eps %g is not a finite value > 0", (double)d->eps);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (d->rate != 0.0f || d->momentum != 0.0f) {
        snprintf(why, why_size, "rate and momentum are not a layer norm's");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    memset(p, 0, sizeof *p);
    p->units = n_in;
    p->w_size = n_in;
    p->b_size = d->no_bias ? 0 : n_in;
    p->saved_per_row = 2;
    return SYN_OK;
}

static void ln_setup(syn_layer *l, const syn_layer_desc *d)
{
    l->eps = d->eps != 0.0f ? d->eps : LN_EPS;
}

/* PyTorch's reset_parameters: weight 1, bias 0. */
static void ln_init(const syn_layer *l, float *params, float *state, syn_init init,
                    syn_rng *rng)
{
    (void)state, (void)init, (void)rng;
    for (size_t c = 0; c < l->units; c++)
        params[l->w_off + c] = 1.0f;
    if (l->has_bias)
        memset(params + l->b_off, 0, l->units * sizeof(float));
}

typedef struct ln_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    const float *dz;
    float *grads, *d_in;
} ln_job;

static void ln_forward_rows(void *ctx, size_t lo, size_t hi)
{
    const ln_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t u = l->units;
    const float *gamma = p->params + l->w_off;
    const float *beta = l->has_bias ? p->params + l->b_off : NULL;
    for (size_t r = lo; r < hi; r++) {
        const float *x = p->in + r * u;
        float *z = p->out + r * u;
        double s = 0.0, q = 0.0;
        for (size_t c = 0; c < u; c++)
            s += (double)x[c];
        s /= (double)u;
        for (size_t c = 0; c < u; c++)
            q += ((double)x[c] - s) * ((double)x[c] - s);
        float mean = (float)s, inv = (float)(1.0 / sqrt(q / (double)u + (double)l->eps));
        p->saved[2 * r] = mean;
        p->saved[2 * r + 1] = inv;
        for (size_t c = 0; c < u; c++)
            z[c] = (x[c] - mean) * inv * gamma[c] + (beta ? beta[c] : 0.0f);
    }
}

static void ln_forward(const syn_layer *l, const syn_layer_pass *p)
{
    ln_job job = {l, p, NULL, NULL, NULL};
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->units), p->batch,
                        SYN_LAYER_ROWS_PER_CHUNK, ln_forward_rows, &job);
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

/* dx = inv * (g - mean(g) - xh * mean(g * xh)), g = dz * gamma. */
static void ln_input_rows(void *ctx, size_t lo, size_t hi)
{
    const ln_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t u = l->units;
    const float *gamma = p->params + l->w_off;
    for (size_t r = lo; r < hi; r++) {
        const float *x = p->in + r * u, *d = j->dz + r * u;
        float mean = p->saved[2 * r], inv = p->saved[2 * r + 1];
        double sg = 0.0, sgx = 0.0;
        for (size_t c = 0; c < u; c++) {
            double g = (double)d[c] * (double)gamma[c];
            sg += g;
            sgx += g * ((double)x[c] - (double)mean) * (double)inv;
        }
        float mg = (float)(sg / (double)u), mgx = (float)(sgx / (double)u);
        float *dx = j->d_in + r * u;
        for (size_t c = 0; c < u; c++) {
            float xh = (x[c] - mean) * inv;
            dx[c] = inv * (d[c] * gamma[c] - mg - xh * mgx);
        }
    }
}

/* dgamma = sum_r dz * xh, dbeta = sum_r dz, columns in fixed blocks. */
static void ln_param_cols(void *ctx, size_t lo, size_t hi)
{
    const ln_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t u = l->units;
    enum { B = SYN_LAYER_COLS_PER_CHUNK };
    for (size_t c0 = lo; c0 < hi; c0 += B) {
        size_t c1 = hi - c0 < B ? hi : c0 + B;
        double sd[B], sx[B];
        for (size_t c = c0; c < c1; c++)
            sd[c - c0] = sx[c - c0] = 0.0;
        for (size_t r = 0; r < p->batch; r++) {
            float mean = p->saved[2 * r], inv = p->saved[2 * r + 1];
            for (size_t c = c0; c < c1; c++) {
                double d = (double)j->dz[r * u + c];
                sd[c - c0] += d;
                sx[c - c0] += d * (double)((p->in[r * u + c] - mean) * inv);
            }
        }
        for (size_t c = c0; c < c1; c++) {
            j->grads[l->w_off + c] = (float)sx[c - c0];
            if (l->has_bias)
                j->grads[l->b_off + c] = (float)sd[c - c0];
        }
    }
}

static void ln_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                        float *grads, float *d_in)
{
    ln_job job = {l, p, dz, grads, d_in};
    syn_pool *pool = syn_layer_pool_for(p->pool, p->batch * l->units);
    syn_pool_run_ranges(pool, l->units, SYN_LAYER_COLS_PER_CHUNK, ln_param_cols, &job);
    if (d_in)
        syn_pool_run_ranges(pool, p->batch, SYN_LAYER_ROWS_PER_CHUNK, ln_input_rows, &job);
}

static int ln_small_ok(const syn_layer *l)
{
    (void)l;
    return 0;
}

/* Attributes: the effective eps. */
static size_t ln_attrs(const syn_layer *l, float *out)
{
    out[0] = l->eps;
    return 1;
}

static int ln_set_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                        size_t why_size)
{
    if (!syn_layer_attr_count(n, 1, why, why_size))
        return 0;
    if (!(v[0] > 0.0f)) {
        snprintf(why, why_size, "eps %g must be > 0", (double)v[0]);
        return 0;
    }
    d->eps = v[0];
    return 1;
}

const syn_layer_ops syn_layernorm_ops = {
    .name = "layernorm",
    .plan = ln_plan,
    .setup = ln_setup,
    .init = ln_init,
    .forward = ln_forward,
    .backward = ln_backward,
    .small_ok = ln_small_ok,
    .attrs = ln_attrs,
    .set_attrs = ln_set_attrs,
    .state_ok = NULL,
    .keeps_shape = 1,
};
