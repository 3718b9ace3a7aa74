/* test_small_path.c - the small-network path (src/kernels/small.h) computes
 * what the general path computes. Nets whose widths are all <= 16 take the
 * small path for passes of at most 256 rows (on CPUs with AVX-512); the same
 * rows inside a pass of 300 rows take the general one. So each case runs
 * one batch both ways:
 *   - forward: every layer's outputs must agree row for row;
 *   - backward from the same output gradient, zero on the 300-row pass's
 *     extra rows (they add exact zeros to every sum): all gradients agree;
 *   - for MSE nets, backward from the loss too (syn_backward), the extra
 *     rows' targets being their own outputs.
 * The two paths sum in the same order; only the rounding of multiply-adds
 * (fused or not) and the reciprocal in the sigmoid may differ, so outputs
 * must agree to 1e-6 of each array's largest entry (16 ulps). A gradient
 * is a sum over the rows whose terms may cancel down to a small fraction
 * of their size, with each term's ulp-level difference intact: 1e-4 (the
 * largest seen over these 400 cases is 1.8e-5). A wrong index or lane
 * shows up as a difference of order 1. Cases cover every
 * activation (applied in the register, or by activation.c for tanh and
 * softmax), layers without bias, input scaling, widths 1..16 and batches
 * that cross the 16-row blocks. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

#define BIG 300 /* rows: above the small path's limit of 256 */
#define MAX_LAYERS 4

static const syn_activation hidden_acts[] = {SYN_ACT_SIGMOID, SYN_ACT_TANH, SYN_ACT_RELU,
                                             SYN_ACT_LEAKY_RELU, SYN_ACT_LINEAR};

static double scale_of(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m > 0 ? m : 1;
}

/* Largest |a - b| over n, relative to b's largest entry. */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = scale_of(b, n);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / scale;
        worst = d > worst || isnan(d) ? d : worst;
    }
    return worst;
}

static int run_case(int id, syn_rng *rng, double *worst)
{
    syn_layer_desc layers[MAX_LAYERS];
    size_t n_layers = 1 + syn_rng_below(rng, MAX_LAYERS);
    size_t n_in = 1 + syn_rng_below(rng, 16);
    for (size_t l = 0; l < n_layers; l++) {
        memset(&layers[l], 0, sizeof layers[l]);
        layers[l].units = 1 + syn_rng_below(rng, 16);
        layers[l].activation = hidden_acts[syn_rng_below(rng, 5)];
        layers[l].no_bias = syn_rng_below(rng, 3) == 0;
        layers[l].leaky_slope = 0.05f;
    }
    syn_loss loss = SYN_LOSS_MSE;
    if (syn_rng_below(rng, 3) == 0 && layers[n_layers - 1].units > 1) {
        layers[n_layers - 1].activation = SYN_ACT_SOFTMAX;
        loss = SYN_LOSS_CROSS_ENTROPY;
    }
    static const size_t batches[] = {1, 3, 4, 15, 16, 17, 33, 64, 200, 256};
    size_t batch = batches[syn_rng_below(rng, sizeof batches / sizeof batches[0])];
    syn_net_desc desc = {.n_inputs = n_in, .n_layers = n_layers, .layers = layers,
                         .loss = loss, .init = SYN_INIT_XAVIER_UNIFORM,
                         .seed = 100 + (uint64_t)id};
    syn_net *net = NULL;
    syn_workspace *small = NULL, *big = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return 0;
    if (syn_rng_below(rng, 2)) {
        float off[16], mul[16];
        for (size_t j = 0; j < n_in; j++)
            off[j] = (float)syn_rng_uniform(rng), mul[j] = 0.5f + (float)syn_rng_uniform(rng);
        CHECK_OK(syn_net_set_input_scaling(net, off, mul));
    }
    CHECK_OK(syn_workspace_create(net, batch, &small));
    CHECK_OK(syn_workspace_create(net, BIG, &big));
    size_t n_out = layers[n_layers - 1].units;
    float *x = calloc(BIG * n_in, sizeof *x), *d_out = calloc(BIG * n_out, sizeof *d_out);
    for (size_t i = 0; i < batch * n_in; i++)
        x[i] = (float)(4 * syn_rng_uniform(rng) - 2);
    for (size_t i = 0; i < batch * n_out; i++)
        d_out[i] = (float)(syn_rng_uniform(rng) - 0.5);
    CHECK_OK(syn_forward(net, small, x, batch, NULL));
    CHECK_OK(syn_forward(net, big, x, BIG, NULL));
    for (size_t l = 0; l < n_layers; l++) {
        double d = rel_diff(syn_workspace_activations(small, l),
                            syn_workspace_activations(big, l), batch * layers[l].units);
        *worst = d > *worst ? d : *worst;
        CHECK(d <= 1e-6, "case %d layer %zu: outputs differ by %.3g of scale", id, l, d);
    }
    CHECK_OK(syn_backward_from_output(net, small, d_out, batch));
    CHECK_OK(syn_backward_from_output(net, big, d_out, BIG));
    for (size_t l = 0; l < n_layers; l++) {
        float *dw_s, *db_s, *dw_b, *db_b;
        size_t in = l == 0 ? n_in : layers[l - 1].units;
        syn_workspace_layer_grads(small, net, l, &dw_s, &db_s);
        syn_workspace_layer_grads(big, net, l, &dw_b, &db_b);
        double d = rel_diff(dw_s, dw_b, layers[l].units * in);
        if (db_s)
            d = fmax(d, rel_diff(db_s, db_b, layers[l].units));
        *worst = d > *worst ? d : *worst;
        CHECK(d <= 1e-4, "case %d layer %zu: gradients differ by %.3g of scale", id, l, d);
    }
    /* The loss path (syn_backward: dL/dz from the loss, the output
     * derivative already in it), for MSE summed over rows: the big pass's
     * extra rows get their own outputs as targets, so their terms are
     * exact zeros again. */
    if (loss == SYN_LOSS_MSE) {
        CHECK_OK(syn_net_set_loss(net, SYN_LOSS_MSE, SYN_REDUCTION_SUM));
        float *y = calloc(BIG * n_out, sizeof *y);
        memcpy(y, syn_workspace_activations(big, n_layers - 1), BIG * n_out * sizeof *y);
        for (size_t i = 0; i < batch * n_out; i++)
            y[i] = (float)syn_rng_uniform(rng);
        CHECK_OK(syn_backward(net, small, y, batch));
        CHECK_OK(syn_backward(net, big, y, BIG));
        double d = rel_diff(syn_workspace_grads(small, NULL), syn_workspace_grads(big, NULL),
                            syn_net_param_count(net));
        *worst = d > *worst ? d : *worst;
        CHECK(d <= 1e-4, "case %d: loss gradients differ by %.3g of scale", id, d);
        free(y);
    }
    free(x);
    free(d_out);
    syn_workspace_free(small);
    syn_workspace_free(big);
    syn_net_free(net);
    return 1;
}

/* The sigmoid of the small path (its own exp, kernels/small_avx512.c)
 * against 1 / (1 + e^-z) in double: a 1-1 net with weight 1 and no bias
 * outputs sigmoid(z) for each input z, in passes of 256 rows. Over
 * [-87, 30] the output stays a normal float; the error is counted in ulps
 * of the exact value. The largest seen is 2.9 (the general path's sigmoid,
 * over the same points in passes of 300 rows: 2.5); 4 leaves room for
 * another compiler's contractions, not for a wrong coefficient (1/5 for
 * the cubic's 1/6 gives 7.3). */
static void sigmoid_accuracy(void)
{
    syn_layer_desc layer = {.units = 1, .activation = SYN_ACT_SIGMOID, .no_bias = 1};
    syn_net_desc desc = {.n_inputs = 1, .n_layers = 1, .layers = &layer};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    float *w = NULL, x[256];
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, 256, &ws));
    CHECK_OK(syn_net_layer_params(net, 0, &w, NULL));
    if (!net || !ws || !w)
        return;
    *w = 1.0f;
    double worst = 0, at = 0;
    const double lo = -87.0, hi = 30.0, step = (hi - lo) / 1e6;
    for (double z0 = lo; z0 < hi; z0 += 256 * step) {
        const float *out = NULL;
        for (int r = 0; r < 256; r++)
            x[r] = (float)(z0 + r * step);
        CHECK_OK(syn_forward(net, ws, x, 256, &out));
        if (!out)
            break;
        for (int r = 0; r < 256; r++) {
            double exact = 1.0 / (1.0 + exp(-(double)x[r]));
            double ulps = fabs(out[r] - exact) / ldexp(1.0, ilogb(exact) - 23);
            if (ulps > worst)
                worst = ulps, at = x[r];
        }
    }
    printf("sigmoid: largest error %.2f ulps (at %.6g) over [%g, %g]\n", worst, at, lo, hi);
    CHECK(worst <= 4.0, "sigmoid is %.2f ulps off at %.6g", worst, at);
    /* Past |z| = 87.3 the answer is set by masks beside the chain: 1
     * above, 0 or the tiny true value below; NaN stays NaN. In passes of 16
     * rows (the packed pass) and of 256 (lockstep) alike. */
    static const float edge[16] = {INFINITY, -INFINITY, NAN, 87.2f, 87.4f, 100.0f, 1e30f,
                                   -87.2f, -87.4f, -100.0f, -1e30f, 0.0f, -0.0f, 17.0f,
                                   -17.0f, 88.5f};
    for (int pass = 0; pass < 2; pass++) {
        size_t rows = pass ? 256 : 16;
        for (size_t r = 0; r < rows; r++)
            x[r] = edge[r % 16];
        const float *out = NULL;
        CHECK_OK(syn_forward(net, ws, x, rows, &out));
        for (size_t r = 0; out && r < rows; r++) {
            double z = x[r], exact = 1.0 / (1.0 + exp(-z));
            float s = out[r];
            if (isnan(z))
                CHECK(isnan(s), "sigmoid(NaN) is %g, not NaN (%zu rows)", s, rows);
            else if (z > 87.3)
                CHECK(s == 1.0f, "sigmoid(%g) is %.9g, not 1 (%zu rows)", z, s, rows);
            else if (z < -87.3)
                CHECK(s >= 0.0f && s <= FLT_MIN, "sigmoid(%g) is %g (%zu rows)", z, s, rows);
            else
                CHECK(fabs(s - exact) <= 4 * ldexp(1.0, ilogb(exact) - 23) || s == exact,
                      "sigmoid(%g) is %.9g, not %.9g (%zu rows)", z, s, exact, rows);
        }
    }
    syn_workspace_free(ws);
    syn_net_free(net);
}

/* Passes whose whole batch fits one vector (batch x width <= 16: the seed's
 * XOR) take the packed pass; the same rows in a pass of 8 take the
 * lockstep one. The two form every sum by the same operations in the same
 * order, so outputs and gradients must be equal (the 8-row pass's extra
 * rows carry a zero output gradient, which adds exact zeros). */
static void packed_equals_lockstep(syn_rng *rng)
{
    int cases = 0;
    for (int id = 0; id < 200; id++) {
        size_t batch = 1 + syn_rng_below(rng, 4);
        size_t n_layers = 1 + syn_rng_below(rng, 3), n_in = 1 + syn_rng_below(rng, 4);
        syn_layer_desc layers[3];
        for (size_t l = 0; l < n_layers; l++) {
            memset(&layers[l], 0, sizeof layers[l]);
            layers[l].units = 1 + syn_rng_below(rng, 4);
            static const syn_activation fused[] = {SYN_ACT_SIGMOID, SYN_ACT_RELU,
                                                   SYN_ACT_LEAKY_RELU, SYN_ACT_LINEAR};
            layers[l].activation = fused[syn_rng_below(rng, 4)];
            layers[l].no_bias = syn_rng_below(rng, 2);
            layers[l].leaky_slope = 0.05f;
        }
        syn_net_desc desc = {.n_inputs = n_in, .n_layers = n_layers, .layers = layers,
                             .init = SYN_INIT_XAVIER_UNIFORM, .seed = 500 + (uint64_t)id};
        syn_net *net = NULL;
        syn_workspace *a = NULL, *b = NULL;
        CHECK_OK(syn_net_create(&desc, &net));
        CHECK_OK(syn_workspace_create(net, 4, &a));
        CHECK_OK(syn_workspace_create(net, 8, &b));
        if (!net || !a || !b) {
            syn_workspace_free(a), syn_workspace_free(b), syn_net_free(net);
            return;
        }
        size_t n_out = layers[n_layers - 1].units;
        float x[8 * 4] = {0}, d[8 * 4] = {0};
        for (size_t i = 0; i < batch * n_in; i++)
            x[i] = (float)(4 * syn_rng_uniform(rng) - 2);
        for (size_t i = 0; i < batch * n_out; i++)
            d[i] = (float)(syn_rng_uniform(rng) - 0.5);
        CHECK_OK(syn_forward(net, a, x, batch, NULL));
        CHECK_OK(syn_forward(net, b, x, 8, NULL));
        int same = 1;
        for (size_t l = 0; l < n_layers; l++) {
            const float *pa = syn_workspace_activations(a, l);
            const float *pb = syn_workspace_activations(b, l);
            for (size_t i = 0; i < batch * layers[l].units; i++)
                same &= pa[i] == pb[i];
        }
        CHECK_OK(syn_backward_from_output(net, a, d, batch));
        CHECK_OK(syn_backward_from_output(net, b, d, 8));
        size_t n = 0;
        const float *ga = syn_workspace_grads(a, &n), *gb = syn_workspace_grads(b, NULL);
        for (size_t i = 0; i < n; i++)
            same &= ga[i] == gb[i];
        CHECK(same, "case %d (batch %zu): the packed pass differs from the lockstep one", id,
              batch);
        cases++;
        syn_workspace_free(a);
        syn_workspace_free(b);
        syn_net_free(net);
    }
    printf("packed against lockstep: %d cases\n", cases);
}

int main(void)
{
    syn_rng rng;
    syn_rng_seed(&rng, 2026);
    double worst = 0;
    for (int id = 0; id < 400; id++)
        run_case(id, &rng, &worst);
    printf("largest difference between the paths: %.3g of scale\n", worst);
    sigmoid_accuracy();
    packed_equals_lockstep(&rng);
    return check_finish();
}
