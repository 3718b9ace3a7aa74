/* test_nan.c - a NaN in an input row comes out as NaN in that row's
 * outputs, as in PyTorch, through every activation and on both forward
 * paths (a net of width <= 16 takes the small-network path on AVX-512
 * CPUs, a wider one the general path); the other rows stay finite. The
 * activations once clamped NaN away: ReLU's `z > 0 ? z : 0` and the clamps
 * in front of exp turned it into a finite number. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

#define ROWS 3

static void run(size_t width, syn_activation hidden, syn_activation out_act)
{
    syn_layer_desc layers[3] = {{.units = width, .activation = hidden},
                                {.units = width, .activation = hidden},
                                {.units = 3, .activation = out_act}};
    syn_net_desc desc = {.n_inputs = width, .n_layers = 3, .layers = layers,
                         .loss = out_act == SYN_ACT_SOFTMAX ? SYN_LOSS_CROSS_ENTROPY
                                                            : SYN_LOSS_MSE,
                         .init = SYN_INIT_XAVIER_UNIFORM, .seed = 9};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, ROWS, &ws));
    if (!net || !ws)
        return;
    float *x = calloc(ROWS * width, sizeof *x);
    for (size_t i = 0; i < ROWS * width; i++)
        x[i] = 0.25f * (float)(i % 7) - 0.5f;
    x[1 * width] = NAN; /* row 1, feature 0 */
    const float *out = NULL;
    CHECK_OK(syn_forward(net, ws, x, ROWS, &out));
    for (size_t r = 0; out && r < ROWS; r++)
        for (size_t j = 0; j < 3; j++) {
            float v = out[r * 3 + j];
            if (r == 1)
                CHECK(isnan(v), "width %zu, acts %d/%d: row 1 output %zu is %g, not NaN",
                      width, (int)hidden, (int)out_act, j, v);
            else
                CHECK(isfinite(v), "width %zu, acts %d/%d: row %zu output %zu is %g", width,
                      (int)hidden, (int)out_act, r, j, v);
        }
    free(x);
    syn_workspace_free(ws);
    syn_net_free(net);
}

int main(void)
{
    static const syn_activation hidden[] = {SYN_ACT_SIGMOID, SYN_ACT_TANH, SYN_ACT_RELU,
                                            SYN_ACT_LEAKY_RELU, SYN_ACT_LINEAR};
    static const syn_activation outs[] = {SYN_ACT_SIGMOID, SYN_ACT_TANH, SYN_ACT_RELU,
                                          SYN_ACT_LEAKY_RELU, SYN_ACT_LINEAR, SYN_ACT_SOFTMAX};
    static const size_t widths[] = {4, 16, 40};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
        for (size_t h = 0; h < sizeof hidden / sizeof hidden[0]; h++)
            for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++)
                run(widths[w], hidden[h], outs[o]);
    return check_finish();
}
