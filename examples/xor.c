/* xor.c - the seed notebook by hand through synapse.h, in the fewest lines:
 * forward, the error, backpropagation from the output gradient, and the
 * update w -= 1 * dL/dw, 60000 times. `synapse demo xor` is the full
 * version (printing, notebook weights, Adam).
 *
 *   cc xor.c $(pkg-config --cflags --libs synapse) -o xor && ./xor */
#include <math.h>
#include <stdio.h>

#include "synapse.h"

int main(void)
{
    const float x[12] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1}, y[4] = {0, 1, 1, 0};
    syn_layer_desc layers[2] = {{.units = 4, .activation = SYN_ACT_SIGMOID, .no_bias = 1},
                                {.units = 1, .activation = SYN_ACT_SIGMOID, .no_bias = 1}};
    syn_net_desc desc = {.n_inputs = 3, .n_layers = 2, .layers = layers,
                         .init = SYN_INIT_UNIFORM, .seed = 1};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    syn_optimizer *sgd = NULL;
    syn_optim_desc rule = syn_optim_defaults(SYN_OPTIM_SGD);
    rule.lr = 1.0f;
    syn_status st = syn_net_create(&desc, &net);
    if (st == SYN_OK)
        st = syn_workspace_create(net, 4, &ws);
    if (st == SYN_OK)
        st = syn_optimizer_create(net, &rule, &sgd);
    for (int j = 0; st == SYN_OK && j < 60000; j++) {
        const float *out;
        float d_out[4];
        double error = 0;
        st = syn_forward(net, ws, x, 4, &out);
        for (int r = 0; st == SYN_OK && r < 4; r++) {
            error += fabs(y[r] - out[r]) / 4;
            d_out[r] = out[r] - y[r]; /* d/d(out) of 1/2 sum (y - out)^2 */
        }
        if (st == SYN_OK && j % 10000 == 0)
            printf("Error:%.10f\n", error);
        if (st == SYN_OK)
            st = syn_backward_from_output(net, ws, d_out, 4);
        if (st == SYN_OK)
            st = syn_optimizer_step(sgd, net, syn_workspace_grads(ws, NULL),
                                    syn_net_param_count(net));
    }
    if (st != SYN_OK)
        fprintf(stderr, "xor: %s\n", syn_strerror(st));
    syn_optimizer_free(sgd);
    syn_workspace_free(ws);
    syn_net_free(net);
    return st == SYN_OK ? 0 : 1;
}
