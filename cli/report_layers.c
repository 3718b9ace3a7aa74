/* report_layers.c - the report's layer table, built only from the public
 * API (syn_net_layer, syn_net_layer_offsets): one row per layer with its
 * kind, input and output width, parameters and their memory. Layer kinds
 * that the library adds later are one more case in describe(). */
#include <stdint.h>
#include <string.h>

#include "report.h"

/* The library's name, with spaces for underscores ("leaky relu"). */
static void activation_words(syn_activation a, char *out, size_t size)
{
    snprintf(out, size, "%s", syn_activation_name(a));
    for (char *c = out; *c; c++)
        if (*c == '_')
            *c = ' ';
}

static void describe(const syn_layer_desc *d, report_layer *row)
{
    snprintf(row->kind, sizeof row->kind, "dense");
    char act[32];
    activation_words(d->activation, act, sizeof act);
    if (d->activation == SYN_ACT_LEAKY_RELU)
        snprintf(row->detail, sizeof row->detail, "leaky relu (slope %g)%s",
                 d->leaky_slope > 0 ? (double)d->leaky_slope : 0.01,
                 d->no_bias ? ", no bias" : "");
    else
        snprintf(row->detail, sizeof row->detail, "%s%s", act,
                 d->no_bias ? ", no bias" : "");
}

int report_layers(const syn_net *net, report_layer *rows)
{
    size_t n = syn_net_n_layers(net);
    for (size_t i = 0; i < n; i++) {
        syn_layer_desc d;
        size_t n_in = 0, b_off = 0;
        if (syn_net_layer(net, i, &d, &n_in) != SYN_OK ||
            syn_net_layer_offsets(net, i, NULL, &b_off) != SYN_OK)
            return 0;
        memset(&rows[i], 0, sizeof rows[i]);
        describe(&d, &rows[i]);
        rows[i].n_in = n_in;
        rows[i].units = d.units;
        /* Dense: weights [units x n_in] and the bias; the offsets say whether
         * the arena holds a bias for it. */
        if (n_in && d.units > SIZE_MAX / n_in - 1)
            return 0;
        rows[i].params = d.units * n_in + (b_off != (size_t)-1 ? d.units : 0);
        rows[i].bytes = rows[i].params * sizeof(float);
    }
    return 1;
}
