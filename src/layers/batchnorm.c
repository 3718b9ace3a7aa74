/* batchnorm.c - PyTorch's nn.BatchNorm1d(num_features, eps=1e-5,
 * momentum=0.1, affine=True, track_running_stats=True) on [batch x units]
 * (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm1d.html):
 *   y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta
 * "The mean and standard-deviation are calculated per-dimension over the
 * mini-batches ... The standard-deviation is calculated via the biased
 * estimator"; in training the running estimates are updated as
 * x_new = (1 - momentum) * x_hat + momentum * x_t with the unbiased
 * variance, and evaluation normalizes with them. Then the activation.
 *
 * Work is split by columns: each chunk owns whole columns and sums their
 * rows in row order (in double), so the batch statistics and the gradients
 * are the same for any thread count. The saved block keeps each column's
 * mean and 1/sqrt(var + eps) of the last pass (the batch's in training,
 * the running ones at inference) for backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "layers/layer.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

static syn_status bn_plan(const syn_layer_desc *d, size_t n_in, int is_last, syn_layer_plan *p,
                          char *why, size_t why_size)
{
    if (!syn_layer_check_same_width(d, n_in, why, why_size) ||
        !syn_layer_check_common(d, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    if (!(d->eps >= 0.0f) || !isfinite(d->eps)) {
        snprintf(why, why_size, "eps %g is not a finite value > 0", (double)d->eps);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (!(d->momentum >= 0.0f && d->momentum <= 1.0f)) {
        snprintf(why, why_size, "momentum %g is not in (0, 1]", (double)d->momentum);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (d->rate != 0.0f) {
        snprintf(why, why_size, "rate is a dropout layer's");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    memset(p, 0, sizeof *p);
    p->units = n_in;
    p->w_size = n_in;
    p->b_size = d->no_bias ? 0 : n_in;
    if (n_in > SIZE_MAX / 2) {
        snprintf(why, why_size, "%zu units overflow", n_in);
        return SYN_ERR_OVERFLOW;
    }
    p->n_state = 2 * n_in;
    p->saved_fixed = 2 * n_in;
    p->min_train_batch = 2;
    return SYN_OK;
}

static void bn_setup(syn_layer *l, const syn_layer_desc *d)
{
    l->eps = d->eps != 0.0f ? d->eps : BN_EPS;
    l->momentum = d->momentum != 0.0f ? d->momentum : BN_MOMENTUM;
    l->channels = l->units;
    l->spatial = 1;
}

/* PyTorch's reset_parameters: weight 1, bias 0; running_mean 0, var 1. */
static void bn_init(const syn_layer *l, float *params, float *state, syn_init init,
                    syn_rng *rng)
{
    (void)init, (void)rng;
    for (size_t c = 0; c < l->channels; c++) {
        params[l->w_off + c] = 1.0f;
        state[l->s_off + c] = 0.0f;
        state[l->s_off + l->channels + c] = 1.0f;
    }
    if (l->has_bias)
        memset(params + l->b_off, 0, l->channels * sizeof(float));
}

typedef struct bn_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    const float *dz;
    float *grads, *d_in;
} bn_job;

#define BLOCK SYN_LAYER_COLS_PER_CHUNK

/* Element (row r, channel c, position s) of a [batch x channels x spatial]
 * block: BatchNorm1d's columns are the channels with spatial 1. */
#define AT(m, r, c, s) ((m)[((r) * nc + (c)) * ns + (s)])

/* Channels [c0, c1): the mean and 1/sqrt(var + eps) into the saved block,
 * from the batch (training, updating the running statistics) or from the
 * running statistics. Sums run over rows, then positions, in order. */
static void bn_stats(const bn_job *j, size_t c0, size_t c1)
{
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t nc = l->channels, ns = l->spatial, b = p->batch;
    float *mean = p->saved, *inv = p->saved + nc;
    const float *rmean = p->state + l->s_off, *rvar = rmean + nc;
    if (!p->train) {
        for (size_t c = c0; c < c1; c++) {
            mean[c] = rmean[c];
            inv[c] = (float)(1.0 / sqrt((double)rvar[c] + (double)l->eps));
        }
        return;
    }
    double s[BLOCK], q[BLOCK];
    double n = (double)b * (double)ns;
    for (size_t c = c0; c < c1; c++)
        s[c - c0] = q[c - c0] = 0.0;
    for (size_t r = 0; r < b; r++)
        for (size_t c = c0; c < c1; c++)
            for (size_t k = 0; k < ns; k++)
                s[c - c0] += (double)AT(p->in, r, c, k);
    for (size_t c = c0; c < c1; c++)
        s[c - c0] /= n;
    for (size_t r = 0; r < b; r++)
        for (size_t c = c0; c < c1; c++)
            for (size_t k = 0; k < ns; k++) {
                double dx = (double)AT(p->in, r, c, k) - s[c - c0];
                q[c - c0] += dx * dx;
            }
    float *wmean = p->state_out + l->s_off, *wvar = wmean + nc;
    double m = (double)l->momentum;
    for (size_t c = c0; c < c1; c++) {
        double var = q[c - c0] / n;
        mean[c] = (float)s[c - c0];
        inv[c] = (float)(1.0 / sqrt(var + (double)l->eps));
        wmean[c] = (float)((1.0 - m) * (double)wmean[c] + m * s[c - c0]);
        wvar[c] = (float)((1.0 - m) * (double)wvar[c] + m * (q[c - c0] / (n - 1.0)));
    }
}

SYN_VECTOR_CLONES
static void bn_forward_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t nc = l->channels, ns = l->spatial;
    const float *gamma = p->params + l->w_off;
    const float *beta = l->has_bias ? p->params + l->b_off : NULL;
    for (size_t c0 = lo; c0 < hi; c0 += BLOCK) {
        size_t c1 = hi - c0 < BLOCK ? hi : c0 + BLOCK;
        bn_stats(j, c0, c1);
        float a[BLOCK], sh[BLOCK];
        for (size_t c = c0; c < c1; c++) {
            a[c - c0] = p->saved[nc + c] * gamma[c];
            sh[c - c0] = beta ? beta[c] : 0.0f;
        }
        const float *mean = p->saved;
        for (size_t r = 0; r < p->batch; r++)
            for (size_t c = c0; c < c1; c++)
                for (size_t k = 0; k < ns; k++)
                    AT(p->out, r, c, k) = (AT(p->in, r, c, k) - mean[c]) * a[c - c0] + sh[c - c0];
    }
}

/* Channels per chunk: BatchNorm1d's columns in blocks; a channel of a
 * feature map is enough work alone. */
static size_t chunk_channels(const syn_layer *l)
{
    return l->spatial > 1 ? 1 : BLOCK;
}

/* ------------------------------------------------------------ a shared batch
 * With p->sync (a sharded step, core/shard.c) the statistics are over the
 * whole batch, whose rows are split into parts over several passes: each
 * part's sums run over its own rows in order (in double, as above), the
 * sync adds the parts' sums in part order, and every pass normalizes its
 * rows with the same totals. Forward: the sums of x give the mean, then the
 * sums of (x - mean)^2 the variance (two collectives, the two passes of
 * bn_stats); backward: the sums of dz and dz * xh (one). The gradients of
 * gamma and beta are each part's own sums, in its gradient arena. */

typedef struct bn_sync_job {
    const syn_layer *l;
    const syn_layer_pass *p;
    const float *dz;
    float *d_in;
} bn_sync_job;

/* Part k's rows [lo, hi): the sum of x (square 0) or of (x - mean)^2 per
 * channel of [c0, c1) into out[c]. */
static void bn_part_sums(const bn_sync_job *j, size_t lo, size_t hi, size_t c0, size_t c1,
                         int square, const double *mean, double *out)
{
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t nc = l->channels, ns = l->spatial;
    for (size_t c = c0; c < c1; c++)
        out[c] = 0.0;
    for (size_t r = lo; r < hi; r++)
        for (size_t c = c0; c < c1; c++)
            for (size_t k = 0; k < ns; k++) {
                double x = (double)AT(p->in, r, c, k);
                if (square) {
                    double dx = x - mean[c];
                    out[c] += dx * dx;
                } else {
                    out[c] += x;
                }
            }
}

static void bn_sums_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_sync_job *j = ctx;
    const syn_layer_sync *y = j->p->sync;
    size_t nc = j->l->channels;
    for (size_t k = 0; k < y->n_parts; k++)
        bn_part_sums(j, y->cuts[k], y->cuts[k + 1], lo, hi, 0, NULL, y->work + k * nc);
}

static void bn_squares_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_sync_job *j = ctx;
    const syn_layer_sync *y = j->p->sync;
    size_t nc = j->l->channels;
    for (size_t k = 0; k < y->n_parts; k++)
        bn_part_sums(j, y->cuts[k], y->cuts[k + 1], lo, hi, 1, y->totals, y->work + k * nc);
}

/* The totals' mean (totals[0..nc)) and squares (totals[nc..2nc)) into the
 * saved block and the running statistics, then the rows normalized. */
SYN_VECTOR_CLONES
static void bn_normalize_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_sync_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    const double *mean_d = p->sync->totals, *q = p->sync->totals + l->channels;
    size_t nc = l->channels, ns = l->spatial;
    double n = (double)p->sync->total_rows * (double)ns, m = (double)l->momentum;
    float *mean = p->saved, *inv = p->saved + nc;
    float *wmean = p->state_out + l->s_off, *wvar = wmean + nc;
    const float *gamma = p->params + l->w_off;
    const float *beta = l->has_bias ? p->params + l->b_off : NULL;
    for (size_t c0 = lo; c0 < hi; c0 += BLOCK) {
        size_t c1 = hi - c0 < BLOCK ? hi : c0 + BLOCK;
        float a[BLOCK], sh[BLOCK];
        for (size_t c = c0; c < c1; c++) {
            double var = q[c] / n;
            mean[c] = (float)mean_d[c];
            inv[c] = (float)(1.0 / sqrt(var + (double)l->eps));
            wmean[c] = (float)((1.0 - m) * (double)wmean[c] + m * mean_d[c]);
            wvar[c] = (float)((1.0 - m) * (double)wvar[c] + m * (q[c] / (n - 1.0)));
            a[c - c0] = inv[c] * gamma[c];
            sh[c - c0] = beta ? beta[c] : 0.0f;
        }
        for (size_t r = 0; r < p->batch; r++)
            for (size_t c = c0; c < c1; c++)
                for (size_t k = 0; k < ns; k++)
                    AT(p->out, r, c, k) = (AT(p->in, r, c, k) - mean[c]) * a[c - c0] + sh[c - c0];
    }
}

static void bn_forward_synced(const syn_layer *l, const syn_layer_pass *p)
{
    const syn_layer_sync *y = p->sync;
    bn_sync_job job = {l, p, NULL, NULL};
    size_t nc = l->channels, chunk = chunk_channels(l);
    syn_pool *pool = syn_layer_pool_for(p->pool, p->batch * l->units);
    double n = (double)y->total_rows * (double)l->spatial;
    syn_pool_run_ranges(pool, nc, chunk, bn_sums_cols, &job);
    y->combine(y->ctx, y->work, nc, y->totals);
    for (size_t c = 0; c < nc; c++)
        y->totals[c] /= n;
    syn_pool_run_ranges(pool, nc, chunk, bn_squares_cols, &job);
    y->combine(y->ctx, y->work, nc, y->totals + nc);
    syn_pool_run_ranges(pool, nc, chunk, bn_normalize_cols, &job);
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

/* Each part's sums of dz (into work[k][0..nc)) and dz * xh (work[k][nc..2nc))
 * over its rows, and its gradients of gamma and beta. */
static void bn_grad_sums_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_sync_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    const syn_layer_sync *y = p->sync;
    size_t nc = l->channels, ns = l->spatial;
    const float *mean = p->saved, *inv = p->saved + nc;
    for (size_t part = 0; part < y->n_parts; part++) {
        double *sd = y->work + part * 2 * nc, *sx = sd + nc;
        for (size_t c = lo; c < hi; c++)
            sd[c] = sx[c] = 0.0;
        for (size_t r = y->cuts[part]; r < y->cuts[part + 1]; r++)
            for (size_t c = lo; c < hi; c++)
                for (size_t k = 0; k < ns; k++) {
                    double d = (double)AT(j->dz, r, c, k);
                    double xh = ((double)AT(p->in, r, c, k) - (double)mean[c]) * (double)inv[c];
                    sd[c] += d;
                    sx[c] += d * xh;
                }
        float *g = y->grads[part];
        for (size_t c = lo; c < hi; c++) {
            g[l->w_off + c] = (float)sx[c];
            if (l->has_bias)
                g[l->b_off + c] = (float)sd[c];
        }
    }
}

SYN_VECTOR_CLONES
static void bn_input_grad_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_sync_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t nc = l->channels, ns = l->spatial;
    double n = (double)p->sync->total_rows * (double)ns;
    const double *sd = p->sync->totals, *sx = sd + nc;
    const float *gamma = p->params + l->w_off;
    const float *mean = p->saved, *inv = p->saved + nc;
    for (size_t c0 = lo; c0 < hi; c0 += BLOCK) {
        size_t c1 = hi - c0 < BLOCK ? hi : c0 + BLOCK;
        float g[BLOCK], md[BLOCK], mx[BLOCK];
        for (size_t c = c0; c < c1; c++) {
            g[c - c0] = gamma[c] * inv[c];
            md[c - c0] = (float)(sd[c] / n);
            mx[c - c0] = (float)(sx[c] / n);
        }
        for (size_t r = 0; r < p->batch; r++)
            for (size_t c = c0; c < c1; c++)
                for (size_t k = 0; k < ns; k++) {
                    float xh = (AT(p->in, r, c, k) - mean[c]) * inv[c];
                    AT(j->d_in, r, c, k) =
                        g[c - c0] * (AT(j->dz, r, c, k) - md[c - c0] - xh * mx[c - c0]);
                }
    }
}

/* The gradients go to the parts' arenas (sync->grads), not grads. */
static void bn_backward_synced(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                               float *d_in)
{
    const syn_layer_sync *y = p->sync;
    bn_sync_job job = {l, p, dz, d_in};
    size_t nc = l->channels, chunk = chunk_channels(l);
    syn_pool *pool = syn_layer_pool_for(p->pool, p->batch * l->units);
    syn_pool_run_ranges(pool, nc, chunk, bn_grad_sums_cols, &job);
    y->combine(y->ctx, y->work, 2 * nc, y->totals);
    if (d_in)
        syn_pool_run_ranges(pool, nc, chunk, bn_input_grad_cols, &job);
}

static void bn_forward(const syn_layer *l, const syn_layer_pass *p)
{
    if (p->train && p->sync) {
        bn_forward_synced(l, p);
        return;
    }
    bn_job job = {l, p, NULL, NULL, NULL};
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->units), l->channels,
                        chunk_channels(l), bn_forward_cols, &job);
    syn_layer_bias_activate(l, NULL, p->out, p->logits, p->batch, p->pool);
}

/* Training: with xh = (x - mean) * inv and n = batch * spatial values per
 * channel,
 *   dbeta = sum dz, dgamma = sum dz * xh,
 *   dx = gamma * inv / n * (n * dz - dbeta - xh * dgamma);
 * inference (fixed statistics): dx = dz * gamma * inv. */
SYN_VECTOR_CLONES
static void bn_backward_cols(void *ctx, size_t lo, size_t hi)
{
    const bn_job *j = ctx;
    const syn_layer *l = j->l;
    const syn_layer_pass *p = j->p;
    size_t nc = l->channels, ns = l->spatial, b = p->batch;
    double n = (double)b * (double)ns;
    const float *gamma = p->params + l->w_off;
    const float *mean = p->saved, *inv = p->saved + nc;
    for (size_t c0 = lo; c0 < hi; c0 += BLOCK) {
        size_t c1 = hi - c0 < BLOCK ? hi : c0 + BLOCK;
        double sd[BLOCK], sx[BLOCK];
        for (size_t c = c0; c < c1; c++)
            sd[c - c0] = sx[c - c0] = 0.0;
        for (size_t r = 0; r < b; r++)
            for (size_t c = c0; c < c1; c++)
                for (size_t k = 0; k < ns; k++) {
                    double d = (double)AT(j->dz, r, c, k);
                    double xh = ((double)AT(p->in, r, c, k) - (double)mean[c]) * (double)inv[c];
                    sd[c - c0] += d;
                    sx[c - c0] += d * xh;
                }
        for (size_t c = c0; c < c1; c++) {
            j->grads[l->w_off + c] = (float)sx[c - c0];
            if (l->has_bias)
                j->grads[l->b_off + c] = (float)sd[c - c0];
        }
        if (!j->d_in)
            continue;
        if (!p->train) {
            for (size_t r = 0; r < b; r++)
                for (size_t c = c0; c < c1; c++)
                    for (size_t k = 0; k < ns; k++)
                        AT(j->d_in, r, c, k) = AT(j->dz, r, c, k) * (gamma[c] * inv[c]);
            continue;
        }
        float g[BLOCK], md[BLOCK], mx[BLOCK];
        for (size_t c = c0; c < c1; c++) {
            g[c - c0] = gamma[c] * inv[c];
            md[c - c0] = (float)(sd[c - c0] / n);
            mx[c - c0] = (float)(sx[c - c0] / n);
        }
        for (size_t r = 0; r < b; r++)
            for (size_t c = c0; c < c1; c++)
                for (size_t k = 0; k < ns; k++) {
                    float xh = (AT(p->in, r, c, k) - mean[c]) * inv[c];
                    AT(j->d_in, r, c, k) =
                        g[c - c0] * (AT(j->dz, r, c, k) - md[c - c0] - xh * mx[c - c0]);
                }
    }
}

static void bn_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                        float *grads, float *d_in)
{
    if (p->train && p->sync) {
        bn_backward_synced(l, p, dz, d_in);
        return;
    }
    bn_job job = {l, p, dz, grads, d_in};
    syn_pool_run_ranges(syn_layer_pool_for(p->pool, p->batch * l->units), l->channels,
                        chunk_channels(l), bn_backward_cols, &job);
}

static int bn_small_ok(const syn_layer *l)
{
    (void)l;
    return 0;
}

/* Attributes: the effective eps and momentum (a file never depends on the
 * defaults). */
static size_t bn_attrs(const syn_layer *l, float *out)
{
    out[0] = l->eps;
    out[1] = l->momentum;
    return 2;
}

static int bn_set_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                        size_t why_size)
{
    if (!syn_layer_attr_count(n, 2, why, why_size))
        return 0;
    if (!(v[0] > 0.0f) || !(v[1] > 0.0f)) {
        snprintf(why, why_size, "eps %g and momentum %g must be > 0", (double)v[0],
                 (double)v[1]);
        return 0;
    }
    d->eps = v[0];
    d->momentum = v[1];
    return 1;
}

static int bn_state_ok(const syn_layer *l, const float *state, char *why, size_t why_size)
{
    const float *mean = state + l->s_off, *var = mean + l->channels;
    for (size_t c = 0; c < l->channels; c++)
        if (!isfinite(mean[c]) || !isfinite(var[c]) || var[c] < 0.0f) {
            snprintf(why, why_size, "unit %zu: running mean %g, variance %g", c,
                     (double)mean[c], (double)var[c]);
            return 0;
        }
    return 1;
}

/* ONNX BatchNormalization (inference form, opset 9-13's), per feature of
 * [batch, units] or per channel of [batch, C, H, W]: scale, B, mean,
 * var and epsilon are PyTorch's weight, bias, running_mean, running_var and
 * eps; without beta, B is zeros. */
static int bn_onnx(const syn_layer *l, size_t index, const float *params, const float *state,
                   const char *in, const char *out, const syn_onnx_sink *sink)
{
    char names[4][SYN_ONNX_NAME], node[SYN_ONNX_NAME];
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++)
        snprintf(names[k], sizeof names[k], "batchnorm%zu.%s", index, parts[k]);
    snprintf(node, sizeof node, "batchnorm%zu_bn", index);
    size_t nc = l->channels; /* BatchNorm2d: per channel */
    int64_t dims[1] = {(int64_t)nc};
    sink->tensor(sink->ctx, names[0], dims, 1, params + l->w_off, nc);
    if (l->has_bias) {
        sink->tensor(sink->ctx, names[1], dims, 1, params + l->b_off, nc);
    } else {
        float *zero = calloc(nc, sizeof *zero);
        if (zero)
            sink->tensor(sink->ctx, names[1], dims, 1, zero, nc);
        free(zero);
    }
    sink->tensor(sink->ctx, names[2], dims, 1, state + l->s_off, nc);
    sink->tensor(sink->ctx, names[3], dims, 1, state + l->s_off + nc, nc);
    const char *inputs[5] = {in, names[0], names[1], names[2], names[3]};
    syn_onnx_attr eps = {.name = "epsilon", .type = SYN_ONNX_FLOAT, .f = l->eps};
    sink->node(sink->ctx, "BatchNormalization", node, inputs, 5, out, &eps, 1);
    return 1;
}

/* C: the per-column mean and gamma / sqrt(var + eps) computed here as the
 * library's inference pass computes them, so the header's z is the same
 * float operations: (x - mean) * a + beta. */
static void bn_c_data(const syn_layer *l, size_t index, const float *params, const float *state,
                      const syn_c_sink *sink)
{
    size_t u = l->channels; /* per channel for BatchNorm2d */
    float *a = malloc(u * sizeof *a), *beta = calloc(u, sizeof *beta);
    sink->text(sink->ctx, "\n/* Layer %zu: batch norm over %zu %s (running statistics): "
               "z = (x - mean) * a + beta, a = gamma / sqrt(running_var + eps). */\n", index, u,
               l->spatial > 1 ? "channels" : "features");
    char name[32];
    snprintf(name, sizeof name, "bn%zu_mean", index);
    sink->array(sink->ctx, name, state + l->s_off, u);
    if (a && beta) {
        for (size_t c = 0; c < u; c++) {
            float inv = (float)(1.0 / sqrt((double)state[l->s_off + u + c] + (double)l->eps));
            a[c] = inv * params[l->w_off + c];
            beta[c] = l->has_bias ? params[l->b_off + c] : 0.0f;
        }
        snprintf(name, sizeof name, "bn%zu_a", index);
        sink->array(sink->ctx, name, a, u);
        snprintf(name, sizeof name, "bn%zu_beta", index);
        sink->array(sink->ctx, name, beta, u);
    }
    free(a);
    free(beta);
}

static void bn_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                      const syn_c_sink *sink)
{
    const char *p = sink->prefix;
    if (l->spatial > 1) {
        sink->text(sink->ctx, "    for (j = 0; j < %zu; j++) {\n        size_t k;\n"
                   "        for (k = j * %zu; k < (j + 1) * %zu; k++)\n"
                   "            %s[k] = (%s[k] - %s_bn%zu_mean[j]) * %s_bn%zu_a[j] + "
                   "%s_bn%zu_beta[j];\n    }\n", l->channels, l->spatial, l->spatial, dst, src,
                   p, index, p, index, p, index);
        return;
    }
    sink->text(sink->ctx, "    for (j = 0; j < %zu; j++)\n        %s[j] = (%s[j] - %s_bn%zu_mean[j])"
               " * %s_bn%zu_a[j] + %s_bn%zu_beta[j];\n", l->units, dst, src, p, index, p, index,
               p, index);
}

const syn_layer_ops syn_batchnorm_ops = {
    .name = "batchnorm",
    .plan = bn_plan,
    .setup = bn_setup,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .small_ok = bn_small_ok,
    .attrs = bn_attrs,
    .set_attrs = bn_set_attrs,
    .state_ok = bn_state_ok,
    .onnx_emit = bn_onnx,
    .c_data = bn_c_data,
    .c_body = bn_c_body,
    .keeps_shape = 1,
};

/* nn.BatchNorm2d(num_features) on [batch x C x H x W]
 * (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html):
 * the same computation per channel, "over the (N, H, W) slices" (so the
 * batch statistics are over batch * H * W values, the unbiased running
 * variance divides by one fewer); gamma, beta [C]. */
static syn_status bn2d_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                            syn_layer_plan *p, char *why, size_t why_size)
{
    size_t n_in = in[0] * in[1] * in[2], ns = in[1] * in[2];
    syn_status st = bn_plan(d, n_in, is_last, p, why, why_size);
    if (st != SYN_OK)
        return st;
    p->w_size = in[0];
    p->b_size = d->no_bias ? 0 : in[0];
    p->n_state = p->saved_fixed = 2 * in[0];
    /* "Expected more than 1 value per channel when training". */
    p->min_train_batch = ns > 1 ? 1 : 2;
    return SYN_OK;
}

static void bn2d_setup(syn_layer *l, const syn_layer_desc *d)
{
    bn_setup(l, d);
    l->channels = l->in_shape[0];
    l->spatial = l->in_shape[1] * l->in_shape[2];
}

const syn_layer_ops syn_batchnorm2d_ops = {
    .name = "batchnorm2d",
    .plan_shape = bn2d_plan,
    .setup = bn2d_setup,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .small_ok = bn_small_ok,
    .attrs = bn_attrs,
    .set_attrs = bn_set_attrs,
    .state_ok = bn_state_ok,
    .onnx_emit = bn_onnx,
    .c_data = bn_c_data,
    .c_body = bn_c_body,
    .keeps_shape = 1,
};
