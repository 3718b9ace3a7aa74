/* ref_net.h - a float64 reference of what a synapse network computes,
 * written from the definitions (not from the library's code): dense layers
 * out = act(in W^T + b), then the loss with PyTorch's reductions. Tests use
 * it for finite differences in double precision. Reads the architecture and
 * the float parameters through the public API only. */
#ifndef SYN_REF_NET_H
#define SYN_REF_NET_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synapse.h"

#define REF_MAX_WIDTH 64
#define REF_MAX_BATCH 16
#define REF_MAX_LAYERS 8

static double ref_act(syn_activation act, double slope, double z)
{
    switch (act) {
    case SYN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SYN_ACT_TANH: return tanh(z);
    case SYN_ACT_RELU: return z > 0 ? z : 0;
    case SYN_ACT_LEAKY_RELU: return z > 0 ? z : slope * z;
    /* torch.nn.GELU, SiLU, ELU, Softplus, in double. */
    case SYN_ACT_GELU: return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    case SYN_ACT_GELU_TANH:
        return 0.5 * z * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) *
                                     (z + 0.044715 * z * z * z)));
    case SYN_ACT_SILU: return z / (1.0 + exp(-z));
    case SYN_ACT_ELU: return z > 0 ? z : slope * expm1(z);
    case SYN_ACT_SOFTPLUS: return z * slope > 20.0 ? z : log1p(exp(slope * z)) / slope;
    case SYN_ACT_LINEAR:
    case SYN_ACT_SOFTMAX: /* row-wise: ref_loss does it */
    case SYN_ACT_COUNT_: break;
    }
    return z;
}

/* Forward pass in double with parameters `p` (layout of the net); writes the
 * final logits z and outputs a [batch x n_out]; returns the loss. */
static double ref_loss(const syn_net *net, const double *p, const float *x, const float *t,
                       size_t batch, double *z_out, double *a_out)
{
    double cur[REF_MAX_BATCH][REF_MAX_WIDTH], next[REF_MAX_BATCH][REF_MAX_WIDTH];
    size_t width = syn_net_n_inputs(net);
    const float *off = NULL, *mul = NULL;
    syn_net_input_scaling(net, &off, &mul);
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < width; j++)
            cur[r][j] = off ? ((double)x[r * width + j] - off[j]) * mul[j] : x[r * width + j];
    size_t n_layers = syn_net_n_layers(net);
    syn_layer_desc d = {0};
    for (size_t l = 0; l < n_layers; l++) {
        size_t n_in, w_off, b_off;
        syn_net_layer(net, l, &d, &n_in);
        syn_net_layer_offsets(net, l, &w_off, &b_off);
        double slope = d.leaky_slope;
        for (size_t r = 0; r < batch; r++) {
            for (size_t u = 0; u < d.units; u++) {
                double s = d.no_bias ? 0.0 : p[b_off + u];
                for (size_t i = 0; i < n_in; i++)
                    s += p[w_off + u * n_in + i] * cur[r][i];
                next[r][u] = s;
            }
            if (l + 1 == n_layers)
                for (size_t u = 0; u < d.units; u++)
                    z_out[r * d.units + u] = next[r][u];
            if (d.activation == SYN_ACT_SOFTMAX) {
                double max = next[r][0], sum = 0;
                for (size_t u = 1; u < d.units; u++)
                    max = next[r][u] > max ? next[r][u] : max;
                for (size_t u = 0; u < d.units; u++)
                    sum += exp(next[r][u] - max);
                for (size_t u = 0; u < d.units; u++)
                    next[r][u] = exp(next[r][u] - max) / sum;
            } else {
                for (size_t u = 0; u < d.units; u++)
                    next[r][u] = ref_act(d.activation, slope, next[r][u]);
            }
        }
        memcpy(cur, next, sizeof cur);
        width = d.units;
    }
    size_t n_out = width;
    double total = 0;
    for (size_t r = 0; r < batch; r++) {
        for (size_t j = 0; j < n_out; j++)
            a_out[r * n_out + j] = cur[r][j];
        const double *z = z_out + r * n_out;
        const float *tr = t + r * n_out;
        switch (syn_net_loss(net)) {
        case SYN_LOSS_MSE:
            for (size_t j = 0; j < n_out; j++)
                total += (cur[r][j] - tr[j]) * (cur[r][j] - tr[j]);
            break;
        case SYN_LOSS_BCE:
            for (size_t j = 0; j < n_out; j++) /* -t log s(z) - (1-t) log(1-s(z)) */
                total += -tr[j] * log(1 / (1 + exp(-z[j]))) -
                         (1 - tr[j]) * log(1 / (1 + exp(z[j])));
            break;
        default: {
            double max = z[0], sum = 0;
            for (size_t j = 1; j < n_out; j++)
                max = z[j] > max ? z[j] : max;
            for (size_t j = 0; j < n_out; j++)
                sum += exp(z[j] - max);
            for (size_t j = 0; j < n_out; j++)
                total -= tr[j] * (z[j] - max - log(sum));
        }
        }
    }
    if (syn_net_reduction(net) == SYN_REDUCTION_MEAN)
        total /= syn_net_loss(net) == SYN_LOSS_CROSS_ENTROPY ? (double)batch
                                                             : (double)(batch * n_out);
    return total;
}

#endif
