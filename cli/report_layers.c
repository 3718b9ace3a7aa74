/* report_layers.c - the report's layer table, built only from the public
 * API (syn_net_layer, syn_net_layer_offsets, syn_layer_kind_name): one row
 * per layer with its kind, input and output width, parameters and their
 * memory. A layer kind that the library adds later is one more case in
 * describe(). */
#include <stdint.h>
#include <string.h>

#include "report.h"

/* Layer l's trained parameters: from its first offset in the arena to the
 * next layer's (the arena holds the layers in order). Shared with
 * synapse info's table (info.c). */
size_t cli_layer_params(const syn_net *net, size_t l)
{
    size_t w, b, next = syn_net_param_count(net);
    syn_net_layer_offsets(net, l, &w, &b);
    size_t first = w != (size_t)-1 ? w : b;
    if (first == (size_t)-1)
        return 0;
    for (size_t k = l + 1; k < syn_net_n_layers(net); k++) {
        syn_net_layer_offsets(net, k, &w, &b);
        size_t at = w != (size_t)-1 ? w : b;
        if (at != (size_t)-1) {
            next = at;
            break;
        }
    }
    return next - first;
}

/* The activation after the layer's own function, "" for none. */
static void activation_text(const syn_layer_desc *d, char *buf, size_t size)
{
    const char *name = syn_activation_name(d->activation);
    if (d->activation == SYN_ACT_LEAKY_RELU)
        snprintf(buf, size, "%s (slope %g)", name,
                 d->leaky_slope > 0 ? (double)d->leaky_slope : 0.01);
    else
        snprintf(buf, size, "%s", name ? name : "unknown");
}

/* Kind, detail, output width and parameter counts of one layer: the one
 * place that knows the layer kinds (synapse.h's syn_layer_kind). *state:
 * floats the model keeps that training does not update (batch norm's
 * running statistics). Returns 0 for a kind this version does not know. */
static int describe(const syn_layer_desc *d, size_t n_in, int has_bias, report_layer *row,
                    size_t *state)
{
    const char *kind = syn_layer_kind_name(d->kind);
    char act[48];
    activation_text(d, act, sizeof act);
    snprintf(row->kind, sizeof row->kind, "%s", kind ? kind : "unknown");
    *state = 0;
    size_t width = d->units ? d->units : n_in;
    row->units = width;
    switch (d->kind) {
    case SYN_LAYER_DENSE:
        snprintf(row->detail, sizeof row->detail, "%s%s", act, has_bias ? "" : ", no bias");
        /* Weights [units x n_in] and the bias. */
        if (n_in && d->units > SIZE_MAX / n_in - 1)
            return 0;
        row->params = d->units * n_in + (has_bias ? d->units : 0);
        return 1;
    case SYN_LAYER_DROPOUT:
        snprintf(row->detail, sizeof row->detail, "rate %g (training only)", (double)d->rate);
        row->params = 0;
        return 1;
    case SYN_LAYER_BATCHNORM:
    case SYN_LAYER_LAYERNORM:
        /* gamma and beta per unit; batch norm keeps running mean and
         * variance besides. */
        if (d->kind == SYN_LAYER_BATCHNORM)
            snprintf(row->detail, sizeof row->detail, "eps %g, momentum %g%s, then %s",
                     d->eps > 0 ? (double)d->eps : 1e-5,
                     d->momentum > 0 ? (double)d->momentum : 0.1, has_bias ? "" : ", no beta",
                     act);
        else
            snprintf(row->detail, sizeof row->detail, "eps %g%s, then %s",
                     d->eps > 0 ? (double)d->eps : 1e-5, has_bias ? "" : ", no beta", act);
        row->params = width + (has_bias ? width : 0);
        *state = d->kind == SYN_LAYER_BATCHNORM ? 2 * width : 0;
        return 1;
    case SYN_LAYER_CONV2D:
        snprintf(row->detail, sizeof row->detail, "kernel %zux%zu, stride %zux%zu, %s%s%s",
                 d->kernel[0], d->kernel[1], d->stride[0] ? d->stride[0] : 1,
                 d->stride[1] ? d->stride[1] : 1, act, has_bias ? "" : ", no bias",
                 d->groups > 1 ? ", grouped" : "");
        row->params = 0; /* from the arena (report_layers) */
        return 1;
    case SYN_LAYER_MAXPOOL2D:
    case SYN_LAYER_AVGPOOL2D:
        snprintf(row->detail, sizeof row->detail, "kernel %zux%zu, stride %zux%zu",
                 d->kernel[0], d->kernel[1], d->stride[0] ? d->stride[0] : d->kernel[0],
                 d->stride[1] ? d->stride[1] : d->kernel[1]);
        row->params = 0;
        return 1;
    case SYN_LAYER_GLOBAL_AVGPOOL:
    case SYN_LAYER_FLATTEN:
        snprintf(row->detail, sizeof row->detail, "%s", act);
        row->params = 0;
        return 1;
    case SYN_LAYER_DROPOUT2D:
        snprintf(row->detail, sizeof row->detail, "rate %g per channel (training only)",
                 (double)d->rate);
        row->params = 0;
        return 1;
    case SYN_LAYER_BATCHNORM2D:
        snprintf(row->detail, sizeof row->detail, "per channel, eps %g, momentum %g, then %s",
                 d->eps > 0 ? (double)d->eps : 1e-5,
                 d->momentum > 0 ? (double)d->momentum : 0.1, act);
        row->params = 0; /* gamma, beta and the running statistics per channel */
        return 1;
    case SYN_LAYER_COUNT_: break;
    }
    /* A value past the enum (no net reports one). */
    snprintf(row->detail, sizeof row->detail, "a layer kind this synapse does not know");
    return 0;
}

int report_layers(const syn_net *net, report_layer *rows)
{
    size_t n = syn_net_n_layers(net);
    for (size_t i = 0; i < n; i++) {
        syn_layer_desc d;
        size_t n_in = 0, b_off = 0, state = 0;
        if (syn_net_layer(net, i, &d, &n_in) != SYN_OK ||
            syn_net_layer_offsets(net, i, NULL, &b_off) != SYN_OK)
            return 0;
        memset(&rows[i], 0, sizeof rows[i]);
        rows[i].n_in = n_in;
        if (!describe(&d, n_in, b_off != (size_t)-1, &rows[i], &state) ||
            rows[i].params > SIZE_MAX / sizeof(float) - state)
            return 0;
        if (d.kind == SYN_LAYER_CONV2D || d.kind == SYN_LAYER_BATCHNORM2D) {
            /* Image kinds: their counts follow from shapes the description
             * does not hold; the arena's offsets give them. */
            size_t shape[3] = {0, 0, 0};
            rows[i].params = cli_layer_params(net, i);
            if (d.kind == SYN_LAYER_BATCHNORM2D && syn_net_layer_shape(net, i, shape) == SYN_OK)
                state = 2 * shape[0];
            if (rows[i].params > SIZE_MAX / sizeof(float) - state)
                return 0;
        }
        rows[i].state = state;
        rows[i].bytes = (rows[i].params + state) * sizeof(float);
    }
    return 1;
}
