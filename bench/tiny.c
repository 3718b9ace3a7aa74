/* tiny.c - training steps of nets narrow enough for the small-network path
 * (every width <= 16, src/kernels/small.h), at several widths and batches:
 * a W-W-W-1 net (ReLU, sigmoid, sigmoid output), one thread, forward,
 * backward from the output gradient and an SGD step, timed over many
 * steps. Prints microseconds a step, best of 5 runs, for each shape. Run it
 * on two builds (two commits) back to back to compare them.
 *
 *   bench_tiny */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "synapse.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Microseconds a step for one shape, or a negative number on an error. */
static double time_shape(size_t width, size_t batch, int steps)
{
    syn_layer_desc layers[3] = {{.units = width, .activation = SYN_ACT_RELU},
                                {.units = width, .activation = SYN_ACT_SIGMOID},
                                {.units = 1, .activation = SYN_ACT_SIGMOID}};
    syn_net_desc desc = {.n_inputs = width, .n_layers = 3, .layers = layers,
                         .init = SYN_INIT_XAVIER_UNIFORM, .seed = 1};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    syn_optimizer *sgd = NULL;
    syn_optim_desc rule = syn_optim_defaults(SYN_OPTIM_SGD);
    rule.lr = 0.01f;
    float *x = malloc(batch * width * sizeof *x), *d_out = malloc(batch * sizeof *d_out);
    syn_status st = x && d_out ? syn_net_create(&desc, &net) : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        st = syn_workspace_create(net, batch, &ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(ws, 1);
    if (st == SYN_OK)
        st = syn_optimizer_create(net, &rule, &sgd);
    if (st == SYN_OK)
        st = syn_optimizer_set_threads(sgd, 1);
    for (size_t i = 0; x && i < batch * width; i++)
        x[i] = (float)(i % 7) * 0.1f;
    double best = 1e30;
    for (int run = 0; run < 5 && st == SYN_OK; run++) {
        double t = now();
        for (int s = 0; s < steps && st == SYN_OK; s++) {
            const float *out;
            st = syn_forward(net, ws, x, batch, &out);
            for (size_t r = 0; st == SYN_OK && r < batch; r++)
                d_out[r] = out[r] - (float)(r % 2);
            if (st == SYN_OK)
                st = syn_backward_from_output(net, ws, d_out, batch);
            if (st == SYN_OK)
                st = syn_optimizer_step(sgd, net, syn_workspace_grads(ws, NULL),
                                        syn_net_param_count(net));
        }
        t = (now() - t) / steps;
        best = t < best ? t : best;
    }
    if (st != SYN_OK)
        fprintf(stderr, "bench_tiny: %zu wide, batch %zu: %s\n", width, batch, syn_strerror(st));
    syn_optimizer_free(sgd);
    syn_workspace_free(ws);
    syn_net_free(net);
    free(x);
    free(d_out);
    return st == SYN_OK ? 1e6 * best : -1.0;
}

int main(void)
{
    static const size_t shapes[][2] = {{4, 4}, {8, 16}, {8, 64}, {16, 16}, {16, 256}};
    int bad = 0;
    printf("%-7s %6s %10s\n", "width", "batch", "us/step");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t width = shapes[i][0], batch = shapes[i][1];
        double us = time_shape(width, batch, (int)(2000000 / (width * batch)));
        bad |= us < 0;
        printf("%-7zu %6zu %10.3f\n", width, batch, us);
    }
    return bad;
}
