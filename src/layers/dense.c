/* dense.c - the dense layer, PyTorch's nn.Linear then the activation:
 * z = x W^T + b with W [units x n_in] row-major, then b [units]. Three
 * matrix products through syn_gemm (batch-major):
 *   forward        Z[B x u]   = X[B x n] * W^T          (NT)
 *   input grad     dX[B x n]  = dZ[B x u] * W           (NN)
 *   weight grad    dW[u x n]  = dZ^T * X                (TN)
 * plus the bias (added with the activation in one pass, column sums of dZ
 * backward). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "kernels/gemm.h"
#include "layers/layer.h"

static syn_status dense_plan(const syn_layer_desc *d, size_t n_in, int is_last,
                             syn_layer_plan *p, char *why, size_t why_size)
{
    if (d->units == 0) {
        snprintf(why, why_size, "a dense layer needs units >= 1");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (!syn_layer_check_common(d, is_last, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    if (d->rate != 0.0f || d->eps != 0.0f || d->momentum != 0.0f) {
        snprintf(why, why_size, "rate, eps and momentum are not a dense layer's");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    memset(p, 0, sizeof *p);
    p->units = d->units;
    if (!syn_mul_size(n_in, d->units, &p->w_size)) {
        snprintf(why, why_size, "%zu x %zu weights overflow", d->units, n_in);
        return SYN_ERR_OVERFLOW;
    }
    p->b_size = d->no_bias ? 0 : d->units;
    return SYN_OK;
}

static void dense_setup(syn_layer *l, const syn_layer_desc *d)
{
    (void)l, (void)d;
}

/* Glorot & Bengio 2010, eq. 16; He et al. 2015, sec. 2.2. */
static syn_init resolve_init(syn_init init, syn_activation act)
{
    if (init != SYN_INIT_AUTO)
        return init;
    return syn_act_info_of(act)->he_init ? SYN_INIT_HE_NORMAL : SYN_INIT_XAVIER_UNIFORM;
}

/* U(-bound, bound): bound * (2 U[0,1) - 1). */
static double uniform_within(syn_rng *rng, double bound)
{
    return bound * (2.0 * syn_rng_uniform(rng) - 1.0);
}

void syn_layer_init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, syn_init init,
                            syn_activation act, syn_rng *rng)
{
    syn_init kind = resolve_init(init, act);
    double xavier = sqrt(6.0 / (double)(fan_in + fan_out));
    double he_std = sqrt(2.0 / (double)fan_in);
    double torch_bound = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++) {
        double u = 0.0;
        switch (kind) {
        case SYN_INIT_UNIFORM: u = uniform_within(rng, 1.0); break;
        case SYN_INIT_XAVIER_UNIFORM: u = uniform_within(rng, xavier); break;
        case SYN_INIT_AUTO: /* resolved above */
        case SYN_INIT_HE_NORMAL: u = he_std * syn_rng_normal(rng); break;
        case SYN_INIT_TORCH: u = uniform_within(rng, torch_bound); break;
        case SYN_INIT_COUNT_: break;
        }
        w[i] = (float)u;
    }
}

/* torch.nn.Linear and Conv2d's reset_parameters: bias U(-b, b),
 * b = 1 / sqrt(fan_in); every other scheme starts biases at zero. */
void syn_layer_init_bias(float *b, size_t n, size_t fan_in, syn_init init, syn_rng *rng)
{
    if (init != SYN_INIT_TORCH) {
        memset(b, 0, n * sizeof(float));
        return;
    }
    double bound = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++)
        b[i] = (float)uniform_within(rng, bound);
}

static void dense_init(const syn_layer *l, float *params, float *state, syn_init init,
                       syn_rng *rng)
{
    (void)state;
    syn_layer_init_weights(params + l->w_off, l->n_in * l->units, l->n_in, l->units, init,
                           l->activation, rng);
    if (l->has_bias)
        syn_layer_init_bias(params + l->b_off, l->units, l->n_in, init, rng);
}

static void dense_forward(const syn_layer *l, const syn_layer_pass *p)
{
    const float *w = p->params + l->w_off;
    const float *b = l->has_bias ? p->params + l->b_off : NULL;
    syn_gemm(0, 1, p->batch, l->units, l->n_in, p->in, l->n_in, w, l->n_in, 0.0f, p->out,
             l->units, p->pool);
    syn_layer_bias_activate(l, b, p->out, p->logits, p->batch, p->pool);
}

static void dense_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                           float *grads, float *d_in)
{
    syn_gemm(1, 0, l->units, l->n_in, p->batch, dz, l->units, p->in, l->n_in, 0.0f,
             grads + l->w_off, l->n_in, p->pool);
    if (l->has_bias)
        syn_layer_column_sums(grads + l->b_off, dz, p->batch, l->units, p->pool);
    if (d_in)
        syn_dense_input_grad(l, p, dz, d_in);
}

void syn_dense_input_grad(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                          float *d_in)
{
    syn_gemm(0, 0, p->batch, l->n_in, l->units, dz, l->units, p->params + l->w_off, l->n_in,
             0.0f, d_in, l->n_in, p->pool);
}

/* The small kernels implement the activations whose table row says
 * small_path (sigmoid, ReLU, leaky ReLU and linear in the register, tanh
 * and softmax over the stored rows); a net with any other activation goes
 * through syn_gemm and the table's own derivative, never through one the
 * small kernels lack (test_gradcheck). */
static int dense_small_ok(const syn_layer *l)
{
    return syn_act_info_of(l->activation)->small_path;
}

static size_t dense_attrs(const syn_layer *l, float *out)
{
    (void)l, (void)out;
    return 0;
}

static int dense_set_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                           size_t why_size)
{
    (void)d, (void)v;
    return syn_layer_attr_count(n, 0, why, why_size);
}

/* ONNX: Gemm(X, W, b) with transB = 1, which reads W [units x n_in] as it
 * is stored; C is optional since opset 11, so a bias-free layer is a Gemm
 * with two inputs. */
static int dense_onnx(const syn_layer *l, size_t index, const float *params, const float *state,
                      const char *in, const char *out, const syn_onnx_sink *sink)
{
    (void)state;
    char weight[SYN_ONNX_NAME], bias[SYN_ONNX_NAME], node[SYN_ONNX_NAME];
    snprintf(weight, sizeof weight, "dense%zu.weight", index);
    snprintf(bias, sizeof bias, "dense%zu.bias", index);
    snprintf(node, sizeof node, "dense%zu_gemm", index);
    int64_t dims[2] = {(int64_t)l->units, (int64_t)l->n_in};
    sink->tensor(sink->ctx, weight, dims, 2, params + l->w_off, l->units * l->n_in);
    if (l->has_bias)
        sink->tensor(sink->ctx, bias, dims, 1, params + l->b_off, l->units);
    const char *inputs[3] = {in, weight, bias};
    syn_onnx_attr trans_b = {.name = "transB", .type = SYN_ONNX_INT, .i = 1};
    sink->node(sink->ctx, "Gemm", node, inputs, l->has_bias ? 3 : 2, out, &trans_b, 1);
    return 1;
}

static void dense_c_data(const syn_layer *l, size_t index, const float *params,
                         const float *state, const syn_c_sink *sink)
{
    (void)state;
    char name[32];
    sink->text(sink->ctx, "\n/* Layer %zu: dense, %zu units x %zu inputs, row-major (PyTorch's "
               "Linear layout). */\n", index, l->units, l->n_in);
    snprintf(name, sizeof name, "w%zu", index);
    sink->array(sink->ctx, name, params + l->w_off, l->units * l->n_in);
    if (l->has_bias) {
        snprintf(name, sizeof name, "b%zu", index);
        sink->array(sink->ctx, name, params + l->b_off, l->units);
    }
}

/* The exporter's PREFIX_dense_ helper: the same sums in the same order. */
static void dense_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                         const syn_c_sink *sink)
{
    const char *p = sink->prefix;
    char bias[96];
    if (l->has_bias)
        snprintf(bias, sizeof bias, "%s_b%zu", p, index);
    else
        snprintf(bias, sizeof bias, "NULL");
    sink->text(sink->ctx, "    %s_dense_(%s_w%zu, %s, %s, %zu, %zu, %s);\n", p, p, index, bias,
               src, l->n_in, l->units, dst);
}

const syn_layer_ops syn_dense_ops = {
    .name = "dense",
    .plan = dense_plan,
    .setup = dense_setup,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .small_ok = dense_small_ok,
    .attrs = dense_attrs,
    .set_attrs = dense_set_attrs,
    .state_ok = NULL,
    .onnx_emit = dense_onnx,
    .c_data = dense_c_data,
    .c_body = dense_c_body,
};
