/* flatten.c - PyTorch's nn.Flatten() (start_dim 1): a sample's C x H x W
 * floats, in their row-major order, become a vector of C*H*W x 1 x 1. The
 * floats do not move (a dense layer reads any shape this way already); the
 * kind exists so that an architecture can say it, and an exporter can
 * write the Flatten a framework expects. */
#include <stdio.h>
#include <string.h>

#include "layers/layer.h"

static syn_status flatten_plan(const syn_layer_desc *d, const size_t in[3], int is_last,
                               syn_layer_plan *p, char *why, size_t why_size)
{
    size_t n_in = in[0] * in[1] * in[2];
    if (!syn_layer_check_fields(d, 0, is_last, why, why_size) ||
        !syn_layer_check_same_width(d, n_in, why, why_size))
        return SYN_ERR_INVALID_ARGUMENT;
    memset(p, 0, sizeof *p);
    p->units = n_in;
    p->out_shape[0] = n_in;
    p->out_shape[1] = p->out_shape[2] = 1;
    return SYN_OK;
}

static void flatten_setup(syn_layer *l, const syn_layer_desc *d)
{
    (void)d;
    l->has_bias = 0;
}

static void flatten_init(const syn_layer *l, float *params, float *state, syn_init init,
                         syn_rng *rng)
{
    (void)l, (void)params, (void)state, (void)init, (void)rng;
}

static void flatten_forward(const syn_layer *l, const syn_layer_pass *p)
{
    size_t n = p->batch * l->units;
    memcpy(p->out, p->in, n * sizeof(float));
    if (p->logits)
        memcpy(p->logits, p->in, n * sizeof(float));
}

static void flatten_backward(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                             float *grads, float *d_in)
{
    (void)grads;
    if (d_in)
        memcpy(d_in, dz, p->batch * l->units * sizeof(float));
}

/* ONNX Flatten (axis 1): [batch, C, H, W] -> [batch, C*H*W], the same
 * row-major order. */
static int flatten_onnx(const syn_layer *l, size_t index, const float *params,
                        const float *state, const char *in, const char *out,
                        const syn_onnx_sink *sink)
{
    (void)l, (void)params, (void)state;
    char node[SYN_ONNX_NAME];
    snprintf(node, sizeof node, "flatten%zu_flatten", index);
    const char *inputs[1] = {in};
    syn_onnx_attr axis = {.name = "axis", .type = SYN_ONNX_INT, .i = 1};
    sink->node(sink->ctx, "Flatten", node, inputs, 1, out, &axis, 1);
    return 1;
}

/* C header: the floats in the same order, copied. */
static void flatten_c_data(const syn_layer *l, size_t index, const float *params,
                           const float *state, const syn_c_sink *sink)
{
    (void)params, (void)state;
    sink->text(sink->ctx, "\n/* Layer %zu: flatten %zux%zux%zu (row-major), a copy. */\n", index,
               l->in_shape[0], l->in_shape[1], l->in_shape[2]);
}

static void flatten_c_body(const syn_layer *l, size_t index, const char *src, const char *dst,
                           const syn_c_sink *sink)
{
    (void)index;
    sink->text(sink->ctx, "    for (j = 0; j < %zu; j++)\n        %s[j] = %s[j];\n", l->units,
               dst, src);
}

const syn_layer_ops syn_flatten_ops = {
    .name = "flatten",
    .plan_shape = flatten_plan,
    .setup = flatten_setup,
    .init = flatten_init,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .small_ok = syn_layer_not_small,
    .attrs = syn_layer_no_attrs,
    .set_attrs = syn_layer_set_no_attrs,
    .state_ok = NULL,
    .onnx_emit = flatten_onnx,
    .c_data = flatten_c_data,
    .c_body = flatten_c_body,
};
