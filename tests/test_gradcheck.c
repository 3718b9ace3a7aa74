/* test_gradcheck.c - every parameter's gradient against central finite
 * differences, for every hidden activation x output activation x loss x
 * reduction, on 3-layer nets with a batch of 5.
 *
 * The differences are taken in float64 on a reference forward pass
 * (ref_net.h), so they are accurate to ~1e-9; the library's forward pass is
 * first checked against that reference. The analytic gradients come from
 * the library in float32: each is a sum of at most batch x width products
 * after two float32 matrix products, so its rounding error is a few hundred
 * float32 ulps of the largest terms at worst. Hence the bound
 *     |analytic - numeric| <= 1e-4 |numeric| + 1e-5 max_i |numeric_i|:
 * relative where the gradient is not tiny, and relative to the array's scale
 * where cancellation leaves an element near zero. A wrong derivative (a
 * missing factor, a sign, a transposed index) misses by orders more. */
#include <stdint.h>

#include "check.h"
#include "ref_net.h"
#include "synapse.h"

#define BATCH 5
#define N_IN 4
#define N_OUT 3

static const char *loss_name[] = {"mse", "bce", "ce"};

static void make_targets(syn_loss loss, syn_rng *rng, float *t)
{
    for (int r = 0; r < BATCH; r++) {
        int hot = (int)syn_rng_below(rng, N_OUT);
        for (int j = 0; j < N_OUT; j++) {
            float u = (float)syn_rng_uniform(rng);
            t[r * N_OUT + j] = loss == SYN_LOSS_MSE ? 2 * u - 1
                               : loss == SYN_LOSS_BCE ? (j == hot ? 1.0f : u * 0.3f)
                                                      : (j == hot ? 1.0f : 0.0f);
        }
    }
}

static void check_case(syn_activation hidden, syn_activation out_act, syn_loss loss,
                       syn_reduction red, int no_bias_mid, int scaled)
{
    syn_layer_desc layers[3] = {
        /* A non-default parameter on the first layer: leaky slope 0.1, ELU
         * alpha 0.1, softplus beta 2 (a small beta would saturate the
         * layers above: softplus(0) = ln 2 / beta). */
        {.units = 6, .activation = hidden,
         .leaky_slope = hidden == SYN_ACT_SOFTPLUS ? 2.0f : 0.1f},
        {.units = 5, .activation = hidden, .no_bias = no_bias_mid},
        {.units = N_OUT, .activation = out_act},
    };
    syn_net_desc desc = {.n_inputs = N_IN, .n_layers = 3, .layers = layers, .loss = loss,
                         .reduction = red, .init = SYN_INIT_XAVIER_UNIFORM,
                         .seed = 17 + hidden * 7 + out_act};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, BATCH, &ws));
    if (!net || !ws)
        return;
    syn_rng rng;
    syn_rng_seed(&rng, 99);
    size_t n;
    float *p = syn_net_params(net, &n);
    for (size_t i = 0; i < n; i++) /* nonzero biases too */
        p[i] = (float)(2 * syn_rng_uniform(&rng) - 1);
    float x[BATCH * N_IN], t[BATCH * N_OUT];
    for (int i = 0; i < BATCH * N_IN; i++)
        x[i] = (float)(4 * syn_rng_uniform(&rng) - 2);
    make_targets(loss, &rng, t);
    if (scaled) {
        float off[N_IN] = {0.5f, -1, 0, 2}, mul[N_IN] = {2, 0.5f, 1, 0.25f};
        CHECK_OK(syn_net_set_input_scaling(net, off, mul));
    }
    const float *out;
    double lib_loss, z[BATCH * N_OUT], a[BATCH * N_OUT];
    double *pd = malloc(n * sizeof *pd);
    for (size_t i = 0; i < n; i++)
        pd[i] = p[i];
    CHECK_OK(syn_forward(net, ws, x, BATCH, &out));
    CHECK_OK(syn_loss_value(net, ws, t, BATCH, &lib_loss));
    CHECK_OK(syn_backward(net, ws, t, BATCH));
    double ref = ref_loss(net, pd, x, t, BATCH, z, a);
    char what[96];
    snprintf(what, sizeof what, "%s hidden, %s out, %s, %s%s%s", syn_activation_name(hidden),
             syn_activation_name(out_act), loss_name[loss], red == SYN_REDUCTION_SUM ? "sum" : "mean",
             no_bias_mid ? ", no bias" : "", scaled ? ", scaled" : "");
    CHECK_CLOSE(lib_loss, ref, 1e-5, 1e-7, "%s: loss %.9g vs %.9g", what, lib_loss, ref);
    for (int i = 0; i < BATCH * N_OUT; i++)
        CHECK_CLOSE(out[i], a[i], 1e-5, 1e-6, "%s: output %d", what, i);
    const float *g = syn_workspace_grads(ws, NULL);
    double *num = malloc(n * sizeof *num), scale = 0;
    for (size_t i = 0; i < n; i++) {
        const double h = 1e-6, keep = pd[i];
        pd[i] = keep + h;
        double up = ref_loss(net, pd, x, t, BATCH, z, a);
        pd[i] = keep - h;
        double down = ref_loss(net, pd, x, t, BATCH, z, a);
        pd[i] = keep;
        num[i] = (up - down) / (2 * h);
        scale = fabs(num[i]) > scale ? fabs(num[i]) : scale;
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(g[i] - num[i]) <= 1e-4 * fabs(num[i]) + 1e-5 * scale) && bad++ < 3)
            fprintf(stderr, "%s: param %zu: analytic %.9g numeric %.9g\n", what, i, g[i],
                    num[i]);
    CHECK(bad == 0, "%s: %d of %zu gradients off", what, bad, n);
    CHECK(scale > 1e-6, "%s: gradients should not all vanish", what);
    free(pd);
    free(num);
    syn_workspace_free(ws);
    syn_net_free(net);
}

int main(void)
{
    /* Every activation of the table, hidden (all but softmax, which is
     * output only) and as the output of an MSE net. These nets are narrow
     * enough for the small-network path, so a table row that claimed
     * small_path without the small kernels implementing it would show
     * here. */
    for (int h = 0; h < SYN_ACT_COUNT_; h++) {
        if (h == SYN_ACT_SOFTMAX)
            continue;
        for (int red = 0; red < 2; red++) {
            for (int o = 0; o < SYN_ACT_COUNT_; o++)
                check_case((syn_activation)h, (syn_activation)o, SYN_LOSS_MSE, red, 0, 0);
            check_case((syn_activation)h, SYN_ACT_SIGMOID, SYN_LOSS_BCE, red, 0, 0);
            check_case((syn_activation)h, SYN_ACT_SOFTMAX, SYN_LOSS_CROSS_ENTROPY, red, 0, 0);
        }
        check_case((syn_activation)h, SYN_ACT_SOFTMAX, SYN_LOSS_CROSS_ENTROPY, 0, 1, 1);
    }
    return check_finish();
}
