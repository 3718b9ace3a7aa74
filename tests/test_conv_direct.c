/* test_conv_direct.c - the conv2d layer's direct kernels (kernels/
 * conv_direct.h) against its im2col + GEMM path, on random 3x3 stride-1
 * layers: odd sizes, channel counts that are and are not multiples of 8,
 * 16 and 64 (both weight-gradient forms), padding 0, 1, 2 and 'same',
 * with and without bias, batches of 1 and 37 (several sample blocks);
 * input channels that leave many outside whole blocks of 8 take GEMM's
 * input gradient on the direct path's blocks (conv2d.c's conv_gemm_dx).
 * Forward, weight, bias and input gradients agree to a tight relative
 * tolerance (max |direct - gemm| / max |gemm| per tensor); the direct
 * path's results are the same bits on 1, 2 and 3 threads; each pass runs
 * in exactly the scratch the plan asked for (scratch_per_row *
 * min(batch, scratch_rows) + scratch_fixed, allocated to the float, so a
 * sanitizer build sees any overrun). The layer runs the best kernel set
 * the CPU has (AVX-512F, else AVX2 + FMA); on a CPU with both, the AVX2 set
 * gives the AVX-512 set's bits. Exits 77 (skipped) on a CPU or a compiler
 * with neither, where the layer never takes the path. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"
#include "base/pool.h"
#include "core/internal.h"
#include "kernels/conv_direct.h"
#include "layers/layer.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float uniform(void)
{
    return (float)(next() % 20001u) / 10000.0f - 1.0f;
}

static double max_rel(const float *a, const float *ref, size_t n)
{
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)ref[i]), r = fabs((double)ref[i]);
        diff = e > diff || isnan(e) ? e : diff;
        scale = r > scale ? r : scale;
    }
    return scale > 0.0 ? diff / scale : diff;
}

typedef struct config {
    size_t c, oc, h, w, pad; /* pad: (size_t)-1 for 'same' */
    int no_bias;
    size_t batch;
} config;

/* The outputs of one path: forward y, then backward dW, db, dL/dx. */
typedef struct result {
    float *y, *grads, *dx;
} result;

/* Forward and backward (with the input gradient) of layer l over x, dy on
 * its own scratch of `scratch_n` floats, on pool (NULL: the caller). */
static void run_path(const syn_layer *l, const syn_net *net, const float *x, const float *dy,
                     size_t batch, size_t scratch_n, syn_pool *pool, result *r)
{
    float *scratch = malloc((scratch_n ? scratch_n : 1) * sizeof(float));
    syn_layer_pass p = {.in = x, .out = r->y, .params = net->params, .state = net->state,
                        .batch = batch, .pool = pool, .scratch = scratch};
    syn_conv2d_ops.forward(l, &p);
    memset(r->grads, 0, net->n_params * sizeof(float));
    syn_conv2d_ops.backward(l, &p, dy, r->grads, r->dx);
    free(scratch);
}

static void result_alloc(result *r, size_t n_out, size_t n_params, size_t n_in)
{
    r->y = malloc(n_out * sizeof(float));
    r->grads = malloc(n_params * sizeof(float));
    r->dx = malloc(n_in * sizeof(float));
}

static void result_free(result *r)
{
    free(r->y);
    free(r->grads);
    free(r->dx);
}

static int same_bits(const result *a, const result *b, size_t n_out, size_t n_params,
                     size_t n_in)
{
    return !memcmp(a->y, b->y, n_out * sizeof(float)) &&
           !memcmp(a->grads, b->grads, n_params * sizeof(float)) &&
           !memcmp(a->dx, b->dx, n_in * sizeof(float));
}

static double worst = 0.0; /* the largest relative difference seen */
static int sets_compared = 0; /* layers run on a second kernel set too */

static void run_config(const config *cf, syn_pool *pools[3])
{
    syn_layer_desc conv = {.kind = SYN_LAYER_CONV2D, .units = cf->oc, .kernel = {3, 3},
                           .no_bias = cf->no_bias};
    if (cf->pad == (size_t)-1)
        conv.pad_same = 1;
    else
        conv.padding[0] = conv.padding[1] = cf->pad;
    size_t n_in = cf->c * cf->h * cf->w;
    syn_net_desc desc = {.n_inputs = n_in, .n_layers = 1, .layers = &conv,
                         .loss = SYN_LOSS_MSE, .seed = 11, .input_shape = {cf->c, cf->h, cf->w}};
    syn_net *net = NULL;
    char name[160];
    char pad[24];
    if (cf->pad == (size_t)-1)
        snprintf(pad, sizeof pad, "same");
    else
        snprintf(pad, sizeof pad, "%zu", cf->pad);
    snprintf(name, sizeof name, "conv %zu->%zu on %zux%zu, padding %s%s, batch %zu", cf->c,
             cf->oc, cf->h, cf->w, pad, cf->no_bias ? ", no bias" : "", cf->batch);
    if (syn_net_create(&desc, &net) != SYN_OK) {
        CHECK(0, "%s: the net", name);
        return;
    }
    const syn_layer *l = &net->layers[0];
    CHECK(l->conv_direct, "%s takes the direct path", name);
    int gemm_dx = !(8 * (cf->c % 8) < 3 * (cf->c / 8 * 8)); /* conv2d.c's rule */
    CHECK(l->conv_gemm_dx == gemm_dx, "%s: input gradient on %s", name,
          gemm_dx ? "GEMM" : "the direct kernels");
    size_t b = cf->batch, n_out = l->units, n_p = net->n_params;
    float *x = malloc(b * n_in * sizeof(float)), *dy = malloc(b * n_out * sizeof(float));
    for (size_t i = 0; i < b * n_in; i++)
        x[i] = uniform();
    for (size_t i = 0; i < b * n_out; i++)
        dy[i] = uniform();
    if (l->has_bias)
        for (size_t o = 0; o < cf->oc; o++)
            net->params[l->b_off + o] = 0.2f * uniform(); /* a nonzero bias */

    /* The reference: the same record on im2col + GEMM, in blocks of 5. */
    syn_layer ref_layer = *l;
    ref_layer.conv_direct = 0;
    ref_layer.scratch_rows = 5;
    ref_layer.scratch_fixed = 0;
    ref_layer.scratch_per_row = (cf->c * 9 + cf->oc) * l->out_shape[1] * l->out_shape[2];
    result ref, dir[3];
    result_alloc(&ref, b * n_out, n_p, b * n_in);
    run_path(&ref_layer, net, x, dy, b, ref_layer.scratch_per_row * (b < 5 ? b : 5), NULL,
             &ref);
    size_t scratch;
    CHECK(syn_scratch_floats(l->scratch_per_row, l->scratch_rows, l->scratch_fixed, b,
                             &scratch), "%s: scratch size", name);
    /* Each kernel set this CPU runs; the others give the best one's bits. */
    result other;
    result_alloc(&other, b * n_out, n_p, b * n_in);
    for (int isa = SYN_CONV_DIRECT_AVX2; isa <= SYN_CONV_DIRECT_AVX512; isa++) {
        if (isa == l->conv_direct || !syn_conv_direct_runs(isa))
            continue;
        syn_layer other_layer = *l;
        other_layer.conv_direct = isa;
        run_path(&other_layer, net, x, dy, b, scratch, pools[1], &other);
        sets_compared++;
    }
    for (int t = 0; t < 3; t++) {
        result_alloc(&dir[t], b * n_out, n_p, b * n_in);
        run_path(l, net, x, dy, b, scratch, pools[t], &dir[t]);
    }
    if (syn_conv_direct_runs(SYN_CONV_DIRECT_AVX2) && l->conv_direct != SYN_CONV_DIRECT_AVX2)
        CHECK(same_bits(&dir[0], &other, b * n_out, n_p, b * n_in),
              "%s: the AVX2 kernels give the AVX-512 kernels' bits", name);
    result_free(&other);
    double ey = max_rel(dir[0].y, ref.y, b * n_out);
    double ew = max_rel(dir[0].grads + l->w_off, ref.grads + l->w_off, l->out_shape[0] *
                        cf->c * 9);
    double eb = l->has_bias ? max_rel(dir[0].grads + l->b_off, ref.grads + l->b_off, cf->oc)
                            : 0.0;
    double ex = max_rel(dir[0].dx, ref.dx, b * n_in);
    const double tol = 2e-5; /* float sums of up to 37 x 400 terms: 3e-6 seen */
    CHECK(ey <= tol, "%s: forward differs by %.2e", name, ey);
    CHECK(ew <= tol, "%s: dW differs by %.2e", name, ew);
    CHECK(eb <= tol, "%s: db differs by %.2e", name, eb);
    CHECK(ex <= tol, "%s: dL/dx differs by %.2e", name, ex);
    double e = fmax(fmax(ey, ew), fmax(eb, ex));
    worst = e > worst || isnan(e) ? e : worst;
    CHECK(same_bits(&dir[0], &dir[1], b * n_out, n_p, b * n_in) &&
              same_bits(&dir[0], &dir[2], b * n_out, n_p, b * n_in),
          "%s: the same bits on 1, 2 and 3 threads", name);
    /* The forward pass of a sample does not depend on the others: a batch
     * cut in two gives the whole batch's bits (an inference workspace). */
    if (b > 1) {
        size_t cut = b / 2 + 1;
        float *y2 = malloc(b * n_out * sizeof(float));
        float *s = malloc(scratch * sizeof(float));
        syn_layer_pass p1 = {.in = x, .out = y2, .params = net->params, .batch = cut,
                             .scratch = s};
        syn_layer_pass p2 = {.in = x + cut * n_in, .out = y2 + cut * n_out,
                             .params = net->params, .batch = b - cut, .scratch = s};
        syn_conv2d_ops.forward(l, &p1);
        syn_conv2d_ops.forward(l, &p2);
        CHECK(!memcmp(y2, dir[0].y, b * n_out * sizeof(float)), "%s: a cut batch's forward",
              name);
        free(y2);
        free(s);
    }
    for (int t = 0; t < 3; t++)
        result_free(&dir[t]);
    result_free(&ref);
    free(x);
    free(dy);
    syn_net_free(net);
}

/* Layers the direct kernels do not take stay on im2col + GEMM. */
static void test_not_direct(void)
{
    syn_layer_desc kinds[] = {
        {.kind = SYN_LAYER_CONV2D, .units = 8, .kernel = {3, 3}, .stride = {2, 2}},
        {.kind = SYN_LAYER_CONV2D, .units = 8, .kernel = {3, 3}, .dilation = {2, 2}},
        {.kind = SYN_LAYER_CONV2D, .units = 8, .kernel = {3, 3}, .groups = 2},
        {.kind = SYN_LAYER_CONV2D, .units = 8, .kernel = {5, 5}},
        {.kind = SYN_LAYER_CONV2D, .units = 8, .kernel = {3, 1}},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        syn_net_desc desc = {.n_inputs = 2 * 12 * 12, .n_layers = 1, .layers = &kinds[k],
                             .loss = SYN_LOSS_MSE, .seed = 1, .input_shape = {2, 12, 12}};
        syn_net *net = NULL;
        CHECK_OK(syn_net_create(&desc, &net));
        if (net)
            CHECK(!net->layers[0].conv_direct, "layer %zu stays on im2col + GEMM", k);
        syn_net_free(net);
    }
}

int main(void)
{
    if (!syn_conv_direct_available()) {
        printf("skipped: the direct convolution kernels need AVX-512F or AVX2 + FMA "
               "(compiler and CPU)\n");
        return 77;
    }
    printf("kernel set: %s\n", syn_conv_direct_best() == SYN_CONV_DIRECT_AVX512 ? "AVX-512F"
                                                                              : "AVX2 + FMA");
    syn_pool *pools[3] = {NULL, syn_pool_create(2), syn_pool_create(3)};
    /* Fixed cases first (the CNN's two layers, channel-vector and lane
     * weight gradients, remainders), then random ones. */
    const config fixed[] = {
        {1, 32, 28, 28, 0, 0, 37},   {32, 64, 13, 13, 0, 0, 37}, {32, 64, 13, 13, 0, 1, 1},
        {3, 64, 9, 11, (size_t)-1, 0, 37}, {5, 128, 7, 6, 1, 1, 37}, {1, 1, 3, 3, 0, 0, 1},
        {17, 13, 8, 15, 2, 0, 37},   {8, 7, 5, 19, (size_t)-1, 1, 1}, {2, 9, 3, 4, 1, 0, 37},
    };
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        run_config(&fixed[k], pools);
    const size_t chans[] = {1, 2, 3, 5, 8, 13, 16, 17, 24, 33};
    const size_t outs[] = {1, 3, 8, 12, 16, 20, 64, 72, 128};
    const size_t pads[] = {0, 1, 2, (size_t)-1};
    for (int k = 0; k < 24; k++) {
        config cf;
        cf.c = chans[next() % 10];
        cf.oc = outs[next() % 9];
        cf.pad = pads[next() % 4];
        size_t min = cf.pad == 0 ? 3 : 1;
        cf.h = min + next() % 14;
        cf.w = min + next() % 14;
        cf.no_bias = (int)(next() % 2);
        cf.batch = next() % 2 ? 37 : 1;
        run_config(&cf, pools);
    }
    test_not_direct();
    printf("largest relative difference, direct against im2col + GEMM: %.2e\n", worst);
    printf("layers also run on the AVX2 set and compared bit for bit: %d\n", sets_compared);
    syn_pool_free(pools[1]);
    syn_pool_free(pools[2]);
    return check_finish();
}
