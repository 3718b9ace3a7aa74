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

#include "base/util.h"
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

SYN_VECTOR_CLONES
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
SYN_VECTOR_CLONES
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
SYN_VECTOR_CLONES
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

/* ONNX, decomposed (LayerNormalization needs opset 17; this exporter
 * writes 13): mean = ReduceMean(x), d = x - mean, var = ReduceMean(d * d),
 * z = d / Sqrt(var + eps) * gamma + beta, over axis 1. */
static int ln_onnx(const syn_layer *l, size_t index, const float *params, const float *state,
                   const char *in, const char *out, const syn_onnx_sink *sink)
{
    (void)state;
    char t[10][SYN_ONNX_NAME];
    static const char *const parts[10] = {"weight", "bias", "eps", "mean", "centered",
                                          "square", "var", "var_eps", "std", "normed"};
    for (int k = 0; k < 10; k++)
        snprintf(t[k], sizeof t[k], "layernorm%zu.%s", index, parts[k]);
    int64_t dims[1] = {(int64_t)l->units}, one[1] = {1}, axis[1] = {1};
    sink->tensor(sink->ctx, t[0], dims, 1, params + l->w_off, l->units);
    if (l->has_bias)
        sink->tensor(sink->ctx, t[1], dims, 1, params + l->b_off, l->units);
    sink->tensor(sink->ctx, t[2], one, 1, &l->eps, 1);
    syn_onnx_attr axes[2] = {{.name = "axes", .type = SYN_ONNX_INTS, .ints = axis, .n_ints = 1},
                             {.name = "keepdims", .type = SYN_ONNX_INT, .i = 1}};
    char node[SYN_ONNX_NAME + 8];
#define NODE(op, suffix, n_in, output, attrs, n_attrs, ...)                                  \
    do {                                                                                      \
        const char *ins_[] = {__VA_ARGS__};                                                   \
        snprintf(node, sizeof node, "layernorm%zu_%s", index, suffix);                       \
        sink->node(sink->ctx, op, node, ins_, n_in, output, attrs, n_attrs);                 \
    } while (0)
    NODE("ReduceMean", "mean", 1, t[3], axes, 2, in);
    NODE("Sub", "sub", 2, t[4], NULL, 0, in, t[3]);
    NODE("Mul", "square", 2, t[5], NULL, 0, t[4], t[4]);
    NODE("ReduceMean", "var", 1, t[6], axes, 2, t[5]);
    NODE("Add", "add_eps", 2, t[7], NULL, 0, t[6], t[2]);
    NODE("Sqrt", "sqrt", 1, t[8], NULL, 0, t[7]);
    NODE("Div", "div", 2, t[9], NULL, 0, t[4], t[8]);
    if (l->has_bias) {
        char scaled[SYN_ONNX_NAME];
        snprintf(scaled, sizeof scaled, "layernorm%zu.scaled", index);
        NODE("Mul", "gamma", 2, scaled, NULL, 0, t[9], t[0]);
        NODE("Add", "beta", 2, out, NULL, 0, scaled, t[1]);
    } else {
        NODE("Mul", "gamma", 2, out, NULL, 0, t[9], t[0]);
    }
#undef NODE
    return 1;
}

static void ln_c_data(const syn_layer *l, size_t index, const float *params, const float *state,
                      const syn_c_sink *sink)
{
    (void)state;
    char name[32];
    sink->text(sink->ctx, "\n/* Layer %zu: layer norm over %zu features, eps ", index, l->units);
    sink->value(sink->ctx, l->eps);
    sink->text(sink->ctx, ". */\n");
    snprintf(name, sizeof name, "ln%zu_gamma", index);
    sink->array(sink->ctx, name, params + l->w_off, l->units);
    if (l->has_bias) {
        snprintf(name, sizeof name, "ln%zu_beta", index);
        sink->array(sink->ctx, name, params + l->b_off, l->units);
    }
}

/* The library's row statistics (double sums in column order), then its
 * float expression. */
static void ln_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                      const syn_c_sink *sink)
{
    const char *p = sink->prefix;
    size_t u = l->units;
    sink->text(sink->ctx, "    {\n        double s = 0.0, q = 0.0;\n        float mean, inv;\n"
               "        for (j = 0; j < %zu; j++)\n            s += (double)%s[j];\n"
               "        s /= %zu.0;\n        for (j = 0; j < %zu; j++)\n"
               "            q += ((double)%s[j] - s) * ((double)%s[j] - s);\n"
               "        mean = (float)s;\n        inv = (float)(1.0 / sqrt(q / %zu.0 + (double)",
               u, src, u, u, src, src, u);
    sink->value(sink->ctx, l->eps);
    sink->text(sink->ctx, "));\n        for (j = 0; j < %zu; j++)\n"
               "            %s[j] = (%s[j] - mean) * inv * %s_ln%zu_gamma[j] + ", u, dst, src, p,
               index);
    if (l->has_bias)
        sink->text(sink->ctx, "%s_ln%zu_beta[j];\n    }\n", p, index);
    else
        sink->text(sink->ctx, "0.0f;\n    }\n");
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
    .onnx_emit = ln_onnx,
    .c_data = ln_c_data,
    .c_body = ln_c_body,
    .keeps_shape = 1,
};
